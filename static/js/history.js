// Reading a board's history from the server, a page at a time (GET
// /b/<id>/history, or /v/<id>/history through a view link), for replay and
// for undoing a clear.

import { checkOp } from "./protocol.js";
import { Scene } from "./scene.js";

/** Ops asked for per page. */
const PAGE_OPS = 5000;

/**
 * Every op of a board after a seq, oldest first, checked.
 *
 * @param {string} path the board's address: /b/<id>, or /v/<id> through a
 *   view link
 * @param {object} [options]
 * @param {number} [options.until] stop once this seq is read
 * @param {(count: number) => void} [options.progress] told the number of
 *   ops read so far
 * @param {typeof fetch} [options.fetch]
 * @returns {Promise<object[]>}
 * @throws {Error} with a message for the person when the server fails
 */
export async function readHistory(path, options = {}) {
  const get = options.fetch || fetch.bind(globalThis);
  const ops = [];
  let after = 0;
  for (;;) {
    const response = await get(
      `${path}/history?after=${after}&limit=${PAGE_OPS}`,
      { cache: "no-store" },
    );
    if (!response.ok) {
      throw new Error(
        response.status === 503
          ? "The board's storage is not answering; try again in a moment."
          : `The board's history could not be read (${response.status}).`,
      );
    }
    const page = await response.json();
    for (const value of page.ops) {
      const op = checkOp(value);
      if (op) {
        ops.push(op);
      }
    }
    options.progress?.(ops.length);
    if (!page.more || !page.ops.length) {
      return ops;
    }
    after = ops[ops.length - 1].seq;
    if (options.until !== undefined && after >= options.until) {
      return ops;
    }
  }
}

/**
 * The items a board held at a seq, in drawing order.
 *
 * @param {string} path the board's address, as for readHistory
 * @param {number} seq
 * @param {typeof fetch} [fetcher]
 * @returns {Promise<object[]>}
 */
export async function boardAt(path, seq, fetcher = undefined) {
  const ops = await readHistory(path, { until: seq, fetch: fetcher });
  const scene = new Scene();
  for (const op of ops) {
    if (op.seq > seq) {
      break;
    }
    scene.apply(op);
  }
  return scene.items;
}
