// Undo and redo per person: this browser's own actions on a board, reverted
// as new ops that everyone receives. DOM-free apart from the storage it is
// given, so tests reach it.

import { addOp, eraseOp, moveOp, updateOp } from "./protocol.js";
import { copyItem } from "./scene.js";

/** Actions kept per board, oldest dropped first. */
export const MAX_ACTIONS = 100;

/** The most characters the saved stacks may take in storage. */
const MAX_SAVED_CHARS = 2_000_000;

/** Ids one erase carries at most. */
const IDS_PER_OP = 1000;

/**
 * One action of this person, as the stacks keep it:
 *
 * - `{kind: "add", items}`: items drawn (a stroke, shapes, a paste, an
 *   import); undone by erasing them, redone by adding them back;
 * - `{kind: "erase", items}`: items erased; undone by adding them back;
 * - `{kind: "move", ids, dx, dy}`;
 * - `{kind: "update", changes: [{id, before, after}]}`: style fields set;
 * - `{kind: "clear", seq, cid}`: the board cleared; undone by adding back
 *   what the board held just before `seq` (read from its history), redone
 *   by erasing those items again.
 *
 * Items are kept whole, so an action can be undone after a reload, when
 * the page no longer holds them.
 *
 * @typedef {object} Action
 */

/**
 * What undo and redo need of the page: the board as it is now, names for
 * ops, and the board as it was at a seq (for undoing a clear).
 *
 * @typedef {object} UndoContext
 * @property {import("./scene.js").Scene} scene
 * @property {() => string} nextCid
 * @property {(seq: number) => Promise<object[]>} boardAt the items the
 *   board held at a seq, in drawing order
 */

/**
 * The ops that put back `items` that are not on the board, in their
 * order; the same ids, so each goes on top (an id gone from the board may
 * be added again).
 */
function _addBack(context, items) {
  return items
    .filter((item) => !context.scene.byId.has(item.id))
    .map((item) => addOp(context.nextCid(), copyItem(item)));
}

/** The ops that erase those of `ids` still on the board. */
function _eraseShown(context, ids) {
  const shown = ids.filter((id) => context.scene.byId.has(id));
  const ops = [];
  for (let i = 0; i < shown.length; i += IDS_PER_OP) {
    ops.push(eraseOp(context.nextCid(), shown.slice(i, i + IDS_PER_OP)));
  }
  return ops;
}

function _currentCopies(context, items) {
  // What is erased now may have been moved or restyled since: redo puts
  // back what undo took away.
  return items.map((item) => {
    const shown = context.scene.byId.get(item.id);
    return shown ? copyItem(shown) : item;
  });
}

/**
 * Style changes that take an item from `from` to `to`, for the fields
 * that still hold what `from` says: a colleague's later change to a field
 * is left alone.
 */
function _restyles(context, changes, from, to) {
  const ops = [];
  for (const change of changes) {
    const item = context.scene.byId.get(change.id);
    if (!item) {
      continue;
    }
    const set = {};
    for (const [name, value] of Object.entries(change[to])) {
      const now = Object.hasOwn(item, name) ? item[name] : null;
      if (now === (change[from][name] ?? null)) {
        set[name] = value;
      }
    }
    if (Object.keys(set).length) {
      ops.push(updateOp(context.nextCid(), change.id, set));
    }
  }
  return ops;
}

/**
 * The undo and redo stacks of one person on one board.
 */
export class UndoHistory {
  /**
   * @param {Storage|null} storage where the stacks are kept across reloads
   * @param {string} key one per board
   */
  constructor(storage, key) {
    this._storage = storage;
    this._key = key;
    this._timer = null;
    /** @type {Action[]} oldest first */
    this.done = [];
    /** @type {Action[]} the next to redo last */
    this.undone = [];
    this._listeners = [];
    this._load();
  }

  /** Call `listener()` whenever what can be undone or redone changes. */
  listen(listener) {
    this._listeners.push(listener);
  }

  get canUndo() {
    return this.done.length > 0;
  }

  get canRedo() {
    return this.undone.length > 0;
  }

  /**
   * Remember an action just done; whatever was undone can no longer be
   * redone.
   *
   * @param {Action} action
   */
  record(action) {
    if (action.kind === "add" || action.kind === "erase") {
      if (!action.items.length) {
        return;
      }
      action = { ...action, items: action.items.map(copyItem) };
    }
    const last = this.done[this.done.length - 1];
    if (
      action.kind === "move" &&
      last &&
      last.kind === "move" &&
      action.merge &&
      last.ids.length === action.ids.length &&
      last.ids.every((id, i) => id === action.ids[i])
    ) {
      // Steps of one nudge with the arrow keys undo together.
      last.dx += action.dx;
      last.dy += action.dy;
    } else {
      const { merge: _, ...kept } = action;
      this.done.push(kept);
    }
    if (this.done.length > MAX_ACTIONS) {
      this.done.shift();
    }
    this.undone = [];
    this._changed();
  }

