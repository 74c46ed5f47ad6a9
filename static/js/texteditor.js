// Typing text on the board: a text field over the canvas where the text
// will be, as large as it will be drawn, that becomes a text item (or
// changes one) when done.

import { FONT_FAMILY, chalk } from "./render.js";
import { LINE_HEIGHT } from "./geometry.js";

/**
 * One text field at a time, in a layer over the canvas.
 */
export class TextEditor {
  /**
   * @param {HTMLElement} layer where the field goes, over the canvas
   * @param {() => {x: number, y: number, scale: number}} view
   * @param {() => boolean} dark whether the board is dark
   */
  constructor(layer, view, dark) {
    this._layer = layer;
    this._view = view;
    this._dark = dark;
    this._open = null;
  }

  /** Whether a field is open. */
  get editing() {
    return this._open !== null;
  }

  /**
   * Open a field at a board point.
   *
   * @param {object} options
   * @param {number} options.x board units: the text's top-left corner
   * @param {number} options.y
   * @param {string} options.text what it starts with
   * @param {number} options.size font size in board units
   * @param {string} options.color
   * @param {(text: string) => void} options.done called once with what
   *   was typed, when the field is left (Enter, Escape, a click away)
   */
  open(options) {
    this.close();
    const field = this._layer.ownerDocument.createElement("textarea");
    field.className = "text-field";
    field.value = options.text;
    field.setAttribute("aria-label", "Text on the board");
    field.spellcheck = true;
    field.rows = 1;
    this._open = { field, options };
    this._place();
    const done = () => {
      if (this._open && this._open.field === field) {
        this._open = null;
        field.remove();
        options.done(field.value.replace(/\s+$/u, ""));
      }
    };
    field.addEventListener("keydown", (event) => {
      event.stopPropagation();
      if ((event.key === "Enter" && !event.shiftKey) || event.key === "Escape") {
        event.preventDefault();
        done();
      }
    });
    field.addEventListener("input", () => this._fit());
    field.addEventListener("blur", done);
    this._layer.append(field);
    this._fit();
    field.focus({ preventScroll: true });
    field.setSelectionRange(field.value.length, field.value.length);
  }

  /** Close the open field, keeping what was typed. */
  close() {
    this._open?.field.blur();
  }

  /** Follow the view, while a field is open. */
  follow() {
    if (this._open) {
      this._place();
    }
  }

  _place() {
    const { field, options } = this._open;
    const view = this._view();
    const size = options.size * view.scale;
    field.style.setProperty("--left", `${options.x * view.scale + view.x}px`);
    field.style.setProperty("--top", `${options.y * view.scale + view.y}px`);
    field.style.setProperty("--size", `${size}px`);
    field.style.setProperty("--line", String(LINE_HEIGHT));
    field.style.setProperty("--font", FONT_FAMILY);
    field.style.setProperty(
      "--text-color",
      this._dark() ? chalk(options.color) : options.color,
    );
    this._fit();
  }

  _fit() {
    const { field } = this._open || {};
    if (!field) {
      return;
    }
    const lines = field.value.split("\n");
    field.rows = Math.max(1, lines.length);
    field.style.setProperty(
      "--chars",
      String(Math.max(2, ...lines.map((line) => [...line].length)) + 1),
    );
  }
}
