// The board as this page holds it: items in drawing order, a map by id,
// and what each op changes. DOM-free; render.js draws what it reports.

import {
  boundsOf,
  boxContains,
  boxesTouch,
  itemBounds,
  itemTouches,
  pressureFactor,
  shiftPoints,
} from "./geometry.js";

/**
 * A change the renderer has to show, as returned by `Scene.apply`:
 * `{type: "add", item}`, `{type: "extend", item, from}` (from: points the
 * item had before), `{type: "erase", items}`, `{type: "move", items,
 * before}` and `{type: "update", items, before}` (before: the boxes the
 * items covered) or `{type: "clear"}`.
 *
 * @typedef {object} Change
 */

/**
 * A copy of an item that shares no list with it, since the scene extends
 * paths in place and an op may still be resent.
 *
 * @param {object} item
 * @returns {object}
 */
export function copyItem(item) {
  const copy = { ...item, pts: item.pts.slice() };
  if (item.pressure) {
    copy.pressure = item.pressure.slice();
  }
  return copy;
}

const _copy = copyItem;

// The style fields an update may set on each kind, as the server folds it
// (whitebrd/scene.py): others are ignored.
const SHAPE_STYLE = ["color", "width", "opacity", "fill"];
const STYLE_FOR = {
  text: [...SHAPE_STYLE, "text", "size"],
  line: [...SHAPE_STYLE, "arrow"],
  path: [...SHAPE_STYLE, "arrow"],
  rect: SHAPE_STYLE,
  ellipse: SHAPE_STYLE,
};

/**
 * Set style fields on an item in place, as an `update` does.
 *
 * @param {object} item
 * @param {object} set
 * @returns {boolean} whether a field applied to the item's kind
 */
export function restyle(item, set) {
  let changed = false;
  for (const name of STYLE_FOR[item.kind] || SHAPE_STYLE) {
    if (!Object.hasOwn(set, name)) {
      continue;
    }
    if (name === "arrow" && set.arrow === null) {
      delete item.arrow;
    } else {
      item[name] = set[name];
    }
    changed = true;
  }
  return changed;
}

/** Items in drawing order, with an index by id and cached bounds. */
export class Scene {
  constructor() {
    /** @type {object[]} bottom first */
    this.items = [];
    /** @type {Map<string, object>} */
    this.byId = new Map();
    this._bounds = new WeakMap();
  }

  /** Forget every item. */
  reset() {
    this.items = [];
    this.byId = new Map();
  }

  /**
   * Put checked items on top, as a `state` frame delivers them; an id the
   * scene holds already is skipped.
   *
   * @param {object[]} items valid items, in drawing order
   * @param {number} [start=0] the first index to take
   * @param {number} [end=items.length] one past the last index to take
   */
  load(items, start = 0, end = items.length) {
    for (let i = start; i < end; i++) {
      const item = items[i];
      if (!this.byId.has(item.id)) {
        this.items.push(item);
        this.byId.set(item.id, item);
      }
    }
  }

  /**
   * Apply one op (checked, or made by this page).
   *
   * @param {object} op an op with `op` and its fields
   * @returns {Change|null} what changed, or null when nothing did (an add of
   *   an id held already, an extend of an item that is gone)
   */
  apply(op) {
    switch (op.op) {
      case "add": {
        if (this.byId.has(op.item.id)) {
          return null;
        }
        const item = _copy(op.item);
        this.items.push(item);
        this.byId.set(item.id, item);
        return { type: "add", item };
      }
      case "extend": {
        const item = this.byId.get(op.id);
        if (!item || item.kind !== "path") {
          return null;
        }
        const from = item.pts.length >> 1;
        for (const value of op.pts) {
          item.pts.push(value);
        }
        if (item.pressure) {
          // One pressure per point: an extend without repeats the last.
          const count = op.pts.length >> 1;
          const last = item.pressure[item.pressure.length - 1] ?? 0.5;
          for (let i = 0; i < count; i++) {
            item.pressure.push(op.pressure ? op.pressure[i] : last);
          }
        }
        const box = this._bounds.get(item);
        if (box) {
          const pad = (item.width / 2) * (item.pressure ? pressureFactor(1) : 1);
          const grown = boundsOf(op.pts);
          box.minX = Math.min(box.minX, grown.minX - pad);
          box.minY = Math.min(box.minY, grown.minY - pad);
          box.maxX = Math.max(box.maxX, grown.maxX + pad);
          box.maxY = Math.max(box.maxY, grown.maxY + pad);
        }
        return { type: "extend", item, from };
      }
      case "erase": {
        const removed = this.remove(op.ids);
        return removed.length ? { type: "erase", items: removed } : null;
      }
      case "clear":
        this.reset();
        return { type: "clear" };
      case "move": {
        const items = [];
        const before = [];
        for (const id of new Set(op.ids)) {
          const item = this.byId.get(id);
          if (item) {
            before.push(this.bounds(item));
            item.pts = shiftPoints(item.pts, op.dx, op.dy);
            this._bounds.delete(item);
            items.push(item);
          }
        }
        return items.length ? { type: "move", items, before } : null;
      }
      case "update": {
        const item = this.byId.get(op.id);
        if (!item) {
          return null;
        }
        const before = [this.bounds(item)];
        if (!restyle(item, op.set)) {
          return null;
        }
        this._bounds.delete(item);
        return { type: "update", items: [item], before };
      }
      default:
        return null;
    }
  }

