// The toolbar: tool buttons, the style panel (palette and a custom colour,
// widths, opacity, fill), and clear with a confirmation that lives in the
// page (a <dialog>, not window.confirm). Choices are kept across visits.

const PREFS_KEY = "whitebrd.prefs";

/** Every tool, by its button's data-tool, with its shortcut key. */
export const TOOLS = {
  select: "v",
  hand: "h",
  pen: "p",
  highlighter: "m",
  eraser: "e",
  line: "l",
  arrow: "a",
  rect: "r",
  ellipse: "o",
  text: "t",
};

/** Opacities the panel offers. */
export const OPACITIES = [1, 0.6, 0.3];

/** Tools that draw in the chosen style; picking a colour keeps them. */
const DRAWING_TOOLS = new Set([
  "pen",
  "highlighter",
  "line",
  "arrow",
  "rect",
  "ellipse",
  "text",
  "select",
]);

/**
 * The text size for a stroke width: the widths' buttons size text too.
 *
 * @param {number} width
 * @returns {number} board units
 */
export function textSize(width) {
  const sizes = { 2: 16, 4: 24, 8: 36, 16: 56 };
  return sizes[width] ?? Math.min(1000, Math.max(12, Math.round(width * 3.5)));
}

/**
 * A light tint of a colour, for filling shapes drawn in it.
 *
 * @param {string} color "#rrggbb"
 * @returns {string} "#rrggbb"
 */
export function tint(color) {
  const mix = (i) =>
    Math.round(parseInt(color.slice(i, i + 2), 16) * 0.25 + 255 * 0.75)
      .toString(16)
      .padStart(2, "0");
  return `#${mix(1)}${mix(3)}${mix(5)}`;
}

function _loadPrefs(storage) {
  try {
    const prefs = JSON.parse(storage?.getItem(PREFS_KEY) || "{}");
    return prefs && typeof prefs === "object" ? prefs : {};
  } catch {
    return {};
  }
}

/**
 * Wires the toolbar's controls and remembers the choices across visits.
 */
export class Toolbar {
  /**
   * @param {Document} document
   * @param {object} settings
   * @param {string[]} settings.palette "#rrggbb" colours
   * @param {number[]} settings.widths stroke widths in board units
   * @param {Storage|null} storage where choices are remembered
   * @param {object} handlers
   * @param {(name: string) => void} handlers.tool a tool was picked
   * @param {(set: object) => boolean} handlers.restyle a style was picked:
   *   apply it to the selection, if any (true when there was one)
   * @param {() => void} handlers.clear clearing was confirmed
   */
  constructor(document, settings, storage, handlers) {
    this._document = document;
    this._storage = storage;
    this._handlers = handlers;
    this._palette = settings.palette;
    const prefs = _loadPrefs(storage);
    this.color = /^#[0-9a-f]{6}$/.test(prefs.color)
      ? prefs.color
      : settings.palette[0];
    this.width = settings.widths.includes(prefs.width)
      ? prefs.width
      : settings.widths[Math.min(1, settings.widths.length - 1)];
    this.opacity = OPACITIES.includes(prefs.opacity) ? prefs.opacity : 1;
    this.fill = prefs.fill === true;
    this.tool = Object.hasOwn(TOOLS, prefs.tool) ? prefs.tool : "pen";

    this._buildPalette(settings.palette);
    this._buildWidths(settings.widths);
    this._buildOpacities();
    for (const button of document.querySelectorAll("[data-tool]")) {
      button.addEventListener("click", () => this.pick(button.dataset.tool));
    }
    document
      .querySelector("[data-action='fill']")
      ?.addEventListener("click", () => {
        this.fill = !this.fill;
        this._chosen({ fill: this.fill ? tint(this.color) : null });
      });
    this._wireClear();
    this._show();
  }

  /** The style new items are drawn in. */
  style() {
    return {
      color: this.color,
      width: this.width,
      opacity: this.opacity,
      fill: this.fill,
      fillColor: tint(this.color),
      size: textSize(this.width),
    };
  }

  /**
   * Pick a tool, as its button does.
   *
   * @param {string} name a key of TOOLS
   */
  pick(name) {
    if (!Object.hasOwn(TOOLS, name)) {
      return;
    }
    this.tool = name;
    this._save();
    this._show();
    this._handlers.tool(name);
  }

  /**
   * Handle a tool's shortcut key.
   *
   * @param {string} key the event's key, lower case
   * @returns {boolean} whether it picked a tool
   */
  key(key) {
    const name =
      key === "b" ? "pen" : Object.keys(TOOLS).find((tool) => TOOLS[tool] === key);
    if (!name) {
      return false;
    }
    this.pick(name);
    return true;
  }

