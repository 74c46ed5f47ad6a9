"""
Tests for L{whitebrd.moderation}: undoing one person's last minutes leaves
everyone else's work in place.
"""

import json
from typing import Any

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from tests.memory_store import MemoryStore
from whitebrd.frames import Op, OpFrame, dumps, parse_frame
from whitebrd.limits import Limits
from whitebrd.moderation import (
    MODERATOR,
    Revert,
    authors,
    plan_revert,
    revert,
    revert_ops,
)
from whitebrd.scene import Scene

A, B = "alice-0001", "bobby-0001"


class History:
    """
    A board's history built op by op, as a store would keep it.
    """

    def __init__(self) -> None:
        self.texts: list[str] = []

    def op(self, by: str, value: dict[str, Any]) -> int:
        seq = len(self.texts) + 1
        self.texts.append(
            dumps(dict({"seq": seq, "by": by, "cid": "c%d" % (seq,)}, **value))
        )
        return seq

    def add(self, by: str, item_id: str, pts: Any = (0, 0, 5, 5), **fields: Any) -> int:
        item = dict(
            {
                "id": item_id,
                "kind": "line",
                "pts": list(pts),
                "color": "#000000",
                "width": 2,
            },
            **fields,
        )
        return self.op(by, {"op": "add", "item": item})

    def extend(self, by: str, item_id: str, pts: Any) -> int:
        return self.op(by, {"op": "extend", "id": item_id, "pts": list(pts)})

    def erase(self, by: str, *ids: str) -> int:
        return self.op(by, {"op": "erase", "ids": list(ids)})

    def clear(self, by: str) -> int:
        return self.op(by, {"op": "clear"})

    def after_revert(self, start: int, author: str) -> list[str]:
        """
        The visible item ids once the revert's plan is applied.
        """
        plan = plan_revert(self.texts, start, author)
        scene = Scene()
        for text in self.texts:
            scene.apply_text(text)
        seq = scene.seq
        seq += 1
        scene.apply({"seq": seq, "op": "erase", "ids": plan.erase})
        for item in plan.restore:
            seq += 1
            scene.apply({"seq": seq, "op": "add", "item": item})
        return [item["id"] for item in scene.items()]


class PlanTests(SynchronousTestCase):
    """
    A revert removes the person's additions, brings back what they
    removed, and keeps everything others did.
    """

    def test_their_additions_go_others_stay(self) -> None:
        """
        Items the person added after the cutoff go; theirs from before
        and everyone else's stay.
        """
        h = History()
        h.add(A, "a-old")
        start = h.add(B, "b1")
        h.add(A, "a1")
        h.add(B, "b2")
        h.add(A, "a2")

        self.assertEqual(h.after_revert(start, A), ["a-old", "b1", "b2"])

    def test_what_they_erased_or_cleared_comes_back(self) -> None:
        """
        Items the person erased or cleared come back as they were, while
        what others drew after the clear stays too.
        """
        h = History()
        h.add(B, "b1")
        h.add(B, "b2")
        start = h.add(B, "b3")
        h.erase(A, "b1")
        h.clear(A)
        h.add(B, "b4")

        result = h.after_revert(start, A)

        self.assertEqual(sorted(result), ["b1", "b2", "b3", "b4"])
        self.assertEqual(result[0], "b4")

    def test_others_later_changes_are_not_undone(self) -> None:
        """
        An id someone else re-used after the person erased it keeps its new
        item; an item someone else erased after the person drew over it
        stays erased.
        """
        h = History()
        h.add(B, "b1", (0, 0, 1, 1))
        h.add(B, "b2")
        start = h.add(B, "b3")
        h.erase(A, "b1")
        h.add(B, "b1", (9, 9, 8, 8))
        h.erase(A, "b2")
        h.add(A, "a1")
        h.erase(B, "a1")

        plan = plan_revert(h.texts, start, A)

        self.assertEqual(plan.erase, [])
        self.assertEqual([item["id"] for item in plan.restore], ["b2"])
        self.assertEqual(sorted(h.after_revert(start, A)), ["b1", "b2", "b3"])

    def test_their_extension_of_a_stroke_is_taken_back(self) -> None:
        """
        Points the person added to someone else's stroke are taken off: the
        stroke comes back as it was.
        """
        h = History()
        h.op(
            B,
            {
                "op": "add",
                "item": {
                    "id": "s",
                    "kind": "path",
                    "pts": [0, 0],
                    "color": "#000000",
                    "width": 2,
                },
            },
        )
        start = h.extend(B, "s", [1, 1])
        h.extend(A, "s", [500, 500, 600, 600])

        plan = plan_revert(h.texts, start, A)

        self.assertEqual(plan.erase, ["s"])
        self.assertEqual(plan.restore[0]["pts"], [0, 0, 1, 1])

    def test_long_strokes_are_restored_in_pieces(self) -> None:
        """
        A stroke longer than one op may carry comes back as an add and
        extends, each within the limits.
        """
        limits = Limits(max_points_per_op=10)
        item = {
            "id": "s",
            "kind": "path",
            "pts": list(range(50)),
            "color": "#000000",
            "width": 2,
        }
        ops = revert_ops(Revert(erase=["x"], restore=[item]), limits)

        self.assertEqual([op.kind for op in ops], ["erase", "add", "extend", "extend"])
        self.assertEqual(sum(op.points for op in ops), 25)
        self.assertEqual(len({op.cid for op in ops}), 4)


class RevertTests(SynchronousTestCase):
    """
    A revert through a store: new ops by the moderator.
    """

    def test_revert_appends_ops_everyone_receives(self) -> None:
        """
        Reverting A on a board removes exactly A's items with new ops by the
        moderator, which the board's listeners hear like any op.
        """
        store = MemoryStore()
        heard: list[str] = []
        store.listen("b", lambda seq, text: heard.append(text))
        for n, by in enumerate([A, B, A, B]):
            frame = parse_frame(
                dumps(
                    {
                        "t": "op",
                        "cid": "%s-%d" % (by, n),
                        "op": "add",
                        "item": {
                            "id": "%s%d" % (by[0], n),
                            "kind": "line",
                            "pts": [0, 0, 1, 1],
                            "color": "#000000",
                            "width": 1,
                        },
                    }
                ),
                Limits(),
            )
            assert isinstance(frame, OpFrame) and isinstance(frame.ops[0], Op)
            self.successResultOf(store.append("b", by, frame.ops[0]))

        result = self.successResultOf(
            Deferred.fromCoroutine(revert(store, Limits(), "b", A, 0.0))
        )

        scene = self.successResultOf(store.load("b"))
        self.assertEqual([item["id"] for item in scene.items()], ["b1", "b3"])
        self.assertEqual(result, {"from_seq": 0, "erased": 2, "restored": 0})
        self.assertEqual(json.loads(heard[-1])["by"], MODERATOR)


class AuthorTests(SynchronousTestCase):
    """
    The admin page's list of who drew what.
    """

    def test_authors_with_their_visible_items_and_texts(self) -> None:
        """
        Each client id with its ops, its visible items and its texts.
        """
        h = History()
        h.add(A, "t1", (0, 0), kind="text", text="<b>hi</b>", size=12)
        h.add(A, "a2")
        h.erase(B, "a2")
        h.add(B, "b1")

        found = authors(h.texts)

        self.assertEqual(
            found,
            [
                {"client": A, "ops": 2, "items": 1, "texts": ["<b>hi</b>"]},
                {"client": B, "ops": 2, "items": 1, "texts": []},
            ],
        )
