// Who else is on the board: their names and colours in the corner, their
// cursors over the drawing, labelled, and following one person's view.

import { MAX_NAME_CHARS, cursorFrame, presenceFrame } from "./protocol.js";
import { fitBox } from "./view.js";

const NAME_KEY = "whitebrd.name";

/** How often this page tells where it points, and what it shows, in ms. */
const CURSOR_EVERY_MS = 50;
const VIEW_EVERY_MS = 200;

/** A cursor that has not moved for this long fades, in ms. */
const CURSOR_IDLE_MS = 15000;

/** Colours people are told apart by, picked from their client id. */
const PERSON_COLORS = [
  "#e03131",
  "#1971c2",
  "#2f9e44",
  "#f08c00",
  "#7048e8",
  "#c2255c",
  "#0c8599",
  "#5c940d",
];

const ADJECTIVES = [
  "Amber", "Bold", "Brisk", "Calm", "Clever", "Curious", "Eager", "Gentle",
  "Happy", "Keen", "Lively", "Lucky", "Merry", "Nimble", "Quick", "Quiet",
  "Sunny", "Swift", "Witty", "Zesty",
];
const ANIMALS = [
  "Badger", "Crane", "Dolphin", "Falcon", "Fox", "Heron", "Koala", "Lynx",
  "Otter", "Owl", "Panda", "Puffin", "Raven", "Robin", "Seal", "Tiger",
  "Turtle", "Walrus", "Whale", "Wren",
];

/**
 * A person's colour.
 *
 * @param {string} clientId
 * @returns {string}
 */
export function personColor(clientId) {
  let hash = 0;
  for (const char of clientId) {
    hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  }
  return PERSON_COLORS[hash % PERSON_COLORS.length];
}

/**
 * A name as people may give it: trimmed, no control characters, at most
 * `MAX_NAME_CHARS` code points; empty when nothing is left.
 *
 * @param {string} name
 * @returns {string}
 */
export function cleanName(name) {
  // eslint-disable-next-line no-control-regex
  const text = String(name).replace(/[\u0000-\u001f\u007f-\u009f]/gu, "").trim();
  return [...text].slice(0, MAX_NAME_CHARS).join("");
}

function _initials(name) {
  const words = name.split(/\s+/u).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[1]] : [name];
  return letters
    .map((word) => [...word][0] || "")
    .join("")
    .toUpperCase()
    .slice(0, 2);
}

function _randomName() {
  const pick = (list) => list[Math.floor(Math.random() * list.length)];
  return `${pick(ADJECTIVES)} ${pick(ANIMALS)}`;
}

/** Runs `send` at most every `ms`, with the latest arguments. */
function _throttle(ms, send) {
  let last = 0;
  let timer = null;
  let args = null;
  return (...latest) => {
    args = latest;
    const wait = last + ms - performance.now();
    if (wait <= 0) {
      last = performance.now();
      send(...args);
    } else if (timer === null) {
      timer = setTimeout(() => {
        timer = null;
        last = performance.now();
        send(...args);
      }, wait);
    }
  };
}

/**
 * The people on the board, as this page shows them.
 */
export class PresenceView {
  /**
   * @param {object} options
   * @param {Document} options.document
   * @param {Storage|null} options.storage where this person's name is kept
   * @param {string} options.clientId this page's person
   * @param {import("./view.js").Camera} options.camera
   * @param {(text: string) => boolean} options.send sends a frame now
   * @param {(message: string) => void} options.notify
   */
  constructor(options) {
    this._document = options.document;
    this._storage = options.storage;
    this.clientId = options.clientId;
    this._camera = options.camera;
    this._send = options.send;
    this._notify = options.notify;
    /** @type {Map<string, {name: string|null, view?: number[], cursor?: object}>} */
    this.people = new Map();
    this.following = null;
    this.name = this._loadName();

    this._list = this._document.getElementById("people");
    this._count = this._document.getElementById("people-count");
    this._layer = this._document.getElementById("cursors");
    this._banner = this._document.getElementById("following");
    this._sendCursor = _throttle(CURSOR_EVERY_MS, (x, y) =>
      this._send(cursorFrame(x, y)),
    );
    this._sendView = _throttle(VIEW_EVERY_MS, () =>
      this._send(presenceFrame({ view: this._viewBox() })),
    );
    this._camera.listen((view, cause) => {
      this._placeCursors();
      this._sendView();
      if (cause !== "follow" && this.following) {
        this.follow(null);
      }
    });
    this._banner
      ?.querySelector("[data-action='stop-following']")
      ?.addEventListener("click", () => this.follow(null));
    this._render();
  }

