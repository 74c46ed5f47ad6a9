# -*- test-case-name: tests.test_frames -*-
"""
The wire contract at the edge: incoming frames checked into immutable values,
outgoing frames encoded.

Every frame a client sends passes through L{parse_frame} before anything else
looks at it.  What comes out is an L{OpFrame}, L{CursorFrame} or a
L{FrameError} naming the field, the limit and what arrived, so a bad frame
becomes an C{error} frame at the protocol edge and is never stored or
relayed.  The checks follow C{docs/protocol.md}.

An accepted op keeps its canonical JSON text (L{Op.body}); stores append it
as it is and add C{seq} and C{by} by plain string concatenation (see
L{stored_text}), so no layer decodes and re-encodes what a client drew.
"""

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Union

from whitebrd.limits import Limits

__all__ = [
    "BOARD_ID",
    "BOARD_KEY",
    "CLIENT_ID",
    "CursorFrame",
    "FrameError",
    "ITEM_ID",
    "Op",
    "OpError",
    "OpFrame",
    "PresenceFrame",
    "dumps",
    "parse_frame",
    "stored_text",
]

BOARD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Where a board's data is kept: a named board's own id, or, for a board made
# by POST /boards, an internal key with a dot in it, which no URL can name
# (see whitebrd.links).
BOARD_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,40}")
ITEM_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_CID = re.compile(r"[A-Za-z0-9_.:-]{1,80}")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")

MAX_COORDINATE = 1_000_000.0
# A move may take an item from one edge of the board to the other.
MAX_SHIFT = 2 * MAX_COORDINATE
_ITEM_KINDS = {"path", "line", "rect", "ellipse", "text"}
_TWO_POINT_KINDS = {"line", "rect", "ellipse"}
_ITEM_FIELDS = {"id", "kind", "pts", "color", "width", "opacity", "fill"}
_ARROW_KINDS = {"line", "path"}
_ARROW_ENDS = {"start", "end", "both"}
# The fields an update may change; pts change through move and extend.
_STYLE_FIELDS = {"color", "width", "opacity", "fill", "text", "size", "arrow"}
_TEXT_SIZE_RANGE = (1.0, 1000.0)
MAX_NAME_CHARS = 40
_WIDTH_RANGE = (0.5, 200.0)
_OP_FIELDS = {
    "add": {"cid", "op", "item"},
    "extend": {"cid", "op", "id", "pts", "pressure"},
    "erase": {"cid", "op", "ids"},
    "clear": {"cid", "op"},
    "move": {"cid", "op", "ids", "dx", "dy"},
    "update": {"cid", "op", "id", "set"},
}


