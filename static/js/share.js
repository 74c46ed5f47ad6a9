// The share dialog: the edit link, and for the board's owner its view
// links, its owner key and rotation. Built with the DOM (textContent only,
// never markup from strings), opened by the toolbar's share button.

import { keepOwnerKey, ownerKeyFor, OwnerApi } from "./owner.js";

const EXPIRIES = [
  ["Never expires", null],
  ["Expires in 1 hour", 3600],
  ["Expires in 1 day", 86400],
  ["Expires in 1 week", 7 * 86400],
];

function _el(document, tag, props = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") {
      element.textContent = value;
    } else if (name.startsWith("data-") || name === "type" || name === "for") {
      element.setAttribute(name, value);
    } else {
      element[name] = value;
    }
  }
  element.append(...children);
  return element;
}

async function _copy(text, notify, what) {
  try {
    await navigator.clipboard.writeText(text);
    notify(`${what} copied.`);
  } catch {
    notify(text);
  }
}

function _expiryText(view) {
  if (view.expired) {
    return "expired";
  }
  if (view.expires === null) {
    return "never expires";
  }
  return `until ${new Date(view.expires * 1000).toLocaleString()}`;
}

/**
 * The share dialog of one board page.
 */
export class ShareDialog {
  /**
   * @param {object} options
   * @param {Document} options.document
   * @param {{id: string, view: boolean}} options.link the page's link
   * @param {Storage|null} options.storage where owner keys are kept
   * @param {(message: string) => void} options.notify shows a message
   * @param {(url: string) => void} [options.go] leaves for another page
   */
  constructor(options) {
    this._document = options.document;
    this._link = options.link;
    this._storage = options.storage;
    this._notify = options.notify;
    this._go = options.go || ((url) => location.assign(url));
    this._rotateArmed = false;
    this.dialog = this._build();
    this._document.body.append(this.dialog);
  }

  /** Open the dialog, reading the view links when this is the owner. */
  open() {
    this._render();
    if (!this.dialog.open) {
      this.dialog.showModal();
    }
  }

  _url(path) {
    return `${location.origin}${path}`;
  }

  _build() {
    const d = this._document;
    const dialog = _el(d, "dialog", { id: "share", className: "share" });
    dialog.setAttribute("aria-labelledby", "share-title");
    this._body = _el(d, "div", { className: "share-body" });
    const close = _el(d, "form", { method: "dialog" }, [
      _el(d, "button", { text: "Close", "data-action": "close-share" }),
    ]);
    dialog.append(
      _el(d, "h2", { id: "share-title", text: "Share this board" }),
      this._body,
      close,
    );
    return dialog;
  }

  /**
   * The system's share sheet for a link, where the browser has one (phones,
   * mostly); elsewhere nothing.
   */
  _sheet(url, text) {
    if (typeof navigator.share !== "function") {
      return [];
    }
    const button = _el(this._document, "button", {
      text: "Share…",
      type: "button",
      "data-action": "native-share",
    });
    button.addEventListener("click", async () => {
      try {
        await navigator.share({ title: this._document.title, text, url });
      } catch {
        // Dismissed, or not allowed: the link is still there to copy.
      }
    });
    return [button];
  }

  _row(label, value, action, copied, secret = false) {
    const d = this._document;
    const input = _el(d, "input", {
      readOnly: true,
      value,
      type: secret ? "password" : "text",
      "data-field": action,
    });
    input.addEventListener("focus", () => input.select());
    const button = _el(d, "button", {
      text: "Copy",
      type: "button",
      "data-action": `copy-${action}`,
    });
    button.addEventListener("click", () => _copy(value, this._notify, copied));
    return _el(d, "div", { className: "share-row" }, [
      _el(d, "label", { text: label }),
      _el(d, "div", { className: "share-line" }, [input, button]),
    ]);
  }

  _render() {
    this._body.replaceChildren();
    this._rotateArmed = false;
    if (this._link.view) {
      const url = this._url(`/v/${this._link.id}`);
      this._body.append(
        this._row(
          "View link: whoever has it can watch, not draw",
          url,
          "view-link",
          "View link",
        ),
        ...this._sheet(url, "Watch this whitebrd board"),
      );
      return;
    }
    const url = this._url(`/b/${this._link.id}`);
    this._body.append(
      this._row("Edit link: whoever has it can draw", url, "edit-link", "Edit link"),
      ...this._sheet(url, "Draw with me on this whitebrd board"),
    );
    const key = ownerKeyFor(this._storage, this._link.id);
    if (key) {
      this._owner(new OwnerApi(this._link.id, key), key);
    } else {
      this._claim();
    }
  }

