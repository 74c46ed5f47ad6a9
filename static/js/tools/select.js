// Selecting items (a click, or a box dragged around them), then moving them
// with the mouse or the arrow keys, deleting, duplicating and restyling
// them.

import { boxOf, roundCoordinate, shiftPoints, unionBoxes } from "../geometry.js";
import { newItemId } from "../identity.js";
import { addOp, eraseOp, moveOp, updateOp } from "../protocol.js";
import { SELECTION } from "../overlay.js";
import { copyItem } from "../scene.js";

/** How close (CSS pixels) a click must be to an item to pick it. */
const HIT_PX = 6;

/** Where duplicates go, from their originals, in CSS pixels. */
const DUPLICATE_OFFSET_PX = 20;

/** Ids one op carries at most. */
const IDS_PER_OP = 1000;

/** The style fields each kind takes from the toolbar. */
const STYLE_FIELDS = {
  path: ["color", "width", "opacity"],
  line: ["color", "width", "opacity"],
  rect: ["color", "width", "opacity", "fill"],
  ellipse: ["color", "width", "opacity", "fill"],
  text: ["color", "opacity", "size"],
};

/**
 * The select tool (see tools/tool.js for the contract), and what can be
 * done to the selection from the keyboard and the toolbar.
 */
export class SelectTool {
  /**
   * @param {import("./tool.js").ToolContext} context
   * @param {() => void} changed called when the selection changes
   */
  constructor(context, changed = () => {}) {
    this.name = "select";
    this.cursor = "cursor-select";
    this._context = context;
    this._changed = changed;
    /** @type {Set<string>} ids of the selected items */
    this.selected = new Set();
    this._gesture = null;
  }

  start() {}

  stop() {
    this.cancel();
    this.clear();
  }

  /** The selected items still on the board, bottom first. */
  items() {
    const { scene } = this._context;
    const gone = [...this.selected].filter((id) => !scene.byId.has(id));
    for (const id of gone) {
      this.selected.delete(id);
    }
    return scene.items.filter((item) => this.selected.has(item.id));
  }

  /**
   * Select exactly these items.
   *
   * @param {string[]} ids
   */
  select(ids) {
    this.selected = new Set(ids);
    this._context.overlay.request();
    this._changed();
  }

  /** Select nothing. */
  clear() {
    if (this.selected.size) {
      this.select([]);
    }
  }

  /** Select every item on the board. */
  selectAll() {
    this.select(this._context.scene.items.map((item) => item.id));
  }

  press(point) {
    const { scene } = this._context;
    const scale = this._context.scale();
    const hit = scene.topAt(point.x, point.y, HIT_PX / scale);
    if (hit && point.shift) {
      const ids = new Set(this.selected);
      if (ids.has(hit.id)) {
        ids.delete(hit.id);
      } else {
        ids.add(hit.id);
      }
      this.select([...ids]);
      return;
    }
    if (hit) {
      if (!this.selected.has(hit.id)) {
        this.select([hit.id]);
      }
      const items = this.items();
      this._gesture = {
        kind: "move",
        from: point,
        dx: 0,
        dy: 0,
        items,
        original: items.map((item) => item.pts),
      };
      return;
    }
    if (!point.shift) {
      this.clear();
    }
    this._gesture = { kind: "box", from: point, to: point, keep: new Set(this.selected) };
  }

  move(points) {
    const gesture = this._gesture;
    if (!gesture || !points.length) {
      return;
    }
    const point = points[points.length - 1];
    if (gesture.kind === "box") {
      gesture.to = point;
      const box = boxOf(gesture.from.x, gesture.from.y, point.x, point.y);
      const inside = this._context.scene.within(box).map((item) => item.id);
      this.selected = new Set([...gesture.keep, ...inside]);
      this._context.overlay.request();
      return;
    }
    // The items follow the pointer here; the move goes out on release. Each
    // step sets points from the originals, so the page ends exactly where
    // the server's one move puts them.
    gesture.dx = roundCoordinate(point.x - gesture.from.x);
    gesture.dy = roundCoordinate(point.y - gesture.from.y);
    this._place(gesture, gesture.dx, gesture.dy);
  }

  _place(gesture, dx, dy) {
    const { scene } = this._context;
    const before = [];
    const moved = [];
    gesture.items.forEach((item, i) => {
      if (scene.byId.get(item.id) === item) {
        before.push(scene.bounds(item));
        item.pts = shiftPoints(gesture.original[i], dx, dy);
        scene.invalidate(item);
        moved.push(item);
      }
    });
    this._context.repaint(moved, before);
    this._context.overlay.request();
  }

  release() {
    const gesture = this._gesture;
    this._gesture = null;
    if (!gesture) {
      return;
    }
    if (gesture.kind === "box") {
      this._context.overlay.request();
      this._changed();
      return;
    }
    const { scene } = this._context;
    const shown = gesture.items.filter((item) => scene.byId.get(item.id) === item);
    if (!shown.length || (gesture.dx === 0 && gesture.dy === 0)) {
      return;
    }
    const ids = shown.map((item) => item.id);
    for (let i = 0; i < ids.length; i += IDS_PER_OP) {
      this._context.submit(
        moveOp(this._context.nextCid(), ids.slice(i, i + IDS_PER_OP), gesture.dx, gesture.dy),
        { applied: true },
      );
    }
    this._context.record({ kind: "move", ids, dx: gesture.dx, dy: gesture.dy });
  }

