// A transparent canvas over the board for what is not on the board yet:
// the shape being dragged out, the selection box and its handles. Painted
// whole, once per frame at most, by whoever registered a painter.

import { FrameTask } from "./schedule.js";

/** The selection's colour. */
export const SELECTION = "#1971c2";

/**
 * The overlay canvas.
 */
export class Overlay {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.view = { x: 0, y: 0, scale: 1 };
    this.dpr = 1;
    this._painters = [];
    this._task = new FrameTask(() => this.paint());
  }

  /**
   * Add a painter, called with the context set to board units and the
   * view's scale (to keep lines a constant width on screen).
   *
   * @param {(ctx: CanvasRenderingContext2D, scale: number) => void} painter
   */
  add(painter) {
    this._painters.push(painter);
  }

  /** Size the backing store, as the board's. */
  resize(width, height, dpr) {
    this.dpr = dpr;
    this.canvas.width = Math.max(1, Math.round(width * dpr));
    this.canvas.height = Math.max(1, Math.round(height * dpr));
    this.paint();
  }

  /** Follow the board's view. */
  setView(view) {
    this.view = view;
    this.request();
  }

  /** Paint again on the next frame. */
  request() {
    this._task.request();
  }

  /** Paint now. */
  paint() {
    const { ctx, view, dpr } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    for (const painter of this._painters) {
      ctx.save();
      ctx.setTransform(
        dpr * view.scale,
        0,
        0,
        dpr * view.scale,
        dpr * view.x,
        dpr * view.y,
      );
      painter(ctx, view.scale);
      ctx.restore();
    }
  }
}
