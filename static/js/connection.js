// One WebSocket to the board, reopened with backoff whenever it drops.

/** The first reconnection delay, doubled per failure up to the maximum. */
export const FIRST_DELAY_MS = 500;
export const MAX_DELAY_MS = 5000;

/**
 * The delay before reconnection attempt `attempt` (0 for the first): 0.5 s
 * doubling to 5 s, each spread by up to a quarter either way so that the
 * clients of a restarted daemon do not all return at once.
 *
 * @param {number} attempt failures since the last good connection
 * @param {number} [random=Math.random()] a number in [0, 1)
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, random = Math.random()) {
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
  return Math.min(MAX_DELAY_MS, base * (0.75 + random * 0.5));
}

/**
 * A WebSocket that reconnects by itself.
 *
 * Its `state` is "connecting" (opening), "open" or "offline" (waiting to
 * try again). The URL is asked for at every attempt, so it can carry the
 * latest `since`.
 */
export class Connection {
  /**
   * @param {() => string} urlFor the URL for the next attempt
   * @param {object} handlers
   * @param {() => void} handlers.open the socket opened
   * @param {(text: string) => void} handlers.message a text frame arrived
   * @param {(event: CloseEvent) => void} handlers.close it closed (also
   *   when an attempt failed)
   * @param {(state: string) => void} handlers.state `state` changed
   */
  constructor(urlFor, handlers) {
    this._urlFor = urlFor;
    this._handlers = handlers;
    this._socket = null;
    this._timer = null;
    this._attempt = 0;
    this._stopped = false;
    this.state = "offline";
  }

  /** Open the socket now, if it is not open or opening. */
  start() {
    this._stopped = false;
    clearTimeout(this._timer);
    this._timer = null;
    if (this._socket) {
      return;
    }
    this._setState("connecting");

    let socket;
    try {
      socket = new WebSocket(this._urlFor());
    } catch {
      this._retry();
      return;
    }
    this._socket = socket;
    socket.addEventListener("open", () => {
      if (this._socket === socket) {
        this._setState("open");
        this._handlers.open();
      }
    });
    socket.addEventListener("message", (event) => {
      if (this._socket === socket && typeof event.data === "string") {
        this._handlers.message(event.data);
      }
    });
    socket.addEventListener("close", (event) => {
      if (this._socket === socket) {
        this._socket = null;
        this._handlers.close(event);
        this._retry();
      }
    });
  }

  /**
   * Send a text frame.
   *
   * @param {string} text
   * @returns {boolean} whether it was handed to an open socket
   */
  send(text) {
    if (this._socket && this._socket.readyState === WebSocket.OPEN) {
      this._socket.send(text);
      return true;
    }
    return false;
  }

  /** The connection did its job: the next drop retries quickly again. */
  resetBackoff() {
    this._attempt = 0;
  }

  /** Close the socket and open a new one at once. */
  restart() {
    this._drop(4000, "client restarts");
    this._attempt = 0;
    this.start();
  }

  /** Waiting to reconnect? Try now (the network came back). */
  wake() {
    if (this.state === "offline" && !this._stopped) {
      this.start();
    }
  }

  /** Close for good (the page is going away). */
  stop() {
    this._stopped = true;
    clearTimeout(this._timer);
    this._drop(1000, "page closed");
    this._setState("offline");
  }

  _drop(code, reason) {
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.close(code, reason);
      this._handlers.close(new CloseEvent("close", { code, reason }));
    }
  }

  _retry() {
    this._socket = null;
    this._setState("offline");
    if (this._stopped) {
      return;
    }
    const delay = backoffDelay(this._attempt);
    this._attempt += 1;
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this.start(), delay);
  }

  _setState(state) {
    if (this.state !== state) {
      this.state = state;
      this._handlers.state(state);
    }
  }
}
