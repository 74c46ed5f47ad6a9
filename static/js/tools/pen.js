// The pen and the highlighter: freehand paths, streamed while they are
// drawn, as wide as the pen is pressed where the device says.

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

/** The highlighter's ink: see-through, and wider than the pen's. */
export const HIGHLIGHTER_OPACITY = 0.35;
const HIGHLIGHTER_WIDTH_FACTOR = 4;
const HIGHLIGHTER_MIN_WIDTH = 10;

/** Pressures go on the wire with two decimals. */
function _pressure(value) {
  return Math.round(value * 100) / 100;
}

/**
 * The pen tool (see tools/tool.js for the contract); with `highlighter`
 * set, the highlighter.
 *
 * A press adds a path holding its first point, so that everyone sees the
 * stroke begin; the points gathered during each animation frame then go
 * out as one `extend`. A pen that reports pressure gives the path one
 * pressure per point. The finished stroke is one action to undo.
 */
export class PenTool {
  /**
   * @param {import("./tool.js").ToolContext} context
   * @param {{highlighter?: boolean}} [options]
   */
  constructor(context, options = {}) {
    this.highlighter = Boolean(options.highlighter);
    this.name = this.highlighter ? "highlighter" : "pen";
    this.cursor = this.highlighter ? "cursor-highlighter" : "cursor-pen";
    this._context = context;
    this._id = null;
    this._ids = [];
    this._count = 0;
    this._last = null;
    this._tail = null;
    this._pressured = false;
    this._lastPressure = 0.5;
    this._buffer = [];
    this._pressures = [];
    this._flushes = new FrameTask(() => this._flush());
  }

  start() {}

  stop() {
    this.release();
  }

  /** @param {import("../input.js").ToolPoint} point */
  press(point) {
    this.release();
    const x = roundCoordinate(point.x);
    const y = roundCoordinate(point.y);
    this._pressured = !this.highlighter && point.pressure !== undefined;
    this._lastPressure = _pressure(point.pressure ?? 0.5);
    this._ids = [];
    this._begin([x, y], [this._lastPressure]);
  }

  /** @param {import("../input.js").ToolPoint[]} points */
  move(points) {
    if (this._id === null) {
      return;
    }
    const step = MIN_STEP_PX / this._context.scale();
    for (const point of points) {
      const x = roundCoordinate(point.x);
      const y = roundCoordinate(point.y);
      if (point.pressure !== undefined) {
        this._lastPressure = _pressure(point.pressure);
      }
      if (Math.hypot(x - this._last[0], y - this._last[1]) < step) {
        continue;
      }
      this._buffer.push(x, y);
      this._pressures.push(this._lastPressure);
      this._last = [x, y];
    }
    if (this._buffer.length) {
      this._flushes.request();
    }
  }

  release() {
    this._flush();
    if (this._id !== null) {
      // The stroke as it stands is what undo takes away.
      const items = this._ids
        .map((id) => this._context.scene.byId.get(id))
        .filter(Boolean);
      this._context.record({ kind: "add", items });
    }
    this._id = null;
    this._last = null;
  }

  cancel() {
    this.release();
  }

  _begin(pts, pressures) {
    const { color, width, opacity } = this._context.style();
    this._id = newItemId();
    this._ids.push(this._id);
    this._count = pts.length >> 1;
    this._last = pts.slice(-2);
    this._tail = { pts: pts.slice(-2), pressure: pressures.slice(-1) };
    const item = {
      id: this._id,
      kind: "path",
      pts,
      color,
      width: this.highlighter
        ? Math.min(200, Math.max(HIGHLIGHTER_MIN_WIDTH, width * HIGHLIGHTER_WIDTH_FACTOR))
        : width,
      opacity: this.highlighter ? HIGHLIGHTER_OPACITY : opacity,
    };
    if (this._pressured) {
      item.pressure = pressures;
    }
    this._context.submit(addOp(this._context.nextCid(), item));
  }

  _flush() {
    if (this._id === null || this._buffer.length === 0) {
      return;
    }
    let pts = this._buffer;
    let pressures = this._pressures;
    this._buffer = [];
    this._pressures = [];

    const room = 2 * (MAX_POINTS_PER_PATH - this._count);
    if (pts.length > room) {
      // Full: end this path and go on in a new one from its last point.
      if (room > 0) {
        this._extend(pts.slice(0, room), pressures.slice(0, room / 2));
      }
      this._begin(
        this._tail.pts.concat(pts.slice(room)),
        this._tail.pressure.concat(pressures.slice(room / 2)),
      );
      return;
    }
    this._extend(pts, pressures);
  }

  _extend(pts, pressures) {
    this._count += pts.length >> 1;
    this._tail = { pts: pts.slice(-2), pressure: pressures.slice(-1) };
    const op = extendOp(this._context.nextCid(), this._id, pts);
    if (this._pressured) {
      op.pressure = pressures;
    }
    this._context.submit(op);
  }
}
