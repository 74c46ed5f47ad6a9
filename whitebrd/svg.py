# -*- test-case-name: tests.test_svg -*-
"""
A board as an SVG document, drawn on the server from its items, for
C{GET /b/<id>.svg}.

The picture matches what the browser client paints: freehand paths smoothed
by the same midpoint curves (C{static/js/geometry.js}), widths that follow
pen pressure, the same arrow heads, text anchored at its top-left corner.
Everything a person typed is escaped, and characters XML 1.0 cannot hold
(control characters, unpaired surrogates, U+FFFE and U+FFFF) become U+FFFD,
so the document always parses, whatever the board holds.
"""

import math
import re
from typing import Any, Iterable, Iterator

__all__ = ["render_svg", "xml_text"]

BACKGROUND = "#ffffff"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

# Room around the drawing, in board units.
_MARGIN = 16.0
# The share of a text's size one character takes across, on average, and a
# line down: an estimate, since the server measures no glyphs (the client
# uses the same numbers for hit tests).
_CHAR_WIDTH = 0.6
_LINE_HEIGHT = 1.2

# Everything XML 1.0 cannot carry in a document.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """
    C{text} made safe for element content and quoted attributes: markup
    characters escaped, characters XML cannot hold replaced by U+FFFD.
    """
    text = _NOT_XML.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def render_svg(board: str, items: Iterable[dict[str, Any]]) -> str:
    """
    The board as a standalone SVG document sized to what is drawn on it.

    @param board: the board id, for the document's title.
    @param items: valid items (as L{whitebrd.scene.Scene.items} gives them),
        bottom first.
    """
    items = list(items)
    box = _bounds(items)
    if box is None:
        box = (0.0, 0.0, 320.0, 200.0)
    x0, y0 = box[0] - _MARGIN, box[1] - _MARGIN
    width, height = box[2] - box[0] + 2 * _MARGIN, box[3] - box[1] + 2 * _MARGIN
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="%s %s %s %s"'
        ' width="%s" height="%s">\n' % tuple(map(_n, (x0, y0, width, height, width, height))),
        "<title>%s</title>\n" % (xml_text("whitebrd board " + board),),
        '<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>\n'
        % (_n(x0), _n(y0), _n(width), _n(height), BACKGROUND),
    ]
    for item in items:
        parts.extend(_item(item))
    parts.append("</svg>\n")
    return "".join(parts)


def _n(value: float) -> str:
    """
    A number as SVG wants it: at most two decimals, no exponent.
    """
    text = "%.2f" % (value,)
    text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _bounds(items: list[dict[str, Any]]) -> "tuple[float, float, float, float] | None":
    box = None
    for item in items:
        b = item_bounds(item)
        if box is None:
            box = b
        else:
            box = (min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]), max(box[3], b[3]))
    return box


def item_bounds(item: dict[str, Any]) -> tuple[float, float, float, float]:
    """
    The area an item covers, half its stroke (and arrow heads) included.
    """
    pts = item["pts"]
    xs, ys = pts[0::2], pts[1::2]
    box = [min(xs), min(ys), max(xs), max(ys)]
    if item["kind"] == "text":
        lines = item["text"].split("\n")
        size = item["size"]
        box[2] += max(len(line) for line in lines) * size * _CHAR_WIDTH
        box[3] += len(lines) * size * _LINE_HEIGHT
        return (box[0], box[1], box[2], box[3])
    pad = item["width"] / 2 * (1.7 if "pressure" in item else 1)
    if "arrow" in item:
        pad += _head_length(item["width"])
    return (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)


def _paint(item: dict[str, Any], fill: "str | None" = None) -> str:
    """
    The presentation attributes of an item's outline.
    """
    attributes = ' stroke="%s" stroke-width="%s" stroke-linecap="round" stroke-linejoin="round"' % (
        item["color"],
        _n(item["width"]),
    )
    attributes += ' fill="%s"' % (fill or "none",)
    opacity = item.get("opacity", 1)
    if opacity < 1:
        attributes += ' opacity="%s"' % (_n(opacity),)
    return attributes


def _item(item: dict[str, Any]) -> Iterator[str]:
    kind = item["kind"]
    pts = item["pts"]
    if kind == "path":
        yield from _path(item)
    elif kind == "line":
        yield '<path d="M%s %sL%s %s"%s/>\n' % (*map(_n, pts), _paint(item))
    elif kind == "rect":
        x0, y0, x1, y1 = pts
        yield '<rect x="%s" y="%s" width="%s" height="%s"%s/>\n' % (
            _n(min(x0, x1)),
            _n(min(y0, y1)),
            _n(abs(x1 - x0)),
            _n(abs(y1 - y0)),
            _paint(item, item.get("fill")),
        )
    elif kind == "ellipse":
        x0, y0, x1, y1 = pts
        yield '<ellipse cx="%s" cy="%s" rx="%s" ry="%s"%s/>\n' % (
            _n((x0 + x1) / 2),
            _n((y0 + y1) / 2),
            _n(abs(x1 - x0) / 2),
            _n(abs(y1 - y0) / 2),
            _paint(item, item.get("fill")),
        )
    elif kind == "text":
        yield from _text(item)
    if kind in ("line", "path") and "arrow" in item:
        yield from _arrows(item)


def _path(item: dict[str, Any]) -> Iterator[str]:
    pts = item["pts"]
    pressure = item.get("pressure")
    opacity = item.get("opacity", 1)
    if _is_dot(pts, item["width"]):
        radius = item["width"] / 2 * (pressure_factor(pressure[0]) if pressure else 1)
        yield '<circle cx="%s" cy="%s" r="%s" fill="%s"%s/>\n' % (
            _n(pts[0]),
            _n(pts[1]),
            _n(radius),
            item["color"],
            ' opacity="%s"' % (_n(opacity),) if opacity < 1 else "",
        )
        return
    if pressure is None:
        yield '<path d="%s"%s/>\n' % (smoothed_path(pts), _paint(item))
        return
    # A pressure stroke is drawn in pieces, each as wide as its pressure.
    yield "<g%s>\n" % (_paint(item).replace(' stroke-width="%s"' % (_n(item["width"]),), ""),)
    for d, p in pressure_pieces(pts, pressure):
        yield '<path d="%s" stroke-width="%s"/>\n' % (d, _n(item["width"] * pressure_factor(p)))
    yield "</g>\n"


def _is_dot(pts: list[float], width: float) -> bool:
    """
    Whether a path is a tap, or a stroke that never moved: the client
    paints those as a dot.
    """
    xs, ys = pts[0::2], pts[1::2]
    return max(xs) - min(xs) <= width and max(ys) - min(ys) <= width


def smoothed_path(pts: list[float]) -> str:
    """
    SVG path data for a freehand path: quadratic curves through the
    midpoints of consecutive points, from the first point to the last, as
    C{tracePath} in C{static/js/geometry.js} draws it.
    """
    count = len(pts) // 2
    d = ["M%s %s" % (_n(pts[0]), _n(pts[1]))]
    for i in range(1, count - 1):
        d.append(
            "Q%s %s %s %s"
            % (
                _n(pts[2 * i]),
                _n(pts[2 * i + 1]),
                _n((pts[2 * i] + pts[2 * i + 2]) / 2),
                _n((pts[2 * i + 1] + pts[2 * i + 3]) / 2),
            )
        )
    d.append("L%s %s" % (_n(pts[-2]), _n(pts[-1])))
    return "".join(d)


def pressure_factor(pressure: float) -> float:
    """
    How much wider than its width a stroke is drawn at this pressure: 1 at
    0.5, the pressure a mouse or a finger reports, from 0.3 to 1.7.
    """
    return 0.3 + 1.4 * pressure


def pressure_pieces(pts: list[float], pressure: list[float]) -> Iterator[tuple[str, float]]:
    """
    The smoothed path in pieces, one per recorded point, each with that
    point's pressure: a piece runs from the midpoint before the point,
    curving by it, to the midpoint after it.
    """
    count = len(pts) // 2

    def mid(i: int) -> tuple[float, float]:
        return (pts[2 * i] + pts[2 * i + 2]) / 2, (pts[2 * i + 1] + pts[2 * i + 3]) / 2

    for i in range(1, count - 1):
        start = (pts[0], pts[1]) if i == 1 else mid(i - 1)
        end = mid(i)
        yield (
            "M%s %sQ%s %s %s %s"
            % (_n(start[0]), _n(start[1]), _n(pts[2 * i]), _n(pts[2 * i + 1]), _n(end[0]), _n(end[1])),
            pressure[i],
        )
    start = (pts[0], pts[1]) if count == 2 else mid(count - 2)
    yield ("M%s %sL%s %s" % (_n(start[0]), _n(start[1]), _n(pts[-2]), _n(pts[-1])), pressure[-1])


def _head_length(width: float) -> float:
    return max(10.0, width * 3)


def arrow_head(
    tip_x: float, tip_y: float, from_x: float, from_y: float, width: float
) -> "tuple[float, float, float, float] | None":
    """
    The ends of the two strokes of an open arrow head at C{tip}, pointing
    away from C{from}: C{(x1, y1, x2, y2)}, or C{None} when the two points
    coincide.  The same as C{arrowHead} in C{static/js/geometry.js}.
    """
    dx, dy = tip_x - from_x, tip_y - from_y
    length = math.hypot(dx, dy)
    if length == 0:
        return None
    ux, uy = dx / length, dy / length
    size = _head_length(width)
    spread = math.radians(28)
    cos, sin = math.cos(spread), math.sin(spread)
    return (
        tip_x - size * (ux * cos - uy * sin),
        tip_y - size * (uy * cos + ux * sin),
        tip_x - size * (ux * cos + uy * sin),
        tip_y - size * (uy * cos - ux * sin),
    )


def arrow_base(pts: list[float], at_end: bool, width: float) -> tuple[float, float]:
    """
    The point an arrow head at one end of C{pts} points away from: the
    nearest recorded point at least a head's length away, or the farthest
    one, so that a jittery last step does not turn the head.
    """
    count = len(pts) // 2
    order = range(count - 2, -1, -1) if at_end else range(1, count)
    tip = (pts[-2], pts[-1]) if at_end else (pts[0], pts[1])
    reach = _head_length(width)
    base = tip
    for i in order:
        base = (pts[2 * i], pts[2 * i + 1])
        if math.hypot(base[0] - tip[0], base[1] - tip[1]) >= reach:
            break
    return base


def _arrows(item: dict[str, Any]) -> Iterator[str]:
    pts = item["pts"]
    ends = {"end": (True,), "start": (False,), "both": (False, True)}[item["arrow"]]
    for at_end in ends:
        tip = (pts[-2], pts[-1]) if at_end else (pts[0], pts[1])
        base = arrow_base(pts, at_end, item["width"])
        head = arrow_head(tip[0], tip[1], base[0], base[1], item["width"])
        if head is not None:
            yield '<path d="M%s %sL%s %sL%s %s"%s/>\n' % (
                _n(head[0]),
                _n(head[1]),
                _n(tip[0]),
                _n(tip[1]),
                _n(head[2]),
                _n(head[3]),
                _paint(item),
            )


def _text(item: dict[str, Any]) -> Iterator[str]:
    x, y = item["pts"]
    size = item["size"]
    opacity = item.get("opacity", 1)
    yield (
        '<text x="%s" y="%s" font-size="%s" font-family="%s" fill="%s"'
        ' dominant-baseline="text-before-edge" xml:space="preserve"%s>'
        % (
            _n(x),
            _n(y),
            _n(size),
            xml_text(FONT),
            item["color"],
            ' opacity="%s"' % (_n(opacity),) if opacity < 1 else "",
        )
    )
    for n, line in enumerate(item["text"].split("\n")):
        yield '<tspan x="%s" y="%s">%s</tspan>' % (
            _n(x),
            _n(y + n * size * _LINE_HEIGHT),
            xml_text(line),
        )
    yield "</text>\n"
