// Ops this page sent and the server has not yet confirmed, kept in local
// storage so that a reload, a closed tab or a lost connection loses no
// drawing. DOM-free apart from the storage object it is given.

import { randomId } from "./identity.js";

/** How long the server remembers cids; older unconfirmed ops are dropped. */
export const MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** Points one coalesced extend may gather while offline. */
const MAX_COALESCED_POINTS = 2000;

/** How long a change to the outbox may wait before it is saved. */
const SAVE_DELAY_MS = 250;

/** How often a live page says so, and looks for lists left behind, in ms. */
export const BEAT_MS = 2000;

/**
 * How long a page that never said it left may stay silent before its list
 * counts as left behind, in ms. Chromium wakes the timers of a tab hidden
 * for five minutes once a minute, so the bar is well past that; pages that
 * close or reload say so at once, so this wait only follows a crash.
 */
export const ORPHAN_AFTER_MS = 90 * 1000;

/** A page id, as it ends the key of that page's list. */
const TAB_KEY = /^[A-Za-z0-9_-]+$/;

/** The end of the key beside a page's list saying when it last beat. */
const ALIVE_SUFFIX = ".alive";

/**
 * One unconfirmed op.
 *
 * @typedef {object} Entry
 * @property {object} op the op as sent, without `t`
 * @property {number} at when it was made, in ms since the epoch
 * @property {boolean} sent whether it may have reached the server
 * @property {boolean} applied whether the scene shows it (not saved: after a
 *   reload nothing is shown until the server confirms it)
 */

/**
 * The ordered list of unconfirmed ops of one board, in one page.
 *
 * An op leaves the outbox when its own copy comes back in an `ops` frame,
 * when an `ack` names its cid, or when an `error` refuses it.
 *
 * Every page keeps its list under a key of its own, `<key>.<page id>`, so
 * two tabs on one board never save over each other's ops. Beside it,
 * `<key>.<page id>.alive` holds when the page last beat (every
 * `BEAT_MS`); the page removes it when it goes away (`leave`, on page
 * hide). A list whose page left, or stayed silent for `ORPHAN_AFTER_MS`,
 * is adopted by the next page that opens or beats: its ops join that
 * page's list, which is saved, and only then are the old keys removed, so
 * the ops are resent by one page and never held by none. The list under
 * `<key>` itself, kept by pages from before keys per page, is adopted
 * the same way.
 *
 * Why a heartbeat in storage and not Web Locks, which would tell a live
 * page for sure: the heartbeat is read synchronously, so a page holds
 * what it adopted before it connects, and it works with any storage
 * object, tests' included. Its mistake, taking a frozen tab for gone,
 * costs no op: both pages then send it, the server applies a cid once and
 * acks the repeat, and the frozen tab writes its list back when it wakes.
 *
 * The page id is made afresh by each page, not kept in session storage:
 * a duplicated tab copies session storage, so two live tabs would share
 * an id and one key. A reloaded page finds its own old list as one left
 * behind.
 */
export class Outbox {
  /**
   * @param {Storage|null} storage where to keep the list, or null
   * @param {string} key the board's storage key; the page's list goes
   *   under `<key>.<page id>`
   * @param {() => number} [now=Date.now] the clock, for tests
   * @param {string} [pageId] this page's id (the one its cids carry), new
   *   when not given
   */
  constructor(storage, key, now = Date.now, pageId = randomId(8)) {
    this._storage = storage;
    this._boardKey = key;
    this._key = `${key}.${pageId}`;
    this._now = now;
    this._timer = null;
    /** @type {Entry[]} oldest first */
    this.entries = [];
    this._byCid = new Map();
    this._adoptListeners = [];
    // NB: alive before adopting, so that a page opening at the same moment
    // does not take this one's list, once saved, for left behind.
    this.beat();
    if (storage) {
      setInterval(() => this.beat(), BEAT_MS);
    }
  }

  /**
   * Call `listener()` whenever ops a page left behind join the list while
   * this page lives (those found on opening are there before anyone asks).
   *
   * @param {() => void} listener
   */
  onAdopt(listener) {
    this._adoptListeners.push(listener);
  }

  /** @returns {number} how many ops wait for confirmation */
  get length() {
    return this.entries.length;
  }

