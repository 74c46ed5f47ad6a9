// How fast this page may send ops: the server refuses ops past a rate per
// connection, so a page with many to send at once (an import, an outbox
// kept through an outage) spreads them out instead of being refused.
// DOM-free apart from the clock it is given.

/**
 * The share of the server's rate the page uses, leaving room for the two
 * clocks not ticking alike and for the server's buckets starting at
 * different moments.
 */
const SHARE = 0.9;

/** Seconds of sending the page may do at once, at its rate. */
const BURST_SECONDS = 0.5;

/**
 * A token bucket at the rate the server says in `hello`.
 *
 * Without a rate (an older server) everything may go at once.
 */
export class SendPace {
  /** @param {() => number} [now] the clock in ms, for tests */
  constructor(now = () => performance.now()) {
    this._now = now;
    this._rate = Infinity;
    this._capacity = Infinity;
    this._tokens = Infinity;
    this._stamp = now();
  }

  /**
   * Start over at the rate a new connection was given, with a full bucket,
   * as the server's is.
   *
   * @param {number|null} opsPerSecond the server's rate, or null for none
   */
  reset(opsPerSecond) {
    if (opsPerSecond === null) {
      this._rate = Infinity;
      this._capacity = Infinity;
    } else {
      this._rate = opsPerSecond * SHARE;
      this._capacity = Math.max(1, this._rate * BURST_SECONDS);
    }
    this._tokens = this._capacity;
    this._stamp = this._now();
  }

  /**
   * Spend one op's worth if there is one.
   *
   * @returns {boolean} whether an op may go now
   */
  take() {
    this._refill();
    if (this._tokens >= 1) {
      this._tokens -= 1;
      return true;
    }
    return false;
  }

  /** @returns {number} ms until the next op may go */
  waitMs() {
    this._refill();
    if (this._tokens >= 1) {
      return 0;
    }
    return Math.ceil(((1 - this._tokens) / this._rate) * 1000);
  }

  _refill() {
    const now = this._now();
    if (this._rate !== Infinity) {
      const earned = ((now - this._stamp) / 1000) * this._rate;
      this._tokens = Math.min(this._capacity, this._tokens + earned);
    }
    this._stamp = now;
  }
}
