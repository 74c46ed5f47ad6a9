// The view over the infinite board: which board point shows where, how far
// zoomed. DOM-free apart from the storage it is given, so tests reach it.

/** The zoom range, in CSS pixels per board unit. */
export const MIN_SCALE = 0.05;
export const MAX_SCALE = 16;

/** The zoom buttons' and keys' step. */
export const ZOOM_STEP = 1.25;

/**
 * A view: a board point (bx, by) shows at CSS pixel
 * (bx * scale + x, by * scale + y) of the canvas.
 *
 * @typedef {{x: number, y: number, scale: number}} View
 */

/**
 * A scale kept within the zoom range.
 *
 * @param {number} scale
 * @returns {number}
 */
export function clampScale(scale) {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
}

/**
 * The view zoomed by `factor` about a point of the canvas, which stays
 * over the same board point.
 *
 * @param {View} view
 * @param {number} factor more than 1 zooms in
 * @param {number} cx CSS pixels
 * @param {number} cy CSS pixels
 * @returns {View}
 */
export function zoomAbout(view, factor, cx, cy) {
  const scale = clampScale(view.scale * factor);
  const bx = (cx - view.x) / view.scale;
  const by = (cy - view.y) / view.scale;
  return { x: cx - bx * scale, y: cy - by * scale, scale };
}

/**
 * The view that shows a board box whole and centred in a canvas, with a
 * margin, no closer than 100 % unless the box is tiny.
 *
 * @param {{minX: number, minY: number, maxX: number, maxY: number}} box
 * @param {number} width CSS pixels
 * @param {number} height CSS pixels
 * @param {number} [margin=48] CSS pixels
 * @param {number} [most=1] the largest scale to use
 * @returns {View}
 */
export function fitBox(box, width, height, margin = 48, most = 1) {
  const boxWidth = Math.max(1, box.maxX - box.minX);
  const boxHeight = Math.max(1, box.maxY - box.minY);
  const room = (size) => Math.max(1, size - 2 * margin);
  const scale = clampScale(
    Math.min(most, room(width) / boxWidth, room(height) / boxHeight),
  );
  const cx = (box.minX + box.maxX) / 2;
  const cy = (box.minY + box.maxY) / 2;
  return { x: width / 2 - cx * scale, y: height / 2 - cy * scale, scale };
}

/**
 * The board area a view shows in a canvas of this size.
 *
 * @param {View} view
 * @param {number} width CSS pixels
 * @param {number} height CSS pixels
 * @returns {{minX: number, minY: number, maxX: number, maxY: number}}
 */
export function visibleBox(view, width, height) {
  return {
    minX: -view.x / view.scale,
    minY: -view.y / view.scale,
    maxX: (width - view.x) / view.scale,
    maxY: (height - view.y) / view.scale,
  };
}

/**
 * Holds the page's view, tells whoever listens when it changes, and keeps
 * it per board in storage so a reload opens where one was.
 */
export class Camera {
  /**
   * @param {Storage|null} storage
   * @param {string} key the storage key, one per board
   */
  constructor(storage, key) {
    this._storage = storage;
    this._key = key;
    this._listeners = [];
    this._timer = null;
    this.width = 0;
    this.height = 0;
    /** @type {View} */
    this.view = { x: 0, y: 0, scale: 1 };
    try {
      const saved = JSON.parse(storage?.getItem(key) || "null");
      if (
        saved &&
        [saved.x, saved.y, saved.scale].every(Number.isFinite) &&
        saved.scale === clampScale(saved.scale)
      ) {
        this.view = { x: saved.x, y: saved.y, scale: saved.scale };
      }
    } catch {
      // A view not remembered opens at the origin.
    }
  }

  /**
   * Call `listener(view, cause)` after every change; `cause` is "user"
   * for the person's own panning and zooming, "follow" for following
   * someone, "fit" and "reset" for those buttons.
   *
   * @param {(view: View, cause: string) => void} listener
   */
  listen(listener) {
    this._listeners.push(listener);
  }

  /**
   * Set the view.
   *
   * @param {View} view
   * @param {string} [cause="user"]
   */
  set(view, cause = "user") {
    const next = { x: view.x, y: view.y, scale: clampScale(view.scale) };
    if (
      next.x === this.view.x &&
      next.y === this.view.y &&
      next.scale === this.view.scale
    ) {
      return;
    }
    this.view = next;
    for (const listener of this._listeners) {
      listener(next, cause);
    }
    this._saveSoon();
  }

  /** Shift the view by CSS pixels. */
  panBy(dx, dy, cause = "user") {
    this.set(
      { x: this.view.x + dx, y: this.view.y + dy, scale: this.view.scale },
      cause,
    );
  }

  /** Zoom by a factor about a canvas point (the centre by default). */
  zoomBy(factor, cx = this.width / 2, cy = this.height / 2, cause = "user") {
    this.set(zoomAbout(this.view, factor, cx, cy), cause);
  }

  /** Back to 100 %, keeping the centre of the window where it is. */
  reset() {
    this.zoomBy(1 / this.view.scale, this.width / 2, this.height / 2, "reset");
  }

  /**
   * Show a board box whole.
   *
   * @param {object|null} box nothing happens for null (an empty board)
   * @param {string} [cause="fit"]
   * @param {number} [most=1] the largest scale
   */
  fit(box, cause = "fit", most = 1) {
    if (box) {
      this.set(fitBox(box, this.width, this.height, 48, most), cause);
    }
  }

  /** The board area in the window. */
  visible() {
    return visibleBox(this.view, this.width, this.height);
  }

  _saveSoon() {
    clearTimeout(this._timer);
    this._timer = setTimeout(() => {
      try {
        this._storage?.setItem(this._key, JSON.stringify(this.view));
      } catch {
        // Not remembered; nothing else is lost.
      }
    }, 400);
  }
}
