// The contract every tool keeps, so that input.js can drive any of them.

/**
 * A tool turns one pointer's press, moves and release into ops.
 *
 * Points are in board units (see input.js `ToolPoint`: also the canvas
 * position, the pen's pressure and the modifier keys). `move` gets every
 * point the browser recorded since the previous call (coalesced events
 * included), oldest first. `release` ends the gesture normally; `cancel`
 * ends it when the browser took the pointer away (a touch turned into a
 * pinch, a lost capture), and keeps what was drawn so far. `start` and
 * `stop` are called when the tool is picked and put down. A tool that
 * draws something before it is on the board paints it in `paintOverlay`.
 * A tool with `pans` set is not driven at all: its gestures move the view.
 *
 * @typedef {object} Tool
 * @property {string} name "pen", "eraser", ... as its button's data-tool
 * @property {string} cursor the CSS class the canvas takes for it
 * @property {boolean} [pans] gestures pan the view instead
 * @property {(point: object) => void} press
 * @property {(points: object[]) => void} move
 * @property {() => void} release
 * @property {() => void} cancel
 * @property {() => void} start
 * @property {() => void} stop
 * @property {(ctx: CanvasRenderingContext2D, scale: number) => void}
 *   [paintOverlay] paint a preview in board units
 */

/**
 * The current style of the toolbar.
 *
 * @typedef {object} Style
 * @property {string} color "#rrggbb"
 * @property {number} width stroke width in board units
 * @property {number} opacity 0..1
 * @property {boolean} fill whether shapes are filled
 * @property {string} fillColor "#rrggbb", the fill when they are
 * @property {number} size text size in board units
 */

/**
 * What a tool may use of the page.
 *
 * @typedef {object} ToolContext
 * @property {import("../scene.js").Scene} scene
 * @property {(op: object, options?: {applied?: boolean}) => void} submit
 *   applies, keeps and sends an op; with `applied`, the tool already
 *   changed the scene the way the op does
 * @property {() => string} nextCid
 * @property {() => Style} style
 * @property {() => number} scale CSS pixels per board unit
 * @property {(action: object) => void} record remembers an action for undo
 *   (see undo.js)
 * @property {(items: object[], boxes: object[]) => void} repaint paints
 *   again where items are and were
 * @property {{request: () => void}} overlay
 * @property {(options: object) => void} editText opens the text editor
 *   (see texteditor.js)
 */

export {};
