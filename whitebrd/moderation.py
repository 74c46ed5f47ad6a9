# -*- test-case-name: tests.test_moderation -*-
"""
Cleaning up after vandals: who drew what on a board, and undoing one
person's last minutes while everyone else's work stays.

A revert is made of new ops, appended like anyone's, so every screen on the
board follows it live and the history keeps both the damage and its repair:
an C{erase} of what the person added, then C{add}s that bring back what they
erased, cleared or drew over, in the order those items were first drawn.
Items somebody else has since re-added, erased or replaced are left as they
are.

"The last N minutes" is found from the checkpoints that daemons leave while
a board is drawn on (L{Activity}), at most L{GRAIN_SECONDS} apart: a revert
may also undo that person's ops from up to that long before the cutoff,
never fewer than asked.
"""

import copy
import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Optional

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from whitebrd.frames import Op, OpError, OpFrame, dumps, parse_frame
from whitebrd.limits import Limits
from whitebrd.stores import IStore, StoreUnavailable

__all__ = ["Activity", "GRAIN_SECONDS", "MODERATOR", "Revert", "authors", "plan_revert"]

# The longest gap between two checkpoints of a board being drawn on.
GRAIN_SECONDS = 10.0

# The client id a revert's ops carry as their author.
MODERATOR = "moderator"


class Activity:
    """
    Leaves a checkpoint and the time of last activity in the store when a
    board is drawn on: at its first op here, then at most every
    C{grain_seconds}.
    """

    log = Logger()

    def __init__(
        self, store: IStore, clock: IReactorTime, grain_seconds: float = GRAIN_SECONDS
    ) -> None:
        self._store = store
        self._clock = clock
        self._grain = grain_seconds
        self._last: dict[str, float] = {}

    def appended(self, board: str, seq: int) -> None:
        """
        Op C{seq} of C{board} was just stored by this daemon.
        """
        now = self._clock.seconds()
        last = self._last.get(board)
        if last is not None and now - last < self._grain:
            return
        if len(self._last) > 10_000:
            self._last = {b: t for b, t in self._last.items() if now - t < self._grain}
        self._last[board] = now
        d = self._store.touch(board, now, seq - 1)
        d.addErrback(self._failed, board)

    def _failed(self, failure: Any, board: str) -> None:
        # The next op tries again; a missed checkpoint only widens a revert.
        self._last.pop(board, None)
        if not failure.check(StoreUnavailable):
            self.log.failure(
                "Noting activity on board {board} failed", failure, board=board
            )


@dataclass
class Revert:
    """
    What undoing one person's ops takes.

    @ivar erase: ids of visible items to remove: theirs, and others' they
        changed (which come back as they were).
    @ivar restore: items to add back, as they were before the person
        touched them, bottom first.
    """

    erase: list[str] = field(default_factory=list)
    restore: list[dict[str, Any]] = field(default_factory=list)


def plan_revert(texts: list[str], start: int, author: str) -> Revert:
    """
    Plan undoing everything C{author} did after seq C{start}.

    @param texts: the board's whole history, as stored ops, oldest first.
    """
    current: dict[str, dict[str, Any]] = {}
    first_drawn: dict[str, int] = {}
    mine: set[str] = set()
    saved: dict[str, dict[str, Any]] = {}

    for n, text in enumerate(texts):
        op = json.loads(text)
        theirs = op["seq"] > start and op["by"] == author
        kind = op["op"]
        if kind == "add":
            item = op["item"]
            item_id = item["id"]
            current.pop(item_id, None)
            current[item_id] = copy.deepcopy(item)
            first_drawn.setdefault(item_id, n)
            if theirs:
                mine.add(item_id)
            else:
                # Someone else's item now holds the id: theirs stays.
                mine.discard(item_id)
                saved.pop(item_id, None)
        elif kind == "extend":
            item = current.get(op["id"])
            if item is None:
                continue
            if theirs and op["id"] not in mine:
                saved.setdefault(op["id"], copy.deepcopy(item))
            item["pts"].extend(op["pts"])
        elif kind in ("erase", "clear"):
            ids = op["ids"] if kind == "erase" else list(current)
            for item_id in ids:
                item = current.pop(item_id, None)
                if item is None:
                    continue
                if not theirs:
                    mine.discard(item_id)
                    saved.pop(item_id, None)
                elif item_id not in mine:
                    saved.setdefault(item_id, item)
                else:
                    mine.discard(item_id)

    plan = Revert()
    plan.erase = [item_id for item_id in current if item_id in mine or item_id in saved]
    plan.restore = [
        saved[item_id] for item_id in sorted(saved, key=lambda i: first_drawn.get(i, 0))
    ]
    return plan


