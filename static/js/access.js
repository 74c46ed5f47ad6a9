// What the page's address gives: an edit link or name (/b/<id>), or a view
// link (/v/<id>), and what the server says the page may do on it.
// DOM-free, so tests reach it.

const LINK_PATH = /^\/([bv])\/([A-Za-z0-9_-]{1,64})\/?$/;

/**
 * The link in a page's path.
 *
 * @param {string} pathname e.g. location.pathname
 * @returns {{id: string, view: boolean, path: string}|null} the link's id,
 *   whether it is a view link, and the path its WebSocket and JSON hang
 *   off; null for a path that is no board
 */
export function linkFromPath(pathname) {
  const match = LINK_PATH.exec(pathname);
  if (!match) {
    return null;
  }
  const view = match[1] === "v";
  return { id: match[2], view, path: `/${match[1]}/${match[2]}` };
}

/**
 * What a view-only page says, by why it is view-only.
 *
 * @param {{view: boolean}} link
 * @param {boolean} locked an administrator locked the board
 * @returns {string}
 */
export function readOnlyReason(link, locked) {
  if (locked) {
    return "An administrator locked this board: you can watch, not draw.";
  }
  return link.view
    ? "This is a view link: you can watch, not draw."
    : "This board is read-only.";
}

/**
 * Close codes after which the page must not reconnect, and why.
 */
export const FINAL_CLOSES = {
  4403: "This link no longer works.",
};

/** The close code of a board an administrator deleted. */
export const BOARD_DELETED = 4410;
