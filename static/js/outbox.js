// Ops this page sent and the server has not yet confirmed, kept in local
// storage so that a reload or a lost connection loses no drawing.
// DOM-free apart from the storage object it is given.

/** How long the server remembers cids; older unconfirmed ops are dropped. */
export const MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** Points one coalesced extend may gather while offline. */
const MAX_COALESCED_POINTS = 2000;

/** How long a change to the outbox may wait before it is saved. */
const SAVE_DELAY_MS = 250;

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
 * The ordered list of unconfirmed ops of one board.
 *
 * An op leaves the outbox when its own copy comes back in an `ops` frame,
 * when an `ack` names its cid, or when an `error` refuses it.
 *
 * TODO: two tabs of one browser on one board share the storage key, so
 * each saves over the other's list; a tab reloaded with ops unconfirmed
 * may then lose them (another tab that loads the list only resends ops
 * the server acks). A key per tab, adopted by the next page, would fix it.
 */
export class Outbox {
  /**
   * @param {Storage|null} storage where to keep the list, or null
   * @param {string} key the storage key, one per board
   * @param {() => number} [now=Date.now] the clock, for tests
   */
  constructor(storage, key, now = Date.now) {
    this._storage = storage;
    this._key = key;
    this._now = now;
    this._timer = null;
    /** @type {Entry[]} oldest first */
    this.entries = [];
    this._byCid = new Map();
    this._load();
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

  /** Drop ops older than the server's dedup window. */
  dropExpired() {
    const oldest = this._now() - MAX_AGE_MS;
    const kept = this.entries.filter((entry) => entry.at >= oldest);
    if (kept.length !== this.entries.length) {
      this.entries = kept;
      this._byCid = new Map(kept.map((entry) => [entry.op.cid, entry]));
      this._changed();
    }
  }

  /** Write the list to storage now (on page hide, and in tests). */
  flush() {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
    if (!this._storage) {
      return;
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
    } catch {
      // A full storage loses the safety net across reloads, not the ops.
    }
  }

  _changed() {
    if (this._timer === null) {
      this._timer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
    }
  }

  _load() {
    let saved = null;
    try {
      saved = JSON.parse(this._storage?.getItem(this._key) || "null");
    } catch {
      saved = null;
    }
    if (!Array.isArray(saved)) {
      return;
    }
    for (const record of saved) {
      const op = record?.op;
      if (
        op &&
        typeof op === "object" &&
        typeof op.cid === "string" &&
        typeof op.op === "string" &&
        Number.isFinite(record.at) &&
        !this._byCid.has(op.cid)
      ) {
        // It may have reached the server before the page went away.
        const entry = { op, at: record.at, sent: true, applied: false };
        this.entries.push(entry);
        this._byCid.set(op.cid, entry);
      }
    }
    this.dropExpired();
  }
}
