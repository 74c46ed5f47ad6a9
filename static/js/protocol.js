// The wire contract as the client sees it (docs/protocol.md): checking what
// the server sends before anything uses it, and building what we send.
// DOM-free, so tests reach it.

import { MAX_COORDINATE } from "./geometry.js";

const ITEM_ID = /^[A-Za-z0-9_-]{1,40}$/;
const CLIENT_ID = /^[A-Za-z0-9_-]{8,40}$/;
const COLOR = /^#[0-9a-fA-F]{6}$/;
const KINDS = new Set(["path", "line", "rect", "ellipse", "text"]);
const TWO_POINTS = new Set(["line", "rect", "ellipse"]);
const ARROWS = new Set(["start", "end", "both"]);

/** How far one move may shift items, in board units. */
export const MAX_SHIFT = 2 * MAX_COORDINATE;

/** The most code points a person's name may hold. */
export const MAX_NAME_CHARS = 40;

function _isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function _isSeq(value) {
  return Number.isSafeInteger(value) && value >= 0;
}

function _isNumberIn(value, low, high) {
  return (
    typeof value === "number" &&
    Number.isFinite(value) &&
    value >= low &&
    value <= high
  );
}

/**
 * Whether a value is a flat list of one or more points within the
 * contract's range.
 *
 * @param {*} pts
 * @returns {boolean}
 */
export function isPoints(pts) {
  if (!Array.isArray(pts) || pts.length === 0 || pts.length % 2 !== 0) {
    return false;
  }
  for (const value of pts) {
    if (!_isNumberIn(value, -MAX_COORDINATE, MAX_COORDINATE)) {
      return false;
    }
  }
  return true;
}

/**
 * Whether a value is an item this client can keep and draw. Fields the
 * client does not know are tolerated, since later versions of the contract
 * may add some; what it needs must be well formed.
 *
 * @param {*} item
 * @returns {boolean}
 */
export function isItem(item) {
  if (!_isObject(item) || typeof item.id !== "string") {
    return false;
  }
  if (!ITEM_ID.test(item.id) || !KINDS.has(item.kind)) {
    return false;
  }
  if (!isPoints(item.pts)) {
    return false;
  }
  if (TWO_POINTS.has(item.kind) && item.pts.length !== 4) {
    return false;
  }
  if (item.kind === "text") {
    if (item.pts.length !== 2 || typeof item.text !== "string") {
      return false;
    }
    if (!_isNumberIn(item.size, 1, 1000)) {
      return false;
    }
  }
  if (typeof item.color !== "string" || !COLOR.test(item.color)) {
    return false;
  }
  if (!_isNumberIn(item.width, 0.5, 200)) {
    return false;
  }
  if ("opacity" in item && !_isNumberIn(item.opacity, 0, 1)) {
    return false;
  }
  if ("fill" in item && item.fill !== null) {
    if (typeof item.fill !== "string" || !COLOR.test(item.fill)) {
      return false;
    }
  }
  if ("arrow" in item && !ARROWS.has(item.arrow)) {
    return false;
  }
  if ("pressure" in item && !isPressure(item.pressure, item.pts)) {
    return false;
  }
  return true;
}

/**
 * Whether a value is a list of pen pressures, one from 0 to 1 per point of
 * `pts`.
 *
 * @param {*} pressure
 * @param {number[]} pts
 * @returns {boolean}
 */
export function isPressure(pressure, pts) {
  return (
    Array.isArray(pressure) &&
    pressure.length * 2 === pts.length &&
    pressure.every((value) => _isNumberIn(value, 0, 1))
  );
}

/**
 * Whether a value is the `set` of an update: style fields, each valid.
 *
 * @param {*} set
 * @returns {boolean}
 */
export function isStyle(set) {
  if (!_isObject(set)) {
    return false;
  }
  const checks = {
    color: (v) => typeof v === "string" && COLOR.test(v),
    width: (v) => _isNumberIn(v, 0.5, 200),
    opacity: (v) => _isNumberIn(v, 0, 1),
    fill: (v) => v === null || (typeof v === "string" && COLOR.test(v)),
    text: (v) => typeof v === "string",
    size: (v) => _isNumberIn(v, 1, 1000),
    arrow: (v) => v === null || ARROWS.has(v),
  };
  const names = Object.keys(set);
  return (
    names.length > 0 &&
    names.every((name) => Object.hasOwn(checks, name) && checks[name](set[name]))
  );
}

