// Plane geometry in board units, free of the DOM so that tests reach it:
// rounding, smoothing a freehand path, bounding boxes and hit testing.

/** The largest absolute coordinate the wire contract accepts. */
export const MAX_COORDINATE = 1000000;

/**
 * Round a coordinate to 2 decimals and keep it within the contract's range.
 *
 * @param {number} value a coordinate in board units
 * @returns {number} the value as it goes on the wire
 */
export function roundCoordinate(value) {
  const clamped = Math.max(-MAX_COORDINATE, Math.min(MAX_COORDINATE, value));
  const rounded = Math.round(clamped * 100) / 100;
  // NB: Math.round gives -0 for small negatives; JSON writes it as 0
  // anyway, but tests compare with ===.
  return rounded === 0 ? 0 : rounded;
}

/**
 * Trace the smoothed form of a freehand path into a path sink: quadratic
 * curves through the midpoints of consecutive points, with each recorded
 * point as a control point. The curve starts at the first point and ends at
 * the last, so a stroke ends where the pen was lifted.
 *
 * The last stretch, from the last midpoint to the last point, is the only
 * part that changes shape when a point is added (it becomes a curve), so a
 * path growing while it is drawn is traced without it: given `from`, the
 * number of points traced before, and `tail` false, only the settled
 * curves the newer points add are traced, starting where the earlier trace
 * ended. Traces of 0..k, k..m, ..., without tails, then a `traceTail`, make
 * the whole path.
 *
 * @param {number[]} pts flat [x0, y0, x1, y1, ...], at least one point
 * @param {{moveTo: Function, lineTo: Function,
 *   quadraticCurveTo: Function}} sink a CanvasRenderingContext2D, a
 *   Path2D, or anything with the same three methods
 * @param {number} [from=0] how many points were traced before
 * @param {boolean} [tail=true] whether to end at the last point
 * @returns {boolean} false when nothing was traced
 */
export function tracePath(pts, sink, from = 0, tail = true) {
  const count = pts.length >> 1;
  const first = Math.max(1, from - 1);
  if (count < 2 || (!tail && first > count - 2)) {
    return false;
  }

  // Start where the curve before `first` ended.
  if (first === 1) {
    sink.moveTo(pts[0], pts[1]);
  } else {
    const i = first - 1;
    sink.moveTo(
      (pts[2 * i] + pts[2 * i + 2]) / 2,
      (pts[2 * i + 1] + pts[2 * i + 3]) / 2,
    );
  }

  for (let i = first; i < count - 1; i++) {
    sink.quadraticCurveTo(
      pts[2 * i],
      pts[2 * i + 1],
      (pts[2 * i] + pts[2 * i + 2]) / 2,
      (pts[2 * i + 1] + pts[2 * i + 3]) / 2,
    );
  }
  if (tail) {
    sink.lineTo(pts[2 * count - 2], pts[2 * count - 1]);
  }
  return true;
}

/**
 * Trace the last stretch of a smoothed path, which `tracePath` without a
 * tail leaves out: from the last midpoint (or the first point, for two
 * points) to the last point.
 *
 * @param {number[]} pts flat points, at least two
 * @param {object} sink as for `tracePath`
 * @returns {boolean} false when there is no such stretch
 */
export function traceTail(pts, sink) {
  const count = pts.length >> 1;
  if (count < 2) {
    return false;
  }
  const i = count - 2;
  if (i === 0) {
    sink.moveTo(pts[0], pts[1]);
  } else {
    sink.moveTo(
      (pts[2 * i] + pts[2 * i + 2]) / 2,
      (pts[2 * i + 1] + pts[2 * i + 3]) / 2,
    );
  }
  sink.lineTo(pts[2 * count - 2], pts[2 * count - 1]);
  return true;
}

/**
 * The bounding box of a flat point list.
 *
 * @param {number[]} pts flat [x0, y0, ...]
 * @param {number} [from=0] the first point to include
 * @param {{minX: number, minY: number, maxX: number, maxY: number}} [box]
 *   a box to grow instead of making a new one
 * @returns {{minX: number, minY: number, maxX: number, maxY: number}}
 */
export function boundsOf(pts, from = 0, box = undefined) {
  const out = box || {
    minX: Infinity,
    minY: Infinity,
    maxX: -Infinity,
    maxY: -Infinity,
  };
  for (let i = 2 * from; i + 1 < pts.length; i += 2) {
    const x = pts[i];
    const y = pts[i + 1];
    if (x < out.minX) out.minX = x;
    if (x > out.maxX) out.maxX = x;
    if (y < out.minY) out.minY = y;
    if (y > out.maxY) out.maxY = y;
  }
  return out;
}