  _loadName() {
    let name = "";
    try {
      name = cleanName(this._storage?.getItem(NAME_KEY) || "");
    } catch {
      name = "";
    }
    if (!name) {
      name = _randomName();
      this._saveName(name);
    }
    return name;
  }

  _saveName(name) {
    try {
      this._storage?.setItem(NAME_KEY, name);
    } catch {
      // The name lasts as long as the page.
    }
  }

  /** How many people are on the board, this one included. */
  get count() {
    return this.people.size + 1;
  }

  /**
   * Change this person's name, for everyone and for next time.
   *
   * @param {string} name
   * @returns {boolean} whether it was a usable name
   */
  rename(name) {
    const clean = cleanName(name);
    if (!clean) {
      return false;
    }
    this.name = clean;
    this._saveName(clean);
    this._send(presenceFrame({ name: clean }));
    this._render();
    return true;
  }

  /** A connection opened: say who this is and what it shows. */
  opened() {
    this._send(presenceFrame({ name: this.name, view: this._viewBox() }));
  }

  /**
   * Where this page points now, or null when the pointer left the board.
   *
   * @param {{x: number, y: number}|null} point board units
   */
  pointed(point) {
    if (point) {
      this._sendCursor(
        Math.round(point.x * 10) / 10,
        Math.round(point.y * 10) / 10,
      );
    }
  }

  _viewBox() {
    const box = this._camera.visible();
    const round = (value) => Math.round(value * 10) / 10;
    return [box.minX, box.minY, box.maxX, box.maxY].map(round);
  }

  /**
   * Take a presence frame from the server.
   *
   * @param {object} frame people, join, leave, presence or cursor
   */
  receive(frame) {
    switch (frame.t) {
      case "people":
        for (const by of this.people.keys()) {
          this._removeCursor(by);
        }
        this.people = new Map(
          frame.people.map((person) => [
            person.by,
            { name: person.name ?? null, view: person.view },
          ]),
        );
        this._render();
        break;
      case "join": {
        const person = this._person(frame.by);
        person.name = frame.name ?? person.name ?? null;
        person.view = frame.view ?? person.view;
        this._render();
        break;
      }
      case "leave":
        this._removeCursor(frame.by);
        this.people.delete(frame.by);
        if (this.following === frame.by) {
          this.follow(null);
          this._notify("The person you followed left the board.");
        }
        this._render();
        break;
      case "presence": {
        const person = this._person(frame.by);
        if (frame.name !== undefined) {
          person.name = frame.name;
          this._render();
        }
        if (frame.view) {
          person.view = frame.view;
          if (this.following === frame.by) {
            this._showView(frame.view);
          }
        }
        break;
      }
      case "cursor":
        this._moveCursor(frame.by, frame.x, frame.y);
        break;
      default:
        break;
    }
  }

  _person(by) {
    let person = this.people.get(by);
    if (!person) {
      person = { name: null };
      this.people.set(by, person);
      this._render();
    }
    return person;
  }

  /** A person's name as shown: theirs, or a stand-in. */
  nameOf(by) {
    return this.people.get(by)?.name || "Someone";
  }

