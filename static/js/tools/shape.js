// Lines, arrows, rectangles and ellipses, dragged out from corner to
// corner: shown on the overlay while dragged, added when released.

import { roundCoordinate } from "../geometry.js";
import { newItemId } from "../identity.js";
import { addOp } from "../protocol.js";
import { paintItems } from "../render.js";

/** A drag shorter than this (CSS pixels) draws nothing: it was a click. */
const MIN_DRAG_PX = 3;

/** Lines drawn with Shift held snap to this angle. */
const SNAP_RADIANS = Math.PI / 12;

/**
 * Where a shape ends when Shift is held: rectangles square, ellipses
 * round, lines at a multiple of 15 degrees.
 *
 * @param {string} kind "line", "rect" or "ellipse"
 * @param {number} x0
 * @param {number} y0
 * @param {number} x1
 * @param {number} y1
 * @returns {number[]} the constrained [x1, y1]
 */
export function constrain(kind, x0, y0, x1, y1) {
  const dx = x1 - x0;
  const dy = y1 - y0;
  if (kind === "line") {
    const length = Math.hypot(dx, dy);
    const angle = Math.round(Math.atan2(dy, dx) / SNAP_RADIANS) * SNAP_RADIANS;
    return [x0 + length * Math.cos(angle), y0 + length * Math.sin(angle)];
  }
  const side = Math.max(Math.abs(dx), Math.abs(dy));
  return [x0 + side * (Math.sign(dx) || 1), y0 + side * (Math.sign(dy) || 1)];
}

/**
 * A tool for a two-point item (see tools/tool.js for the contract).
 */
export class ShapeTool {
  /**
   * @param {import("./tool.js").ToolContext} context
   * @param {string} kind "line", "rect" or "ellipse"
   * @param {{arrow?: boolean}} [options] lines with an arrow head
   */
  constructor(context, kind, options = {}) {
    this.kind = kind;
    this.arrow = Boolean(options.arrow);
    this.name = this.arrow ? "arrow" : kind;
    this.cursor = "cursor-shape";
    this._context = context;
    this._start = null;
    this._end = null;
  }

  start() {}

  stop() {
    this.cancel();
  }

  press(point) {
    this._start = point;
    this._end = point;
    this._context.overlay.request();
  }

  move(points) {
    if (this._start && points.length) {
      this._end = points[points.length - 1];
      this._context.overlay.request();
    }
  }

  release() {
    const item = this._item();
    this._start = null;
    this._end = null;
    this._context.overlay.request();
    if (!item) {
      return;
    }
    this._context.submit(addOp(this._context.nextCid(), item));
    this._context.record({ kind: "add", items: [item] });
  }

  cancel() {
    this.release();
  }

  /** The item the drag so far makes, or null when it is only a click. */
  _item() {
    if (!this._start || !this._end) {
      return null;
    }
    const { x: x0, y: y0 } = this._start;
    let { x: x1, y: y1 } = this._end;
    if (this._end.shift) {
      [x1, y1] = constrain(this.kind, x0, y0, x1, y1);
    }
    const scale = this._context.scale();
    if (Math.hypot(x1 - x0, y1 - y0) * scale < MIN_DRAG_PX) {
      return null;
    }
    const style = this._context.style();
    const item = {
      id: newItemId(),
      kind: this.kind,
      pts: [x0, y0, x1, y1].map(roundCoordinate),
      color: style.color,
      width: style.width,
      opacity: style.opacity,
    };
    if (this.arrow) {
      item.arrow = "end";
    }
    if (this.kind !== "line" && style.fill) {
      item.fill = style.fillColor;
    }
    return item;
  }

  paintOverlay(ctx) {
    const item = this._item();
    if (item) {
      paintItems(ctx, [item], null, null);
    }
  }
}