  /**
   * Add an op. An extend made while nothing was sent since the previous
   * extend of the same path joins that one, so that a stroke drawn offline
   * costs a few ops, not one per frame.
   *
   * @param {object} op the op, with its cid
   * @param {boolean} applied whether the scene shows it
   * @returns {Entry} the entry that now carries the op
   */
  push(op, applied) {
    const last = this.entries[this.entries.length - 1];
    if (
      op.op === "extend" &&
      last &&
      !last.sent &&
      last.applied === applied &&
      last.op.op === "extend" &&
      last.op.id === op.id &&
      last.op.pts.length + op.pts.length <= 2 * MAX_COALESCED_POINTS
    ) {
      last.op = { ...last.op, pts: last.op.pts.concat(op.pts) };
      this._changed();
      return last;
    }
    const entry = { op, at: this._now(), sent: false, applied };
    this.entries.push(entry);
    this._byCid.set(op.cid, entry);
    this._changed();
    return entry;
  }

  /**
   * Remove the op with this cid.
   *
   * @param {string} cid
   * @returns {Entry|null} the entry, or null when no op has that cid
   */
  take(cid) {
    const entry = this._byCid.get(cid);
    if (!entry) {
      return null;
    }
    this._byCid.delete(cid);
    // NB: confirmations come in the order ops were sent, so this is
    // nearly always the first entry.
    this.entries.splice(this.entries.indexOf(entry), 1);
    this._changed();
    return entry;
  }

  /**
   * Note that the scene no longer shows any of these ops (it was replaced
   * or cleared under them); each is applied when the server confirms it.
   */
  forgetApplied() {
    for (const entry of this.entries) {
      entry.applied = false;
    }
  }

  /**
   * The ids of items this page added and the scene shows, while the server
   * has not confirmed them.
   *
   * @returns {Set<string>}
   */
  pendingAdds() {
    const ids = new Set();
    for (const entry of this.entries) {
      if (entry.op.op === "add" && entry.applied) {
        ids.add(entry.op.item.id);
      }
    }
    return ids;
  }

  /**
   * Say this page is alive, and adopt the lists pages left behind (every
   * `BEAT_MS`, and in tests).
   */
  beat() {
    if (!this._storage) {
      return;
    }
    try {
      this._storage.setItem(`${this._key}${ALIVE_SUFFIX}`, String(this._now()));
      if (this.entries.length && this._storage.getItem(this._key) === null) {
        // A page took this one for gone while it was frozen, and adopted
        // its list; the ops are still here, so they are kept again.
        this.flush();
      }
    } catch {
      // A full storage loses the safety net across reloads, not the ops.
    }
    if (this._adopt()) {
      for (const listener of this._adoptListeners) {
        listener();
      }
    }
  }

  /**
   * Save the list and say this page has gone (on page hide), so that the
   * next page adopts it at once. A page that comes back from the
   * back-forward cache says it is alive again on its next beat.
   */
  leave() {
    this.flush();
    try {
      this._storage?.removeItem(`${this._key}${ALIVE_SUFFIX}`);
    } catch {
      // Its list is adopted once its beat is old enough instead.
    }
  }

  /**
   * Write the list to storage now (on page hide, and in tests).
   *
   * @returns {boolean} whether storage holds the list as it is now
   */
  flush() {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    if (!this._storage) {
      return false;
    }
    try {
      if (this.entries.length === 0) {
        this._storage.removeItem(this._key);
      } else {
        const saved = this.entries.map((entry) => ({
          op: entry.op,
          at: entry.at,
        }));
        this._storage.setItem(this._key, JSON.stringify(saved));
      }
      return true;
    } catch {
      // A full storage loses the safety net across reloads, not the ops.
      return false;
    }
  }

  _changed() {
    if (this._timer === null) {
      this._timer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
    }
  }