  _claim() {
    const d = this._document;
    const input = _el(d, "input", {
      type: "password",
      autocomplete: "off",
      "data-field": "owner-key",
      placeholder: "owner key",
    });
    const use = _el(d, "button", {
      text: "Use",
      type: "button",
      "data-action": "use-owner-key",
    });
    use.addEventListener("click", async () => {
      const key = input.value.trim();
      try {
        await new OwnerApi(this._link.id, key).views();
      } catch (error) {
        this._notify(error.message);
        return;
      }
      keepOwnerKey(this._storage, this._link.id, key);
      this._render();
    });
    this._body.append(
      _el(d, "section", { className: "share-claim" }, [
        _el(d, "p", {
          text:
            "View links and a new edit link are for the board's owner. " +
            "Made this board in another browser? Paste its owner key.",
        }),
        _el(d, "div", { className: "share-line" }, [input, use]),
      ]),
    );
  }

  async _owner(api, key) {
    const d = this._document;
    const list = _el(d, "ul", {
      className: "share-views",
      "data-part": "views",
    });
    const expiry = _el(d, "select", { "data-field": "expiry" });
    for (const [label, seconds] of EXPIRIES) {
      expiry.append(
        _el(d, "option", {
          text: label,
          value: seconds === null ? "" : String(seconds),
        }),
      );
    }
    const make = _el(d, "button", {
      text: "New view link",
      type: "button",
      "data-action": "make-view",
    });
    make.addEventListener("click", async () => {
      const seconds = expiry.value === "" ? null : Number(expiry.value);
      try {
        await api.makeView(seconds);
        await this._views(api, list);
      } catch (error) {
        this._notify(error.message);
      }
    });
    const rotate = _el(d, "button", {
      text: "Replace the edit link…",
      type: "button",
      className: "danger",
      "data-action": "rotate",
    });
    rotate.addEventListener("click", () => this._rotate(api, key, rotate));
    this._body.append(
      _el(d, "section", { className: "share-owner" }, [
        _el(d, "h3", {
          text: "View links: whoever has one can watch, not draw",
        }),
        list,
        _el(d, "div", { className: "share-line" }, [expiry, make]),
        _el(d, "h3", { text: "Owner key" }),
        _el(d, "p", {
          text: "It manages this board's links; keep it to do so from another browser.",
        }),
        this._row("Owner key", key, "owner-key-value", "Owner key", true),
        rotate,
      ]),
    );
    try {
      await this._views(api, list);
    } catch (error) {
      this._notify(error.message);
    }
  }

  async _views(api, list) {
    const d = this._document;
    const views = await api.views();
    list.replaceChildren();
    if (!views.length) {
      list.append(_el(d, "li", { className: "empty", text: "None yet." }));
    }
    for (const view of views) {
      const url = this._url(view.url);
      const revoke = _el(d, "button", {
        text: "Revoke",
        type: "button",
        "data-action": "revoke-view",
      });
      revoke.addEventListener("click", async () => {
        try {
          await api.revoke(view.id);
          await this._views(api, list);
        } catch (error) {
          this._notify(error.message);
        }
      });
      const copy = _el(d, "button", {
        text: "Copy",
        type: "button",
        "data-action": "copy-view",
      });
      copy.addEventListener("click", () =>
        _copy(url, this._notify, "View link"),
      );
      list.append(
        _el(d, "li", { "data-view": view.id }, [
          _el(d, "input", {
            readOnly: true,
            value: url,
            "data-field": "view-url",
          }),
          _el(d, "span", { className: "expiry", text: _expiryText(view) }),
          copy,
          revoke,
        ]),
      );
    }
  }

  async _rotate(api, key, button) {
    if (!this._rotateArmed) {
      this._rotateArmed = true;
      button.textContent =
        "Replace it: the edit link and every view link stop working. Sure?";
      return;
    }
    try {
      const edit = await api.rotate();
      keepOwnerKey(this._storage, edit, key, this._link.id);
      this._go(`/b/${edit}`);
    } catch (error) {
      this._notify(error.message);
    }
  }
}

/**
 * Wire the toolbar's share button to a share dialog.
 *
 * @param {object} options as for ShareDialog
 * @returns {ShareDialog|null}
 */
export function setupShare(options) {
  const button = options.document.querySelector("[data-action='share']");
  if (!button) {
    return null;
  }
  const dialog = new ShareDialog(options);
  button.addEventListener("click", () => dialog.open());
  return dialog;
}
