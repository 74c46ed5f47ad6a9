// The object eraser: removes whole items it touches.

import { eraseOp } from "../protocol.js";
import { copyItem } from "../scene.js";

/** The eraser's radius in CSS pixels, whatever the zoom. */
export const ERASER_RADIUS_PX = 8;

/** Ids one erase op carries at most, well under the server's limit. */
const MAX_IDS_PER_OP = 1000;

/**
 * The eraser tool (see tools/tool.js for the contract).
 *
 * Every item the eraser's path sweeps over is removed. Browsers deliver
 * pointer moves once per animation frame (the points in between come as
 * coalesced events), so each press and each move makes at most one
 * `erase`.
 */
export class EraserTool {
  /** @param {import("./tool.js").ToolContext} context */
  constructor(context) {
    this.name = "eraser";
    this.cursor = "cursor-eraser";
    this._context = context;
    this._last = null;
    this._erased = [];
  }

  start() {}

  stop() {
    this.release();
  }

  /** @param {{x: number, y: number}} point */
  press(point) {
    this._last = point;
    this._erased = [];
    this._erase([point]);
  }

  /** @param {{x: number, y: number}[]} points */
  move(points) {
    if (this._last !== null) {
      this._erase(points);
    }
  }

  release() {
    if (this._erased.length) {
      // One sweep of the eraser is one action to undo.
      this._context.record({ kind: "erase", items: this._erased });
    }
    this._erased = [];
    this._last = null;
  }

  cancel() {
    this.release();
  }

  _erase(points) {
    const radius = ERASER_RADIUS_PX / this._context.scale();
    const ids = new Set();
    for (const point of points) {
      const { x, y } = this._last;
      for (const item of this._context.scene.touchedBy(
        x,
        y,
        point.x,
        point.y,
        radius,
      )) {
        ids.add(item.id);
      }
      this._last = point;
    }
    const all = [...ids];
    // Kept bottom first (touchedBy finds them top first), so that undo
    // stacks them back as they were.
    const byId = this._context.scene.byId;
    for (const id of all.slice().reverse()) {
      this._erased.push(copyItem(byId.get(id)));
    }
    for (let i = 0; i < all.length; i += MAX_IDS_PER_OP) {
      const batch = all.slice(i, i + MAX_IDS_PER_OP);
      this._context.submit(eraseOp(this._context.nextCid(), batch));
    }
  }
}