/** Text metrics the server's SVG export shares (whitebrd/svg.py). */
export const CHAR_WIDTH = 0.6;
export const LINE_HEIGHT = 1.2;

/**
 * How much wider than its width a stroke is drawn at this pen pressure: 1
 * at 0.5 (what a mouse or finger reports), from 0.3 to 1.7.
 *
 * @param {number} pressure 0..1
 * @returns {number}
 */
export function pressureFactor(pressure) {
  return 0.3 + 1.4 * pressure;
}

/**
 * The length of the strokes of an arrow head on a line this wide.
 *
 * @param {number} width
 * @returns {number} board units
 */
export function arrowLength(width) {
  return Math.max(10, width * 3);
}

const ARROW_SPREAD = (28 * Math.PI) / 180;

/**
 * The ends of the two strokes of an open arrow head at the tip, pointing
 * away from `from`: [x1, y1, x2, y2], or null when the points coincide.
 * The server's SVG export draws the same (whitebrd/svg.py `arrow_head`).
 *
 * @returns {number[]|null}
 */
export function arrowHead(tipX, tipY, fromX, fromY, width) {
  const dx = tipX - fromX;
  const dy = tipY - fromY;
  const length = Math.hypot(dx, dy);
  if (length === 0) {
    return null;
  }
  const ux = dx / length;
  const uy = dy / length;
  const size = arrowLength(width);
  const cos = Math.cos(ARROW_SPREAD);
  const sin = Math.sin(ARROW_SPREAD);
  return [
    tipX - size * (ux * cos - uy * sin),
    tipY - size * (uy * cos + ux * sin),
    tipX - size * (ux * cos + uy * sin),
    tipY - size * (uy * cos - ux * sin),
  ];
}

/**
 * The point an arrow head at one end of `pts` points away from: the
 * nearest recorded point at least a head's length away, or the farthest,
 * so a jittery last step does not turn the head.
 *
 * @param {number[]} pts flat points, one or more
 * @param {boolean} atEnd the head at the last point, or at the first
 * @param {number} width
 * @returns {number[]} [x, y]
 */
export function arrowBase(pts, atEnd, width) {
  const count = pts.length >> 1;
  const tipX = atEnd ? pts[2 * count - 2] : pts[0];
  const tipY = atEnd ? pts[2 * count - 1] : pts[1];
  const reach = arrowLength(width);
  let base = [tipX, tipY];
  for (let k = 1; k < count; k++) {
    const i = atEnd ? count - 1 - k : k;
    base = [pts[2 * i], pts[2 * i + 1]];
    if (Math.hypot(base[0] - tipX, base[1] - tipY) >= reach) {
      break;
    }
  }
  return base;
}

/**
 * The ends of an item's arrows: for each head, [tipX, tipY, x1, y1, x2,
 * y2].
 *
 * @param {object} item a line or path with `arrow`
 * @returns {number[][]}
 */
export function arrowHeads(item) {
  const ends = { end: [true], start: [false], both: [false, true] }[
    item.arrow
  ];
  const heads = [];
  const { pts } = item;
  const count = pts.length >> 1;
  for (const atEnd of ends || []) {
    const tipX = atEnd ? pts[2 * count - 2] : pts[0];
    const tipY = atEnd ? pts[2 * count - 1] : pts[1];
    const [bx, by] = arrowBase(pts, atEnd, item.width);
    const head = arrowHead(tipX, tipY, bx, by, item.width);
    if (head) {
      heads.push([tipX, tipY, ...head]);
    }
  }
  return heads;
}

/**
 * The pieces of a pressure stroke: the smoothed path cut at the midpoints
 * of its points, each piece drawn as wide as the pressure of the point it
 * curves by (see `tracePath`). Calls `piece(sink-tracer, pressure)` with
 * a function that traces the piece into a sink.
 *
 * @param {number[]} pts flat points, two or more
 * @param {number[]} pressure one per point
 * @param {number} from points painted before: pieces before it are skipped
 * @param {boolean} tail whether to include the last, still changing piece
 * @param {(trace: (sink: object) => void, pressure: number) => void} piece
 */
