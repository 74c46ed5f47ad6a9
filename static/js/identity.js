// Who this browser is on a board, and names for what it makes: the client
// id (kept in local storage), op cids and item ids.

const ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const CLIENT_KEY = "whitebrd.client";
const RETIRED_COUNTER_KEY = "whitebrd.cid";
const CLIENT_ID = /^[A-Za-z0-9_-]{16,22}$/;

/**
 * A random string of URL-safe characters, 6 bits of randomness each.
 *
 * @param {number} length how many characters
 * @returns {string}
 */
export function randomId(length) {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let id = "";
  for (const byte of bytes) {
    // NB: 64 divides 256, so masking keeps every character equally likely.
    id += ALPHABET[byte & 63];
  }
  return id;
}

/**
 * A new item id: 14 characters, 84 random bits, so two people drawing on
 * one board never pick the same.
 *
 * @returns {string}
 */
export function newItemId() {
  return randomId(14);
}

/**
 * This browser's identity: its client id and a source of op cids.
 *
 * The client id is made once and kept in storage, so a person stays the
 * same person across reloads (for per-person undo and presence). A cid is
 * `<client id>.<page id>-<counter>`: the page id is made afresh by each
 * page and the counter counts up from 1 in it. Tabs of one browser share
 * the client id, and storage has no atomic increment between them: two
 * tabs counting one stored counter at the same moment made the same cid,
 * and the server, taking the second for a retry, dropped that stroke. With
 * a page of its own in every cid, no two pages can meet, and each page's
 * cids still count up, which the server keeps as one range.
 */
export class Identity {
  /**
   * @param {Storage|null} storage local storage, or null where the browser
   *   refuses it (then the identity lasts as long as the page)
   */
  constructor(storage) {
    this._storage = storage;
    this.clientId = this._load(CLIENT_KEY);
    if (!this.clientId || !CLIENT_ID.test(this.clientId)) {
      this.clientId = randomId(22);
      this._save(CLIENT_KEY, this.clientId);
    }
    // 8 characters, 48 random bits: pages of one browser never meet.
    this.pageId = randomId(8);
    this._counter = 0;
    try {
      // Pages before page ids kept a counter for the whole browser.
      this._storage?.removeItem(RETIRED_COUNTER_KEY);
    } catch {
      // Nothing depends on it.
    }
  }

  /**
   * The next op cid of this page.
   *
   * @returns {string}
   */
  nextCid() {
    this._counter += 1;
    return `${this.clientId}.${this.pageId}-${this._counter}`;
  }

  _load(key) {
    try {
      return this._storage ? this._storage.getItem(key) : null;
    } catch {
      return null;
    }
  }

  _save(key, value) {
    try {
      if (this._storage) {
        this._storage.setItem(key, value);
      }
    } catch {
      // A full or disabled storage costs persistence, not drawing.
    }
  }
}

/**
 * The page's local storage, or null where the browser refuses it (some
 * privacy modes throw on access).
 *
 * @returns {Storage|null}
 */
export function localStore() {
  try {
    const storage = window.localStorage;
    storage.getItem(CLIENT_KEY);
    return storage;
  } catch {
    return null;
  }
}