  /**
   * Learn the seq of a clear of this person's once the server stored it,
   * so that undoing it knows what it removed.
   *
   * @param {string} cid
   * @param {number} seq
   */
  stored(cid, seq) {
    for (const action of [...this.done, ...this.undone]) {
      if (action.kind === "clear" && action.cid === cid && !action.seq) {
        action.seq = seq;
        this._changed();
      }
    }
  }

  /**
   * Take back the last action: the ops that revert it, as they apply to
   * the board now.
   *
   * @param {UndoContext} context
   * @returns {Promise<object[]>} ops to submit (none when nothing of the
   *   action is left to revert)
   */
  async undo(context) {
    const action = this.done.pop();
    if (!action) {
      return [];
    }
    this._changed();
    let ops = [];
    switch (action.kind) {
      case "add":
        action.items = _currentCopies(context, action.items);
        ops = _eraseShown(context, action.items.map((item) => item.id));
        break;
      case "erase":
        ops = _addBack(context, action.items);
        break;
      case "move": {
        const ids = action.ids.filter((id) => context.scene.byId.has(id));
        if (ids.length) {
          ops = [moveOp(context.nextCid(), ids, -action.dx, -action.dy)];
        }
        break;
      }
      case "update":
        ops = _restyles(context, action.changes, "after", "before");
        break;
      case "clear":
        try {
          action.items = await this._cleared(context, action);
        } catch (error) {
          this.done.push(action);
          this._changed();
          throw error;
        }
        ops = _addBack(context, action.items);
        break;
      default:
        break;
    }
    this.undone.push(action);
    this._changed();
    return ops;
  }

  /**
   * Do again the last action undone.
   *
   * @param {UndoContext} context
   * @returns {Promise<object[]>} ops to submit
   */
  async redo(context) {
    const action = this.undone.pop();
    if (!action) {
      return [];
    }
    let ops = [];
    switch (action.kind) {
      case "add":
        ops = _addBack(context, action.items);
        break;
      case "erase":
        action.items = _currentCopies(context, action.items);
        ops = _eraseShown(context, action.items.map((item) => item.id));
        break;
      case "move": {
        const ids = action.ids.filter((id) => context.scene.byId.has(id));
        if (ids.length) {
          ops = [moveOp(context.nextCid(), ids, action.dx, action.dy)];
        }
        break;
      }
      case "update":
        ops = _restyles(context, action.changes, "before", "after");
        break;
      case "clear":
        ops = _eraseShown(
          context,
          (action.items || []).map((item) => item.id),
        );
        break;
      default:
        break;
    }
    this.done.push(action);
    this._changed();
    return ops;
  }

  async _cleared(context, action) {
    if (action.items) {
      return action.items;
    }
    if (!action.seq) {
      throw new Error(
        "This clear is not saved yet, so it cannot be undone; try again " +
          "in a moment.",
      );
    }
    return context.boardAt(action.seq - 1);
  }

  _changed() {
    for (const listener of this._listeners) {
      listener();
    }
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this.flush(), 300);
  }

  /** Write the stacks to storage now (on page hide, and in tests). */
  flush() {
    clearTimeout(this._timer);
    this._timer = null;
    if (!this._storage) {
      return;
    }
    try {
      let done = this.done;
      let undone = this.undone;
      let text = JSON.stringify({ done, undone });
      // Past the budget, the oldest actions go first.
      while (text.length > MAX_SAVED_CHARS && (done.length || undone.length)) {
        if (done.length) {
          done = done.slice(1);
        } else {
          undone = undone.slice(1);
        }
        text = JSON.stringify({ done, undone });
      }
      this._storage.setItem(this._key, text);
    } catch {
      // Undo still works until the page goes away.
    }
  }

  _load() {
    try {
      const saved = JSON.parse(this._storage?.getItem(this._key) || "null");
      if (saved && Array.isArray(saved.done) && Array.isArray(saved.undone)) {
        const valid = (action) =>
          action && typeof action === "object" && typeof action.kind === "string";
        this.done = saved.done.filter(valid);
        this.undone = saved.undone.filter(valid);
      }
    } catch {
      // Nothing to undo from before the reload.
    }
  }
}