  /**
   * A style was chosen: selected items take it; a tool that does not draw
   * gives way to the pen.
   */
  _chosen(set) {
    this._save();
    this._show();
    const restyled = this._handlers.restyle(set);
    if (!restyled && !DRAWING_TOOLS.has(this.tool)) {
      this.pick("pen");
    }
  }

  _buildPalette(palette) {
    const group = this._document.getElementById("palette");
    for (const color of palette) {
      const button = this._document.createElement("button");
      button.type = "button";
      button.className = "swatch";
      button.dataset.color = color;
      button.setAttribute("role", "radio");
      button.setAttribute("aria-label", `Colour ${color}`);
      button.title = color;
      // NB: CSSOM, not a style attribute, so a strict CSP allows it.
      button.style.setProperty("--swatch", color);
      button.addEventListener("click", () => this.setColor(color));
      group.append(button);
    }
    const custom = this._document.getElementById("custom-color");
    custom?.addEventListener("input", () => this.setColor(custom.value));
  }

  /**
   * Choose a colour (from the palette or the picker).
   *
   * @param {string} color "#rrggbb"
   */
  setColor(color) {
    this.color = color.toLowerCase();
    const set = { color: this.color };
    if (this.fill) {
      set.fill = tint(this.color);
    }
    this._chosen(set);
  }

  _buildWidths(widths) {
    const group = this._document.getElementById("widths");
    for (const width of widths) {
      const button = this._document.createElement("button");
      button.type = "button";
      button.className = "width";
      button.dataset.width = String(width);
      button.setAttribute("role", "radio");
      button.setAttribute("aria-label", `Width ${width}`);
      button.title = `Width ${width}`;
      const dot = this._document.createElement("span");
      dot.className = "dot";
      dot.style.setProperty("--size", `${Math.min(18, Math.max(3, width))}px`);
      button.append(dot);
      button.addEventListener("click", () => {
        this.width = width;
        this._chosen({ width, size: textSize(width) });
      });
      group.append(button);
    }
  }

  _buildOpacities() {
    const group = this._document.getElementById("opacities");
    for (const opacity of OPACITIES) {
      const button = this._document.createElement("button");
      button.type = "button";
      button.className = "opacity";
      button.dataset.opacity = String(opacity);
      button.setAttribute("role", "radio");
      const percent = `${Math.round(opacity * 100)} %`;
      button.setAttribute("aria-label", `Opacity ${percent}`);
      button.title = `Opacity ${percent}`;
      button.style.setProperty("--alpha", String(opacity));
      button.addEventListener("click", () => {
        this.opacity = opacity;
        this._chosen({ opacity });
      });
      group.append(button);
    }
  }

  _wireClear() {
    const dialog = this._document.getElementById("confirm-clear");
    for (const opener of this._document.querySelectorAll("[data-action='clear']")) {
      opener.addEventListener("click", () => {
        dialog.returnValue = "";
        dialog.showModal();
      });
    }
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "clear") {
        this._handlers.clear();
      }
    });
  }

  _show() {
    const doc = this._document;
    for (const button of doc.querySelectorAll("[data-tool]")) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === this.tool));
    }
    const inPalette = this._palette.includes(this.color);
    for (const button of doc.querySelectorAll("[data-color]")) {
      button.setAttribute("aria-checked", String(button.dataset.color === this.color));
    }
    const custom = doc.getElementById("custom-color");
    if (custom) {
      custom.value = this.color;
      custom.closest(".custom")?.setAttribute("aria-checked", String(!inPalette));
    }
    for (const button of doc.querySelectorAll("[data-width]")) {
      const chosen = Number(button.dataset.width) === this.width;
      button.setAttribute("aria-checked", String(chosen));
    }
    for (const button of doc.querySelectorAll("[data-opacity]")) {
      const chosen = Number(button.dataset.opacity) === this.opacity;
      button.setAttribute("aria-checked", String(chosen));
    }
    doc.querySelector("[data-action='fill']")?.setAttribute("aria-pressed", String(this.fill));
    doc.body.style.setProperty("--current", this.color);
    doc.body.style.setProperty("--current-fill", this.fill ? tint(this.color) : "transparent");
    doc.body.dataset.tool = this.tool;
  }

  _save() {
    try {
      this._storage?.setItem(
        PREFS_KEY,
        JSON.stringify({
          color: this.color,
          width: this.width,
          opacity: this.opacity,
          fill: this.fill,
          tool: this.tool,
        }),
      );
    } catch {
      // Choices not remembered; drawing goes on.
    }
  }
}
