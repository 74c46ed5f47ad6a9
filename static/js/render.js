// Drawing the scene on a canvas: the view transform (board units to CSS
// pixels), a devicePixelRatio-sized backing store, redraws of only what is
// in view (at once up to a budget, then in slices per animation frame),
// incremental drawing of new items and points, and a dark theme.

import {
  arrowHeads,
  boxesTouch,
  itemBounds,
  LINE_HEIGHT,
  pressureFactor,
  pressurePieces,
  tracePath,
  traceTail,
  unionBoxes,
} from "./geometry.js";
import { FrameTask, PAINT_SLICE_MS } from "./schedule.js";
import { visibleBox } from "./view.js";

/** The board's backgrounds; painted, since a bare canvas reads transparent. */
export const BACKGROUND = "#ffffff";
export const DARK_BACKGROUND = "#17191c";

/** The font text items are drawn in. */
export const FONT_FAMILY =
  "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/** How long z-order may stay approximate after an out-of-order extend. */
const REORDER_DELAY_MS = 300;

/** How long a growing path rests before its last stretch is painted. */
const TAIL_DELAY_MS = 120;

/** Past this many items under an area, a whole redraw is kinder. */
const REPAINT_MAX_ITEMS = 3000;

/**
 * How long a redraw after a pan or zoom may paint at once, in ms, so that
 * moving the view shows whole frames rather than half-painted ones.
 */
const VIEW_REDRAW_MS = 40;

/**
 * A colour as chalk on a dark board: its lightness turned over, its hue
 * kept, so black ink shows white and dark blue light blue. Cached.
 *
 * @param {string} color "#rrggbb"
 * @returns {string} "#rrggbb"
 */
export function chalk(color) {
  let made = _chalked.get(color);
  if (made) {
    return made;
  }
  const r = parseInt(color.slice(1, 3), 16) / 255;
  const g = parseInt(color.slice(3, 5), 16) / 255;
  const b = parseInt(color.slice(5, 7), 16) / 255;
  const high = Math.max(r, g, b);
  const low = Math.min(r, g, b);
  const light = (high + low) / 2;
  // Same hue and saturation at the mirrored lightness: scale the offsets
  // from grey by the change of the chroma the lightness allows.
  const flipped = Math.max(0.32, 1 - light);
  const room = (l) => 1 - Math.abs(2 * l - 1);
  const ratio = room(light) > 0 ? room(flipped) / room(light) : 0;
  const channel = (c) => {
    const value = flipped + (c - light) * ratio;
    return Math.round(Math.min(1, Math.max(0, value)) * 255)
      .toString(16)
      .padStart(2, "0");
  };
  made = `#${channel(r)}${channel(g)}${channel(b)}`;
  _chalked.set(color, made);
  return made;
}

const _chalked = new Map();