  /**
   * The topmost item a point touches, within `tolerance` board units of
   * its stroke (or inside it, for filled shapes and text).
   *
   * @returns {object|null}
   */
  topAt(x, y, tolerance) {
    for (let i = this.items.length - 1; i >= 0; i--) {
      const item = this.items[i];
      if (
        boxesTouch(this.bounds(item), { minX: x, minY: y, maxX: x, maxY: y }, tolerance) &&
        itemTouches(item, x, y, x, y, tolerance)
      ) {
        return item;
      }
    }
    return null;
  }

  /**
   * The items lying wholly inside a box, bottom first.
   *
   * @param {{minX: number, minY: number, maxX: number, maxY: number}} box
   * @returns {object[]}
   */
  within(box) {
    return this.items.filter((item) => boxContains(box, this.bounds(item)));
  }

  /**
   * Remove items by id.
   *
   * @param {string[]} ids
   * @returns {object[]} the items removed
   */
  remove(ids) {
    const removed = [];
    for (const id of ids) {
      const item = this.byId.get(id);
      if (item) {
        this.byId.delete(id);
        removed.push(item);
      }
    }
    if (removed.length) {
      const gone = new Set(removed);
      this.items = this.items.filter((item) => !gone.has(item));
    }
    return removed;
  }

  /**
   * Move an item of this page's up to where the server put it: above every
   * item added meanwhile by others, below this page's later pending items.
   * Every screen then stacks concurrent strokes alike.
   *
   * @param {string} id the item whose add the server confirmed
   * @param {Set<string>} pending ids of this page's unconfirmed adds
   * @returns {boolean} whether the drawing order changed
   */
  settle(id, pending) {
    const item = this.byId.get(id);
    if (!item) {
      return false;
    }
    const index = this.items.indexOf(item);
    let target = index + 1;
    while (target < this.items.length && !pending.has(this.items[target].id)) {
      target += 1;
    }
    if (target === index + 1) {
      return false;
    }
    this.items.splice(index, 1);
    this.items.splice(target - 1, 0, item);
    return true;
  }

  /**
   * Forget the cached area of an item whose points a tool changed.
   *
   * @param {object} item
   */
  invalidate(item) {
    this._bounds.delete(item);
  }

  /**
   * The area an item covers, cached.
   *
   * @param {object} item an item of this scene
   * @returns {{minX: number, minY: number, maxX: number, maxY: number}}
   */
  bounds(item) {
    let box = this._bounds.get(item);
    if (!box) {
      box = itemBounds(item);
      this._bounds.set(item, box);
    }
    return box;
  }

  /**
   * The items an eraser of radius `radius` touches as it moves from a to b,
   * top first.
   *
   * @returns {object[]}
   */
  touchedBy(ax, ay, bx, by, radius) {
    const sweep = {
      minX: Math.min(ax, bx),
      minY: Math.min(ay, by),
      maxX: Math.max(ax, bx),
      maxY: Math.max(ay, by),
    };
    const touched = [];
    for (let i = this.items.length - 1; i >= 0; i--) {
      const item = this.items[i];
      if (
        boxesTouch(sweep, this.bounds(item), radius) &&
        itemTouches(item, ax, ay, bx, by, radius)
      ) {
        touched.push(item);
      }
    }
    return touched;
  }
}