export function pressurePieces(pts, pressure, from, tail, piece) {
  const count = pts.length >> 1;
  const mid = (i) => [
    (pts[2 * i] + pts[2 * i + 2]) / 2,
    (pts[2 * i + 1] + pts[2 * i + 3]) / 2,
  ];
  for (let i = Math.max(1, from - 1); i < count - 1; i++) {
    const [sx, sy] = i === 1 ? [pts[0], pts[1]] : mid(i - 1);
    const [ex, ey] = mid(i);
    piece((sink) => {
      sink.moveTo(sx, sy);
      sink.quadraticCurveTo(pts[2 * i], pts[2 * i + 1], ex, ey);
    }, pressure[i]);
  }
  if (tail && count >= 2) {
    const [sx, sy] = count === 2 ? [pts[0], pts[1]] : mid(count - 2);
    piece((sink) => {
      sink.moveTo(sx, sy);
      sink.lineTo(pts[2 * count - 2], pts[2 * count - 1]);
    }, pressure[count - 1]);
  }
}

/**
 * Points shifted by (dx, dy), each kept within the contract's range, as
 * the server folds a `move` (whitebrd/scene.py).
 *
 * @param {number[]} pts
 * @param {number} dx
 * @param {number} dy
 * @returns {number[]} new points
 */
export function shiftPoints(pts, dx, dy) {
  const shifted = new Array(pts.length);
  for (let i = 0; i < pts.length; i++) {
    const value = pts[i] + (i % 2 === 0 ? dx : dy);
    shifted[i] = Math.max(-MAX_COORDINATE, Math.min(MAX_COORDINATE, value));
  }
  return shifted;
}

/**
 * Whether box `outer` holds box `inner` whole.
 *
 * @returns {boolean}
 */
export function boxContains(outer, inner) {
  return (
    inner.minX >= outer.minX &&
    inner.maxX <= outer.maxX &&
    inner.minY >= outer.minY &&
    inner.maxY <= outer.maxY
  );
}

/**
 * The box with corners at two points.
 *
 * @returns {{minX: number, minY: number, maxX: number, maxY: number}}
 */
export function boxOf(ax, ay, bx, by) {
  return {
    minX: Math.min(ax, bx),
    minY: Math.min(ay, by),
    maxX: Math.max(ax, bx),
    maxY: Math.max(ay, by),
  };
}

/**
 * The box around several boxes, or null for none.
 *
 * @param {object[]} boxes
 * @returns {object|null}
 */
export function unionBoxes(boxes) {
  let out = null;
  for (const box of boxes) {
    if (!out) {
      out = { ...box };
    } else {
      out.minX = Math.min(out.minX, box.minX);
      out.minY = Math.min(out.minY, box.minY);
      out.maxX = Math.max(out.maxX, box.maxX);
      out.maxY = Math.max(out.maxY, box.maxY);
    }
  }
  return out;
}

/**
 * The area an item covers on the board, half its stroke width included
 * (the widest a pressure stroke gets, and arrow heads, too). Text is
 * estimated from its size and longest line, since measuring glyphs needs a
 * canvas.
 *
 * @param {object} item a valid item
 * @returns {{minX: number, minY: number, maxX: number, maxY: number}}
 */
export function itemBounds(item) {
  const box = boundsOf(item.pts);
  let pad = (item.width || 0) / 2;
  if (item.pressure) {
    pad *= pressureFactor(1);
  }
  if (item.arrow) {
    pad += arrowLength(item.width);
  }
  if (item.kind === "text") {
    const lines = String(item.text || "").split("\n");
    const longest = Math.max(...lines.map((line) => line.length));
    box.maxX += longest * item.size * CHAR_WIDTH;
    box.maxY += lines.length * item.size * LINE_HEIGHT;
    pad = 0;
  }
  box.minX -= pad;
  box.minY -= pad;
  box.maxX += pad;
  box.maxY += pad;
  return box;
}

/**
 * Whether two boxes overlap once the first is grown by `margin`.
 *
 * @returns {boolean}
 */
export function boxesTouch(a, b, margin = 0) {
  return (
    a.minX - margin <= b.maxX &&
    b.minX <= a.maxX + margin &&
    a.minY - margin <= b.maxY &&
    b.minY <= a.maxY + margin
  );
}

/**
 * The squared distance from point p to the segment a-b.
 *
 * @returns {number}
 */
export function pointSegmentDistance2(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const length2 = dx * dx + dy * dy;
  let t = 0;
  if (length2 > 0) {
    t = ((px - ax) * dx + (py - ay) * dy) / length2;
    t = Math.max(0, Math.min(1, t));
  }
  const ex = ax + t * dx - px;
  const ey = ay + t * dy - py;
  return ex * ex + ey * ey;
}

