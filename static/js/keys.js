// The board page's keyboard shortcuts (the help overlay lists them).

/**
 * What the shortcuts do.
 *
 * @typedef {object} ShortcutActions
 * @property {(key: string) => boolean} tool picks a tool by its key
 * @property {() => void} undo
 * @property {() => void} redo
 * @property {() => void} remove erases the selection
 * @property {() => void} duplicate
 * @property {() => void} selectAll
 * @property {() => void} copy
 * @property {() => void} paste
 * @property {(dx: number, dy: number) => void} nudge moves the selection
 *   by CSS pixels
 * @property {() => boolean} escape backs out of whatever is going on
 * @property {(factor: number) => void} zoom
 * @property {() => void} zoomReset
 * @property {() => void} zoomFit
 * @property {() => void} help
 * @property {() => boolean} hasSelection
 */

function _typing(target) {
  return Boolean(
    target.closest?.("input, textarea, select, [contenteditable], dialog"),
  );
}

/**
 * Listen for the shortcuts on a document.
 *
 * @param {Document} document
 * @param {ShortcutActions} actions
 */
export function bindShortcuts(document, actions) {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || _typing(event.target)) {
      return;
    }
    const key = event.key.toLowerCase();
    const command = event.ctrlKey || event.metaKey;
    let handled = true;
    if (command && key === "z") {
      if (event.shiftKey) {
        actions.redo();
      } else {
        actions.undo();
      }
    } else if (command && key === "y") {
      actions.redo();
    } else if (command && key === "d") {
      actions.duplicate();
    } else if (command && key === "a") {
      actions.selectAll();
    } else if (command && key === "c" && actions.hasSelection()) {
      actions.copy();
    } else if (command && key === "v") {
      actions.paste();
    } else if (command || event.altKey) {
      handled = false;
    } else if (key === "delete" || key === "backspace") {
      actions.remove();
    } else if (key.startsWith("arrow") && actions.hasSelection()) {
      const step = event.shiftKey ? 10 : 1;
      const [dx, dy] = {
        arrowleft: [-step, 0],
        arrowright: [step, 0],
        arrowup: [0, -step],
        arrowdown: [0, step],
      }[key];
      actions.nudge(dx, dy);
    } else if (key === "escape") {
      handled = actions.escape();
    } else if (key === "+" || key === "=") {
      actions.zoom(1.25);
    } else if (key === "-" || key === "_") {
      actions.zoom(0.8);
    } else if (event.code === "Digit0" && event.shiftKey) {
      actions.zoomReset();
    } else if (event.code === "Digit1" && event.shiftKey) {
      actions.zoomFit();
    } else if (key === "?") {
      actions.help();
    } else if (!event.shiftKey && key.length === 1) {
      handled = actions.tool(key);
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  });
}