  /**
   * Follow a person's view (null to stop).
   *
   * @param {string|null} by
   */
  follow(by) {
    this.following = by && this.people.has(by) ? by : null;
    if (this._banner) {
      this._banner.hidden = !this.following;
      const name = this._banner.querySelector(".name");
      if (name) {
        name.textContent = this.following ? this.nameOf(this.following) : "";
      }
      this._banner.style.setProperty(
        "--person",
        this.following ? personColor(this.following) : "transparent",
      );
    }
    this._document.body.dataset.following = this.following || "";
    const view = this.following && this.people.get(this.following)?.view;
    if (view) {
      this._showView(view);
    }
    this._render();
  }

  _showView(view) {
    const [x0, y0, x1, y1] = view;
    const box = { minX: x0, minY: y0, maxX: x1, maxY: y1 };
    const camera = this._camera;
    camera.set(fitBox(box, camera.width, camera.height, 0, Infinity), "follow");
  }

  _moveCursor(by, x, y) {
    const person = this._person(by);
    let cursor = person.cursor;
    if (!cursor) {
      const element = this._document.createElement("div");
      element.className = "remote-cursor";
      element.dataset.by = by;
      element.style.setProperty("--person", personColor(by));
      element.innerHTML =
        '<svg viewBox="0 0 16 20" width="16" height="20" aria-hidden="true">' +
        '<path d="M1 1l13 10.5-6 .5-3.5 6.5z"/></svg>' +
        '<span class="label"></span>';
      this._layer.append(element);
      cursor = person.cursor = { element, x, y, timer: null };
    }
    cursor.x = x;
    cursor.y = y;
    cursor.element.querySelector(".label").textContent = this.nameOf(by);
    cursor.element.classList.remove("idle");
    clearTimeout(cursor.timer);
    cursor.timer = setTimeout(
      () => cursor.element.classList.add("idle"),
      CURSOR_IDLE_MS,
    );
    this._placeCursor(cursor);
  }

  _placeCursor(cursor) {
    const { view } = this._camera;
    const left = cursor.x * view.scale + view.x;
    const top = cursor.y * view.scale + view.y;
    cursor.element.style.transform = `translate(${left}px, ${top}px)`;
  }

  _placeCursors() {
    for (const person of this.people.values()) {
      if (person.cursor) {
        this._placeCursor(person.cursor);
      }
    }
  }

  _removeCursor(by) {
    const cursor = this.people.get(by)?.cursor;
    if (cursor) {
      clearTimeout(cursor.timer);
      cursor.element.remove();
    }
  }

  _render() {
    if (this._count) {
      const count = this.count;
      this._count.textContent = String(count);
      this._count.parentElement?.setAttribute(
        "aria-label",
        count === 1 ? "Only you are on this board" : `${count} people on this board`,
      );
    }
    if (!this._list) {
      return;
    }
    const doc = this._document;
    const entries = [
      [this.clientId, { name: this.name }, true],
      ...[...this.people.entries()].map(([by, person]) => [by, person, false]),
    ];
    this._list.replaceChildren(
      ...entries.map(([by, person, own]) => {
        const name = own ? this.name : this.nameOf(by);
        const button = doc.createElement("button");
        button.type = "button";
        button.className = "person";
        button.dataset.by = by;
        button.style.setProperty("--person", personColor(by));
        button.textContent = _initials(name);
        if (own) {
          button.dataset.action = "rename";
          button.title = `${name} (you): change your name`;
          button.setAttribute("aria-label", `You, ${name}: change your name`);
        } else {
          const following = this.following === by;
          button.title = following ? `Stop following ${name}` : `Follow ${name}`;
          button.setAttribute("aria-label", button.title);
          button.setAttribute("aria-pressed", String(following));
          button.addEventListener("click", () =>
            this.follow(following ? null : by),
          );
        }
        // Names change; cursor labels follow.
        const cursor = person.cursor;
        if (cursor) {
          cursor.element.querySelector(".label").textContent = name;
        }
        return button;
      }),
    );
  }
}