function _cross(ax, ay, bx, by, cx, cy) {
  return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

/**
 * The squared distance between segments a-b and c-d (0 when they cross).
 *
 * @returns {number}
 */
export function segmentDistance2(ax, ay, bx, by, cx, cy, dx, dy) {
  const d1 = _cross(cx, cy, dx, dy, ax, ay);
  const d2 = _cross(cx, cy, dx, dy, bx, by);
  const d3 = _cross(ax, ay, bx, by, cx, cy);
  const d4 = _cross(ax, ay, bx, by, dx, dy);
  if (
    ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) &&
    ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))
  ) {
    return 0;
  }
  return Math.min(
    pointSegmentDistance2(ax, ay, cx, cy, dx, dy),
    pointSegmentDistance2(bx, by, cx, cy, dx, dy),
    pointSegmentDistance2(cx, cy, ax, ay, bx, by),
    pointSegmentDistance2(dx, dy, ax, ay, bx, by),
  );
}

/**
 * Whether a polyline comes within `tolerance` of the segment a-b.
 *
 * @param {number[]} pts flat points of the polyline, one or more
 * @param {number} tolerance distance in board units
 * @param {boolean} [closed=false] whether the last point joins the first
 * @returns {boolean}
 */
export function polylineTouches(pts, ax, ay, bx, by, tolerance, closed) {
  const limit = tolerance * tolerance;
  const count = pts.length >> 1;
  if (count === 1) {
    return pointSegmentDistance2(pts[0], pts[1], ax, ay, bx, by) <= limit;
  }
  const last = closed ? count : count - 1;
  for (let i = 0; i < last; i++) {
    const j = (i + 1) % count;
    const d2 = segmentDistance2(
      pts[2 * i],
      pts[2 * i + 1],
      pts[2 * j],
      pts[2 * j + 1],
      ax,
      ay,
      bx,
      by,
    );
    if (d2 <= limit) {
      return true;
    }
  }
  return false;
}

function _ellipseOutline(pts) {
  const cx = (pts[0] + pts[2]) / 2;
  const cy = (pts[1] + pts[3]) / 2;
  const rx = Math.abs(pts[2] - pts[0]) / 2;
  const ry = Math.abs(pts[3] - pts[1]) / 2;
  const outline = [];
  const steps = 48;
  for (let k = 0; k < steps; k++) {
    const angle = (2 * Math.PI * k) / steps;
    outline.push(cx + rx * Math.cos(angle), cy + ry * Math.sin(angle));
  }
  return outline;
}

function _rectOutline(pts) {
  const [x0, y0, x1, y1] = pts;
  return [x0, y0, x1, y0, x1, y1, x0, y1];
}

function _insideBox(box, x, y) {
  return x >= box.minX && x <= box.maxX && y >= box.minY && y <= box.maxY;
}

/**
 * Whether an eraser of the given radius, swept along the segment a-b,
 * touches an item: its stroke, or its inside when it is filled or text.
 * Freehand paths are tested against their recorded points, which the
 * smoothed curve stays close to.
 *
 * @param {object} item a valid item
 * @param {number} radius the eraser's radius in board units
 * @returns {boolean}
 */
export function itemTouches(item, ax, ay, bx, by, radius) {
  const tolerance = radius + (item.width || 0) / 2;
  switch (item.kind) {
    case "path":
    case "line":
      return polylineTouches(item.pts, ax, ay, bx, by, tolerance, false);
    case "rect":
    case "ellipse": {
      const outline =
        item.kind === "rect"
          ? _rectOutline(item.pts)
          : _ellipseOutline(item.pts);
      if (polylineTouches(outline, ax, ay, bx, by, tolerance, true)) {
        return true;
      }
      return Boolean(item.fill) && _insideOutline(outline, ax, ay);
    }
    case "text": {
      const box = itemBounds(item);
      const outline = [
        box.minX,
        box.minY,
        box.maxX,
        box.minY,
        box.maxX,
        box.maxY,
        box.minX,
        box.maxY,
      ];
      return (
        _insideBox(box, ax, ay) ||
        polylineTouches(outline, ax, ay, bx, by, radius, true)
      );
    }
    default:
      return false;
  }
}

function _insideOutline(outline, x, y) {
  // Even-odd ray casting to the right of the point.
  let inside = false;
  const count = outline.length >> 1;
  for (let i = 0, j = count - 1; i < count; j = i++) {
    const xi = outline[2 * i];
    const yi = outline[2 * i + 1];
    const xj = outline[2 * j];
    const yj = outline[2 * j + 1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) {
      inside = !inside;
    }
  }
  return inside;
}
