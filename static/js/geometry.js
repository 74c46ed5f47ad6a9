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

/**
 * The area an item covers on the board, half its stroke width included.
 * Text is estimated from its size and longest line, since measuring glyphs
 * needs a canvas.
 *
 * @param {object} item a valid item
 * @returns {{minX: number, minY: number, maxX: number, maxY: number}}
 */
export function itemBounds(item) {
  const box = boundsOf(item.pts);
  let pad = (item.width || 0) / 2;
  if (item.kind === "text") {
    const lines = String(item.text || "").split("\n");
    const longest = Math.max(...lines.map((line) => line.length));
    box.maxX += longest * item.size * 0.6;
    box.maxY += lines.length * item.size * 1.2;
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
