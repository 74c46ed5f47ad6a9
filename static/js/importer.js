// Files people bring from other whiteboards, turned into items: Excalidraw
// scenes, WBO boards and whitebrd's own JSON. DOM-free, so tests reach it.

import { roundCoordinate } from "./geometry.js";
import { isItem } from "./protocol.js";

/**
 * Points one item may hold; longer strokes are cut into several, so that
 * each fits one op (the server takes 10,000 points per op).
 */
const MAX_POINTS_PER_ITEM = 5000;

const COLOR = /^#[0-9a-fA-F]{6}$/;
const SHORT_COLOR = /^#[0-9a-fA-F]{3}$/;
const DEFAULT_COLOR = "#1e1e1e";

/** A file that cannot be imported; its message is for the person. */
export class ImportError extends Error {}

/**
 * What a file holds, as items.
 *
 * @typedef {object} Imported
 * @property {string} format "Excalidraw", "WBO" or "whitebrd"
 * @property {object[]} items valid items with fresh ids, in drawing order
 * @property {Object<string, number>} skipped elements not imported, by kind
 */

/**
 * Read a file's text as items.
 *
 * @param {string} text the file's content
 * @param {() => string} newId makes a fresh item id
 * @returns {Imported}
 * @throws {ImportError} for a file that is not one of the formats
 */
export function importText(text, newId) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ImportError(
      `This file is not valid JSON (${error.message}), so nothing was ` +
        "imported.",
    );
  }
  if (
    value &&
    typeof value === "object" &&
    Array.isArray(value.elements) &&
    (value.type === "excalidraw" || value.type === "excalidraw/clipboard")
  ) {
    return fromExcalidraw(value, newId);
  }
  if (value && typeof value === "object" && Array.isArray(value.items)) {
    return fromWhitebrd(value, newId);
  }
  if (_looksLikeWbo(value)) {
    return fromWbo(value, newId);
  }
  throw new ImportError(
    "This file is not an Excalidraw scene, a WBO board or a whitebrd " +
      "board, so nothing was imported.",
  );
}

function _color(value, fallback = DEFAULT_COLOR) {
  if (typeof value !== "string") {
    return fallback;
  }
  if (COLOR.test(value)) {
    return value.toLowerCase();
  }
  if (SHORT_COLOR.test(value)) {
    const [r, g, b] = value.slice(1);
    return `#${r}${r}${g}${g}${b}${b}`.toLowerCase();
  }
  return fallback;
}

function _number(value, fallback) {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

function _clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

function _count(skipped, kind) {
  skipped[kind] = (skipped[kind] || 0) + 1;
}

/**
 * Items for a freehand or polyline stroke, cut where it passes the points
 * one item may hold.
 */
function _strokes(base, pts, pressure, newId) {
  const items = [];
  const step = 2 * MAX_POINTS_PER_ITEM;
  for (let start = 0; start < pts.length; start += step - 2) {
    const item = { ...base, id: newId(), pts: pts.slice(start, start + step) };
    if (pressure) {
      item.pressure = pressure.slice(start / 2, (start + step) / 2);
    }
    items.push(item);
    if (start + step >= pts.length) {
      break;
    }
  }
  return items;
}

/**
 * An Excalidraw scene: freehand strokes become paths, rectangles and
 * diamonds rects, ellipses ellipses, lines and arrows lines (two points)
 * or paths (more), text text; deleted elements are left out, images and
 * other kinds skipped and counted.
 *
 * @param {{elements: object[]}} scene
 * @param {() => string} newId
 * @returns {Imported}
 */
export function fromExcalidraw(scene, newId) {
  const items = [];
  const skipped = {};
  for (const element of scene.elements) {
    if (!element || typeof element !== "object" || element.isDeleted) {
      continue;
    }
    const made = _excalidrawItems(element, newId);
    if (made === null) {
      _count(skipped, typeof element.type === "string" ? element.type : "?");
    } else {
      items.push(...made);
    }
  }
  return { format: "Excalidraw", items: items.filter(isItem), skipped };
}

function _excalidrawItems(element, newId) {
  const x = _number(element.x, 0);
  const y = _number(element.y, 0);
  const w = _number(element.width, 0);
  const h = _number(element.height, 0);
  const angle = _number(element.angle, 0);
  const base = {
    color: _color(element.strokeColor),
    width: _clamp(_number(element.strokeWidth, 1), 0.5, 200),
    opacity: _clamp(_number(element.opacity, 100) / 100, 0, 1),
  };
  const rotate = (px, py) => {
    if (!angle) {
      return [px, py];
    }
    // Excalidraw turns an element about the centre of its box.
    const cx = x + w / 2;
    const cy = y + h / 2;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    return [
      cx + (px - cx) * cos - (py - cy) * sin,
      cy + (px - cx) * sin + (py - cy) * cos,
    ];
  };
  switch (element.type) {
    case "freedraw":
    case "line":
    case "arrow": {
      const points = Array.isArray(element.points) ? element.points : [];
      const pts = [];
      for (const point of points) {
        if (Array.isArray(point) && point.length >= 2) {
          const [px, py] = rotate(x + _number(point[0], 0), y + _number(point[1], 0));
          pts.push(roundCoordinate(px), roundCoordinate(py));
        }
      }
      if (!pts.length) {
        return [];
      }
      if (element.type === "freedraw") {
        const pressures = element.pressures;
        const real =
          element.simulatePressure === false &&
          Array.isArray(pressures) &&
          pressures.length * 2 === pts.length;
        const pressure = real
          ? pressures.map((p) => _clamp(_number(p, 0.5), 0, 1))
          : null;
        // Excalidraw draws freehand strokes about twice their stroke width.
        const stroke = { ...base, kind: "path", width: _clamp(base.width * 2, 0.5, 200) };
        return _strokes(stroke, pts, pressure, newId);
      }
      const heads = [element.startArrowhead, element.endArrowhead].map(Boolean);
      const arrow = heads[0] && heads[1] ? "both" : heads[0] ? "start" : heads[1] ? "end" : null;
      const line = { ...base, kind: pts.length === 4 ? "line" : "path" };
      if (arrow) {
        line.arrow = arrow;
      }
      if (pts.length === 2) {
        return [{ ...line, kind: "path", id: newId(), pts }];
      }
      return _strokes(line, pts, null, newId);
    }
    case "rectangle":
    case "diamond":
    case "ellipse": {
      const item = {
        ...base,
        id: newId(),
        kind: element.type === "ellipse" ? "ellipse" : "rect",
        pts: [x, y, x + w, y + h].map(roundCoordinate),
      };
      const fill = _color(element.backgroundColor, null);
      if (fill) {
        item.fill = fill;
      }
      return [item];
    }
    case "text": {
      const text = typeof element.text === "string" ? element.text : "";
      if (!text.trim()) {
        return [];
      }
      return [
        {
          ...base,
          width: 1,
          id: newId(),
          kind: "text",
          pts: [roundCoordinate(x), roundCoordinate(y)],
          text: [...text].slice(0, 2000).join(""),
          size: _clamp(_number(element.fontSize, 20), 1, 1000),
        },
      ];
    }
    default:
      return null;
  }
}

function _looksLikeWbo(value) {
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return false;
  }
  const entries = Object.values(value);
  return (
    entries.length > 0 &&
    entries.every((entry) => entry && typeof entry === "object") &&
    entries.some((entry) => typeof entry.tool === "string")
  );
}