function _isIds(ids) {
  return (
    Array.isArray(ids) &&
    ids.length > 0 &&
    ids.every((id) => typeof id === "string" && ITEM_ID.test(id))
  );
}

/**
 * Check one op as the server relays it. An op of a kind this client does
 * not know, or one whose body is malformed, still carries a seq that the
 * client must count, so it comes back with `op` set to "unknown".
 *
 * @param {*} value one entry of an `ops` frame
 * @returns {object|null} the op, or null when not even its seq is usable
 */
export function checkOp(value) {
  if (!_isObject(value) || !_isSeq(value.seq) || value.seq < 1) {
    return null;
  }
  const base = {
    seq: value.seq,
    by: typeof value.by === "string" ? value.by : "",
    cid: typeof value.cid === "string" ? value.cid : "",
  };
  switch (value.op) {
    case "add":
      if (isItem(value.item)) {
        return { ...base, op: "add", item: value.item };
      }
      break;
    case "extend":
      if (typeof value.id === "string" && isPoints(value.pts)) {
        const op = { ...base, op: "extend", id: value.id, pts: value.pts };
        if (isPressure(value.pressure, value.pts)) {
          op.pressure = value.pressure;
        }
        return op;
      }
      break;
    case "move":
      if (
        _isIds(value.ids) &&
        _isNumberIn(value.dx, -MAX_SHIFT, MAX_SHIFT) &&
        _isNumberIn(value.dy, -MAX_SHIFT, MAX_SHIFT)
      ) {
        return { ...base, op: "move", ids: value.ids, dx: value.dx, dy: value.dy };
      }
      break;
    case "update":
      if (typeof value.id === "string" && isStyle(value.set)) {
        return { ...base, op: "update", id: value.id, set: value.set };
      }
      break;
    case "erase":
      if (_isIds(value.ids)) {
        return { ...base, op: "erase", ids: value.ids };
      }
      break;
    case "clear":
      return { ...base, op: "clear" };
    default:
      break;
  }
  return { ...base, op: "unknown" };
}

/**
 * Parse and check one frame from the server.
 *
 * @param {string} text the frame's text
 * @returns {object|null} the frame with only checked fields, or null for a
 *   frame that is not JSON, has no known `t`, or has malformed fields
 */
export function parseFrame(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!_isObject(value) || typeof value.t !== "string") {
    return null;
  }

  switch (value.t) {
    case "hello":
      if (typeof value.board === "string" && _isSeq(value.seq)) {
        const you = typeof value.you === "string" ? value.you : "";
        // Older servers say no mode: they let everyone draw.
        const mode = value.mode === "view" ? "view" : "edit";
        // Older servers say no rate: they refuse nothing for speed.
        const rate =
          Number.isFinite(value.rate) && value.rate > 0 ? value.rate : null;
        return {
          t: "hello",
          board: value.board,
          you,
          seq: value.seq,
          mode,
          rate,
        };
      }
      return null;
    case "access":
      return {
        t: "access",
        mode: value.mode === "view" ? "view" : "edit",
        locked: value.locked === true,
      };
    case "state":
      if (_isSeq(value.seq) && Array.isArray(value.items)) {
        // One bad item costs that item, not the board.
        return {
          t: "state",
          seq: value.seq,
          items: value.items.filter(isItem),
          more: value.more === true,
        };
      }
      return null;
    case "ops": {
      if (!Array.isArray(value.ops)) {
        return null;
      }
      const ops = value.ops.map(checkOp);
      return ops.includes(null) ? null : { t: "ops", ops };
    }
    case "ack":
      if (typeof value.cid === "string" && _isSeq(value.seq)) {
        return { t: "ack", cid: value.cid, seq: value.seq };
      }
      return null;
    case "error": {
      if (typeof value.message !== "string") {
        return null;
      }
      const frame = {
        t: "error",
        code: typeof value.code === "string" ? value.code : "error",
        message: value.message,
      };
      if (typeof value.cid === "string") {
        frame.cid = value.cid;
      }
      return frame;
    }
    case "status":
      return _checkStatus(value);
    case "cursor":
      if (
        _isClient(value.by) &&
        _isNumberIn(value.x, -MAX_COORDINATE, MAX_COORDINATE) &&
        _isNumberIn(value.y, -MAX_COORDINATE, MAX_COORDINATE)
      ) {
        return { t: "cursor", by: value.by, x: value.x, y: value.y };
      }
      return null;
    case "people":
      if (Array.isArray(value.people)) {
        const people = value.people.map(_checkPerson).filter(Boolean);
        return { t: "people", people };
      }
      return null;
    case "join":
    case "presence": {
      const person = _checkPerson(value);
      return person ? { t: value.t, ...person } : null;
    }
    case "leave":
      return _isClient(value.by) ? { t: "leave", by: value.by } : null;
    default:
      return null;
  }
}

