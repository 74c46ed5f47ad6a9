// Drawing the scene on a canvas: the view transform (board units to CSS
// pixels), a devicePixelRatio-sized backing store, whole-scene redraws in
// slices per animation frame, and incremental drawing of new items and
// points.

import { boxesTouch, tracePath, traceTail } from "./geometry.js";
import { FrameTask, PAINT_SLICE_MS } from "./schedule.js";

/** The board's background; painted, since a bare canvas reads transparent. */
export const BACKGROUND = "#ffffff";

/** How long z-order may stay approximate after an out-of-order extend. */
const REORDER_DELAY_MS = 300;

/** How long a growing path rests before its last stretch is painted. */
const TAIL_DELAY_MS = 120;

/** Past this many items under an area, a redraw in slices is kinder. */
const REPAINT_MAX_ITEMS = 3000;

/**
 * Draws a `Scene` on a canvas.
 *
 * Items `scene.items[0 .. painted)` are on the canvas; a redraw resets that
 * count and paints the rest in slices of about `PAINT_SLICE_MS` per frame, so a
 * big board never freezes the page. An item added on top is painted at
 * once when everything under it is; an extended path gets only its new
 * segments, and its last stretch (see geometry.js `tracePath`) once no new
 * points have come for a moment.
 */
export class Renderer {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {import("./scene.js").Scene} scene
   */
  constructor(canvas, scene) {
    this.canvas = canvas;
    this.scene = scene;
    this.ctx = canvas.getContext("2d", { alpha: false });
    /**
     * The view: a board point (bx, by) shows at CSS pixel
     * (bx * scale + x, by * scale + y) of the canvas.
     */
    this.view = { x: 0, y: 0, scale: 1 };
    this.width = 0;
    this.height = 0;
    this.dpr = 1;
    this._next = 0;
    this._pointsPainted = new WeakMap();
    this._slices = new FrameTask(() => this._paintSlice());
    this._redraws = new FrameTask(() => this.redraw());
    this._reorderTimer = null;
    this._tails = new Map();
    this._dirty = new Set();
    this._restack = new Set();
    this._repaints = new FrameTask(() => this._repaintDirty());
  }

  /**
   * Size the backing store to the canvas's CSS size times the device pixel
   * ratio, so lines stay crisp on high-DPI screens, and redraw.
   *
   * @param {number} width CSS pixels
   * @param {number} height CSS pixels
   * @param {number} dpr window.devicePixelRatio
   */
  resize(width, height, dpr) {
    this.width = width;
    this.height = height;
    this.dpr = dpr;
    this.canvas.width = Math.max(1, Math.round(width * dpr));
    this.canvas.height = Math.max(1, Math.round(height * dpr));
    this.redraw();
  }

  /**
   * Change the view transform and redraw.
   *
   * @param {number} x CSS pixels
   * @param {number} y CSS pixels
   * @param {number} scale CSS pixels per board unit
   */
  setView(x, y, scale) {
    this.view = { x, y, scale };
    this.redraw();
  }

  /**
   * The board point under a point of the canvas.
   *
   * @param {number} x CSS pixels from the canvas's left edge
   * @param {number} y CSS pixels from its top edge
   * @returns {{x: number, y: number}} board units
   */
  toBoard(x, y) {
    const { view } = this;
    return { x: (x - view.x) / view.scale, y: (y - view.y) / view.scale };
  }

  /** Whether a redraw is still painting. */
  get busy() {
    return this._next < this.scene.items.length;
  }

  /** Paint everything again: after a resize, a new view, a clear. */
  redraw() {
    for (const timer of this._tails.values()) {
      clearTimeout(timer);
    }
    this._tails.clear();
    this._next = 0;
    this._pointsPainted = new WeakMap();
    const { ctx } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this._paintSlice();
  }

  /** Paint items put into the scene without a change (a state frame). */
  paintLoaded() {
    if (this.busy) {
      this._slices.request();
    }
  }

  /** Ask for a redraw on the next frame; many asks make one redraw. */
  requestRedraw() {
    this._redraws.request();
  }

  /**
   * Paint again, on the next frame, the area these items cover or covered:
   * items erased, moved in the drawing order, or translucent and grown.
   * Only that area is cleared and only the items over it are painted, so
   * a big board does not flicker.
   *
   * @param {object[]} items items of the scene, or just removed from it
   */
  repaintSoon(items) {
    for (const item of items) {
      this._dirty.add(item);
    }
    this._repaints.request();
  }

  _repaintDirty() {
    const dirty = [...this._dirty];
    this._dirty.clear();
    if (dirty.length === 0) {
      return;
    }
    if (this.busy) {
      // Slices are painting; start them over rather than paint twice.
      this.redraw();
      return;
    }

    const area = { ...this.scene.bounds(dirty[0]) };
    for (const item of dirty) {
      const box = this.scene.bounds(item);
      area.minX = Math.min(area.minX, box.minX);
      area.minY = Math.min(area.minY, box.minY);
      area.maxX = Math.max(area.maxX, box.maxX);
      area.maxY = Math.max(area.maxY, box.maxY);
    }
    const under = this.scene.items.filter((item) =>
      boxesTouch(this.scene.bounds(item), area, 1),
    );
    if (under.length > REPAINT_MAX_ITEMS) {
      this.redraw();
      return;
    }

    // The area in device pixels, rounded outwards, plus antialiasing.
    const { ctx, view, dpr } = this;
    const left = Math.floor((area.minX * view.scale + view.x) * dpr) - 2;
    const top = Math.floor((area.minY * view.scale + view.y) * dpr) - 2;
    const right = Math.ceil((area.maxX * view.scale + view.x) * dpr) + 2;
    const bottom = Math.ceil((area.maxY * view.scale + view.y) * dpr) + 2;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.beginPath();
    ctx.rect(left, top, right - left, bottom - top);
    ctx.clip();
    ctx.globalAlpha = 1;
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(left, top, right - left, bottom - top);
    for (const item of under) {
      this._paint(item, 0);
    }
    ctx.restore();
  }