  cancel() {
    const gesture = this._gesture;
    if (gesture && gesture.kind === "move") {
      // Put them back: nothing was sent.
      this._gesture = null;
      this._place(gesture, 0, 0);
      return;
    }
    this.release();
  }

  /**
   * Move the selection by board units, as one undoable step with the
   * steps just before it.
   */
  nudge(dx, dy) {
    const ids = this.items().map((item) => item.id);
    if (!ids.length) {
      return;
    }
    for (let i = 0; i < ids.length; i += IDS_PER_OP) {
      this._context.submit(moveOp(this._context.nextCid(), ids.slice(i, i + IDS_PER_OP), dx, dy));
    }
    this._context.record({ kind: "move", ids, dx, dy, merge: true });
    this._context.overlay.request();
  }

  /** Erase the selected items. */
  remove() {
    const items = this.items();
    if (!items.length) {
      return;
    }
    this._context.record({ kind: "erase", items: items.map(copyItem) });
    const ids = items.map((item) => item.id);
    for (let i = 0; i < ids.length; i += IDS_PER_OP) {
      this._context.submit(eraseOp(this._context.nextCid(), ids.slice(i, i + IDS_PER_OP)));
    }
    this.clear();
  }

  /**
   * Add copies of items a little below and right, and select them.
   *
   * @param {object[]} [items=the selection]
   * @param {number} [offset] board units; a few pixels on screen by default
   */
  duplicate(items = this.items(), offset = undefined) {
    if (!items.length) {
      return;
    }
    const shift = offset ?? DUPLICATE_OFFSET_PX / this._context.scale();
    const copies = items.map((item) => {
      const copy = copyItem(item);
      copy.id = newItemId();
      copy.pts = shiftPoints(item.pts, shift, shift).map(roundCoordinate);
      return copy;
    });
    for (const copy of copies) {
      this._context.submit(addOp(this._context.nextCid(), copy));
    }
    this._context.record({ kind: "add", items: copies });
    this.select(copies.map((copy) => copy.id));
  }

  /**
   * Give the selected items style fields from the toolbar, each item the
   * fields its kind takes, as one undoable step.
   *
   * @param {object} set e.g. {color: "#e03131"}
   * @returns {boolean} whether anything was selected to restyle
   */
  restyle(set) {
    const items = this.items();
    const changes = [];
    for (const item of items) {
      const fields = STYLE_FIELDS[item.kind] || [];
      const after = {};
      const before = {};
      for (const name of fields) {
        if (Object.hasOwn(set, name) && (item[name] ?? null) !== set[name]) {
          after[name] = set[name];
          before[name] = item[name] ?? null;
        }
      }
      if (Object.keys(after).length) {
        changes.push({ id: item.id, before, after });
        this._context.submit(updateOp(this._context.nextCid(), item.id, after));
      }
    }
    if (changes.length) {
      this._context.record({ kind: "update", changes });
    }
    this._context.overlay.request();
    return items.length > 0;
  }

  /** The box around the selection, or null. */
  bounds() {
    const { scene } = this._context;
    return unionBoxes(this.items().map((item) => scene.bounds(item)));
  }

  paintOverlay(ctx, scale) {
    const { scene } = this._context;
    const line = 1 / scale;
    ctx.lineWidth = line;
    ctx.strokeStyle = SELECTION;
    const items = this.items();
    const pad = 4 / scale;
    if (items.length > 1) {
      ctx.setLineDash([]);
      ctx.globalAlpha = 0.5;
      for (const item of items) {
        const box = scene.bounds(item);
        ctx.strokeRect(box.minX, box.minY, box.maxX - box.minX, box.maxY - box.minY);
      }
      ctx.globalAlpha = 1;
    }
    const all = this.bounds();
    if (all) {
      ctx.setLineDash([6 / scale, 4 / scale]);
      ctx.strokeRect(
        all.minX - pad,
        all.minY - pad,
        all.maxX - all.minX + 2 * pad,
        all.maxY - all.minY + 2 * pad,
      );
      ctx.setLineDash([]);
      const handle = 7 / scale;
      ctx.fillStyle = "#ffffff";
      for (const [x, y] of [
        [all.minX - pad, all.minY - pad],
        [all.maxX + pad, all.minY - pad],
        [all.minX - pad, all.maxY + pad],
        [all.maxX + pad, all.maxY + pad],
      ]) {
        ctx.fillRect(x - handle / 2, y - handle / 2, handle, handle);
        ctx.strokeRect(x - handle / 2, y - handle / 2, handle, handle);
      }
    }
    const gesture = this._gesture;
    if (gesture && gesture.kind === "box") {
      const box = boxOf(gesture.from.x, gesture.from.y, gesture.to.x, gesture.to.y);
      ctx.fillStyle = "rgb(25 113 194 / 8%)";
      ctx.fillRect(box.minX, box.minY, box.maxX - box.minX, box.maxY - box.minY);
      ctx.strokeRect(box.minX, box.minY, box.maxX - box.minX, box.maxY - box.minY);
    }
  }
}
