// Sharing the board: its link to copy, and the system's share sheet where
// the browser has one. The dialog is built from sections, so that other
// kinds of links (view-only ones) can join it.

/**
 * The share dialog.
 */
export class ShareDialog {
  /**
   * @param {Document} document
   * @param {(message: string) => void} notify
   */
  constructor(document, notify) {
    this._document = document;
    this._notify = notify;
    this.dialog = document.getElementById("share-dialog");
    this._field = document.getElementById("share-link");
    this._field.value = document.location.href;
    this._field.addEventListener("focus", () => this._field.select());
    document
      .querySelector("[data-action='copy-link']")
      .addEventListener("click", () => this.copy(this._field.value));
    const native = document.querySelector("[data-action='native-share']");
    if (typeof navigator.share === "function") {
      native.hidden = false;
      native.addEventListener("click", () => this._share());
    }
    for (const opener of document.querySelectorAll("[data-action='share']")) {
      opener.addEventListener("click", () => this.open());
    }
  }

  /** Show the dialog. */
  open() {
    this._field.value = this._document.location.href;
    this.dialog.showModal();
  }

  /**
   * Add a section (another kind of link) at the end of the dialog.
   *
   * @param {HTMLElement} section
   */
  addSection(section) {
    this._document.getElementById("share-sections").append(section);
  }

  /**
   * Put a link on the clipboard, and say so.
   *
   * @param {string} link
   */
  async copy(link) {
    try {
      await navigator.clipboard.writeText(link);
      this._notify("Link copied: whoever has it can draw on this board.");
    } catch {
      this._field.select();
      this._notify("Select the link and copy it (Ctrl+C or ⌘C).");
    }
  }

  async _share() {
    try {
      await navigator.share({
        title: this._document.title,
        text: "Draw with me on this whitebrd board",
        url: this._field.value,
      });
    } catch {
      // Dismissed, or not allowed: the link is still there to copy.
    }
  }
}