/**
 * A WBO board file (an object of items by id): pencil lines become paths,
 * straight lines lines, rectangles and ellipses themselves, text text;
 * empty text and unknown tools are skipped and counted.
 *
 * @param {Object<string, object>} board
 * @param {() => string} newId
 * @returns {Imported}
 */
export function fromWbo(board, newId) {
  const items = [];
  const skipped = {};
  for (const entry of Object.values(board)) {
    const made = _wboItem(entry, newId);
    if (typeof made === "string") {
      _count(skipped, made);
    } else if (made === null) {
      _count(skipped, typeof entry.tool === "string" ? entry.tool : "?");
    } else {
      items.push(...made);
    }
  }
  return { format: "WBO", items: items.filter(isItem), skipped };
}

function _wboItem(entry, newId) {
  const base = {
    color: _color(entry.color),
    width: _clamp(_number(entry.size, 4), 0.5, 200),
    opacity: _clamp(_number(entry.opacity, 1), 0, 1),
  };
  const corners = () =>
    [entry.x, entry.y, entry.x2, entry.y2].map((v) => roundCoordinate(_number(v, 0)));
  switch (entry.tool) {
    case "Pencil":
    case "Highlighter": {
      const children = Array.isArray(entry._children) ? entry._children : [];
      const pts = [];
      for (const child of children) {
        if (child && Number.isFinite(child.x) && Number.isFinite(child.y)) {
          pts.push(roundCoordinate(child.x), roundCoordinate(child.y));
        }
      }
      if (!pts.length) {
        return null;
      }
      return _strokes({ ...base, kind: "path" }, pts, null, newId);
    }
    case "Straight line":
      return [{ ...base, id: newId(), kind: "line", pts: corners() }];
    case "Rectangle":
      return [{ ...base, id: newId(), kind: "rect", pts: corners() }];
    case "Ellipse":
      return [{ ...base, id: newId(), kind: "ellipse", pts: corners() }];
    case "Text": {
      const text = typeof entry.txt === "string" ? entry.txt : "";
      if (!text.trim()) {
        return "empty text";
      }
      const size = _clamp(_number(entry.size, 20), 1, 1000);
      // WBO places text by its baseline; whitebrd by its top.
      return [
        {
          ...base,
          width: 1,
          id: newId(),
          kind: "text",
          pts: [roundCoordinate(_number(entry.x, 0)), roundCoordinate(_number(entry.y, 0) - size)],
          text: [...text].slice(0, 2000).join(""),
          size,
        },
      ];
    }
    default:
      return null;
  }
}

/**
 * A whitebrd board as `GET /b/<id>.json` gives it (what the page exports):
 * its items, with fresh ids.
 *
 * @param {{items: object[]}} board
 * @param {() => string} newId
 * @returns {Imported}
 */
export function fromWhitebrd(board, newId) {
  const items = [];
  const skipped = {};
  for (const item of board.items) {
    if (isItem(item)) {
      items.push({ ...item, id: newId() });
    } else {
      _count(skipped, typeof item?.kind === "string" ? item.kind : "?");
    }
  }
  return { format: "whitebrd", items, skipped };
}

/**
 * A sentence saying what an import brought and what it left out.
 *
 * @param {Imported} imported
 * @returns {string}
 */
export function describeImport(imported) {
  const count = imported.items.length;
  let message = `Imported ${count} item${count === 1 ? "" : "s"} from the ${
    imported.format
  } file.`;
  const skipped = Object.entries(imported.skipped);
  if (skipped.length) {
    const total = skipped.reduce((sum, [, n]) => sum + n, 0);
    const kinds = skipped.map(([kind, n]) => `${n} ${kind}`).join(", ");
    message += ` Skipped ${total} element${total === 1 ? "" : "s"} (${kinds}).`;
  }
  return message;
}
