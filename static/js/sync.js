// Keeping the scene in step with the server: the connection's frames in,
// this page's ops out through the outbox, and the seq the page holds.

import { BOARD_DELETED, FINAL_CLOSES } from "./access.js";
import { Connection } from "./connection.js";
import { CLOSE_REASONS, errorMessage } from "./errors.js";
import { SendPace } from "./pace.js";
import { opFrame, parseFrame } from "./protocol.js";
import { FrameTask, SLICE_MS } from "./schedule.js";

/** Items put into the scene between two looks at the clock. */
const LOAD_CHUNK = 256;

/** Waits before ops refused for want of storage are sent again, in ms. */
const RESEND_FIRST_MS = 1000;
const RESEND_MAX_MS = 10000;

const NOT_SAVING =
  "Not saving: the board's storage is not answering. What you draw is " +
  "kept here and sent again.";

/** The same error told again only after this long, in ms. */
const REPEAT_ERROR_MS = 15000;

/**
 * The page's link to its board.
 *
 * Ops drawn here are applied to the scene at once, kept in the outbox and
 * sent; the server's copy of each (or an `ack`) confirms it. Frames from
 * the server are queued and applied in order, a few milliseconds per
 * animation frame, so a big state never freezes the page.
 *
 * After every (re)connection it waits until it has caught up with the
 * server (its seq reached the `hello` seq) before resending the outbox, so
 * that an op the server stored before the drop comes back as its own
 * copy, not as an `ack` followed by a copy taken for someone else's.
 */
export class BoardSync {
  /**
   * @param {object} options
   * @param {string} options.board the board id
   * @param {string} options.clientId this browser's client id
   * @param {import("./scene.js").Scene} options.scene
   * @param {import("./render.js").Renderer} options.renderer
   * @param {import("./outbox.js").Outbox} options.outbox
   * @param {string} options.origin "ws://host" or "wss://host"
   * @param {(message: string) => void} options.notify shows a message
   * @param {() => void} options.changed called when `status`, `seq` or the
   *   outbox's length may have changed
   * @param {(frame: object) => void} [options.presence] called with each
   *   presence frame (people, join, leave, presence, cursor)
   * @param {() => void} [options.opened] called when a connection opens,
   *   to say who this is again
   * @param {(op: object) => void} [options.confirmed] called with each op
   *   of this client's the server stored (and this page holds now)
   * @param {string} [options.path] where the board's WebSocket hangs off:
   *   "/b/<id>" (the default) or "/v/<id>" for a view link
   * @param {(mode: string, locked: boolean) => void} [options.access]
   *   called when the server says whether this page may draw
   */
  constructor(options) {
    this.board = options.board;
    this._path = options.path || `/b/${options.board}`;
    this._access = options.access || (() => {});
    /** "edit" or "view", as the server last said. */
    this.mode = "edit";
    this.clientId = options.clientId;
    this.scene = options.scene;
    this.renderer = options.renderer;
    this.outbox = options.outbox;
    this._origin = options.origin;
    this._notify = options.notify;
    this._changed = options.changed;
    this._presence = options.presence || (() => {});
    this._onOpen = options.opened || (() => {});
    this._confirmed = options.confirmed || (() => {});
    this._told = new Map();
    // Cids of ops sent after an add the server then refused: their own
    // refusals say nothing new.
    this._doomed = new Set();
    // Ids of items whose add was refused: a stroke still being drawn
    // sends no more points for them.
    this._refused = new Set();

    /** The seq of the newest op the scene holds; 0 while none is known. */
    this.seq = 0;
    /** False while a `status` frame says ops are not being stored. */
    this.saving = true;
    this._since = 0;
    this._fresh = false;
    this._helloSeq = null;
    this._caughtUp = false;
    this._loadingState = false;
    this._inbox = [];
    this._stateIndex = 0;
    this._ackedAhead = new Map();
    this._resendTimer = null;
    this._resendDelay = RESEND_FIRST_MS;
    this._pace = new SendPace();
    this._paceTimer = null;
    this._drainTask = new FrameTask(() => this._drain());
    this.connection = new Connection(() => this._url(), {
      open: () => this._opened(),
      message: (text) => this._received(text),
      close: (event) => this._closed(event),
      state: () => this._changed(),
    });
    this.outbox.onAdopt(() => this._adopted());
  }

  /** Connect, and stay connected. */
  start() {
    this.connection.start();
  }

