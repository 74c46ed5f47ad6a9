// What the page says for each error code and close code the server may
// send (docs/protocol.md, "Errors"): plain sentences, not codes.

/**
 * Messages by error code. `null` means the page says nothing: the case is
 * handled (a resend) or only a developer can act on it, and it goes to the
 * console.
 */
export const ERROR_MESSAGES = {
  bad_json: "The board refused a message from this page as garbled; reload the page if drawing stops working.",
  bad_frame: "The board refused a message from this page; reload the page if drawing stops working.",
  too_many_ops: "The board refused a batch of changes as too large; it was not saved.",
  bad_op: "The board refused a change from this page as malformed; it was not saved.",
  bad_item: "The board refused something drawn here as malformed; it was not saved.",
  bad_id: "The board refused something drawn here with a bad name; it was not saved.",
  too_many_points: "That stroke is too long; lift the pen and start a new one.",
  duplicate_id: "That item is on the board already.",
  unknown_item: "Someone else erased that item a moment ago, so your change to it was dropped.",
  board_full: "This board is full: erase something to make room, or start a new board.",
  rate_limited: "You are drawing faster than the board can take; slow down a moment.",
  storage_unavailable: null,
  read_only: "This board is read-only here: you can watch, not draw.",
  locked: "This board is locked: you can look at it, but not change it.",
  board_locked: "This board is locked: you can look at it, but not change it.",
  forbidden: "You may not change this board.",
};

/**
 * The sentence for an error code, including codes this page does not
 * know (a newer server).
 *
 * @param {string} code
 * @param {string} message the server's own words
 * @returns {string|null}
 */
export function errorMessage(code, message) {
  if (Object.hasOwn(ERROR_MESSAGES, code)) {
    return ERROR_MESSAGES[code];
  }
  return `The board refused a change (${message || code}).`;
}

/** What a close code from the server means to the person drawing. */
export const CLOSE_REASONS = {
  1001: "The server is restarting; reconnecting…",
  1007: "The server refused a malformed message; reconnecting.",
  1008: "The server cut the connection; reconnecting.",
  1009: "The server refused a message that was too large; reconnecting.",
  1011: "The server ran into a problem; reconnecting.",
  1013: "The board's storage is not answering; trying again.",
};
