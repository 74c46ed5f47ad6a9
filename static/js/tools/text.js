// Text: click where it goes, type (Shift+Enter for a new line), Enter or
// Escape to finish. Clicking a text item edits it.

import { roundCoordinate } from "../geometry.js";
import { newItemId } from "../identity.js";
import { addOp, eraseOp, updateOp } from "../protocol.js";
import { copyItem } from "../scene.js";

/** How close (CSS pixels) a click must be to a text item to edit it. */
const HIT_PX = 4;

/**
 * Open the editor on an existing text item, and turn what is typed into
 * an update (or an erase, when everything was deleted).
 *
 * @param {import("./tool.js").ToolContext} context
 * @param {object} item a text item of the scene
 */
export function editTextItem(context, item) {
  context.editText({
    x: item.pts[0],
    y: item.pts[1],
    text: item.text,
    size: item.size,
    color: item.color,
    done: (text) => {
      const shown = context.scene.byId.get(item.id);
      if (!shown || text === shown.text) {
        return;
      }
      if (!text.trim()) {
        context.record({ kind: "erase", items: [copyItem(shown)] });
        context.submit(eraseOp(context.nextCid(), [item.id]));
        return;
      }
      context.record({
        kind: "update",
        changes: [{ id: item.id, before: { text: shown.text }, after: { text } }],
      });
      context.submit(updateOp(context.nextCid(), item.id, { text }));
    },
  });
}

/**
 * The text tool (see tools/tool.js for the contract).
 */
export class TextTool {
  /** @param {import("./tool.js").ToolContext} context */
  constructor(context) {
    this.name = "text";
    this.cursor = "cursor-text";
    this._context = context;
    this._point = null;
  }

  start() {}

  stop() {}

  press(point) {
    this._point = point;
  }

  move() {}

  release() {
    const point = this._point;
    this._point = null;
    if (!point) {
      return;
    }
    const context = this._context;
    const hit = context.scene.topAt(point.x, point.y, HIT_PX / context.scale());
    if (hit && hit.kind === "text") {
      editTextItem(context, hit);
      return;
    }
    const style = context.style();
    const x = roundCoordinate(point.x);
    // The click marks the middle of the first line, not its top.
    const y = roundCoordinate(point.y - style.size * 0.6);
    context.editText({
      x,
      y,
      text: "",
      size: style.size,
      color: style.color,
      done: (text) => {
        if (!text.trim()) {
          return;
        }
        const item = {
          id: newItemId(),
          kind: "text",
          pts: [x, y],
          text: [...text].slice(0, 2000).join(""),
          size: style.size,
          color: style.color,
          width: 1,
          opacity: style.opacity,
        };
        context.submit(addOp(context.nextCid(), item));
        context.record({ kind: "add", items: [item] });
      },
    });
  }

  cancel() {
    this._point = null;
  }
}
