// Pointer Events on the canvas, for mouse, touch and pen alike: a tool's
// press, moves and release in board units, and panning and zooming (hand
// tool, space-drag, middle button, wheel, two fingers).

/** The `button` a pen reports for its eraser end. */
const PEN_ERASER_BUTTON = 5;

/**
 * A finger must move this far (CSS pixels), or stay down this long, before
 * it draws: a second finger arriving first makes a pinch instead, and
 * leaves no stray dot.
 */
const TOUCH_SLOP_PX = 6;
const TOUCH_DELAY_MS = 90;

/** Wheel zoom speed: the factor per pixel of wheel travel. */
const WHEEL_ZOOM = 0.0018;
const LINE_PX = 32;

/**
 * A point as tools receive it.
 *
 * @typedef {object} ToolPoint
 * @property {number} x board units
 * @property {number} y board units
 * @property {number} sx CSS pixels from the canvas's left edge
 * @property {number} sy CSS pixels from its top edge
 * @property {number} [pressure] 0..1, from a pen
 * @property {boolean} shift whether Shift was held
 * @property {boolean} alt whether Alt was held
 */

/**
 * Follows the pointers over the canvas: one draws with the current tool,
 * two pinch; the hand tool, the space bar and the middle button pan. Once
 * a pen has been used, fingers only pan and zoom, so a palm resting on
 * the screen draws nothing.
 */
export class PointerInput {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {object} handlers
   * @param {(x: number, y: number) => {x: number, y: number}}
   *   handlers.toBoard canvas CSS pixels to board units
   * @param {(event: PointerEvent) => import("./tools/tool.js").Tool}
   *   handlers.pick the tool for a gesture starting with this event
   * @param {import("./view.js").Camera} handlers.camera
   * @param {(point: {x: number, y: number}|null) => void} handlers.hover
   *   where the pointer is over the board, or null when it left
   */
  constructor(canvas, handlers) {
    this._canvas = canvas;
    this._handlers = handlers;
    this._pointers = new Map();
    this._drawing = null;
    this._pending = null;
    this._panning = null;
    this._pinch = null;
    this._space = false;
    this.penSeen = false;
    this._origin = { left: 0, top: 0 };

    canvas.addEventListener("pointerdown", (event) => this._down(event));
    canvas.addEventListener("pointermove", (event) => this._move(event));
    canvas.addEventListener("pointerup", (event) => this._up(event, false));
    canvas.addEventListener("pointercancel", (event) => this._up(event, true));
    canvas.addEventListener("lostpointercapture", (event) =>
      this._up(event, true),
    );
    canvas.addEventListener("pointerleave", (event) => {
      if (event.pointerType === "mouse" && !this._pointers.size) {
        this._handlers.hover(null);
      }
    });
    canvas.addEventListener("wheel", (event) => this._wheel(event), {
      passive: false,
    });
    // A long press must not open a menu over the drawing.
    canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    const doc = canvas.ownerDocument;
    doc.addEventListener("keydown", (event) => this._key(event, true));
    doc.addEventListener("keyup", (event) => this._key(event, false));
    doc.defaultView.addEventListener("blur", () => this._setSpace(false));
  }

  /** Whether a gesture is going on. */
  get active() {
    return this._pointers.size > 0;
  }

  /** End the gesture in progress, if any (the tool is being changed). */
  end() {
    if (this._drawing) {
      this._drawing.tool.release();
    }
    this._drawing = null;
    this._pending = null;
    this._panning = null;
    this._pinch = null;
  }

  _point(event) {
    const sx = event.clientX - this._origin.left;
    const sy = event.clientY - this._origin.top;
    const { x, y } = this._handlers.toBoard(sx, sy);
    const point = { x, y, sx, sy, shift: event.shiftKey, alt: event.altKey };
    if (event.pointerType === "pen" && event.pressure > 0) {
      point.pressure = Math.min(1, Math.max(0, event.pressure));
    }
    return point;
  }

  _key(event, down) {
    if (event.key !== " " || event.target.closest?.("input, textarea, select, button, [contenteditable]")) {
      return;
    }
    event.preventDefault();
    this._setSpace(down);
  }

  _setSpace(held) {
    this._space = held;
    this._canvas.classList.toggle("space-pan", held);
  }

  _down(event) {
    this._origin = this._canvas.getBoundingClientRect();
    if (event.pointerType === "pen") {
      this.penSeen = true;
    }
    const touch = event.pointerType === "touch";
    const eraserEnd =
      event.pointerType === "pen" && event.button === PEN_ERASER_BUTTON;
    if (event.button !== 0 && event.button !== 1 && !eraserEnd) {
      return;
    }
    event.preventDefault();
    this._canvas.focus?.({ preventScroll: true });
    this._canvas.setPointerCapture(event.pointerId);
    this._pointers.set(event.pointerId, {
      sx: event.clientX - this._origin.left,
      sy: event.clientY - this._origin.top,
      type: event.pointerType,
    });

    if (touch && this._pointers.size === 2) {
      this._startPinch();
      return;
    }
    if (this._pointers.size > 1) {
      return;
    }
    const tool = this._handlers.pick(event);
    if (event.button === 1 || this._space || tool.pans || (touch && this.penSeen)) {
      this._panning = { id: event.pointerId, sx: event.clientX, sy: event.clientY };
      this._canvas.classList.add("panning");
      return;
    }
    const point = this._point(event);
    if (touch) {
      // Wait: this finger may be the first of a pinch.
      this._pending = {
        id: event.pointerId,
        tool,
        points: [point],
        timer: setTimeout(() => this._startPending(), TOUCH_DELAY_MS),
      };
      return;
    }
    this._drawing = { id: event.pointerId, tool };
    tool.press(point);
  }

