// Replay: the board's whole history (what was cleared too) on a timeline,
// with play, pause, speed and a scrubber. The live board goes on
// underneath and comes back when the replay closes.

import { readHistory } from "./history.js";
import { Scene } from "./scene.js";

/** Ops drawn per second at 1×. */
const OPS_PER_SECOND = 30;

/** Jumps longer than this many ops are drawn by a whole redraw. */
const JUMP_OPS = 40;

/**
 * The timeline and the scene it shows.
 */
export class Replay {
  /**
   * @param {object} options
   * @param {Document} options.document
   * @param {string} options.board the board's address, /b/<id> or /v/<id>
   * @param {import("./render.js").Renderer} options.renderer
   * @param {() => import("./scene.js").Scene} options.live the board's
   *   own scene, shown again on close
   * @param {(replaying: boolean) => void} options.changed
   * @param {(message: string) => void} options.notify
   */
  constructor(options) {
    this._document = options.document;
    this._board = options.board;
    this._renderer = options.renderer;
    this._live = options.live;
    this._changed = options.changed;
    this._notify = options.notify;
    this.open = false;
    this.ops = [];
    this.index = 0;
    this.scene = new Scene();
    this.playing = false;
    this.speed = 1;
    this._credit = 0;
    this._last = 0;
    this._frame = null;

    const doc = this._document;
    this._panel = doc.getElementById("replay");
    this._scrubber = doc.getElementById("replay-scrubber");
    this._label = doc.getElementById("replay-position");
    this._playButton = doc.querySelector("[data-action='replay-play']");
    this._speedSelect = doc.getElementById("replay-speed");
    this._playButton.addEventListener("click", () =>
      this.playing ? this.pause() : this.play(),
    );
    this._scrubber.addEventListener("input", () => {
      const index = Number(this._scrubber.value);
      this.pause();
      this.seek(index);
    });
    this._speedSelect.addEventListener("change", () => {
      this.speed = Number(this._speedSelect.value) || 1;
    });
    doc
      .querySelector("[data-action='replay-close']")
      .addEventListener("click", () => this.close());
  }

  /** Read the history and show the timeline, playing from the start. */
  async start() {
    if (this.open) {
      return;
    }
    this.open = true;
    this._panel.hidden = false;
    this._document.body.dataset.replay = "loading";
    this._label.textContent = "Reading the history…";
    this._scrubber.disabled = true;
    this._changed(true);
    try {
      this.ops = await readHistory(this._board, {
        progress: (count) => {
          this._label.textContent = `Reading the history… ${count} changes`;
        },
      });
    } catch (error) {
      this._notify(error.message);
      this.close();
      return;
    }
    if (!this.open) {
      return;
    }
    this.scene = new Scene();
    this.index = 0;
    this._renderer.setScene(this.scene);
    this._scrubber.max = String(this.ops.length);
    this._scrubber.disabled = false;
    this._document.body.dataset.replay = "on";
    this._document.body.dataset.replayLength = String(this.ops.length);
    this._show();
    this.play();
  }

  /** The seq the timeline stands at (0 before the first op). */
  get seq() {
    return this.index > 0 ? this.ops[this.index - 1].seq : 0;
  }

  /**
   * Show the board as it was after the first `index` ops of its history.
   *
   * @param {number} index 0 to the number of ops
   */
  seek(index) {
    const target = Math.max(0, Math.min(this.ops.length, Math.round(index)));
    let jump = target - this.index > JUMP_OPS;
    if (target < this.index) {
      // Back in time: fold again from the start.
      this.scene.reset();
      this.index = 0;
      jump = true;
    }
    while (this.index < target) {
      const change = this.scene.apply(this.ops[this.index]);
      this.index += 1;
      if (!jump) {
        this._renderer.show(change);
      }
    }
    if (jump) {
      this._renderer.redraw(40);
    }
    this._show();
  }

  /** Play from here (from the start when at the end). */
  play() {
    if (!this.ops.length) {
      return;
    }
    if (this.index >= this.ops.length) {
      this.seek(0);
    }
    this.playing = true;
    this._credit = 0;
    this._last = performance.now();
    this._show();
    const step = (now) => {
      if (!this.playing) {
        return;
      }
      this._credit += ((now - this._last) / 1000) * OPS_PER_SECOND * this.speed;
      this._last = now;
      const count = Math.floor(this._credit);
      if (count > 0) {
        this._credit -= count;
        this.seek(this.index + count);
      }
      if (this.index >= this.ops.length) {
        this.pause();
        return;
      }
      this._frame = requestAnimationFrame(step);
    };
    this._frame = requestAnimationFrame(step);
  }

  /** Stop where it is. */
  pause() {
    this.playing = false;
    cancelAnimationFrame(this._frame);
    this._show();
  }

  /** Close the timeline and show the live board again. */
  close() {
    if (!this.open) {
      return;
    }
    this.pause();
    this.open = false;
    this._panel.hidden = true;
    delete this._document.body.dataset.replay;
    delete this._document.body.dataset.replaySeq;
    delete this._document.body.dataset.replayItems;
    this._renderer.setScene(this._live());
    this._changed(false);
  }

  _show() {
    this._scrubber.value = String(this.index);
    const total = this.ops.length;
    const last = total ? this.ops[total - 1].seq : 0;
    this._label.textContent = total
      ? `Change ${this.seq} of ${last}`
      : "Nothing drawn yet";
    this._scrubber.setAttribute(
      "aria-valuetext",
      `Change ${this.seq} of ${last}`,
    );
    this._playButton.setAttribute("aria-label", this.playing ? "Pause" : "Play");
    this._playButton.title = this.playing ? "Pause" : "Play";
    this._playButton.dataset.playing = String(this.playing);
    this._document.body.dataset.replaySeq = String(this.seq);
    this._document.body.dataset.replayItems = String(this.scene.items.length);
  }
}