  /**
   * The state to show: "live" once caught up on an open socket,
   * "connecting" until then, "offline" while waiting to reconnect.
   *
   * @returns {string}
   */
  get status() {
    if (this.connection.state === "open") {
      return this._caughtUp ? "live" : "connecting";
    }
    return this.connection.state;
  }

  /**
   * Draw an op made on this page: apply it, keep it, send it.
   *
   * @param {object} op an op with its cid (see protocol.js)
   * @param {{applied?: boolean}} [options] `applied`: the scene shows the
   *   op already (a tool moved items while they were dragged)
   */
  submit(op, options = {}) {
    if (op.op === "extend" && this._refused.has(op.id)) {
      return;
    }
    let applied = true;
    if (!options.applied) {
      const change = this.scene.apply(op);
      this.renderer.show(change);
      applied = change !== null;
    }
    this.outbox.push(op, applied);
    this._sendUnsentIfLive();
    this._changed();
  }

  /**
   * Send a frame that is not an op (presence): now, or not at all.
   *
   * @param {string} text
   * @returns {boolean} whether it went
   */
  sendNow(text) {
    return this.connection.send(text);
  }

  _url() {
    const since = this._fresh ? 0 : this.seq;
    this._fresh = false;
    this._since = since;
    const client = encodeURIComponent(this.clientId);
    let url = `${this._origin}${this._path}/ws?client=${client}`;
    if (since > 0) {
      url += `&since=${since}`;
    }
    return url;
  }

  _opened() {
    this._helloSeq = null;
    this._caughtUp = false;
    this._onOpen();
    this._changed();
  }

  _closed(event) {
    // Frames still queued belong to the old connection; the next one asks
    // for them again from the seq the scene holds.
    this._inbox = [];
    this._caughtUp = false;
    this._helloSeq = null;
    // A state cut short left seq at 0, so the next one starts over.
    this._loadingState = false;
    this._stateIndex = 0;
    const reason = CLOSE_REASONS[event.code];
    if (reason) {
      this._tell(`close-${event.code}`, reason);
    }
    // Whoever was here is told again on the next connection.
    this._presence({ t: "people", people: [] });
    if (Object.hasOwn(FINAL_CLOSES, event.code)) {
      // The link was replaced, revoked or expired: trying again cannot work.
      this._notify(`${FINAL_CLOSES[event.code]} ${event.reason || ""}`.trim());
      this.connection.stop();
    } else if (event.code === BOARD_DELETED) {
      this._notify("An administrator deleted this board.");
    }
    this._changed();
  }

  _received(text) {
    const frame = parseFrame(text);
    if (!frame) {
      console.warn("whitebrd: ignored a malformed frame", text.slice(0, 200));
      return;
    }
    this._inbox.push(frame);
    if (this._inbox.length === 1) {
      this._drain();
    }
  }

  _drain() {
    const deadline = performance.now() + SLICE_MS;
    while (this._inbox.length) {
      const frame = this._inbox[0];
      if (frame.t === "state") {
        if (!this._loadState(frame, deadline)) {
          this._drainTask.request();
          break;
        }
      } else {
        this._handle(frame);
      }
      if (this._inbox[0] === frame) {
        this._inbox.shift();
      }
      if (performance.now() > deadline && this._inbox.length) {
        this._drainTask.request();
        break;
      }
    }
    this._changed();
  }

  _handle(frame) {
    switch (frame.t) {
      case "hello":
        this._hello(frame);
        break;
      case "ops":
        // Ops are relayed once stored: storing works (again).
        this.saving = true;
        this._resendDelay = RESEND_FIRST_MS;
        for (const op of frame.ops) {
          if (!this._applyRemote(op)) {
            return;
          }
        }
        this._caughtUpYet();
        break;
      case "ack":
        this._ack(frame);
        break;
      case "error":
        this._error(frame);
        break;
      case "access":
        this._setMode(frame.mode, frame.locked);
        break;
      case "status":
        if (this.saving && !frame.saving) {
          this._notify(NOT_SAVING);
        }
        this.saving = frame.saving;
        if (frame.saving && this._resendTimer !== null) {
          // Storing works again: what was refused meanwhile goes soon.
          clearTimeout(this._resendTimer);
          this._resendTimer = null;
          this._resendDelay = RESEND_FIRST_MS;
          this._scheduleResend();
        }
        break;
      case "people":
      case "join":
      case "leave":
      case "presence":
      case "cursor":
        if (frame.by !== this.clientId) {
          this._presence(frame);
        }
        break;
      default:
        break;
    }
  }

