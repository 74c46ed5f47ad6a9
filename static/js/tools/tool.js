// The contract every tool keeps, so that input.js can drive any of them.

/**
 * A tool turns one pointer's press, moves and release into ops.
 *
 * Points are in board units. `move` gets every point the browser recorded
 * since the previous call (coalesced events included), oldest first.
 * `release` ends the gesture normally; `cancel` ends it when the browser
 * took the pointer away (a touch turned into a scroll, a lost capture), and
 * keeps what was drawn so far. `start` and `stop` are called when the tool
 * is picked and put down.
 *
 * @typedef {object} Tool
 * @property {string} name "pen", "eraser", ...
 * @property {string} cursor the CSS class the canvas takes for it
 * @property {(point: {x: number, y: number}) => void} press
 * @property {(points: {x: number, y: number}[]) => void} move
 * @property {() => void} release
 * @property {() => void} cancel
 * @property {() => void} start
 * @property {() => void} stop
 */

/**
 * What a tool may use of the page: the scene to look at, a way to draw
 * ops, names for them, the current style and the view's scale.
 *
 * @typedef {object} ToolContext
 * @property {import("../scene.js").Scene} scene
 * @property {(op: object) => void} submit applies, keeps and sends an op
 * @property {() => string} nextCid
 * @property {() => {color: string, width: number}} style
 * @property {() => number} scale CSS pixels per board unit
 */

export {};
