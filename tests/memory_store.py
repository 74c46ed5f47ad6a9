"""
A store that keeps boards in memory and answers at once, for unit tests of
the layers above the store.

It behaves like the real stores (the same contract tests run against it in
C{tests.test_stores}), so tests built on it check behaviour, not calls.  It
can also be switched off, to play a store that does not answer.
"""

from typing import Optional

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from whitebrd.frames import Op, OpError, stored_text
from whitebrd.limits import Limits
from whitebrd.scene import Scene
from whitebrd.stores import Appended, IStore, OpListener, StoreUnavailable
from whitebrd.stores._shared import drawn_bytes


class _Board:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.points: dict[str, int] = {}
        self.sizes: dict[str, int] = {}
        self.cids: dict[str, int] = {}


@implementer(IStore)
class MemoryStore:
    """
    Boards in a dict; listeners called synchronously, in seq order.

    @ivar available: when C{False}, every call fails with
        L{StoreUnavailable}, as a store that does not answer would.
    @ivar slow_loads: when C{True}, loads wait until L{finish_loads}.
    """

    name = "memory"

    def __init__(self, limits: Optional[Limits] = None) -> None:
        self.limits = limits or Limits()
        self.available = True
        self._held: Optional[list[tuple[Deferred[Appended], str, str, Op]]] = None
        self.slow_loads = False
        self._loads: list[tuple[Deferred[Scene], str]] = []
        self._boards: dict[str, _Board] = {}
        self._listeners: dict[str, list[OpListener]] = {}

    def _check(self) -> None:
        if not self.available:
            raise StoreUnavailable("the memory store is switched off")

    def hold(self) -> None:
        """
        Keep appends waiting, as a slow store would, until L{release} or
        L{fail_held}.
        """
        self._held = []

    def release(self) -> None:
        """
        Apply the waiting appends in the order they were made.
        """
        held, self._held = self._held or [], None
        for waiting, board, by, op in held:
            self.append(board, by, op).chainDeferred(waiting)

    def fail_held(self) -> None:
        """
        Fail the waiting appends as timed out: nothing of them is stored.
        """
        held, self._held = self._held or [], None
        for waiting, _, _, _ in held:
            waiting.errback(StoreUnavailable("the memory store timed out"))

    def append(self, board: str, by: str, op: Op) -> "Deferred[Appended]":
        if self._held is not None:
            waiting: Deferred[Appended] = Deferred()
            self._held.append((waiting, board, by, op))
            return waiting
        try:
            self._check()
            b = self._boards.setdefault(board, _Board())
            if op.cid in b.cids:
                return succeed(Appended(b.cids[op.cid], None, duplicate=True))
            self._refuse(b, op)
        except (OpError, StoreUnavailable) as e:
            return fail(e)
        seq = len(b.log) + 1
        text = stored_text(op.body, seq, by)
        b.log.append(text)
        b.cids[op.cid] = seq
        if op.kind == "add":
            b.points[op.item_ids[0]] = op.points
            b.sizes[op.item_ids[0]] = drawn_bytes(op)
        elif op.kind == "extend":
            b.points[op.item_ids[0]] += op.points
            b.sizes[op.item_ids[0]] += drawn_bytes(op)
        elif op.kind == "erase":
            for item_id in op.item_ids:
                b.points.pop(item_id, None)
                b.sizes.pop(item_id, None)
        else:
            b.points.clear()
            b.sizes.clear()
        for listener in list(self._listeners.get(board, ())):
            listener(seq, text)
        return succeed(Appended(seq, text))

    def _refuse(self, b: _Board, op: Op) -> None:
        ids = op.item_ids
        if op.kind == "add" and ids[0] in b.points:
            raise OpError("duplicate_id", "the board holds item %s already" % (ids[0],), op.cid)
        if op.kind == "add" and len(b.points) >= self.limits.max_items_per_board:
            raise OpError("board_full", "the board is full", op.cid)
        if op.kind == "extend" and ids[0] not in b.points:
            raise OpError("unknown_item", "no item %s on the board" % (ids[0],), op.cid)
        if op.kind == "extend" and b.points[ids[0]] + op.points > self.limits.max_points_per_item:
            raise OpError("too_many_points", "the path is too long", op.cid)
        if op.kind == "erase" and not any(i in b.points for i in ids):
            raise OpError("unknown_item", "none of the items is on the board", op.cid)
        if op.kind in ("add", "extend"):
            if sum(b.points.values()) + op.points > self.limits.max_points_per_board:
                raise OpError("board_full", "the board holds its limit of points", op.cid)
            if sum(b.sizes.values()) + drawn_bytes(op) > self.limits.max_bytes_per_board:
                raise OpError("board_full", "the board holds its limit of bytes", op.cid)

    def load(self, board: str) -> "Deferred[Scene]":
        if self.slow_loads:
            waiting: Deferred[Scene] = Deferred()
            self._loads.append((waiting, board))
            return waiting
        return self._load(board)

    def finish_loads(self) -> None:
        """
        Let the loads that wait go through.
        """
        self.slow_loads = False
        loads, self._loads = self._loads, []
        for d, board in loads:
            self._load(board).chainDeferred(d)

    def _load(self, board: str) -> "Deferred[Scene]":
        try:
            self._check()
        except StoreUnavailable as e:
            return fail(e)
        scene = Scene()
        for text in self._boards.get(board, _Board()).log:
            scene.apply_text(text)
        return succeed(scene)

    def ops_since(self, board: str, since: int) -> "Deferred[Optional[list[str]]]":
        try:
            self._check()
        except StoreUnavailable as e:
            return fail(e)
        log = self._boards.get(board, _Board()).log
        if since > len(log):
            return succeed(None)
        return succeed(log[since:])

    def listen(self, board: str, listener: OpListener) -> "Deferred[None]":
        self._listeners.setdefault(board, []).append(listener)
        return succeed(None)

    def unlisten(self, board: str, listener: OpListener) -> None:
        listeners = self._listeners.get(board, [])
        if listener in listeners:
            listeners.remove(listener)
        if not listeners:
            self._listeners.pop(board, None)

    def listening(self, board: str) -> int:
        """
        How many listeners C{board} has: a board that left memory has none.
        """
        return len(self._listeners.get(board, ()))

    def ping(self) -> "Deferred[None]":
        try:
            self._check()
        except StoreUnavailable as e:
            return fail(e)
        return succeed(None)

    def close(self) -> "Deferred[None]":
        return succeed(None)