  /** Say something, unless the same thing was said a moment ago. */
  _tell(key, message) {
    const now = performance.now();
    const last = this._told.get(key);
    if (last !== undefined && now - last < REPEAT_ERROR_MS) {
      return;
    }
    this._told.set(key, now);
    this._notify(message);
  }

  _setMode(mode, locked) {
    this.mode = mode;
    this._access(mode, locked);
  }

  _hello(frame) {
    // The board opened, so its store answered.
    this.saving = true;
    this._pace.reset(frame.rate);
    this._setMode(frame.mode, false);
    this._helloSeq = frame.seq;
    const expectState = this._since === 0 || this._since > frame.seq;
    if (!expectState && this.seq >= frame.seq) {
      this._catchUp();
    }
  }

  /**
   * Put the items of a state frame into the scene, until the deadline.
   *
   * @returns {boolean} whether the frame is done
   */
  _loadState(frame, deadline) {
    if (!this._loadingState) {
      // The first frame of a state replaces what the page held.
      this._loadingState = true;
      this._stateIndex = 0;
      this.seq = 0;
      this._ackedAhead.clear();
      this.scene.reset();
      this.outbox.forgetApplied();
      this.renderer.redraw();
    }
    const { items } = frame;
    while (this._stateIndex < items.length) {
      const end = Math.min(items.length, this._stateIndex + LOAD_CHUNK);
      this.scene.load(items, this._stateIndex, end);
      this._stateIndex = end;
      if (performance.now() > deadline && end < items.length) {
        this.renderer.paintLoaded();
        return false;
      }
    }
    this.renderer.paintLoaded();
    this._stateIndex = 0;
    if (!frame.more) {
      this._loadingState = false;
      this.seq = frame.seq;
      this._catchUp();
    }
    return true;
  }

  /**
   * Apply one op from an `ops` frame.
   *
   * @returns {boolean} false when a gap in seqs restarted the connection
   */
  _applyRemote(op) {
    if (op.seq <= this.seq) {
      return true;
    }
    if (op.seq !== this.seq + 1) {
      // Seqs skip nothing, so an op is missing: start over from a state.
      console.warn(`whitebrd: seq ${op.seq} after ${this.seq}, reloading`);
      this._fresh = true;
      this.connection.restart();
      return false;
    }
    this.seq = op.seq;

    let own = this.outbox.take(op.cid);
    if (!own && this._ackedAhead.has(op.cid)) {
      own = this._ackedAhead.get(op.cid);
      this._ackedAhead.delete(op.cid);
    }
    if (own && own.applied) {
      // The scene shows it already; put it where the server stacked it.
      if (
        op.op === "add" &&
        this.scene.settle(op.item.id, this.outbox.pendingAdds())
      ) {
        this.renderer.repaintSoon([this.scene.byId.get(op.item.id)]);
      }
      if (op.op === "update") {
        // Someone's restyle may have landed in between: this one came
        // after it on the server, so it wins here too. (Setting fields
        // twice changes nothing else.)
        this.renderer.show(this.scene.apply(op));
      }
      this._confirmed(op);
      return true;
    }

    this.renderer.show(this.scene.apply(op));
    if (op.by === this.clientId) {
      this._confirmed(op);
    }
    if (op.op === "clear") {
      // Our own unconfirmed items went with it; the server applies them
      // after the clear, so they come back with their confirmations.
      this.outbox.forgetApplied();
    }
    return true;
  }

  _caughtUpYet() {
    if (!this._caughtUp && this._helloSeq !== null) {
      if (!this._loadingState && this.seq >= this._helloSeq) {
        this._catchUp();
      }
    }
  }

  _ack(frame) {
    const entry = this.outbox.take(frame.cid);
    if (entry && frame.seq > this.seq) {
      // Stored before, but this page has not seen it yet: its copy is
      // still on the way and must not be applied twice.
      this._ackedAhead.set(frame.cid, entry);
    }
  }

