"""
The store contract, run against both stores: what the daemon, and through
it every person drawing, relies on a store for.

L{StoreContractTests} holds the contract; L{RedisStoreTests} runs it on a
private redis-server shared by the test run (see L{tests.redis_server}),
L{SQLiteStoreTests} on a file in the test's temporary folder.  Each test
uses board ids of its own, so nothing is flushed between tests.
"""

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
import uuid
from typing import Any, Callable, Optional

from twisted.internet import defer, reactor
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.redis_server import RedisServer, shared_redis
from whitebrd.frames import Op, OpError, OpFrame, dumps, parse_frame
from whitebrd.limits import Limits
from whitebrd.stores import Appended, IStore, StoreUnavailable
from whitebrd.stores._shared import fold, runs_hold, runs_with, seq_of
from whitebrd.stores.redis import RedisAddress, RedisStore, parse_redis_url
from whitebrd.stores.sqlite import SQLiteStore

BY = "client-0001"
OTHER = "client-0002"
LIMITS = Limits()


def checked(value: dict[str, Any], limits: Limits = LIMITS) -> Op:
    """
    An op as the daemon hands it to a store: checked by the frame parser.
    """
    frame = parse_frame(dumps(dict(value, t="op")), limits)
    assert isinstance(frame, OpFrame) and isinstance(frame.ops[0], Op), frame
    return frame.ops[0]


def add(cid: str, item_id: str, pts: Any = (0, 0, 10, 10), **fields: Any) -> Op:
    item = {
        "id": item_id,
        "kind": "path",
        "pts": list(pts),
        "color": "#112233",
        "width": 2,
    }
    item.update(fields)
    return checked({"cid": cid, "op": "add", "item": item})


def extend(cid: str, item_id: str, pts: Any = (20, 20)) -> Op:
    return checked({"cid": cid, "op": "extend", "id": item_id, "pts": list(pts)})


def erase(cid: str, *ids: str) -> Op:
    return checked({"cid": cid, "op": "erase", "ids": list(ids)})


def clear(cid: str) -> Op:
    return checked({"cid": cid, "op": "clear"})


def move(cid: str, dx: float, dy: float, *ids: str) -> Op:
    return checked({"cid": cid, "op": "move", "ids": list(ids), "dx": dx, "dy": dy})


def update(cid: str, item_id: str, **style: Any) -> Op:
    return checked({"cid": cid, "op": "update", "id": item_id, "set": style})


def new_board() -> str:
    return "t-" + uuid.uuid4().hex[:20]


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """
    Let the reactor run until C{condition()} holds; fail after C{timeout}.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %g s" % (timeout,))
        await deferLater(reactor, 0.005, lambda: None)


async def answers(store: Any, timeout: float = 5.0) -> None:
    """
    Wait until C{store} answers a ping again (Redis restarted under it).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            await store.ping()
            return
        except StoreUnavailable:
            if time.monotonic() > deadline:
                raise
            await deferLater(reactor, 0.05, lambda: None)