def revert_ops(plan: Revert, limits: Limits) -> list[Op]:
    """
    The ops that carry out C{plan}, checked like a client's: erases of at
    most C{max_ids_per_erase} ids, and each restored item as an C{add}
    with its points split into C{extend}s when it has more than one op may
    carry.
    """
    tag = "rv-" + secrets.token_urlsafe(6)
    values: list[dict[str, Any]] = []

    def cid() -> str:
        return "%s-%d" % (tag, len(values) + 1)

    step = limits.max_ids_per_erase
    for start in range(0, len(plan.erase), step):
        values.append(
            {"cid": cid(), "op": "erase", "ids": plan.erase[start : start + step]}
        )
    per_op = 2 * limits.max_points_per_op
    for item in plan.restore:
        pts = item["pts"]
        head = pts[:per_op] if item["kind"] == "path" else pts
        values.append({"cid": cid(), "op": "add", "item": dict(item, pts=head)})
        if item["kind"] == "path":
            for at in range(per_op, len(pts), per_op):
                values.append(
                    {
                        "cid": cid(),
                        "op": "extend",
                        "id": item["id"],
                        "pts": pts[at : at + per_op],
                    }
                )
    ops: list[Op] = []
    for start in range(0, len(values), limits.max_ops_per_frame):
        frame = parse_frame(
            dumps(
                {"t": "ops", "ops": values[start : start + limits.max_ops_per_frame]}
            ),
            limits,
        )
        assert isinstance(frame, OpFrame)
        ops.extend(op for op in frame.ops if isinstance(op, Op))
    return ops


async def revert(
    store: IStore, limits: Limits, board: str, author: str, since: float
) -> dict[str, int]:
    """
    Undo everything C{author} did on C{board} since the time C{since}.

    @return: how many items were erased and restored, and the seq the
        revert started after.
    """
    start = await store.seq_at(board, since, GRAIN_SECONDS)
    texts = await store.history(board)
    plan = plan_revert(texts, start, author)
    erased = restored = 0
    for op in revert_ops(plan, limits):
        try:
            await store.append(board, MODERATOR, op)
        except OpError:
            # Somebody changed those items meanwhile: their change stands.
            continue
        if op.kind == "erase":
            erased += len(op.item_ids)
        elif op.kind == "add":
            restored += 1
    return {"from_seq": start, "erased": erased, "restored": restored}


def authors(texts: list[str]) -> list[dict[str, Any]]:
    """
    Who drew on a board: per client id, how many ops, how many of the
    visible items, and the text of their visible text items; most ops
    first.
    """
    drawn_by: dict[str, str] = {}
    visible: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for text in texts:
        op = json.loads(text)
        counts[op["by"]] = counts.get(op["by"], 0) + 1
        kind = op["op"]
        if kind == "add":
            visible.pop(op["item"]["id"], None)
            visible[op["item"]["id"]] = op["item"]
            drawn_by[op["item"]["id"]] = op["by"]
        elif kind == "erase":
            for item_id in op["ids"]:
                visible.pop(item_id, None)
        elif kind == "clear":
            visible.clear()
    people: dict[str, dict[str, Any]] = {
        by: {"client": by, "ops": n, "items": 0, "texts": []}
        for by, n in counts.items()
    }
    for item_id, item in visible.items():
        person = people[drawn_by[item_id]]
        person["items"] += 1
        if item["kind"] == "text":
            person["texts"].append(item["text"])
    return sorted(people.values(), key=lambda p: (-p["ops"], p["client"]))


def last_minutes(clock: IReactorTime, minutes: Optional[float]) -> float:
    """
    The time C{minutes} ago.
    """
    return clock.seconds() - 60.0 * float(minutes or 0)
