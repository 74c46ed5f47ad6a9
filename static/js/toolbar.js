// The toolbar: tool buttons, colour and width choices, and clear with a
// confirmation that lives in the page (a <dialog>, not window.confirm).

const PREFS_KEY = "whitebrd.prefs";

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
   * @param {() => void} handlers.clear clearing was confirmed
   */
  constructor(document, settings, storage, handlers) {
    this._document = document;
    this._storage = storage;
    this._handlers = handlers;
    const prefs = _loadPrefs(storage);
    this.color = settings.palette.includes(prefs.color)
      ? prefs.color
      : settings.palette[0];
    this.width = settings.widths.includes(prefs.width)
      ? prefs.width
      : settings.widths[Math.min(1, settings.widths.length - 1)];
    this.tool = prefs.tool === "eraser" ? "eraser" : "pen";

    this._buildPalette(settings.palette);
    this._buildWidths(settings.widths);
    for (const button of document.querySelectorAll("[data-tool]")) {
      button.addEventListener("click", () => this.pick(button.dataset.tool));
    }
    this._wireClear();
    document.addEventListener("keydown", (event) => this._key(event));
    this._show();
  }

  /**
   * Pick a tool, as its button does.
   *
   * @param {string} name "pen" or "eraser"
   */
  pick(name) {
    this.tool = name;
    this._save();
    this._show();
    this._handlers.tool(name);
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
      button.addEventListener("click", () => {
        this.color = color;
        this._save();
        this._show();
        if (this.tool !== "pen") {
          this.pick("pen");
        }
      });
      group.append(button);
    }
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
      dot.style.setProperty("--size", `${Math.min(20, Math.max(3, width))}px`);
      button.append(dot);
      button.addEventListener("click", () => {
        this.width = width;
        this._save();
        this._show();
        if (this.tool !== "pen") {
          this.pick("pen");
        }
      });
      group.append(button);
    }
  }

  _wireClear() {
    const dialog = this._document.getElementById("confirm-clear");
    const opener = this._document.querySelector("[data-action='clear']");
    opener.addEventListener("click", () => {
      dialog.returnValue = "";
      dialog.showModal();
    });
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "clear") {
        this._handlers.clear();
      }
    });
  }

  _key(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (event.target.closest?.("input, textarea, dialog")) {
      return;
    }
    if (event.key === "p" || event.key === "b") {
      this.pick("pen");
    } else if (event.key === "e") {
      this.pick("eraser");
    }
  }

  _show() {
    for (const button of this._document.querySelectorAll("[data-tool]")) {
      button.setAttribute(
        "aria-pressed",
        String(button.dataset.tool === this.tool),
      );
    }
    for (const button of this._document.querySelectorAll("[data-color]")) {
      button.setAttribute(
        "aria-checked",
        String(button.dataset.color === this.color),
      );
    }
    for (const button of this._document.querySelectorAll("[data-width]")) {
      const chosen = Number(button.dataset.width) === this.width;
      button.setAttribute("aria-checked", String(chosen));
    }
    const toolbar = this._document.querySelector(".toolbar");
    toolbar.style.setProperty("--current", this.color);
  }

  _save() {
    try {
      this._storage?.setItem(
        PREFS_KEY,
        JSON.stringify({
          color: this.color,
          width: this.width,
          tool: this.tool,
        }),
      );
    } catch {
      // Choices not remembered; drawing goes on.
    }
  }
}