  _error(frame) {
    if (frame.code === "storage_unavailable" && frame.cid) {
      this._notStored(frame.cid);
      return;
    }
    if (frame.code === "rate_limited" && frame.cid) {
      // Not stored, not lost: sent again after a pause.
      this._notStored(frame.cid, "Drawing too fast: slowing down.");
      return;
    }
    if (frame.code === "unknown_item" && this._waitsForAdd(frame.cid)) {
      // Its add was not stored (the store failed, or it met a rate limit)
      // and goes again first.
      this._scheduleResend();
      return;
    }
    console.warn(`whitebrd: refused (${frame.code}): ${frame.message}`);
    if (frame.cid && this._doomed.delete(frame.cid)) {
      // Refused because its add was: said once already.
      return;
    }
    const entry = frame.cid ? this.outbox.take(frame.cid) : null;
    if (entry && entry.op.op === "add") {
      // Refused, so it is on no other screen: take it off this one, with
      // the ops that would have grown or changed it.
      const id = entry.op.item.id;
      this._refused.add(id);
      if (entry.applied) {
        this.renderer.repaintSoon(this.scene.remove([id]));
      }
      for (const later of [...this.outbox.entries]) {
        if ([later.op.id, ...(later.op.ids || [])].includes(id)) {
          this.outbox.take(later.op.cid);
          if (later.sent) {
            this._doomed.add(later.op.cid);
          }
        }
      }
    }
    const message = errorMessage(frame.code, frame.message);
    if (message) {
      this._tell(frame.code, message);
    }
  }

  /**
   * The server could not store an op: keep it and send it again after a
   * while (longer each time), unless the connection is replaced first,
   * which resends everything anyway.
   */
  _notStored(cid, why) {
    if (why) {
      if (this._resendTimer === null) {
        this._notify(why);
      }
    } else {
      if (this.saving) {
        this._notify(NOT_SAVING);
      }
      this.saving = false;
    }
    const entry = this.outbox.entries.find((e) => e.op.cid === cid);
    if (entry) {
      entry.sent = false;
    }
    this._scheduleResend();
  }

  /**
   * Whether an op refused for naming an item the board lacks only came
   * too early: an add of that item waits before it in the outbox. Such an
   * op is kept, to be sent again after the add.
   */
  _waitsForAdd(cid) {
    const { entries } = this.outbox;
    const index = entries.findIndex((entry) => entry.op.cid === cid);
    if (index < 0) {
      return false;
    }
    const op = entries[index].op;
    const ids = new Set(op.op === "extend" ? [op.id] : op.ids || []);
    for (let i = 0; i < index; i++) {
      const earlier = entries[i].op;
      if (earlier.op === "add" && ids.has(earlier.item.id)) {
        entries[index].sent = false;
        return true;
      }
    }
    return false;
  }

  _scheduleResend() {
    if (this._resendTimer !== null) {
      return;
    }
    this._resendTimer = setTimeout(() => {
      this._resendTimer = null;
      if (!this._caughtUp) {
        return;
      }
      if (this.outbox.entries.some((entry) => entry.sent)) {
        // Ops sent earlier still wait in the server's queue for the store;
        // sending more copies would only lengthen it.
        this._scheduleResend();
        return;
      }
      this._sendUnsent();
    }, this._resendDelay);
    this._resendDelay = Math.min(RESEND_MAX_MS, this._resendDelay * 2);
  }

  /**
   * Send what was not sent, in order, as fast as the server's rate allows;
   * the rest goes as the rate frees up.
   */
  _sendUnsent() {
    for (const entry of this.outbox.entries) {
      if (!entry.sent) {
        if (!this._pace.take()) {
          this._sendLater();
          return;
        }
        entry.sent = this.connection.send(opFrame(entry.op));
      }
    }
  }

  /**
   * Ops a closed page of this board left behind joined the outbox: they go
   * now when this page is caught up, else with the rest when it is.
   */
  _adopted() {
    this._sendUnsentIfLive();
    this._changed();
  }

  _sendLater() {
    if (this._paceTimer !== null) {
      return;
    }
    this._paceTimer = setTimeout(() => {
      this._paceTimer = null;
      this._sendUnsentIfLive();
    }, this._pace.waitMs());
  }

  /**
   * Send what waits, unless the page is still catching up (it sends
   * everything once it is) or waits to resend ops refused for want of
   * storage: new ones wait behind those, or an extend would overtake its
   * add.
   */
  _sendUnsentIfLive() {
    if (this._caughtUp && this._resendTimer === null) {
      this._sendUnsent();
    }
  }

  _catchUp() {
    this._caughtUp = true;
    this.connection.resetBackoff();
    clearTimeout(this._resendTimer);
    this._resendTimer = null;
    // Everything unconfirmed goes again; the server acks what it has.
    for (const entry of this.outbox.entries) {
      entry.sent = false;
    }
    this._sendUnsent();
    this._changed();
  }
}