class StoreContractTests:
    """
    The contract of L{IStore}.  A subclass says how to make a store and how
    to look at what it wrote from outside.
    """

    # Supplied by TestCase.
    addCleanup: Callable[..., None]
    assertEqual: Callable[..., None]
    assertIs: Callable[..., None]
    assertIsNone: Callable[..., None]
    assertTrue: Callable[..., None]
    assertFalse: Callable[..., None]
    assertLessEqual: Callable[..., None]
    assertFailure: Callable[..., Any]

    def make_store(self, limits: Limits = LIMITS, **settings: Any) -> Any:
        """
        A new store, closed when the test ends.
        """
        raise NotImplementedError()

    def reopen(self, store: Any, **changes: Any) -> Any:
        """
        Close C{store} and open a new one on what it stored, with its
        settings but for C{changes}.
        """
        raise NotImplementedError()

    def log_length(self, store: Any, board: str) -> int:
        """
        How many ops the board's log holds past its snapshot.
        """
        raise NotImplementedError()

    def holds(self, store: Any, board: str) -> bool:
        """
        Whether the store keeps anything at all for C{board}.
        """
        raise NotImplementedError()

    def cids_remembered(self, store: Any, board: str) -> int:
        """
        How many entries the store keeps to recognise the board's resent
        ops (a cid, or a run of counters of one prefix).
        """
        raise NotImplementedError()

    async def refused(self, d: "defer.Deferred[Any]", code: str, cid: str) -> OpError:
        error: OpError = await self.assertFailure(d, OpError)
        self.assertEqual((error.code, error.cid), (code, cid))
        self.assertTrue(error.message)
        return error

    def test_provides_istore(self) -> None:
        """
        The store provides every method the daemon calls.
        """
        self.assertTrue(verifyObject(IStore, self.make_store()))

    async def test_append_assigns_seqs_one_two_three(self) -> None:
        """
        Seqs start at 1 and rise by one per op, so clients notice a missed op.
        """
        store, board = self.make_store(), new_board()

        seqs = [
            (await store.append(board, BY, add("c%d" % (n,), "i%d" % (n,)))).seq
            for n in range(1, 4)
        ]

        self.assertEqual(seqs, [1, 2, 3])

    async def test_text_is_seq_and_by_then_the_body_exactly(self) -> None:
        """
        An op is stored and sent as its sender's JSON with seq and by first,
        its numbers and text unchanged: floats are not rounded, emoji and
        right-to-left text survive byte for byte.
        """
        store, board = self.make_store(), new_board()
        pts = [10.5, 0.1, 0.30000000000000004, -1e-07, 123456.789, 999999.999999]
        words = 'שלום 👋🏽 مرحبا "quoted" \\ e\u0301'
        path = add("p1", "path1", pts)
        text = checked(
            {
                "cid": "t1",
                "op": "add",
                "item": {
                    "id": "text1",
                    "kind": "text",
                    "pts": [1.25, 2.5],
                    "color": "#000000",
                    "width": 1,
                    "text": words,
                    "size": 16,
                },
            }
        )

        first = await store.append(board, BY, path)
        second = await store.append(board, OTHER, text)
        stored = await store.ops_since(board, 0)

        self.assertEqual(first.text, '{"seq":1,"by":"%s",%s' % (BY, path.body[1:]))
        self.assertEqual(second.text, '{"seq":2,"by":"%s",%s' % (OTHER, text.body[1:]))
        self.assertEqual(stored, [first.text, second.text])
        self.assertEqual(json.loads(stored[0])["item"]["pts"], pts)
        self.assertEqual(json.loads(stored[1])["item"]["text"], words)
        scene = await store.load(board)
        self.assertEqual([item["pts"] for item in scene.items()], [pts, [1.25, 2.5]])
        self.assertEqual(scene.items()[1]["text"], words)

    async def test_duplicate_cid_answers_the_first_seq(self) -> None:
        """
        An op sent twice (a client retrying after a lost ack) is applied
        once: the retry gets the first seq and nothing new is stored.
        """
        store, board = self.make_store(), new_board()
        await store.append(board, BY, add("c1", "i1"))
        await store.append(board, BY, add("c2", "i2"))

        again = await store.append(board, BY, add("c1", "i1"))
        after = await store.append(board, BY, add("c3", "i3"))

        self.assertEqual(again, Appended(1, None, duplicate=True))
        self.assertEqual(after.seq, 3)
        self.assertEqual(len(await store.ops_since(board, 0)), 3)

    async def test_op_sent_again_after_its_fold_is_applied_once(self) -> None:
        """
        A page that reconnects after its ops were folded into the snapshot
        resends the ones it holds unconfirmed: each is acknowledged, not
        applied again, with a seq at or after its own, so the page knows
        every state from there on shows it.
        """
        store, board = self.make_store(compact_after_ops=3), new_board()
        cids = ["%s-%d" % (BY, n) for n in range(1, 8)]
        first = [
            await store.append(board, BY, add(cid, "i%d" % (n,)))
            for n, cid in enumerate(cids)
        ]
        await store.idle()
        self.assertLess(self.log_length(store, board), len(cids))

        again = [
            await store.append(board, BY, add(cid, "i%d" % (n,)))
            for n, cid in enumerate(cids)
        ]
        after = await store.append(board, BY, add("%s-8" % (BY,), "i8"))

        for earlier, repeat in zip(first, again):
            self.assertTrue(repeat.duplicate)
            self.assertIsNone(repeat.text)
            self.assertLessEqual(earlier.seq, repeat.seq)
            self.assertLessEqual(repeat.seq, 7)
        self.assertEqual((after.seq, after.duplicate), (8, False))
        self.assertEqual(len(await store.history(board)), 8)

    async def test_counters_out_of_order_are_each_applied_once(self) -> None:
        """
        A page's counters reach the store out of order (an op refused for
        the rate is sent again later, two tabs share one client id): every
        counter is applied once, a refused one can still be applied later,
        and no counter the store never applied is taken for a repeat,
        however scattered they are.
        """
        store, board = self.make_store(compact_after_ops=5), new_board()
        await store.append(board, BY, add("%s-1" % (BY,), "base"))
        evens = range(2, 100, 2)
        for n in evens:
            await store.append(board, BY, move("%s-%d" % (BY, n), 1, 0, "base"))
        early = store.append(board, BY, extend("%s-3" % (BY,), "later"))
        await self.refused(early, "unknown_item", "%s-3" % (BY,))
        await store.idle()

        await store.append(board, BY, add("%s-101" % (BY,), "later"))
        retried = await store.append(board, BY, extend("%s-3" % (BY,), "later"))
        repeats = [
            await store.append(board, BY, move("%s-%d" % (BY, n), 1, 0, "base"))
            for n in [1, *evens, 101, 3]
        ]
        odds = [
            await store.append(board, BY, move("%s-%d" % (BY, n), 0, 1, "base"))
            for n in range(5, 100, 2)
        ]

        self.assertFalse(retried.duplicate)
        self.assertTrue(all(repeat.duplicate for repeat in repeats))
        self.assertFalse(any(odd.duplicate for odd in odds))
        self.assertEqual(
            [odd.seq for odd in odds], list(range(retried.seq + 1, retried.seq + 49))
        )
        scene = await store.load(board)
        moved = next(item for item in scene.items() if item["id"] == "base")
        self.assertEqual(moved["pts"], [49, 48, 59, 58])

    async def test_scattered_counters_are_told_apart_from_repeats(self) -> None:
        """
        Counters of two pages in a random order, many sent several times,
        with folds in between: an op is a repeat exactly when its cid was
        applied before, whatever runs of counters that leaves.
        """
        store, board = self.make_store(compact_after_ops=7), new_board()
        await store.append(board, BY, add("base", "i0"))
        shuffle = random.Random(20261204)
        sent = [(shuffle.choice((BY, OTHER)), shuffle.randint(1, 90)) for _ in range(400)]
        repeats = []
        for by, n in sent:
            appended = await store.append(board, by, move("%s-%d" % (by, n), 1, 0, "i0"))
            repeats.append(appended.duplicate)
            if n % 10 == 0:
                await store.idle()

        self.assertEqual(repeats, [cid in sent[:k] for k, cid in enumerate(sent)])
        scene = await store.load(board)
        self.assertEqual(scene.items()[0]["pts"][0], len(set(sent)))

    async def test_cids_are_forgotten_after_the_dedup_window(self) -> None:
        """
        A cid is remembered for the dedup window and not much longer: an op
        sent again within it is a repeat, one sent again two windows later
        is a new op, and what the store kept for the first is gone.
        """
        store = self.make_store(dedup_window_seconds=1, compact_after_ops=1)
        board = new_board()
        cid = "%s-1" % (BY,)
        first = await store.append(board, BY, clear(cid))
        await store.idle()
        soon = await store.append(board, BY, clear(cid))

        await deferLater(reactor, 2.2, lambda: None)
        late = await store.append(board, BY, clear(cid))
        await store.idle()

        self.assertEqual((first.seq, soon.duplicate), (1, True))
        self.assertEqual((late.seq, late.duplicate), (2, False))
        self.assertEqual(self.cids_remembered(store, board), 1)

    async def test_refused_ops_take_no_seq_and_store_nothing(self) -> None:
        """
        An add of an id on the board, and an extend or erase of items that
        are not, are refused with a code the page can explain; they take no
        seq and change nothing.
        """
        store, board = self.make_store(), new_board()
        await store.append(board, BY, add("c1", "i1"))
        heard: list[int] = []
        await store.listen(board, lambda seq, text: heard.append(seq))

        await self.refused(
            store.append(board, BY, add("c2", "i1")), "duplicate_id", "c2"
        )
        await self.refused(
            store.append(board, BY, extend("c3", "gone")), "unknown_item", "c3"
        )
        await self.refused(
            store.append(board, BY, erase("c4", "gone", "never")), "unknown_item", "c4"
        )
        after = await store.append(board, BY, add("c5", "i5"))

        self.assertEqual(after.seq, 2)
        await wait_for(lambda: heard == [2])
        scene = await store.load(board)
        self.assertEqual([item["id"] for item in scene.items()], ["i1", "i5"])
        self.assertEqual(scene.items()[0]["pts"], [0, 0, 10, 10])

    async def test_full_board_refuses_adds(self) -> None:
        """
        A board at its item limit refuses new items with board_full until
        some are erased; the refused op's cid is not remembered, so the
        client may send it again later.
        """
        store, board = self.make_store(Limits(max_items_per_board=2)), new_board()
        await store.append(board, BY, add("c1", "i1"))
        await store.append(board, BY, add("c2", "i2"))

        await self.refused(store.append(board, BY, add("c3", "i3")), "board_full", "c3")
        await store.append(board, BY, erase("c4", "i1"))
        retried = await store.append(board, BY, add("c3", "i3"))

        self.assertEqual(retried, Appended(4, retried.text))
        self.assertFalse(retried.duplicate)
        scene = await store.load(board)
        self.assertEqual([item["id"] for item in scene.items()], ["i2", "i3"])

    async def test_board_points_and_bytes_are_bounded(self) -> None:
        """
        A board refuses adds and extends that would take it past its points
        or bytes, with board_full and a message naming the limit; erasing and
        clearing give the room back.
        """
        store, board = self.make_store(Limits(max_points_per_board=5)), new_board()
        await store.append(board, BY, add("c1", "i1", (0, 0, 1, 1)))
        await store.append(board, BY, add("c2", "i2", (0, 0, 1, 1)))

        error = await self.refused(
            store.append(board, BY, extend("c3", "i1", (2, 2, 3, 3))), "board_full", "c3"
        )
        await store.append(board, BY, extend("c4", "i1", (2, 2)))
        await self.refused(store.append(board, BY, add("c5", "i3")), "board_full", "c5")
        await store.append(board, BY, erase("c6", "i1"))
        await store.append(board, BY, add("c5", "i3", (5, 5, 6, 6, 7, 7)))
        await store.append(board, BY, clear("c7"))
        await store.append(board, BY, add("c8", "i4", (1, 1, 2, 2, 3, 3, 4, 4, 5, 5)))

        self.assertIn("5 points", error.message)
        self.assertEqual([i["id"] for i in (await store.load(board)).items()], ["i4"])

        size = len(add("x", "i0").body.encode("utf-8"))
        store, board = self.make_store(Limits(max_bytes_per_board=2 * size + 10)), new_board()
        await store.append(board, BY, add("d1", "i1"))
        await store.append(board, BY, add("d2", "i2"))
        error = await self.refused(store.append(board, BY, add("d3", "i3")), "board_full", "d3")
        await store.append(board, BY, erase("d4", "i1", "i2"))
        await store.append(board, BY, add("d3", "i3"))

        self.assertIn("bytes", error.message)
        self.assertEqual([i["id"] for i in (await store.load(board)).items()], ["i3"])

    async def test_archive_is_kept_for_its_retention(self) -> None:
        """
        With a retention set, archive chunks older than it are dropped as
        the board is compacted again; newer ones, the snapshot and the log
        are kept, so the board is whole.
        """
        store, board = self.make_store(
            compact_after_ops=2, archive_retention_seconds=0.2
        ), new_board()
        for n in range(2):
            await store.append(board, BY, add("a%d" % (n,), "i%d" % (n,)))
        await store.idle()
        history_before = await store.history(board)
        await deferLater(reactor, 0.3, lambda: None)

        for n in range(2, 4):
            await store.append(board, BY, add("a%d" % (n,), "i%d" % (n,)))
        await store.idle()

        self.assertEqual(len(history_before), 2)
        self.assertEqual([seq_of(t) for t in await store.history(board)], [3, 4])
        self.assertEqual(len((await store.load(board)).items()), 4)

    async def test_path_past_its_point_limit_is_refused(self) -> None:
        """
        A path may not grow past the points-per-item limit, however its
        points arrive; an extend that fits is still accepted.
        """
        limits = Limits(max_points_per_item=3)
        store, board = self.make_store(limits), new_board()
        await store.append(board, BY, add("c1", "i1", (0, 0, 1, 1)))

        await self.refused(
            store.append(board, BY, extend("c2", "i1", (2, 2, 3, 3))),
            "too_many_points",
            "c2",
        )
        await self.refused(
            store.append(board, BY, add("c3", "i2", (0, 0, 1, 1, 2, 2, 3, 3))),
            "too_many_points",
            "c3",
        )
        fitting = await store.append(board, BY, extend("c4", "i1", (2, 2)))

        self.assertEqual(fitting.seq, 2)
        scene = await store.load(board)
        self.assertEqual(scene.items()[0]["pts"], [0, 0, 1, 1, 2, 2])

    async def test_erase_and_clear_change_the_board(self) -> None:
        """
        Erased items leave the board; clear empties it; an erase naming some
        items that are gone still removes the others.
        """
        store, board = self.make_store(), new_board()
        for n in range(1, 5):
            await store.append(board, BY, add("a%d" % (n,), "i%d" % (n,)))

        await store.append(board, BY, erase("e1", "i2", "gone"))
        erased = await store.load(board)
        await store.append(board, BY, clear("x1"))
        cleared = await store.load(board)

        self.assertEqual([item["id"] for item in erased.items()], ["i1", "i3", "i4"])
        self.assertEqual((cleared.seq, cleared.items()), (6, []))
        await self.refused(
            store.append(board, BY, extend("e2", "i1")), "unknown_item", "e2"
        )

    async def test_item_added_again_after_erase_goes_on_top(self) -> None:
        """
        Undoing an erase re-adds the item on top of the others, in drawing
        order, the way every client draws it.
        """
        store, board = self.make_store(), new_board()
        await store.append(board, BY, add("c1", "a"))
        await store.append(board, BY, add("c2", "b"))
        await store.append(board, BY, erase("c3", "a"))

        await store.append(board, BY, add("c4", "a", (5, 5, 6, 6)))

        scene = await store.load(board)
        self.assertEqual([item["id"] for item in scene.items()], ["b", "a"])
        self.assertEqual(scene.items()[1]["pts"], [5, 5, 6, 6])

    async def test_move_and_update_change_items_for_everyone(self) -> None:
        """
        A move shifts every named item that is on the board (within the
        board's range); an update restyles one item, and only with fields
        that apply to its kind; a pen path keeps one pressure per point
        however it is extended.
        """
        store, board = self.make_store(), new_board()
        await store.append(board, BY, add("c1", "p1", (0, 0, 10, 10), pressure=[0.25, 0.5]))
        await store.append(board, BY, add("c2", "r1", (5, 5, 20, 20), kind="rect"))
        text = {"kind": "text", "pts": [1, 2], "text": "hi", "size": 16}
        await store.append(board, BY, add("c3", "t1", (1, 2), **{k: v for k, v in text.items() if k != "pts"}))

        await store.append(board, OTHER, move("c4", 100, -5.5, "p1", "r1", "gone"))
        await store.append(board, OTHER, move("c5", 0, -1_000_000, "r1"))
        await store.append(board, BY, update("c6", "t1", text="hello\nthere", size=32, color="#ff0000"))
        await store.append(board, BY, update("c7", "r1", text="ignored", fill="#00ff00", arrow="end"))
        await store.append(board, BY, extend("c8", "p1", (30, 30)))
        await store.append(
            board, BY, checked({"cid": "c9", "op": "extend", "id": "p1", "pts": [40, 40], "pressure": [1]})
        )

        items = {item["id"]: item for item in (await store.load(board)).items()}
        self.assertEqual(items["p1"]["pts"], [100, -5.5, 110, 4.5, 30, 30, 40, 40])
        self.assertEqual(items["p1"]["pressure"], [0.25, 0.5, 0.5, 1])
        self.assertEqual(items["r1"]["pts"], [105, -1_000_000, 120, -999_985.5])
        self.assertEqual((items["r1"]["fill"], "text" in items["r1"], "arrow" in items["r1"]), ("#00ff00", False, False))
        self.assertEqual(
            (items["t1"]["text"], items["t1"]["size"], items["t1"]["color"], items["t1"]["pts"]),
            ("hello\nthere", 32, "#ff0000", [1, 2]),
        )

    async def test_move_and_update_of_missing_items_are_refused(self) -> None:
        """
        Moving or restyling items that are not on the board (erased by
        someone meanwhile) is refused with unknown_item and stores nothing.
        """
        store, board = self.make_store(), new_board()
        await store.append(board, BY, add("c1", "i1"))
        await store.append(board, BY, erase("c2", "i1"))

        await self.refused(store.append(board, BY, move("c3", 1, 1, "i1", "never")), "unknown_item", "c3")
        await self.refused(store.append(board, BY, update("c4", "i1", width=4)), "unknown_item", "c4")

        self.assertEqual((await store.load(board)).seq, 2)

    async def test_history_pages_cover_log_and_archive(self) -> None:
        """
        Replay reads the whole history a page at a time, from any seq:
        pages follow on without gaps or repeats, across archive chunks, the
        clears that folded them, and the log.
        """
        store, board = self.make_store(compact_after_ops=4), new_board()
        texts = []
        for n in range(23):
            op = clear("x%d" % (n,)) if n in (9, 10, 17) else add("c%d" % (n,), "i%d" % (n,))
            texts.append((await store.append(board, BY, op)).text)
            await store.idle()

        self.assertLessEqual(self.log_length(store, board), 4)
        self.assertEqual(await store.history(board), texts)
        self.assertEqual(await store.history(board, 20), texts[20:])
        for limit in (1, 3, 7, 50):
            for start in range(0, 24):
                after, pages = start, []
                while True:
                    page = await store.history(board, after, limit)
                    pages.extend(page)
                    if len(page) < limit:
                        break
                    self.assertEqual(len(page), limit)
                    after = json.loads(page[-1])["seq"]
                self.assertEqual(pages, texts[start:], (limit, start))

    async def test_never_drawn_board_is_empty_and_reading_stores_nothing(self) -> None:
        """
        Any valid id is an empty board at seq 0, and looking at it leaves no
        trace, so crawlers and typos cost no storage.
        """
        store, board = self.make_store(), new_board()

        scene = await store.load(board)
        tail = await store.ops_since(board, 0)
        beyond = await store.ops_since(board, 1)

        self.assertEqual((scene.seq, scene.items()), (0, []))
        self.assertEqual(tail, [])
        self.assertIsNone(beyond)
        self.assertFalse(self.holds(store, board))

    async def test_ops_since_returns_exactly_the_tail(self) -> None:
        """
        A client reconnecting with the seq it holds gets exactly the ops it
        missed; one claiming a seq the board never had gets None (and so
        the whole state).
        """
        store, board = self.make_store(), new_board()
        texts = [
            (await store.append(board, BY, add("c%d" % (n,), "i%d" % (n,)))).text
            for n in range(5)
        ]

        self.assertEqual(await store.ops_since(board, 0), texts)
        self.assertEqual(await store.ops_since(board, 2), texts[2:])
        self.assertEqual(await store.ops_since(board, 5), [])
        self.assertIsNone(await store.ops_since(board, 6))
        self.assertIsNone(await store.ops_since(board, -1))

    async def test_compaction_keeps_the_board_and_its_history(self) -> None:
        """
        Folding the log into a snapshot changes nothing a client sees: the
        board loads the same, ops_since answers either the exact tail or
        None, and every op stays in the history.
        """
        store, board = self.make_store(compact_after_ops=4), new_board()
        ops = [
            add("c%d" % (n,), "i%d" % (n,), (n, n, n + 0.5, n + 0.25)) for n in range(6)
        ]
        ops += [extend("x%d" % (n,), "i1", (n + 0.1, 7)) for n in range(4)]
        ops += [erase("e1", "i2", "i4")]
        texts = []
        for op in ops:
            texts.append((await store.append(board, BY, op)).text)
            await store.idle()

        scene = await store.load(board)

        self.assertEqual(scene.snapshot_text(), fold(None, texts).snapshot_text())
        self.assertLessEqual(self.log_length(store, board), 3)
        self.assertIsNone(await store.ops_since(board, 0))
        for since in range(len(texts) + 1):
            tail = await store.ops_since(board, since)
            if tail is not None:
                self.assertEqual(tail, texts[since:])
        self.assertEqual(await store.ops_since(board, len(texts)), [])
        self.assertEqual(await store.history(board), texts)

    async def test_log_is_folded_once_it_outweighs_the_board(self) -> None:
        """
        Strokes drawn, erased and drawn again (no clear, far fewer than
        compact_after_ops ops) do not leave a board holding much more than
        it shows: once the log's bytes pass half of the snapshot's, it is
        folded, and the board and its history are unchanged.
        """
        store = self.make_store(compact_after_ops=1000, compact_after_bytes=2000)
        board = new_board()
        pts = [float(n) for n in range(60)]
        texts = []
        for n in range(1, 41):
            drawn = await store.append(board, BY, add("a%d" % (n,), "i%d" % (n % 4), pts))
            erased = await store.append(board, BY, erase("e%d" % (n,), "i%d" % (n % 4)))
            texts += [drawn.text, erased.text]
            await store.idle()
            self.assertLess(self.log_length(store, board), 30)
        texts.append((await store.append(board, BY, add("last", "i9", pts))).text)
        await store.idle()

        self.assertEqual(
            (await store.load(board)).snapshot_text(), fold(None, texts).snapshot_text()
        )
        self.assertEqual(await store.history(board), texts)

    async def test_snapshot_is_folded_again_once_much_of_it_was_erased(self) -> None:
        """
        Erasing a third of a board with a few small ops rewrites its
        snapshot without the erased strokes, rather than keeping them until
        the log grows.
        """
        # NB: drawn where only the ninth op folds, so the erasing starts
        # from a snapshot of all nine and an empty log.
        store = self.make_store(compact_after_ops=9, compact_after_bytes=10**9)
        board = new_board()
        pts = [float(n) for n in range(60)]
        for n in range(9):
            await store.append(board, BY, add("a%d" % (n,), "i%d" % (n,), pts))
        await store.idle()
        self.assertEqual(self.log_length(store, board), 0)
        store = self.reopen(store, compact_after_ops=1000, compact_after_bytes=1000)

        await store.append(board, BY, erase("e1", "i1"))
        await store.append(board, BY, erase("e2", "i2"))
        await store.idle()
        kept = self.log_length(store, board)
        await store.append(board, BY, erase("e3", "i3"))
        await store.idle()

        self.assertEqual((kept, self.log_length(store, board)), (2, 0))
        scene = await store.load(board)
        self.assertEqual(len(scene.items()), 6)

    async def test_board_cleared_and_redrawn_keeps_a_small_log(self) -> None:
        """
        A board cleared and drawn on again and again (a classroom's) opens
        as fast as a new one: every clear folds its log away, and what
        recognises its person's resent ops is one range of counters.
        """
        store, board = self.make_store(), new_board()
        for round in range(15):
            for n in range(3):
                cid = "%s-%d" % (BY, 4 * round + n + 1)
                await store.append(board, BY, add(cid, "i%d" % (n,)))
            await store.append(board, BY, clear("%s-%d" % (BY, 4 * round + 4)))
            await store.idle()

        scene = await store.load(board)
        again = await store.append(board, BY, add("%s-7" % (BY,), "i7"))

        self.assertEqual((scene.seq, scene.items()), (60, []))
        self.assertEqual(self.log_length(store, board), 0)
        self.assertEqual(len(await store.history(board)), 60)
        self.assertEqual(self.cids_remembered(store, board), 1)
        self.assertEqual((again.duplicate, again.seq), (True, 60))

    async def test_listeners_receive_every_op_in_seq_order(self) -> None:
        """
        Every connection of a board hears every op once, in seq order, even
        when many are appended at once.
        """
        store, board = self.make_store(), new_board()
        heard: list[tuple[int, str]] = []
        await store.listen(board, lambda seq, text: heard.append((seq, text)))
        ops = [add("a%d" % (n,), "i%d" % (n,)) for n in range(20)]
        ops += [extend("x%d" % (n,), "i%d" % (n,)) for n in range(20)]

        appended = await defer.gatherResults(
            [store.append(board, BY, op) for op in ops]
        )

        self.assertEqual([a.seq for a in appended], list(range(1, 41)))
        await wait_for(lambda: len(heard) >= 40)
        self.assertEqual(heard, [(a.seq, a.text) for a in appended])

    async def test_unlisten_stops_the_calls(self) -> None:
        """
        A connection that left hears nothing more; the others still do.
        """
        store, board = self.make_store(), new_board()
        left: list[int] = []
        stayed: list[int] = []
        leaving = lambda seq, text: left.append(seq)  # noqa: E731
        await store.listen(board, leaving)
        await store.listen(board, lambda seq, text: stayed.append(seq))
        await store.append(board, BY, add("c1", "i1"))
        await wait_for(lambda: left == [1] and stayed == [1])

        store.unlisten(board, leaving)
        await store.append(board, BY, add("c2", "i2"))

        await wait_for(lambda: stayed == [1, 2])
        self.assertEqual(left, [1])

    async def test_board_survives_reopening_the_store(self) -> None:
        """
        What was acknowledged is there after a restart of the daemon: the
        board, its tail, its seq and the cids it has seen.
        """
        store, board = self.make_store(), new_board()
        texts = [
            (await store.append(board, BY, add("c%d" % (n,), "i%d" % (n,)))).text
            for n in range(3)
        ]
        before = (await store.load(board)).snapshot_text()

        store = self.reopen(store)

        self.assertEqual((await store.load(board)).snapshot_text(), before)
        self.assertEqual(await store.ops_since(board, 1), texts[1:])
        self.assertEqual(
            await store.append(board, BY, add("c1", "i1")), Appended(2, None, True)
        )
        self.assertEqual((await store.append(board, BY, add("c9", "i9"))).seq, 4)

    async def test_ping_answers(self) -> None:
        """
        /healthz is 200 while the store answers.
        """
        self.assertIsNone(await self.make_store().ping())

    async def test_closed_store_refuses_calls(self) -> None:
        """
        After close, calls fail with StoreUnavailable instead of hanging.
        """
        store = self.make_store()
        await store.ping()
        await store.close()

        await self.assertFailure(store.ping(), StoreUnavailable)
        await self.assertFailure(
            store.append(new_board(), BY, add("c1", "i1")), StoreUnavailable
        )


