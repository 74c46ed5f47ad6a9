// Running work once per animation frame, also in a hidden tab.

/** How long a slice of batched work may hold the main thread, in ms. */
export const SLICE_MS = 6;

/**
 * How long a slice of canvas painting may take, in ms. Smaller, since
 * the browser rasterizes what was painted after the script returns, which
 * took about ten times as long again in Chromium without a GPU.
 */
export const PAINT_SLICE_MS = 3;

/** The fallback delay when animation frames stop (a hidden tab), in ms. */
const FALLBACK_MS = 100;

/**
 * Call `callback` on the next animation frame. Browsers pause animation
 * frames in hidden tabs, where a timer calls it instead, so that incoming
 * ops are still applied and acknowledged.
 *
 * @param {() => void} callback
 */
export function nextFrame(callback) {
  let done = false;
  const run = () => {
    if (!done) {
      done = true;
      callback();
    }
  };
  requestAnimationFrame(run);
  setTimeout(run, FALLBACK_MS);
}

/**
 * A job that runs at most once per frame however often it is asked for:
 * `request()` marks it wanted, and it runs on the next frame.
 */
export class FrameTask {
  /** @param {() => void} callback the work */
  constructor(callback) {
    this._callback = callback;
    this._wanted = false;
  }

  /** Ask for a run on the next frame. */
  request() {
    if (!this._wanted) {
      this._wanted = true;
      nextFrame(() => {
        this._wanted = false;
        this._callback();
      });
    }
  }
}