/**
 * Draws a `Scene` on a canvas.
 *
 * A redraw paints the items in view, bottom first: at once up to a time
 * budget, the rest in slices of about `PAINT_SLICE_MS` per frame, so a big
 * board never freezes the page. An item added on top is painted at once
 * when everything under it is; an extended path gets only its new
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
    this.dark = false;
    /** How many items the last redraw found in view. */
    this.drawn = 0;
    this._queue = [];
    this._next = 0;
    this._loaded = 0;
    this._area = null;
    this._pointsPainted = new WeakMap();
    this._slices = new FrameTask(() => this._paintSlice(PAINT_SLICE_MS));
    this._redraws = new FrameTask(() => this.redraw());
    this._reorderTimer = null;
    this._tails = new Map();
    /** Called whenever every item of the scene is on the canvas. */
    this.onPainted = null;
    this._dirty = [];
    this._restack = new Set();
    this._repaints = new FrameTask(() => this._repaintDirty());
  }

  /** The background the board shows in its theme. */
  get background() {
    return this.dark ? DARK_BACKGROUND : BACKGROUND;
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
    this.redraw(VIEW_REDRAW_MS);
  }

  /**
   * Change the view transform and redraw what is now in view.
   *
   * @param {{x: number, y: number, scale: number}} view
   */
  setView(view) {
    this.view = { x: view.x, y: view.y, scale: view.scale };
    this.redraw(VIEW_REDRAW_MS);
  }

  /**
   * Draw another scene (a replay), or the board's again.
   *
   * @param {import("./scene.js").Scene} scene
   */
  setScene(scene) {
    this.scene = scene;
    this._dirty = [];
    this._restack.clear();
    this.redraw(VIEW_REDRAW_MS);
  }

  /**
   * Chalk on a dark board, or ink on white.
   *
   * @param {boolean} dark
   */
  setDark(dark) {
    this.dark = dark;
    this.redraw(VIEW_REDRAW_MS);
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
    return this._next < this._queue.length;
  }

  /**
   * Paint everything in view again: after a resize, a new view, a clear.
   *
   * @param {number} [budget=PAINT_SLICE_MS] ms to paint at once before
   *   going on in slices
   */
  redraw(budget = PAINT_SLICE_MS) {
    for (const timer of this._tails.values()) {
      clearTimeout(timer);
    }
    this._tails.clear();
    this._pointsPainted = new WeakMap();
    this._area = visibleBox(this.view, this.width, this.height);
    const { items } = this.scene;
    this._queue = [];
    for (const item of items) {
      if (boxesTouch(this.scene.bounds(item), this._area, 0)) {
        this._queue.push(item);
      }
    }
    this.drawn = this._queue.length;
    this._loaded = items.length;
    this._next = 0;
    const { ctx } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    ctx.fillStyle = this.background;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this._paintSlice(budget);
  }

  /** Paint items put into the scene without a change (a state frame). */
  paintLoaded() {
    const { items } = this.scene;
    for (let i = this._loaded; i < items.length; i++) {
      if (this._inView(items[i])) {
        this._queue.push(items[i]);
      }
    }
    this._loaded = items.length;
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
   * @param {Iterable<object>} items items of the scene, or just removed
   * @param {object[]} [boxes=[]] board areas to repaint as well
   */
  repaintSoon(items, boxes = []) {
    for (const item of items) {
      this._dirty.push(this.scene.bounds(item));
    }
    this._dirty.push(...boxes);
    this._repaints.request();
  }

  _repaintDirty() {
    const area = unionBoxes(this._dirty);
    this._dirty = [];
    if (!area) {
      return;
    }
    if (this.busy) {
      // Slices are painting; start them over rather than paint twice.
      this.redraw();
      return;
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
    ctx.fillStyle = this.background;
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
    } else if (change.type === "move" || change.type === "update") {
      this.repaintSoon(change.items, change.before);
    } else {
      this.requestRedraw();
    }
  }

  _inView(item) {
    return boxesTouch(
      this.scene.bounds(item),
      this._area || visibleBox(this.view, this.width, this.height),
      0,
    );
  }

  _paintAdded(item) {
    if (!this._inView(item)) {
      return;
    }
    const { items } = this.scene;
    if (!this.busy && items[items.length - 1] === item) {
      this._paint(item, 0);
      this._queue.push(item);
      this._next = this._queue.length;
    } else if (this.busy && items[items.length - 1] === item) {
      // A slice in progress reaches it.
      this._queue.push(item);
    } else {
      this.repaintSoon([item]);
    }
  }

  _paintExtended(item) {
    const painted = this._pointsPainted.get(item);
    if (painted === undefined) {
      if (this._inView(item) && !this._queue.includes(item)) {
        // It grew into view.
        this.repaintSoon([item]);
      }
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
      const { ctx } = this;
      if (item.pressure) {
        const count = item.pts.length >> 1;
        pressurePieces(item.pts, item.pressure, count, true, (trace, p) => {
          ctx.lineWidth = item.width * pressureFactor(p);
          ctx.beginPath();
          trace(ctx);
          ctx.stroke();
        });
      } else {
        ctx.beginPath();
        if (traceTail(item.pts, ctx)) {
          ctx.stroke();
        }
      }
      this._paintArrows(item);
    }
  }

  _paintSlice(budget) {
    const deadline = performance.now() + budget;
    const queue = this._queue;
    while (this._next < queue.length) {
      const item = queue[this._next];
      this._next += 1;
      if (this.scene.byId.get(item.id) === item) {
        this._paint(item, 0);
      }
      if (performance.now() > deadline && this._next < queue.length) {
        this._slices.request();
        return;
      }
    }
    this.onPainted?.();
  }

  _paint(item, from) {
    const count = item.pts.length >> 1;
    this._pointsPainted.set(item, count);
    this._setStyle(item);
    const { ctx } = this;
    switch (item.kind) {
      case "path":
        _paintPath(ctx, item, from, this.scene.bounds(item));
        if (from === 0) {
          this._paintArrows(item);
        }
        break;
      case "line":
        ctx.beginPath();
        ctx.moveTo(item.pts[0], item.pts[1]);
        ctx.lineTo(item.pts[2], item.pts[3]);
        ctx.stroke();
        this._paintArrows(item);
        break;
      case "rect":
      case "ellipse":
        _paintShape(ctx, item, this.dark ? chalk : null);
        break;
      case "text":
        _paintText(ctx, item);
        break;
      default:
        break;
    }
  }

  _paintArrows(item) {
    if (!item.arrow) {
      return;
    }
    const { ctx } = this;
    ctx.lineWidth = item.width;
    ctx.beginPath();
    for (const [tx, ty, x1, y1, x2, y2] of arrowHeads(item)) {
      ctx.moveTo(x1, y1);
      ctx.lineTo(tx, ty);
      ctx.lineTo(x2, y2);
    }
    ctx.stroke();
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
    const color = this.dark ? chalk(item.color) : item.color;
    ctx.globalAlpha = item.opacity ?? 1;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = item.width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
  }
}

