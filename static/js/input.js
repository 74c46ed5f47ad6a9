// Pointer Events on the canvas, for mouse, touch and pen alike, turned into
// a tool's press, moves and release in board units.

/** The `button` a pen reports for its eraser end. */
const PEN_ERASER_BUTTON = 5;

/**
 * Follows one pointer at a time over the canvas and drives a tool with it.
 * A second finger is ignored while the first draws (pinch zoom comes
 * later).
 */
export class PointerInput {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {(x: number, y: number) => {x: number, y: number}} toBoard
   *   canvas CSS pixels to board units
   * @param {(event: PointerEvent) => import("./tools/tool.js").Tool} pick
   *   the tool for a gesture starting with this event
   */
  constructor(canvas, toBoard, pick) {
    this._canvas = canvas;
    this._toBoard = toBoard;
    this._pick = pick;
    this._pointerId = null;
    this._tool = null;
    this._origin = { left: 0, top: 0 };

    canvas.addEventListener("pointerdown", (event) => this._down(event));
    canvas.addEventListener("pointermove", (event) => this._move(event));
    canvas.addEventListener("pointerup", (event) => this._up(event, false));
    canvas.addEventListener("pointercancel", (event) => this._up(event, true));
    canvas.addEventListener("lostpointercapture", (event) =>
      this._up(event, true),
    );
    // A long press must not open a menu over the drawing.
    canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  }

  /** End the gesture in progress, if any (the tool is being changed). */
  end() {
    if (this._tool) {
      this._tool.release();
    }
    this._tool = null;
    this._pointerId = null;
  }

  _point(event) {
    return this._toBoard(
      event.clientX - this._origin.left,
      event.clientY - this._origin.top,
    );
  }

  _down(event) {
    if (this._pointerId !== null) {
      return;
    }
    const eraserEnd =
      event.pointerType === "pen" && event.button === PEN_ERASER_BUTTON;
    if (event.button !== 0 && !eraserEnd) {
      return;
    }
    event.preventDefault();
    this._canvas.setPointerCapture(event.pointerId);
    this._pointerId = event.pointerId;
    this._origin = this._canvas.getBoundingClientRect();
    this._tool = this._pick(event);
    this._tool.press(this._point(event));
  }

  _move(event) {
    if (event.pointerId !== this._pointerId || !this._tool) {
      return;
    }
    const events =
      typeof event.getCoalescedEvents === "function"
        ? event.getCoalescedEvents()
        : [];
    const points = (events.length ? events : [event]).map((e) =>
      this._point(e),
    );
    this._tool.move(points);
  }

  _up(event, cancelled) {
    if (event.pointerId !== this._pointerId || !this._tool) {
      return;
    }
    const tool = this._tool;
    this._tool = null;
    this._pointerId = null;
    if (cancelled) {
      tool.cancel();
    } else {
      tool.move([this._point(event)]);
      tool.release();
    }
  }
}