  _startPending() {
    const pending = this._pending;
    if (!pending) {
      return;
    }
    clearTimeout(pending.timer);
    this._pending = null;
    this._drawing = { id: pending.id, tool: pending.tool };
    pending.tool.press(pending.points[0]);
    if (pending.points.length > 1) {
      pending.tool.move(pending.points.slice(1));
    }
  }

  _startPinch() {
    if (this._pending) {
      clearTimeout(this._pending.timer);
      this._pending = null;
    }
    if (this._drawing) {
      // A pinch begun while a finger drew ends that stroke where it is.
      this._drawing.tool.cancel();
      this._drawing = null;
    }
    this._panning = null;
    const [a, b] = [...this._pointers.values()];
    this._pinch = {
      distance: Math.hypot(a.sx - b.sx, a.sy - b.sy) || 1,
      cx: (a.sx + b.sx) / 2,
      cy: (a.sy + b.sy) / 2,
    };
  }

  _move(event) {
    const tracked = this._pointers.get(event.pointerId);
    if (!tracked) {
      if (!this._pointers.size) {
        this._origin = this._canvas.getBoundingClientRect();
        const point = this._point(event);
        this._handlers.hover({ x: point.x, y: point.y });
      }
      return;
    }
    tracked.sx = event.clientX - this._origin.left;
    tracked.sy = event.clientY - this._origin.top;

    if (this._pinch && this._pointers.size >= 2) {
      const [a, b] = [...this._pointers.values()];
      const distance = Math.hypot(a.sx - b.sx, a.sy - b.sy) || 1;
      const cx = (a.sx + b.sx) / 2;
      const cy = (a.sy + b.sy) / 2;
      const { camera } = this._handlers;
      camera.panBy(cx - this._pinch.cx, cy - this._pinch.cy);
      camera.zoomBy(distance / this._pinch.distance, cx, cy);
      this._pinch = { distance, cx, cy };
      return;
    }
    if (this._panning && this._panning.id === event.pointerId) {
      this._handlers.camera.panBy(
        event.clientX - this._panning.sx,
        event.clientY - this._panning.sy,
      );
      this._panning.sx = event.clientX;
      this._panning.sy = event.clientY;
      return;
    }

    const events =
      typeof event.getCoalescedEvents === "function"
        ? event.getCoalescedEvents()
        : [];
    const points = (events.length ? events : [event]).map((e) =>
      this._point(e),
    );
    const last = points[points.length - 1];
    this._handlers.hover({ x: last.x, y: last.y });
    if (this._pending && this._pending.id === event.pointerId) {
      this._pending.points.push(...points);
      const first = this._pending.points[0];
      if (Math.hypot(last.sx - first.sx, last.sy - first.sy) > TOUCH_SLOP_PX) {
        this._startPending();
      }
      return;
    }
    if (this._drawing && this._drawing.id === event.pointerId) {
      this._drawing.tool.move(points);
    }
  }

  _up(event, cancelled) {
    if (!this._pointers.has(event.pointerId)) {
      return;
    }
    this._pointers.delete(event.pointerId);
    if (this._pinch) {
      if (this._pointers.size < 2) {
        this._pinch = null;
      }
      return;
    }
    if (this._panning && this._panning.id === event.pointerId) {
      this._panning = null;
      this._canvas.classList.remove("panning");
      return;
    }
    if (this._pending && this._pending.id === event.pointerId) {
      // A tap: draw it.
      this._startPending();
    }
    if (!this._drawing || this._drawing.id !== event.pointerId) {
      return;
    }
    const { tool } = this._drawing;
    this._drawing = null;
    if (cancelled) {
      tool.cancel();
    } else {
      tool.move([this._point(event)]);
      tool.release();
    }
  }

  _wheel(event) {
    event.preventDefault();
    const rect = this._canvas.getBoundingClientRect();
    const cx = event.clientX - rect.left;
    const cy = event.clientY - rect.top;
    const unit =
      event.deltaMode === 1 ? LINE_PX : event.deltaMode === 2 ? rect.height : 1;
    const { camera } = this._handlers;
    if (event.ctrlKey || event.metaKey) {
      // Also what a touchpad's pinch sends.
      camera.zoomBy(Math.exp(-event.deltaY * unit * WHEEL_ZOOM), cx, cy);
      return;
    }
    let dx = event.deltaX * unit;
    let dy = event.deltaY * unit;
    if (event.shiftKey && dx === 0) {
      [dx, dy] = [dy, 0];
    }
    camera.panBy(-dx, -dy);
  }
}
