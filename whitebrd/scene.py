# -*- test-case-name: tests.test_scene -*-
"""
A board's visible items at one seq, and the ops that change them.

The same folding serves three places: a store turns its snapshot and log tail
into the board a newcomer opens, a store compacts its log into a new
snapshot, and a live board keeps its items current in memory so that joining
it costs no store read.  The ops folded here were checked by
L{whitebrd.frames} and accepted by a store, so folding trusts them and only
guards against the store's own refusals having been bypassed.

Folding decodes every op and joining a board encodes every item, so both
use orjson: on a 100,000-op board it decodes about three times and encodes
about ten times faster than the standard library.  What it writes is
compact JSON like L{whitebrd.frames.dumps} writes; only the spelling of
some exponents differs (C{1e-7} for C{1e-07}), which every JSON reader
takes as the same number.
"""

from typing import Any, Iterable, Iterator

import orjson

from whitebrd.frames import MAX_COORDINATE

__all__ = ["Scene"]


class Scene:
    """
    The items of one board in drawing order, and the seq they stand at.

    @ivar seq: the seq of the newest op folded in (0 for an empty board).
    """

    def __init__(self, seq: int = 0, items: Iterable[dict[str, Any]] = ()) -> None:
        self.seq = seq
        self._items: dict[str, dict[str, Any]] = {}
        # Encoded items, kept so that every newcomer does not re-encode the
        # whole board; an extend forgets its item's text.
        self._texts: dict[str, str] = {}
        for item in items:
            self._items[item["id"]] = item

    @classmethod
    def from_snapshot(cls, text: "str | None") -> "Scene":
        """
        The scene a stored snapshot holds.

        @param text: what L{snapshot_text} wrote, or C{None} for a board with
            no snapshot yet.
        """
        if text is None:
            return cls()
        value = orjson.loads(text)
        return cls(value["seq"], value["items"])

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._items

    def items(self) -> list[dict[str, Any]]:
        """
        The visible items, bottom first.
        """
        return list(self._items.values())

    def apply_text(self, text: str) -> None:
        """
        Fold in one stored op given as its JSON text.
        """
        self.apply(orjson.loads(text))

    def apply(self, op: dict[str, Any]) -> None:
        """
        Fold in one stored op (with its C{seq}).

        Ops at or below the scene's seq are ignored, so a tail that overlaps
        a snapshot folds correctly.
        """
        seq = op["seq"]
        if seq <= self.seq:
            return
        self.seq = seq
        kind = op["op"]
        if kind == "add":
            item = op["item"]
            self._items.pop(item["id"], None)
            self._texts.pop(item["id"], None)
            self._items[item["id"]] = copy = dict(item, pts=list(item["pts"]))
            if "pressure" in item:
                copy["pressure"] = list(item["pressure"])
        elif kind == "extend":
            item = self._items.get(op["id"])
            if item is not None:
                _extend(item, op["pts"], op.get("pressure"))
                self._texts.pop(op["id"], None)
        elif kind == "move":
            for item_id in op["ids"]:
                item = self._items.get(item_id)
                if item is not None:
                    item["pts"] = _shifted(item["pts"], op["dx"], op["dy"])
                    self._texts.pop(item_id, None)
        elif kind == "update":
            item = self._items.get(op["id"])
            if item is not None:
                _restyle(item, op["set"])
                self._texts.pop(op["id"], None)
        elif kind == "erase":
            for item_id in op["ids"]:
                self._items.pop(item_id, None)
                self._texts.pop(item_id, None)
        elif kind == "clear":
            self._items.clear()
            self._texts.clear()

    def _item_texts(self) -> Iterator[str]:
        for item_id, item in self._items.items():
            text = self._texts.get(item_id)
            if text is None:
                text = self._texts[item_id] = orjson.dumps(item).decode("utf-8")
            yield text

    def snapshot_text(self) -> str:
        """
        The scene as one JSON text, for a store to keep.
        """
        return '{"seq":%d,"items":[%s]}' % (self.seq, ",".join(self._item_texts()))

    def state_frames(self, frame_bytes: int) -> Iterator[str]:
        """
        The scene as it is now, as C{state} frames of at most about
        C{frame_bytes} each, built one at a time as they are asked for.

        The items are taken now, so later ops do not change the frames; an
        item larger than C{frame_bytes} goes in a frame of its own, so every
        item is sent whatever the bound; all frames but the last carry
        C{"more": true}.  An empty scene is one frame with no items.
        """
        return _frames(self.seq, list(self._item_texts()), frame_bytes)


def _extend(item: dict[str, Any], pts: list[float], pressure: "list[float] | None") -> None:
    """
    Add points to a path, and keep its pressures one per point: an extend
    without pressures (from a device that reports none mid-stroke) repeats
    the last one, and pressures for a path drawn without are dropped.
    """
    item["pts"].extend(pts)
    held = item.get("pressure")
    if held is None:
        return
    if pressure is None:
        pressure = [held[-1] if held else 0.5] * (len(pts) // 2)
    held.extend(pressure)


def _shifted(pts: list[float], dx: float, dy: float) -> list[float]:
    """
    C{pts} moved by C{(dx, dy)}, each coordinate kept within the contract's
    range, so that a moved item is still a valid item.
    """
    shifted = []
    for n, value in enumerate(pts):
        value += dx if n % 2 == 0 else dy
        shifted.append(max(-MAX_COORDINATE, min(MAX_COORDINATE, value)))
    return shifted


# The fields an update may set on each kind; others are ignored.
_STYLE_FOR = {
    "text": {"color", "width", "opacity", "fill", "text", "size"},
    "line": {"color", "width", "opacity", "fill", "arrow"},
    "path": {"color", "width", "opacity", "fill", "arrow"},
}
_SHAPE_STYLE = {"color", "width", "opacity", "fill"}


def _restyle(item: dict[str, Any], style: dict[str, Any]) -> None:
    allowed = _STYLE_FOR.get(item["kind"], _SHAPE_STYLE)
    for name, value in style.items():
        if name not in allowed:
            continue
        if name == "arrow" and value is None:
            item.pop("arrow", None)
        else:
            item[name] = value


def _frames(seq: int, texts: list[str], frame_bytes: int) -> Iterator[str]:
    head = '{"t":"state","seq":%d,' % (seq,)
    chunk: list[str] = []
    size = 0
    for text in texts:
        if chunk and size + len(text) + 1 > frame_bytes - 64:
            yield '%s"more":true,"items":[%s]}' % (head, ",".join(chunk))
            chunk = []
            size = 0
        chunk.append(text)
        size += len(text) + 1
    yield '%s"items":[%s]}' % (head, ",".join(chunk))
