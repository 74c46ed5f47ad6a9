// The hand: drags move the view (input.js does the moving).

/**
 * The hand tool (see tools/tool.js for the contract): it draws nothing.
 */
export class HandTool {
  constructor() {
    this.name = "hand";
    this.cursor = "cursor-hand";
    this.pans = true;
  }

  start() {}

  stop() {}

  press() {}

  move() {}

  release() {}

  cancel() {}
}
