// The pen: freehand paths, streamed while they are drawn.

import { roundCoordinate } from "../geometry.js";
import { newItemId } from "../identity.js";
import { addOp, extendOp } from "../protocol.js";
import { FrameTask } from "../schedule.js";

/**
 * Points one path may hold before the pen carries on in a new one, well
 * under the server's limit, so that long scribbles stay cheap to redraw,
 * erase and send.
 */
export const MAX_POINTS_PER_PATH = 5000;

/** Points closer than this (in CSS pixels) to the last one add nothing. */
const MIN_STEP_PX = 1;

/**
 * The pen tool (see tools/tool.js for the contract).
 *
 * A press adds a path holding its first point, so that everyone sees the
 * stroke begin; the points gathered during each animation frame then go
 * out as one `extend`.
 */
export class PenTool {
  /** @param {import("./tool.js").ToolContext} context */
  constructor(context) {
    this.name = "pen";
    this.cursor = "cursor-pen";
    this._context = context;
    this._id = null;
    this._count = 0;
    this._last = null;
    this._tail = null;
    this._buffer = [];
    this._flushes = new FrameTask(() => this._flush());
  }

  start() {}

  stop() {
    this.release();
  }

  /** @param {{x: number, y: number}} point */
  press(point) {
    this.release();
    const x = roundCoordinate(point.x);
    const y = roundCoordinate(point.y);
    this._begin([x, y]);
  }

  /** @param {{x: number, y: number}[]} points */
  move(points) {
    if (this._id === null) {
      return;
    }
    const step = MIN_STEP_PX / this._context.scale();
    for (const point of points) {
      const x = roundCoordinate(point.x);
      const y = roundCoordinate(point.y);
      if (Math.hypot(x - this._last[0], y - this._last[1]) < step) {
        continue;
      }
      this._buffer.push(x, y);
      this._last = [x, y];
    }
    if (this._buffer.length) {
      this._flushes.request();
    }
  }

  release() {
    this._flush();
    this._id = null;
    this._last = null;
  }

  cancel() {
    this.release();
  }

  _begin(pts) {
    const { color, width } = this._context.style();
    this._id = newItemId();
    this._count = pts.length >> 1;
    this._last = pts.slice(-2);
    this._tail = pts.slice(-2);
    const item = { id: this._id, kind: "path", pts, color, width, opacity: 1 };
    this._context.submit(addOp(this._context.nextCid(), item));
  }

  _flush() {
    if (this._id === null || this._buffer.length === 0) {
      return;
    }
    let pts = this._buffer;
    this._buffer = [];

    const room = 2 * (MAX_POINTS_PER_PATH - this._count);
    if (pts.length > room) {
      // Full: end this path and go on in a new one from its last point.
      const rest = pts.slice(room);
      if (room > 0) {
        this._extend(pts.slice(0, room));
      }
      this._begin(this._tail.concat(rest));
      return;
    }
    this._extend(pts);
  }

  _extend(pts) {
    this._count += pts.length >> 1;
    this._tail = pts.slice(-2);
    this._context.submit(extendOp(this._context.nextCid(), this._id, pts));
  }
}