def dumps(value: Any) -> str:
    """
    Encode C{value} as compact JSON, the one form the daemon writes.

    @raise ValueError: for a NaN or an infinity, which JSON cannot hold.
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def stored_text(body: str, seq: int, by: str) -> str:
    """
    The op as every client receives it: its body with C{seq} and C{by}
    first.

    @param body: an L{Op.body}, a JSON object as text.
    @param seq: the seq the store gave the op.
    @param by: the sender's client id, already checked against L{CLIENT_ID},
        so it needs no escaping.
    """
    return '{"seq":%d,"by":"%s",%s' % (seq, by, body[1:])


class FrameError(ValueError):
    """
    A frame the contract refuses.

    @ivar code: the machine-readable error code of C{docs/protocol.md}.
    @ivar message: a sentence naming the field, the limit and what arrived.
    @ivar cid: the C{cid} of the op it concerns, where one was readable.
    """

    def __init__(self, code: str, message: str, cid: "str | None" = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.cid = cid

    def frame(self) -> dict[str, Any]:
        """
        The C{error} frame that answers this error.
        """
        answer: dict[str, Any] = {"t": "error", "code": self.code, "message": self.message}
        if self.cid is not None:
            answer["cid"] = self.cid
        return answer


class OpError(FrameError):
    """
    One op of a frame refused, by the validator or by the store (an C{add}
    of an id the board holds, an C{extend} of an item that is gone, a full
    board).
    """


@dataclass(frozen=True)
class Op:
    """
    One checked op.

    @ivar cid: the op's client-chosen name, unique on its board.
    @ivar kind: C{add}, C{extend}, C{erase}, C{clear}, C{move} or
        C{update}.
    @ivar body: the op as canonical compact JSON, without C{t}, C{seq} or
        C{by}; what stores keep and clients receive.
    @ivar item_ids: the ids the op concerns: the added item's, the extended
        or updated one's, the erased or moved ones; empty for C{clear}.
    @ivar points: how many points the op adds (C{add} and C{extend}).
    """

    cid: str
    kind: str
    body: str
    item_ids: tuple[str, ...]
    points: int = 0


@dataclass(frozen=True)
class OpFrame:
    """
    A frame carrying ops: C{{"t": "op"}} gives one, C{{"t": "ops"}} several.

    Each entry is an L{Op} or the L{OpError} that refused it, in the order
    sent, because each op of a batch is checked and answered on its own.
    """

    ops: tuple[Union[Op, OpError], ...]


@dataclass(frozen=True)
class CursorFrame:
    """
    A presence update: where the sender points, in board units.
    """

    x: float
    y: float


@dataclass(frozen=True)
class PresenceFrame:
    """
    Who the sender is and what they look at, for the others on the board:
    a name to label their cursor with, and the board area their window
    shows, so that others can follow their view.  Either may be absent.

    @ivar name: 1 to L{MAX_NAME_CHARS} code points, no control characters.
    @ivar view: C{(x0, y0, x1, y1)} in board units, x0 <= x1 and y0 <= y1.
    """

    name: "str | None" = None
    view: "tuple[float, float, float, float] | None" = None


def _parse_constant(name: str) -> float:
    # NB: NaN and Infinity are parsed, not refused, so that the op's check
    # can name its cid and the field; the number check refuses them.
    return float(name)


_decoder = json.JSONDecoder(parse_constant=_parse_constant)


def parse_frame(
    data: "str | bytes", limits: Limits
) -> Union[OpFrame, CursorFrame, PresenceFrame]:
    """
    Check one text frame against the contract.

    @param data: the frame's text (or its UTF-8 bytes).
    @param limits: the bounds in force.
    @return: the frame as an L{OpFrame}, L{CursorFrame} or L{PresenceFrame}.
    @raise FrameError: when the frame as a whole is refused; a refused op
        inside an acceptable frame is an L{OpError} in L{OpFrame.ops}.
    """
    try:
        value = _decoder.decode(data if isinstance(data, str) else data.decode("utf-8"))
    except RecursionError:
        raise FrameError("bad_json", "the frame is nested too deeply")
    except UnicodeDecodeError:
        raise FrameError("bad_json", "the frame is not UTF-8 text")
    except ValueError as e:
        if "digits" in str(e):
            # Python refuses to read integers of thousands of digits.
            raise FrameError("bad_json", "the frame holds a number with too many digits")
        raise FrameError("bad_json", "the frame is not JSON: %s" % (e,))
    if not isinstance(value, dict):
        raise FrameError(
            "bad_frame", "a frame must be a JSON object, got %s" % (_kind_of(value),)
        )
    kind = value.get("t")
    if kind == "op":
        return OpFrame((_checked_op(value, limits, ("t",)),))
    if kind == "ops":
        return _parse_batch(value, limits)
    if kind == "cursor":
        return _parse_cursor(value)
    if kind == "presence":
        return _parse_presence(value)
    if kind is None:
        raise FrameError("bad_frame", "a frame needs a string field t")
    raise FrameError("bad_frame", "unknown frame type t=%s" % (_shown(kind),))


def _parse_batch(value: dict[str, Any], limits: Limits) -> OpFrame:
    _only_fields(value, {"t", "ops"}, "frame", FrameError, None)
    ops = value.get("ops")
    if not isinstance(ops, list) or not ops:
        raise FrameError("bad_frame", "ops must be a non-empty list of ops")
    if len(ops) > limits.max_ops_per_frame:
        raise FrameError(
            "too_many_ops",
            "a frame carries at most %d ops, got %d"
            % (limits.max_ops_per_frame, len(ops)),
        )
    return OpFrame(tuple(_checked_op(op, limits, ()) for op in ops))


def _parse_cursor(value: dict[str, Any]) -> CursorFrame:
    _only_fields(value, {"t", "x", "y"}, "cursor frame", FrameError, None)
    x, y = value.get("x"), value.get("y")
    for name, number in (("x", x), ("y", y)):
        if not _is_coordinate(number):
            raise FrameError(
                "bad_frame",
                "cursor %s must be a number within +-%d, got %s"
                % (name, MAX_COORDINATE, _shown(number)),
            )
    return CursorFrame(float(x), float(y))


def _parse_presence(value: dict[str, Any]) -> PresenceFrame:
    _only_fields(value, {"t", "name", "view"}, "presence frame", FrameError, None)
    if "name" not in value and "view" not in value:
        raise FrameError("bad_frame", "a presence frame needs a name or a view")
    name = value.get("name")
    if name is not None:
        if (
            not isinstance(name, str)
            or not 1 <= len(name) <= MAX_NAME_CHARS
            or not name.strip()
            or any(unicodedata.category(c) in ("Cc", "Cs") for c in name)
        ):
            raise FrameError(
                "bad_frame",
                "name must be 1 to %d characters of text with no control"
                " characters, got %s" % (MAX_NAME_CHARS, _shown(name)),
            )
    view = value.get("view")
    if view is not None:
        if (
            not isinstance(view, list)
            or len(view) != 4
            or not all(_is_coordinate(n) for n in view)
            or view[0] > view[2]
            or view[1] > view[3]
        ):
            raise FrameError(
                "bad_frame",
                "view must be [x0, y0, x1, y1] within +-%d with x0 <= x1 and"
                " y0 <= y1, got %s" % (MAX_COORDINATE, _shown(view)),
            )
        view = tuple(float(n) for n in view)
    return PresenceFrame(name, view)


def _checked_op(value: Any, limits: Limits, extra: tuple[str, ...]) -> Union[Op, OpError]:
    try:
        return _parse_op(value, limits, extra)
    except OpError as e:
        return e


def _parse_op(value: Any, limits: Limits, extra: tuple[str, ...]) -> Op:
    if not isinstance(value, dict):
        raise OpError("bad_op", "an op must be a JSON object, got %s" % (_kind_of(value),))
    cid = value.get("cid")
    if not isinstance(cid, str) or not _CID.fullmatch(cid):
        raise OpError(
            "bad_op",
            "cid must be 1 to 80 of A-Z a-z 0-9 _ . : -, got %s" % (_shown(cid),),
        )
    kind = value.get("op")
    if not isinstance(kind, str) or kind not in _OP_FIELDS:
        raise OpError(
            "bad_op",
            "op must be add, extend, erase, clear, move or update, got %s"
            % (_shown(kind),),
            cid,
        )
    _only_fields(value, _OP_FIELDS[kind] | set(extra), kind + " op", OpError, cid)

    body: dict[str, Any] = {"cid": cid, "op": kind}
    if kind == "add":
        item = _parse_item(value.get("item"), limits, cid)
        body["item"] = item
        return Op(cid, kind, dumps(body), (item["id"],), len(item["pts"]) // 2)
    if kind == "extend":
        item_id = _parse_id(value.get("id"), "id", cid)
        pts = _parse_points(value.get("pts"), "pts", limits, cid)
        body.update(id=item_id, pts=pts)
        if "pressure" in value:
            body["pressure"] = _parse_pressure(value["pressure"], "pressure", pts, cid)
        return Op(cid, kind, dumps(body), (item_id,), len(pts) // 2)
    if kind in ("erase", "move"):
        checked = _parse_ids(value.get("ids"), kind, limits, cid)
        body["ids"] = checked
        if kind == "move":
            for name in ("dx", "dy"):
                body[name] = _parse_number(
                    value.get(name), name, (-MAX_SHIFT, MAX_SHIFT), cid, "bad_op"
                )
        return Op(cid, kind, dumps(body), tuple(dict.fromkeys(checked)))
    if kind == "update":
        item_id = _parse_id(value.get("id"), "id", cid)
        body.update(id=item_id, set=_parse_style(value.get("set"), limits, cid))
        return Op(cid, kind, dumps(body), (item_id,))
    return Op(cid, kind, dumps(body), ())


def _parse_ids(ids: Any, kind: str, limits: Limits, cid: str) -> list[str]:
    if not isinstance(ids, list) or not ids:
        raise OpError("bad_op", "ids must be a non-empty list of item ids", cid)
    if len(ids) > limits.max_ids_per_erase:
        raise OpError(
            "bad_op",
            "a%s %s names at most %d ids, got %d"
            % ("n" if kind == "erase" else "", kind, limits.max_ids_per_erase, len(ids)),
            cid,
        )
    return [_parse_id(i, "ids[%d]" % (n,), cid) for n, i in enumerate(ids)]


def _parse_style(value: Any, limits: Limits, cid: str) -> dict[str, Any]:
    """
    The fields an C{update} sets.  C{text} and C{size} apply to text items
    and C{arrow} to lines and paths; a field that does not apply to the
    item's kind is ignored when the op is folded (the stores do not know
    kinds), so it changes nothing.
    """
    if not isinstance(value, dict) or not value:
        raise OpError("bad_op", "set must be an object naming the fields to change", cid)
    _only_fields(value, _STYLE_FIELDS, "an update's set", OpError, cid, code="bad_item")
    style: dict[str, Any] = {}
    if "color" in value:
        style["color"] = _parse_color(value["color"], "set.color", cid)
    if "width" in value:
        style["width"] = _parse_number(value["width"], "set.width", _WIDTH_RANGE, cid)
    if "opacity" in value:
        style["opacity"] = _parse_number(value["opacity"], "set.opacity", (0.0, 1.0), cid)
    if "fill" in value:
        fill = value["fill"]
        style["fill"] = None if fill is None else _parse_color(fill, "set.fill", cid)
    if "text" in value:
        style["text"] = _parse_text(value["text"], limits, cid, "set.text")
    if "size" in value:
        style["size"] = _parse_number(value["size"], "set.size", _TEXT_SIZE_RANGE, cid)
    if "arrow" in value:
        arrow = value["arrow"]
        style["arrow"] = None if arrow is None else _parse_arrow(arrow, "set.arrow", cid)
    return style


def _parse_item(item: Any, limits: Limits, cid: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise OpError("bad_item", "item must be a JSON object, got %s" % (_kind_of(item),), cid)
    kind = item.get("kind")
    if not isinstance(kind, str) or kind not in _ITEM_KINDS:
        raise OpError(
            "bad_item",
            "item.kind must be path, line, rect, ellipse or text, got %s"
            % (_shown(kind),),
            cid,
        )
    allowed = set(_ITEM_FIELDS)
    if kind == "text":
        allowed |= {"text", "size"}
    if kind in _ARROW_KINDS:
        allowed.add("arrow")
    if kind == "path":
        allowed.add("pressure")
    _only_fields(item, allowed, "a %s item" % (kind,), OpError, cid, code="bad_item")

    checked: dict[str, Any] = {"id": _parse_id(item.get("id"), "item.id", cid), "kind": kind}
    pts = _parse_points(item.get("pts"), "item.pts", limits, cid)
    wanted = 1 if kind == "text" else 2 if kind in _TWO_POINT_KINDS else None
    if wanted is not None and len(pts) != 2 * wanted:
        raise OpError(
            "bad_item",
            "a %s item has exactly %d point%s, got %d"
            % (kind, wanted, "" if wanted == 1 else "s", len(pts) // 2),
            cid,
        )
    checked["pts"] = pts
    checked["color"] = _parse_color(item.get("color"), "item.color", cid)
    checked["width"] = _parse_number(item.get("width"), "item.width", _WIDTH_RANGE, cid)
    if "opacity" in item:
        checked["opacity"] = _parse_number(item["opacity"], "item.opacity", (0.0, 1.0), cid)
    if "fill" in item:
        fill = item["fill"]
        checked["fill"] = None if fill is None else _parse_color(fill, "item.fill", cid)
    if kind == "text":
        checked["text"] = _parse_text(item.get("text"), limits, cid)
        checked["size"] = _parse_number(item.get("size"), "item.size", _TEXT_SIZE_RANGE, cid)
    if "arrow" in item:
        checked["arrow"] = _parse_arrow(item["arrow"], "item.arrow", cid)
    if "pressure" in item:
        checked["pressure"] = _parse_pressure(item["pressure"], "item.pressure", pts, cid)
    return checked


def _parse_arrow(value: Any, field: str, cid: str) -> str:
    if not isinstance(value, str) or value not in _ARROW_ENDS:
        raise OpError(
            "bad_item", "%s must be start, end or both, got %s" % (field, _shown(value)), cid
        )
    return value


def _parse_pressure(value: Any, field: str, pts: list[float], cid: str) -> list[float]:
    """
    Pen pressures, one from 0 to 1 per point of C{pts}, in the same order.
    """
    if not isinstance(value, list) or len(value) * 2 != len(pts):
        raise OpError(
            "bad_item",
            "%s must hold one number per point (%d), got %s"
            % (field, len(pts) // 2, len(value) if isinstance(value, list) else _shown(value)),
            cid,
        )
    for n, number in enumerate(value):
        if not _is_number(number) or not 0 <= number <= 1:
            raise OpError(
                "bad_item",
                "%s[%d] must be a number from 0 to 1, got %s" % (field, n, _shown(number)),
                cid,
            )
    return value


def _parse_id(value: Any, field: str, cid: str) -> str:
    if not isinstance(value, str) or not ITEM_ID.fullmatch(value):
        raise OpError(
            "bad_id",
            "%s must be 1 to 40 of A-Z a-z 0-9 _ -, got %s" % (field, _shown(value)),
            cid,
        )
    return value


def _parse_points(value: Any, field: str, limits: Limits, cid: str) -> list[float]:
    if not isinstance(value, list) or not value or len(value) % 2:
        raise OpError(
            "bad_item", "%s must be a non-empty list of x, y pairs" % (field,), cid
        )
    if len(value) > 2 * limits.max_points_per_op:
        raise OpError(
            "too_many_points",
            "%s holds at most %d points in one op, got %d"
            % (field, limits.max_points_per_op, len(value) // 2),
            cid,
        )
    for n, number in enumerate(value):
        if not _is_coordinate(number):
            raise OpError(
                "bad_item",
                "%s[%d] must be a finite number within +-%d, got %s"
                % (field, n, MAX_COORDINATE, _shown(number)),
                cid,
            )
    return value


def _parse_color(value: Any, field: str, cid: str) -> str:
    if not isinstance(value, str) or not _COLOR.fullmatch(value):
        raise OpError("bad_item", "%s must be #rrggbb, got %s" % (field, _shown(value)), cid)
    return value


def _parse_number(
    value: Any, field: str, bounds: tuple[float, float], cid: str, code: str = "bad_item"
) -> float:
    low, high = bounds
    if not _is_number(value) or not low <= value <= high:
        raise OpError(
            code,
            "%s must be a number from %g to %g, got %s" % (field, low, high, _shown(value)),
            cid,
        )
    return value  # type: ignore[no-any-return]


def _parse_text(value: Any, limits: Limits, cid: str, field: str = "item.text") -> str:
    if not isinstance(value, str):
        raise OpError("bad_item", "%s must be a string, got %s" % (field, _kind_of(value)), cid)
    if len(value) > limits.max_text_chars:
        raise OpError(
            "bad_item",
            "%s holds at most %d characters, got %d"
            % (field, limits.max_text_chars, len(value)),
            cid,
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise OpError("bad_item", "%s holds a lone surrogate, which is not text" % (field,), cid)
    return value


def _only_fields(
    value: dict[str, Any],
    allowed: set[str],
    what: str,
    error: type[FrameError],
    cid: "str | None",
    code: str = "bad_op",
) -> None:
    unknown = set(value) - allowed
    if unknown:
        if error is FrameError:
            code = "bad_frame"
        raise error(
            code,
            "%s has no field %s" % (what, ", ".join(sorted(_shown(k) for k in unknown))),
            cid,
        )


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        # NB: math.isfinite overflows on ints past a float's range; the
        # range checks that follow refuse those.
        return True
    return isinstance(value, float) and math.isfinite(value)


def _is_coordinate(value: Any) -> bool:
    return _is_number(value) and -MAX_COORDINATE <= value <= MAX_COORDINATE


def _kind_of(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    """
    A short, safe rendering of what arrived, for an error message.
    """
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, (dict, list)):
        return _kind_of(value)
    text = repr(value) if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