  /**
   * Show a change reported by `Scene.apply`.
   *
   * @param {import("./scene.js").Change|null} change
   */
  show(change) {
    if (!change) {
      return;
    }
    if (change.type === "add") {
      this._paintAdded(change.item);
    } else if (change.type === "extend") {
      this._paintExtended(change.item);
    } else if (change.type === "erase") {
      this.repaintSoon(change.items);
    } else {
      this.requestRedraw();
    }
  }

  _paintAdded(item) {
    const { items } = this.scene;
    if (this._next === items.length - 1 && items[this._next] === item) {
      this._paint(item, 0);
      this._next += 1;
    } else {
      // A slice in progress reaches it.
      this._slices.request();
    }
  }

  _paintExtended(item) {
    const painted = this._pointsPainted.get(item);
    if (painted === undefined) {
      // Not reached by the slices yet; they paint it whole.
      return;
    }
    if ((item.opacity ?? 1) < 1) {
      // Overlapping segments of a translucent stroke would darken.
      this.repaintSoon([item]);
      return;
    }
    this._paint(item, painted);
    clearTimeout(this._tails.get(item));
    this._tails.set(
      item,
      setTimeout(() => this._paintTail(item), TAIL_DELAY_MS),
    );
    const { items } = this.scene;
    if (items[items.length - 1] !== item) {
      // Its new segments went over items drawn after it.
      this._restack.add(item);
      clearTimeout(this._reorderTimer);
      this._reorderTimer = setTimeout(() => {
        this.repaintSoon(this._restack);
        this._restack.clear();
      }, REORDER_DELAY_MS);
    }
  }

  _paintTail(item) {
    this._tails.delete(item);
    if (
      this.scene.byId.get(item.id) === item &&
      this._pointsPainted.has(item)
    ) {
      this._setStyle(item);
      this.ctx.beginPath();
      if (traceTail(item.pts, this.ctx)) {
        this.ctx.stroke();
      }
    }
  }

  _paintSlice() {
    const deadline = performance.now() + PAINT_SLICE_MS;
    const { items } = this.scene;
    while (this._next < items.length) {
      this._paint(items[this._next], 0);
      this._next += 1;
      if (performance.now() > deadline && this._next < items.length) {
        this._slices.request();
        return;
      }
    }
  }

  _visible(item) {
    const box = this.scene.bounds(item);
    const { view } = this;
    const minX = -view.x / view.scale;
    const minY = -view.y / view.scale;
    return (
      box.maxX >= minX &&
      box.maxY >= minY &&
      box.minX <= minX + this.width / view.scale &&
      box.minY <= minY + this.height / view.scale
    );
  }

  _paint(item, from) {
    const count = item.pts.length >> 1;
    this._pointsPainted.set(item, count);
    if (from === 0 && !this._visible(item)) {
      return;
    }

    this._setStyle(item);
    switch (item.kind) {
      case "path":
        _paintPath(this.ctx, item, from, this.scene.bounds(item));
        break;
      case "line":
        this.ctx.beginPath();
        this.ctx.moveTo(item.pts[0], item.pts[1]);
        this.ctx.lineTo(item.pts[2], item.pts[3]);
        this.ctx.stroke();
        break;
      case "rect":
      case "ellipse":
        _paintShape(this.ctx, item);
        break;
      case "text":
        _paintText(this.ctx, item);
        break;
      default:
        break;
    }
  }

  _setStyle(item) {
    const { ctx, view, dpr } = this;
    ctx.setTransform(
      dpr * view.scale,
      0,
      0,
      dpr * view.scale,
      dpr * view.x,
      dpr * view.y,
    );
    ctx.globalAlpha = item.opacity ?? 1;
    ctx.strokeStyle = item.color;
    ctx.fillStyle = item.color;
    ctx.lineWidth = item.width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
  }
}

function _paintPath(ctx, item, from, box) {
  const { pts, width } = item;

  // A tap, or a stroke that never moved, shows as a dot.
  if (
    from === 0 &&
    box.maxX - box.minX <= width &&
    box.maxY - box.minY <= width
  ) {
    ctx.beginPath();
    ctx.arc(pts[0], pts[1], width / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  // A path painted before is growing: its last stretch waits.
  if (tracePath(pts, ctx, from, from === 0)) {
    ctx.stroke();
  }
}

function _paintShape(ctx, item) {
  const [x0, y0, x1, y1] = item.pts;
  ctx.beginPath();
  if (item.kind === "rect") {
    ctx.rect(
      Math.min(x0, x1),
      Math.min(y0, y1),
      Math.abs(x1 - x0),
      Math.abs(y1 - y0),
    );
  } else {
    ctx.ellipse(
      (x0 + x1) / 2,
      (y0 + y1) / 2,
      Math.abs(x1 - x0) / 2,
      Math.abs(y1 - y0) / 2,
      0,
      0,
      2 * Math.PI,
    );
  }
  if (item.fill) {
    ctx.fillStyle = item.fill;
    ctx.fill();
  }
  ctx.stroke();
}

function _paintText(ctx, item) {
  ctx.font = `${item.size}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  const lines = item.text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    ctx.fillText(lines[i], item.pts[0], item.pts[1] + i * item.size * 1.2);
  }
}