  /**
   * Merge into this list the lists no live page owns, and remove them.
   *
   * @returns {boolean} whether any op joined the list
   */
  _adopt() {
    let found;
    try {
      found = _leftBehind(
        this._storage,
        this._boardKey,
        this._key,
        this._now(),
      );
    } catch {
      return false;
    }
    if (!found.keys.length) {
      return false;
    }
    const oldest = this._now() - MAX_AGE_MS;
    const seen = new Set(this._byCid.keys());
    const lists = found.lists.map((list) =>
      list
        .filter((record) => {
          const fresh = record.at >= oldest && !seen.has(record.op.cid);
          seen.add(record.op.cid);
          return fresh;
        })
        .map((record) => ({
          op: record.op,
          at: record.at,
          // Sent from here once this page is caught up; the page that
          // left may have sent it too, which its cid makes harmless.
          sent: false,
          // Nothing shows it until the server confirms it.
          applied: false,
        })),
    );
    const adopted = lists.flat();
    this.entries = _oldestFirst([this.entries, ...lists]);
    for (const entry of adopted) {
      this._byCid.set(entry.op.cid, entry);
    }
    // NB: the adopted keys go only once this list holds their ops in
    // storage; on a full storage they stay for the next page to adopt.
    if (this.flush()) {
      for (const key of found.keys) {
        try {
          this._storage.removeItem(key);
        } catch {
          // Adopted again later: a second copy of a cid is harmless.
        }
      }
    }
    return adopted.length > 0;
  }
}

/**
 * The lists under a board's key whose page is gone: no alive key beside
 * them, or one `ORPHAN_AFTER_MS` away from now.
 *
 * @param {Storage} storage
 * @param {string} boardKey
 * @param {string} ownKey this page's list, never left behind
 * @param {number} now ms since the epoch
 * @returns {{lists: {op: object, at: number}[][], keys: string[]}} the
 *   valid records of each list left behind, oldest first, and the keys to
 *   remove once they are adopted (lists and stale alive keys)
 */
function _leftBehind(storage, boardKey, ownKey, now) {
  const names = [];
  for (let i = 0; i < storage.length; i++) {
    names.push(storage.key(i));
  }
  const prefix = `${boardKey}.`;
  const gone = (listKey) => {
    const beat = storage.getItem(`${listKey}${ALIVE_SUFFIX}`);
    // NB: a beat far ahead of now is from before the clock was set back.
    return beat === null || !(Math.abs(now - Number(beat)) <= ORPHAN_AFTER_MS);
  };
  const lists = [];
  const keys = [];
  for (const name of names) {
    if (
      typeof name !== "string" ||
      name === ownKey ||
      name === `${ownKey}${ALIVE_SUFFIX}`
    ) {
      continue;
    }
    const rest = name.startsWith(prefix) ? name.slice(prefix.length) : null;
    if (name === boardKey || (rest !== null && TAB_KEY.test(rest))) {
      if (gone(name)) {
        lists.push(_records(storage.getItem(name)));
        keys.push(name, `${name}${ALIVE_SUFFIX}`);
      }
    } else if (
      rest !== null &&
      rest.endsWith(ALIVE_SUFFIX) &&
      gone(name.slice(0, -ALIVE_SUFFIX.length))
    ) {
      // A crashed page's beat with no list beside it.
      keys.push(name);
    }
  }
  return { lists, keys: [...new Set(keys)] };
}

/**
 * The valid records of a saved list, in order.
 *
 * @param {string|null} text
 * @returns {{op: object, at: number}[]}
 */
function _records(text) {
  let saved = null;
  try {
    saved = JSON.parse(text || "null");
  } catch {
    saved = null;
  }
  if (!Array.isArray(saved)) {
    return [];
  }
  return saved.filter((record) => {
    const op = record?.op;
    return (
      op &&
      typeof op === "object" &&
      typeof op.cid === "string" &&
      typeof op.op === "string" &&
      Number.isFinite(record.at)
    );
  });
}

/**
 * Lists merged oldest first, each kept in its own order: a clock set back
 * must never put an extend before its add.
 *
 * @param {{at: number}[][]} lists
 * @returns {{at: number}[]}
 */
function _oldestFirst(lists) {
  const merged = [];
  const next = lists.map(() => 0);
  for (;;) {
    let pick = -1;
    for (let i = 0; i < lists.length; i++) {
      if (
        next[i] < lists[i].length &&
        (pick < 0 || lists[i][next[i]].at < lists[pick][next[pick]].at)
      ) {
        pick = i;
      }
    }
    if (pick < 0) {
      return merged;
    }
    merged.push(lists[pick][next[pick]]);
    next[pick] += 1;
  }
}