class CounterRunsTests(TestCase):
    """
    The ranges of counters a store keeps per cid prefix.
    """

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.integers(min_value=1, max_value=10**15 - 1) | st.integers(1, 40)))
    def test_runs_hold_exactly_the_counters_added(self, counters: list[int]) -> None:
        """
        Whatever the order, the ranges hold every counter added and no
        other, as the fewest ranges that can.
        """
        runs, count = "", 0
        for counter in counters:
            runs, count = runs_with(runs, counter)
        added = set(counters)
        probes = added | {n + 1 for n in added} | {n - 1 for n in added} | {1}

        self.assertEqual({n for n in probes if runs_hold(runs, n)}, added)
        self.assertEqual(count, len({n for n in added if n - 1 not in added}))
        self.assertEqual(count, len(runs.split(",")) if runs else 0)


class RedisStoreTests(StoreContractTests, TestCase):
    """
    The contract on Redis, plus what sharing Redis between daemons and
    losing it for a while must not break.
    """

    def setUp(self) -> None:
        self.redis = shared_redis()

    def make_store(
        self, limits: Limits = LIMITS, url: Optional[str] = None, **settings: Any
    ) -> RedisStore:
        settings.setdefault("timeout_seconds", 2.0)
        store = RedisStore(reactor, url or self.redis.url, limits, **settings)
        self.addCleanup(store.close)
        store.settings = (limits, url, settings)  # type: ignore[attr-defined]
        return store

    def reopen(self, store: RedisStore, **changes: Any) -> RedisStore:
        limits, url, settings = store.settings  # type: ignore[attr-defined]
        store.close()
        return self.make_store(limits, url, **dict(settings, **changes))

    def log_length(self, store: RedisStore, board: str) -> int:
        return int(self.redis.command("LLEN", "wb:{%s}:log" % (board,)))

    def holds(self, store: RedisStore, board: str) -> bool:
        return bool(self.redis.command("KEYS", "*%s*" % (board,)))

    def cids_remembered(self, store: RedisStore, board: str) -> int:
        keys = [b"wb:{%s}:recent" % (board.encode(),)]
        for pattern in ("cids", "runs"):
            keys += self.redis.command("KEYS", "wb:{%s}:%s:*" % (board, pattern))
        return sum(int(self.redis.command("HLEN", key)) for key in keys)

    async def test_board_keys_share_its_hash_tag(self) -> None:
        """
        All of a board's keys carry the board id as a hash tag, so a board
        lives on one shard whatever the cluster.
        """
        store, board = self.make_store(compact_after_ops=2), new_board()
        for n in range(3):
            await store.append(board, BY, add("c%d" % (n,), "i%d" % (n,)))
        await store.idle()
        await store.append(board, BY, add("c3", "i3"))

        keys = sorted(
            key.decode() for key in self.redis.command("KEYS", "*%s*" % (board,))
        )

        prefix = "wb:{%s}:" % (board,)
        self.assertTrue(all(key.startswith(prefix) for key in keys), keys)
        names = [key[len(prefix) :].split(":")[0] for key in keys]
        self.assertEqual(
            sorted(set(names)),
            ["archive", "archived", "cids", "items", "log", "meta", "sizes", "snap"],
        )

    async def test_cids_of_folded_ops_are_kept_as_counter_ranges(self) -> None:
        """
        What recognises a resent op follows the log and the number of
        people, not every op of the window: once folded, a page's cids are
        one range of counters, and only the ops still in the log keep their
        own cid and seq.
        """
        store, board = self.make_store(compact_after_ops=50), new_board()
        await store.append(board, BY, add("%s-1" % (BY,), "i0"))
        await store.append(board, OTHER, move("%s-1" % (OTHER,), 1, 1, "i0"))
        for n in range(2, 121):
            for by in (BY, OTHER):
                await store.append(board, by, move("%s-%d" % (by, n), 1, 1, "i0"))
        await store.idle()

        tail = self.log_length(store, board)
        (runs,) = self.redis.command("KEYS", "wb:{%s}:runs:*" % (board,))
        self.assertEqual(
            self.redis.command("HGETALL", runs),
            [BY.encode(), b"1-120", OTHER.encode(), b"1-120"],
        )
        self.assertEqual(self.cids_remembered(store, board), tail + 2)
        self.assertLess(tail, 50)

    async def test_second_daemon_sees_the_same_ops_with_the_same_seqs(self) -> None:
        """
        Two daemons sharing a board through Redis see one history: each one's
        listeners hear both daemons' ops, numbered alike, in one order.
        """
        first, second, board = self.make_store(), self.make_store(), new_board()
        heard_first: list[tuple[int, str]] = []
        heard_second: list[tuple[int, str]] = []
        await first.listen(board, lambda seq, text: heard_first.append((seq, text)))
        await second.listen(board, lambda seq, text: heard_second.append((seq, text)))

        appended = await defer.gatherResults(
            [
                (first if n % 2 else second).append(
                    board, BY, add("c%d" % (n,), "i%d" % (n,))
                )
                for n in range(20)
            ]
        )

        self.assertEqual(sorted(a.seq for a in appended), list(range(1, 21)))
        await wait_for(lambda: len(heard_first) == 20 and len(heard_second) == 20)
        self.assertEqual(heard_first, heard_second)
        self.assertEqual(heard_first, sorted((a.seq, a.text) for a in appended))

    async def test_listener_gets_ops_published_while_pubsub_was_down(self) -> None:
        """
        Pub/sub drops what is published while it reconnects; the listener
        still gets every op in order, read back from the log, or from the
        archive when the board was compacted meanwhile.
        """
        listening = self.make_store()
        writing = self.make_store(compact_after_ops=3)
        board = new_board()
        heard: list[int] = []
        await listening.listen(board, lambda seq, text: heard.append(seq))
        await writing.append(board, BY, add("c0", "i0"))
        await wait_for(lambda: heard == [1])

        subscriber = listening._subscriber
        assert subscriber is not None and subscriber.current is not None
        subscriber.current.transport.abortConnection()
        await wait_for(lambda: subscriber.current is None)
        for n in range(1, 8):
            await writing.append(board, BY, add("c%d" % (n,), "i%d" % (n,)))
        await writing.idle()

        await wait_for(lambda: len(heard) >= 8)
        self.assertEqual(heard, list(range(1, 9)))
        self.assertIsNone(await writing.ops_since(board, 1))

    async def test_unreachable_redis_fails_in_time_and_recovers(self) -> None:
        """
        With Redis down, calls fail with StoreUnavailable within the timeout
        (the page says so) instead of hanging; once Redis is back, appends
        and listeners work again without a restart of the daemon.
        """
        server = RedisServer(self.mktemp(), appendonly=True)
        server.start()
        self.addCleanup(server.cleanup)
        store, board = self.make_store(url=server.url, timeout_seconds=0.5), new_board()
        heard: list[int] = []
        await store.listen(board, lambda seq, text: heard.append(seq))
        await store.append(board, BY, add("c1", "i1"))

        server.stop()
        started = time.monotonic()
        await self.assertFailure(store.ping(), StoreUnavailable)
        await self.assertFailure(
            store.append(board, BY, add("c2", "i2")), StoreUnavailable
        )
        failed_within = time.monotonic() - started
        server.start()
        await answers(store)
        await store.ping()
        again = await store.append(board, BY, add("c2", "i2"))

        self.assertLessEqual(failed_within, 1.5)
        self.assertEqual(again.seq, 2)
        await wait_for(lambda: heard == [1, 2])

    async def test_listener_follows_a_board_redis_lost(self) -> None:
        """
        When Redis restarts without its data, the board starts again from
        seq 1 and listeners hear the new ops, with an error in the log saying
        what happened, rather than going deaf.
        """
        server = RedisServer(self.mktemp())
        server.start()
        self.addCleanup(server.cleanup)
        events: list[dict[str, Any]] = []
        log = Logger(observer=events.append)
        store, board = self.make_store(url=server.url, log=log), new_board()
        heard: list[int] = []
        await store.listen(board, lambda seq, text: heard.append(seq))
        for n in range(3):
            await store.append(board, BY, add("c%d" % (n,), "i%d" % (n,)))
        await wait_for(lambda: heard == [1, 2, 3])

        server.stop()
        server.start()
        await answers(store)
        await wait_for(lambda: any("went back" in e["log_format"] for e in events))
        await store.append(board, BY, add("c9", "i9"))

        await wait_for(lambda: heard == [1, 2, 3, 1])

    async def test_acknowledged_op_survives_redis_being_killed(self) -> None:
        """
        With appendfsync always, an op Redis acknowledged is there after
        Redis is killed (kill -9) and started again.
        """
        server = RedisServer(self.mktemp(), appendonly=True)
        server.start()
        self.addCleanup(server.cleanup)
        store, board = self.make_store(url=server.url), new_board()
        acked = await store.append(board, BY, add("c1", "i1", (1.5, 2.5, 3, 4)))

        server.kill()
        server.start()
        await answers(store)

        self.assertEqual(await store.ops_since(board, 0), [acked.text])

    def test_redis_url_is_parsed(self) -> None:
        """
        The --redis option takes redis://[:password@]host[:port][/db].
        """
        self.assertEqual(
            parse_redis_url("redis://:s3cret@cache.local:6380/2"),
            RedisAddress("cache.local", 6380, 2, "s3cret", None),
        )
        self.assertEqual(parse_redis_url("redis://[::1]"), RedisAddress("::1", 6379, 0))
        self.assertEqual(str(parse_redis_url("redis://:pw@h:1/3")), "h:1/3")

    def test_bad_redis_url_is_refused_clearly(self) -> None:
        """
        A mistyped --redis fails at startup with a sentence naming the URL.
        """
        for url in (
            "http://localhost:6379",
            "redis://",
            "redis://host:port",
            "redis://host/zero",
            "redis://host?db=1",
            "localhost:6379",
        ):
            try:
                parse_redis_url(url)
            except ValueError as e:
                self.assertTrue(url in str(e), str(e))
            else:
                raise AssertionError("%r was accepted" % (url,))
        self.assertRaises(ValueError, RedisStore, reactor, "redis://h:99999", LIMITS)