function _paintPath(ctx, item, from, box) {
  const { pts, width, pressure } = item;

  // A tap, or a stroke that never moved, shows as a dot.
  if (
    from === 0 &&
    box.maxX - box.minX <= width * (pressure ? pressureFactor(1) : 1) &&
    box.maxY - box.minY <= width * (pressure ? pressureFactor(1) : 1)
  ) {
    const radius = (width / 2) * (pressure ? pressureFactor(pressure[0]) : 1);
    ctx.beginPath();
    ctx.arc(pts[0], pts[1], radius, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  if (pressure) {
    // Each piece as wide as its point's pressure; a growing path's last
    // stretch waits, as for other paths.
    pressurePieces(pts, pressure, from, from === 0, (trace, p) => {
      ctx.lineWidth = width * pressureFactor(p);
      ctx.beginPath();
      trace(ctx);
      ctx.stroke();
    });
    return;
  }
  ctx.beginPath();
  // A path painted before is growing: its last stretch waits.
  if (tracePath(pts, ctx, from, from === 0)) {
    ctx.stroke();
  }
}

function _paintShape(ctx, item, ink) {
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
    ctx.fillStyle = ink ? ink(item.fill) : item.fill;
    ctx.fill();
  }
  ctx.stroke();
}

function _paintText(ctx, item) {
  ctx.font = `${item.size}px ${FONT_FAMILY}`;
  ctx.textBaseline = "top";
  const lines = item.text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    ctx.fillText(
      lines[i],
      item.pts[0],
      item.pts[1] + i * item.size * LINE_HEIGHT,
    );
  }
}

/**
 * Paint items onto any 2D context, for exports and previews: the whole
 * list at once, in light colours.
 *
 * @param {CanvasRenderingContext2D} ctx
 * @param {object[]} items bottom first
 * @param {((item: object) => object)|null} bounds an item's box; computed
 *   when null
 * @param {number[]|DOMMatrix|null} transform for setTransform; null keeps
 *   the context's
 */
export function paintItems(ctx, items, bounds, transform) {
  const matrix = transform || ctx.getTransform();
  const renderer = Object.create(Renderer.prototype);
  Object.assign(renderer, {
    ctx,
    dark: false,
    scene: { bounds: bounds || itemBounds },
    _pointsPainted: new WeakMap(),
  });
  renderer._setStyle = (item) => {
    if (Array.isArray(matrix)) {
      ctx.setTransform(...matrix);
    } else {
      ctx.setTransform(matrix);
    }
    ctx.globalAlpha = item.opacity ?? 1;
    ctx.strokeStyle = item.color;
    ctx.fillStyle = item.color;
    ctx.lineWidth = item.width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
  };
  for (const item of items) {
    renderer._paint(item, 0);
  }
}