function _isClient(value) {
  return typeof value === "string" && CLIENT_ID.test(value);
}

/**
 * A person as presence frames give them: `by`, and `name` and `view` when
 * given and well formed (a name is shown as text, so any string of the
 * contract's length will do).
 */
function _checkPerson(value) {
  if (!_isObject(value) || !_isClient(value.by)) {
    return null;
  }
  const person = { by: value.by };
  if (value.name === null) {
    person.name = null;
  } else if (
    typeof value.name === "string" &&
    value.name.length <= 2 * MAX_NAME_CHARS
  ) {
    person.name = value.name;
  }
  if (isView(value.view)) {
    person.view = value.view;
  }
  return person;
}

/**
 * Whether a value is a view: `[x0, y0, x1, y1]` in board units, in order.
 *
 * @param {*} view
 * @returns {boolean}
 */
export function isView(view) {
  return (
    Array.isArray(view) &&
    view.length === 4 &&
    isPoints(view) &&
    view[0] <= view[2] &&
    view[1] <= view[3]
  );
}

function _checkStatus(value) {
  // Storage is unavailable when the frame says so in either of the forms
  // the server may use: {"storage": "unavailable"} or {"saving": false}.
  let saving = true;
  if (typeof value.storage === "string") {
    saving = value.storage === "ok";
  }
  if (typeof value.saving === "boolean") {
    saving = value.saving;
  }
  const message = typeof value.message === "string" ? value.message : "";
  return { t: "status", saving, message };
}

/**
 * The frame that sends one op.
 *
 * @param {object} op an op as kept in the outbox: cid, op and its fields
 * @returns {string} the frame's JSON text
 */
export function opFrame(op) {
  return JSON.stringify({ t: "op", ...op });
}

/**
 * An `add` op.
 *
 * @param {string} cid
 * @param {object} item a valid item
 * @returns {object}
 */
export function addOp(cid, item) {
  return { cid, op: "add", item };
}

/**
 * An `extend` op: points added to a path being drawn.
 *
 * @param {string} cid
 * @param {string} id the path's item id
 * @param {number[]} pts flat points, rounded
 * @returns {object}
 */
export function extendOp(cid, id, pts) {
  return { cid, op: "extend", id, pts };
}

/**
 * An `erase` op.
 *
 * @param {string} cid
 * @param {string[]} ids the items to remove
 * @returns {object}
 */
export function eraseOp(cid, ids) {
  return { cid, op: "erase", ids };
}

/**
 * A `clear` op.
 *
 * @param {string} cid
 * @returns {object}
 */
export function clearOp(cid) {
  return { cid, op: "clear" };
}

/**
 * A `move` op.
 *
 * @param {string} cid
 * @param {string[]} ids the items to shift
 * @param {number} dx board units
 * @param {number} dy board units
 * @returns {object}
 */
export function moveOp(cid, ids, dx, dy) {
  return { cid, op: "move", ids, dx, dy };
}

/**
 * An `update` op.
 *
 * @param {string} cid
 * @param {string} id the item to restyle
 * @param {object} set the fields to change (see `isStyle`)
 * @returns {object}
 */
export function updateOp(cid, id, set) {
  return { cid, op: "update", id, set };
}

/**
 * The frame that tells the others where this page points.
 *
 * @param {number} x board units
 * @param {number} y board units
 * @returns {string}
 */
export function cursorFrame(x, y) {
  return JSON.stringify({ t: "cursor", x, y });
}

/**
 * The frame that tells the others this person's name and view; either
 * may be left out.
 *
 * @param {{name?: string, view?: number[]}} fields
 * @returns {string}
 */
export function presenceFrame(fields) {
  return JSON.stringify({ t: "presence", ...fields });
}