class SQLiteStoreTests(StoreContractTests, TestCase):
    """
    The contract on SQLite, plus what opening the file must get right.
    """

    def setUp(self) -> None:
        self.path = os.path.abspath(os.path.join(self.mktemp(), "boards.sqlite3"))

    def make_store(
        self, limits: Limits = LIMITS, path: Optional[str] = None, **settings: Any
    ) -> SQLiteStore:
        store = SQLiteStore(reactor, path or self.path, limits, **settings)
        self.addCleanup(store.close)
        store.settings = (limits, path, settings)  # type: ignore[attr-defined]
        return store

    def reopen(self, store: SQLiteStore, **changes: Any) -> SQLiteStore:
        limits, path, settings = store.settings  # type: ignore[attr-defined]
        store.close()
        return self.make_store(limits, path, **dict(settings, **changes))

    def _query(self, sql: str, *args: Any) -> Any:
        connection = sqlite3.connect(self.path)
        try:
            return connection.execute(sql, args).fetchone()[0]
        finally:
            connection.close()

    def log_length(self, store: SQLiteStore, board: str) -> int:
        return int(self._query("SELECT COUNT(*) FROM log WHERE board = ?", board))

    def cids_remembered(self, store: SQLiteStore, board: str) -> int:
        return int(
            self._query(
                "SELECT (SELECT COUNT(*) FROM cids WHERE board = ?1)"
                " + (SELECT COUNT(*) FROM runs WHERE board = ?1)",
                board,
            )
        )

    def holds(self, store: SQLiteStore, board: str) -> bool:
        return bool(
            self._query(
                "SELECT (SELECT COUNT(*) FROM boards WHERE board = ?1)"
                " + (SELECT COUNT(*) FROM log WHERE board = ?1)",
                board,
            )
        )

    def test_missing_folder_is_created(self) -> None:
        """
        --data may name a file in a folder that does not exist yet.
        """
        path = os.path.join(os.path.abspath(self.mktemp()), "a", "b", "boards.sqlite3")

        self.make_store(path=path)

        self.assertTrue(os.path.isfile(path))

    def test_unusable_path_fails_at_startup(self) -> None:
        """
        A --data path that cannot hold a database stops the daemon at
        startup with the path and the reason, not at the first stroke.
        """
        folder = os.path.abspath(self.mktemp())
        os.makedirs(folder)
        not_a_database = os.path.join(folder, "notes.txt")
        with open(not_a_database, "w") as f:
            f.write("these are not the boards you are looking for\n" * 100)

        for path in (
            folder,
            not_a_database,
            os.path.join(not_a_database, "boards.sqlite3"),
        ):
            try:
                SQLiteStore(reactor, path, LIMITS)
            except ValueError as e:
                self.assertTrue(path in str(e), str(e))
            else:
                raise AssertionError("%r was accepted" % (path,))

    async def test_committed_op_survives_the_daemon_being_killed(self) -> None:
        """
        An op whose append fired is on disk: a daemon killed right after
        (kill -9) loses nothing.
        """
        script = (
            "import os, signal, sys\n"
            "from twisted.internet import reactor\n"
            "from whitebrd.limits import Limits\n"
            "from whitebrd.stores.sqlite import SQLiteStore\n"
            "from tests.test_stores import add\n"
            "store = SQLiteStore(reactor, sys.argv[1], Limits())\n"
            "def acked(appended):\n"
            "    print(appended.text, flush=True)\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "reactor.callWhenRunning(lambda: store.append('killed', 'client-0001',"
            " add('c1', 'i1', (0.1, 0.2))).addCallback(acked))\n"
            "reactor.run()\n"
        )
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        environment = dict(os.environ, PYTHONPATH=root)

        run = subprocess.run(
            [sys.executable, "-c", script, self.path],
            env=environment,
            capture_output=True,
            timeout=30,
        )

        self.assertEqual(run.returncode, -9, run.stderr.decode())
        store = self.make_store()
        self.assertEqual(
            await store.ops_since("killed", 0), [run.stdout.decode().strip()]
        )


def new_key() -> str:
    return "k." + uuid.uuid4().hex[:22]


def new_link() -> str:
    return "l" + uuid.uuid4().hex[:21]


OWNER = "0" * 63 + "1"


class LinkStoreContractTests:
    """
    The access half of L{IStore}: links, owners, locks and the moderation
    records, which every store keeps alike so that a link works the same
    whichever store the daemon runs on.
    """

    addCleanup: Callable[..., None]
    assertEqual: Callable[..., None]
    assertTrue: Callable[..., None]
    assertFalse: Callable[..., None]
    assertIsNone: Callable[..., None]
    assertIn: Callable[..., None]
    assertGreater: Callable[..., None]

    def make_store(self) -> Any:
        raise NotImplementedError()

    def second_store(self, store: Any) -> Any:
        """
        Another store on the same data, as another daemon would hold it;
        the same store where only one process can use the data.
        """
        return store

    async def created(self, store: Any, now: float = 1000.0) -> tuple[str, str]:
        board, edit = new_key(), new_link()
        self.assertTrue(await store.create_board(board, edit, OWNER, now))
        return board, edit

    async def test_edit_link_leads_to_its_board(self) -> None:
        """
        A board made by POST /boards is reached by its edit id, which leads
        to its internal key and owner; an unknown id is a named board.
        """
        store = self.make_store()
        board, edit = await self.created(store)

        target = await store.resolve(edit)
        named = await store.resolve("team-retro-" + uuid.uuid4().hex[:8])

        self.assertEqual(
            (target.kind, target.board, target.owner, target.locked),
            ("edit", board, OWNER, False),
        )
        self.assertEqual((named.kind, named.locked), ("named", False))
        self.assertEqual(named.board, (await store.resolve(named.board)).board)

    async def test_ids_in_use_are_not_given_twice(self) -> None:
        """
        Creating a board refuses an edit id that is a link or a named board
        drawn on already, and a key in use, so no link is ever shared.
        """
        store = self.make_store()
        board, edit = await self.created(store)
        named = new_link()
        await store.append(named, BY, add("c1", "i1"))

        self.assertFalse(await store.create_board(new_key(), edit, OWNER, 1.0))
        self.assertFalse(await store.create_board(board, new_link(), OWNER, 1.0))
        self.assertFalse(await store.create_board(new_key(), named, OWNER, 1.0))
        self.assertEqual((await store.resolve(edit)).board, board)

    async def test_view_links_lead_to_the_board_until_revoked(self) -> None:
        """
        A view link leads to the board with its expiry; revoked, it is gone,
        and it never works for a board without an edit link.
        """
        store = self.make_store()
        board, _ = await self.created(store)
        forever, hourly = new_link(), new_link()

        self.assertTrue(await store.add_view(board, forever, None, 1000.0))
        self.assertTrue(await store.add_view(board, hourly, 4600.0, 1001.0))
        self.assertFalse(await store.add_view(board, forever, None, 1002.0))
        self.assertFalse(await store.add_view("named-" + new_link(), new_link(), None, 1.0))
        views = await store.views(board)
        seen = await store.resolve(hourly)
        removed = await store.remove_view(board, forever)
        again = await store.remove_view(board, forever)
        gone = await store.resolve(forever)

        self.assertEqual(
            [(v.id, v.expires, v.created) for v in views],
            [(forever, None, 1000.0), (hourly, 4600.0, 1001.0)],
        )
        self.assertEqual((seen.kind, seen.board, seen.expires), ("view", board, 4600.0))
        self.assertEqual((removed, again), (True, False))
        self.assertEqual((gone.kind, gone.reason, gone.board), ("gone", "revoked", None))
        self.assertEqual([v.id for v in await store.views(board)], [hourly])

    async def test_rotation_ends_every_earlier_link_and_keeps_the_drawing(self) -> None:
        """
        Rotating gives the board a new edit id: the old edit id and every
        view link are gone, the new id leads to the same drawing.
        """
        store = self.make_store()
        board, edit = await self.created(store)
        view, fresh = new_link(), new_link()
        await store.add_view(board, view, None, 1000.0)
        await store.append(board, BY, add("c1", "i1"))

        self.assertTrue(await store.rotate(board, fresh))
        self.assertFalse(await store.rotate(board, view))
        self.assertFalse(await store.rotate("named-" + new_link(), new_link()))

        old, viewed, new = [await store.resolve(link) for link in (edit, view, fresh)]
        self.assertEqual((old.kind, old.reason), ("gone", "replaced"))
        self.assertEqual((viewed.kind, viewed.reason), ("gone", "revoked"))
        self.assertEqual((new.kind, new.board, new.owner), ("edit", board, OWNER))
        self.assertEqual([i["id"] for i in (await store.load(board)).items()], ["i1"])
        self.assertEqual(await store.views(board), [])

    async def test_locks_hold_for_named_and_created_boards(self) -> None:
        """
        A lock shows on every link of the board until it is lifted.
        """
        store = self.make_store()
        board, edit = await self.created(store)
        view, named = new_link(), "locked-" + new_link()
        await store.add_view(board, view, None, 1000.0)

        await store.set_locked(board, True, 1000.0)
        await store.set_locked(named, True, 1000.0)
        locked = [(await store.resolve(link)).locked for link in (edit, view, named)]
        await store.set_locked(named, False, 1001.0)

        self.assertEqual(locked, [True, True, True])
        self.assertFalse((await store.resolve(named)).locked)
        self.assertTrue((await store.resolve(edit)).locked)

    async def test_delete_removes_the_drawing_and_its_links(self) -> None:
        """
        A deleted board's links are gone and its drawing with them; a named
        board starts again from empty.
        """
        store = self.make_store()
        board, edit = await self.created(store)
        view, named = new_link(), "deleted-" + new_link()
        await store.add_view(board, view, None, 1000.0)
        for key in (board, named):
            await store.append(key, BY, add("c1", "i1"))
            await store.touch(key, 1000.0, 0)

        await store.delete(board)
        await store.delete(named)

        for link in (edit, view):
            target = await store.resolve(link)
            self.assertEqual((target.kind, target.reason), ("gone", "deleted"))
        for key in (board, named):
            self.assertEqual((await store.load(key)).seq, 0)
            self.assertIsNone(await store.board_info(key))
        self.assertEqual((await store.resolve(named)).kind, "named")
        self.assertEqual((await store.append(named, BY, add("c1", "i1"))).seq, 1)

    async def test_boards_are_listed_with_their_figures(self) -> None:
        """
        The admin list shows each board's seq, items, size, times and lock,
        most recently active first.
        """
        store = self.make_store()
        board, _ = await self.created(store, now=2_000_000_000.0)
        named = "listed-" + new_link()
        await store.append(named, BY, add("c1", "i1"))
        await store.append(named, BY, add("c2", "i2"))
        await store.append(named, BY, erase("c3", "i1"))
        await store.touch(named, 2_000_000_100.0, 2)
        await store.set_locked(named, True, 2_000_000_100.0)

        listed = await store.boards(1000)
        one = await store.board_info(named)

        mine = [info for info in listed if info.board in (board, named)]
        self.assertEqual([info.board for info in mine], [named, board])
        self.assertEqual(mine[0], one)
        self.assertEqual(
            (one.named, one.seq, one.items, one.active, one.locked, one.created),
            (True, 3, 1, 2_000_000_100.0, True, None),
        )
        self.assertGreater(one.bytes, 0)
        self.assertEqual(
            (mine[1].named, mine[1].seq, mine[1].items, mine[1].created),
            (False, 0, 0, 2_000_000_000.0),
        )

    async def test_checkpoints_tell_where_the_last_minutes_start(self) -> None:
        """
        The seq a revert of the last minutes starts from follows the
        checkpoints: ops after it came at the cutoff or within the grain
        before it.
        """
        store = self.make_store()
        board = new_key()
        for n in range(1, 7):
            await store.append(board, BY, add("c%d" % (n,), "i%d" % (n,)))
        # Ops 1-2 came at 100 s, ops 3-4 at 200 s, ops 5-6 at 300 s.
        for at, seq in ((100.0, 0), (200.0, 2), (300.0, 4)):
            await store.touch(board, at, seq)

        found = [await store.seq_at(board, when, 10.0) for when in (50, 105, 150, 250, 400)]

        self.assertEqual(found, [0, 0, 2, 4, 6])

    async def test_history_holds_every_op(self) -> None:
        """
        The history is every op ever appended, oldest first.
        """
        store = self.make_store()
        board = new_key()
        texts = [
            (await store.append(board, BY, add("c%d" % (n,), "i%d" % (n,)))).text
            for n in range(3)
        ]

        self.assertEqual(await store.history(board), texts)

    async def test_access_changes_reach_every_process(self) -> None:
        """
        A change of links, lock or a deletion made through one store is
        told to the access listeners of every store on the same data.
        """
        store = self.make_store()
        other = self.second_store(store)
        heard: list[tuple[Any, bool]] = []
        await other.watch_access(lambda board, deleted: heard.append((board, deleted)))
        board, _ = await self.created(store)

        await store.add_view(board, new_link(), None, 1000.0)
        await store.rotate(board, new_link())
        await store.set_locked(board, True, 1000.0)
        await store.delete(board)
        await wait_for(lambda: len(heard) >= 4)

        self.assertEqual(
            heard, [(board, False), (board, False), (board, False), (board, True)]
        )


class RedisLinkTests(LinkStoreContractTests, TestCase):
    """
    Links on Redis, shared by every daemon on the server.
    """

    def setUp(self) -> None:
        self.redis = shared_redis()

    def make_store(self) -> RedisStore:
        store = RedisStore(reactor, self.redis.url, LIMITS, timeout_seconds=2.0)
        self.addCleanup(store.close)
        return store

    def second_store(self, store: Any) -> RedisStore:
        return self.make_store()

    async def test_delete_leaves_no_key_of_the_board(self) -> None:
        """
        Deleting a board frees everything Redis held for it: drawing,
        sizes, archive and its times, and what recognises resent ops.
        """
        store = RedisStore(
            reactor, self.redis.url, LIMITS, timeout_seconds=2.0, compact_after_ops=2
        )
        self.addCleanup(store.close)
        board = "deleted-" + new_link()
        await store.append(board, BY, add("%s-1" % (BY,), "i1"))
        await store.append(board, BY, add("c2", "i2"))
        await store.append(board, BY, add("%s-3" % (BY,), "i3"))
        await store.idle()
        await store.append(board, BY, add("%s-4" % (BY,), "i4"))
        await store.touch(board, 1000.0, 4)
        kept = {
            key.decode().split("}:", 1)[1].split(":")[0]
            for key in self.redis.command("KEYS", "wb:{%s}:*" % (board,))
        }
        self.assertLessEqual({"sizes", "archived", "recent", "runs", "cids"}, kept)

        await store.delete(board)

        self.assertEqual(self.redis.command("KEYS", "wb:{%s}:*" % (board,)), [])


class SQLiteLinkTests(LinkStoreContractTests, TestCase):
    """
    Links in the embedded SQLite file.
    """

    def make_store(self) -> SQLiteStore:
        path = os.path.abspath(os.path.join(self.mktemp(), "boards.sqlite3"))
        store = SQLiteStore(reactor, path, LIMITS)
        self.addCleanup(store.close)
        return store


class MemoryLinkTests(LinkStoreContractTests, TestCase):
    """
    Links in the tests' memory store, which must behave like the real ones.
    """

    def make_store(self) -> Any:
        from tests.memory_store import MemoryStore

        return MemoryStore()
