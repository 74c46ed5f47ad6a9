// Taking the board away: a PNG of the view or of the whole board, the
// board's SVG (drawn by the server) and its JSON.

import { unionBoxes } from "./geometry.js";
import { BACKGROUND, paintItems } from "./render.js";

/** The longest side of a whole-board PNG, in pixels. */
const MAX_PNG_SIDE = 8192;

/** Room around the drawing in a whole-board PNG, in board units. */
const MARGIN = 24;

/**
 * Offer a file to download.
 *
 * @param {Document} document
 * @param {Blob|string} what a blob, or a URL
 * @param {string} name the file name
 */
export function download(document, what, name) {
  const link = document.createElement("a");
  const url = typeof what === "string" ? what : URL.createObjectURL(what);
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  if (typeof what !== "string") {
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }
}

function _blob(canvas) {
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error("no PNG"))),
      "image/png",
    );
  });
}

/**
 * The view as it shows, at the screen's resolution.
 *
 * @param {HTMLCanvasElement} canvas the board's canvas
 * @returns {Promise<Blob>}
 */
export function viewPng(canvas) {
  return _blob(canvas);
}

/**
 * The whole board on white, at up to twice its size in board units (or
 * smaller, to keep the longest side within MAX_PNG_SIDE).
 *
 * @param {Document} document
 * @param {import("./scene.js").Scene} scene
 * @returns {Promise<Blob|null>} null for an empty board
 */
export function boardPng(document, scene) {
  const box = unionBoxes(scene.items.map((item) => scene.bounds(item)));
  if (!box) {
    return Promise.resolve(null);
  }
  const width = box.maxX - box.minX + 2 * MARGIN;
  const height = box.maxY - box.minY + 2 * MARGIN;
  const scale = Math.min(2, MAX_PNG_SIDE / width, MAX_PNG_SIDE / height);
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = BACKGROUND;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  paintItems(ctx, scene.items, (item) => scene.bounds(item), [
    scale,
    0,
    0,
    scale,
    (MARGIN - box.minX) * scale,
    (MARGIN - box.minY) * scale,
  ]);
  return _blob(canvas);
}

/**
 * The board as JSON, as `GET /b/<id>.json` gives it, from what the page
 * holds.
 *
 * @param {string} board
 * @param {number} seq
 * @param {import("./scene.js").Scene} scene
 * @returns {Blob}
 */
export function boardJson(board, seq, scene) {
  const text = JSON.stringify({ board, seq, items: scene.items });
  return new Blob([text], { type: "application/json" });
}
