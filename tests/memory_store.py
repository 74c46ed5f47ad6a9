"""
A store that keeps boards in memory and answers at once, for unit tests of
the layers above the store.

It behaves like the real stores (the same contract tests run against it in
C{tests.test_stores}), so tests built on it check behaviour, not calls.  It
can also be switched off, to play a store that does not answer.
"""

from typing import Any, Optional

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from whitebrd.frames import Op, OpError, stored_text
from whitebrd.limits import Limits
from whitebrd.scene import Scene
from whitebrd.stores import (
    AccessListener,
    Appended,
    BoardInfo,
    IStore,
    LinkTarget,
    OpListener,
    StoreUnavailable,
    ViewLink,
)
from whitebrd.stores._links import (
    VIEW_GRACE_SECONDS,
    check_link,
    newest_before,
    seq_from_checkpoints,
)
from whitebrd.stores._shared import check_board, drawn_bytes


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
        # Links: id -> ("e" | "v", board) or ("x", reason).
        self._links: dict[str, tuple[str, str]] = {}
        self._records: dict[str, dict[str, Any]] = {}
        self._views: dict[str, dict[str, tuple[Optional[float], float]]] = {}
        self._times: dict[str, list[tuple[float, int]]] = {}
        self._access_listeners: list[AccessListener] = []

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
        elif op.kind == "clear":
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
        if op.kind in ("extend", "update") and ids[0] not in b.points:
            raise OpError("unknown_item", "no item %s on the board" % (ids[0],), op.cid)
        if op.kind == "extend" and b.points[ids[0]] + op.points > self.limits.max_points_per_item:
            raise OpError("too_many_points", "the path is too long", op.cid)
        if op.kind in ("erase", "move") and not any(i in b.points for i in ids):
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

    def history(
        self, board: str, after: int = 0, limit: Optional[int] = None
    ) -> "Deferred[list[str]]":
        try:
            self._check()
        except StoreUnavailable as e:
            return fail(e)
        log = self._boards.get(board, _Board()).log[max(0, after) :]
        return succeed(log if limit is None else log[:limit])

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

    # Access

    def _record(self, board: str) -> dict[str, Any]:
        return self._records.setdefault(board, {})

    def _changed(self, board: str, deleted: bool = False) -> None:
        for listener in list(self._access_listeners):
            listener(board, deleted)

    def _answer(self, value: Any) -> "Deferred[Any]":
        try:
            self._check()
        except StoreUnavailable as e:
            return fail(e)
        return succeed(value)

    def create_board(
        self, board: str, edit: str, owner: str, now: float
    ) -> "Deferred[bool]":
        check_link(edit)
        check_board(board)
        taken = (
            edit in self._links
            or edit in self._records
            or bool(self._boards.get(edit, _Board()).log)
            or board in self._records
        )
        if not taken:
            self._links[edit] = ("e", board)
            self._records[board] = {"edit": edit, "owner": owner, "created": now}
        return self._answer(not taken)

    def resolve(self, link: str) -> "Deferred[LinkTarget]":
        check_link(link)
        pointer = self._links.get(link)
        if pointer is None:
            record = self._records.get(link, {})
            return self._answer(
                LinkTarget("named", link, locked=bool(record.get("locked")))
            )
        kind, target = pointer
        if kind == "x":
            return self._answer(LinkTarget("gone", reason=target))
        record = self._records.get(target, {})
        locked, owner = bool(record.get("locked")), record.get("owner")
        if kind == "e":
            if record.get("edit") != link:
                return self._answer(LinkTarget("gone", reason="replaced"))
            return self._answer(LinkTarget("edit", target, locked, owner))
        view = self._views.get(target, {}).get(link)
        if view is None:
            return self._answer(LinkTarget("gone", reason="revoked"))
        return self._answer(LinkTarget("view", target, locked, owner, view[0]))

    def add_view(
        self, board: str, view: str, expires: Optional[float], now: float
    ) -> "Deferred[bool]":
        check_link(view)
        record = self._records.get(board)
        if record is None or "edit" not in record or view in self._links:
            return self._answer(False)
        views = self._views.setdefault(board, {})
        for old, (ends, _) in list(views.items()):
            if ends is not None and ends + VIEW_GRACE_SECONDS < now:
                del views[old]
                self._links.pop(old, None)
        views[view] = (expires, now)
        self._links[view] = ("v", board)
        self._changed(board)
        return self._answer(True)

    def remove_view(self, board: str, view: str) -> "Deferred[bool]":
        had = self._views.get(board, {}).pop(view, None) is not None
        if had:
            self._links[view] = ("x", "revoked")
            self._changed(board)
        return self._answer(had)

    def views(self, board: str) -> "Deferred[list[ViewLink]]":
        views = self._views.get(board, {})
        return self._answer(
            sorted(
                (ViewLink(v, ends, made) for v, (ends, made) in views.items()),
                key=lambda link: (link.created, link.id),
            )
        )

    def rotate(self, board: str, edit: str) -> "Deferred[bool]":
        check_link(edit)
        record = self._records.get(board)
        if record is None or "edit" not in record or edit in self._links:
            return self._answer(False)
        self._links[record["edit"]] = ("x", "replaced")
        for view in self._views.pop(board, {}):
            self._links[view] = ("x", "revoked")
        record["edit"] = edit
        self._links[edit] = ("e", board)
        self._changed(board)
        return self._answer(True)

    def set_locked(self, board: str, locked: bool, now: float) -> "Deferred[None]":
        check_board(board)
        record = self._record(board)
        record["locked"] = locked
        record.setdefault("indexed", now)
        self._changed(board)
        return self._answer(None)

    def delete(self, board: str) -> "Deferred[None]":
        check_board(board)
        record = self._records.pop(board, {})
        if "edit" in record:
            self._links[record["edit"]] = ("x", "deleted")
        for view in self._views.pop(board, {}):
            self._links[view] = ("x", "deleted")
        self._boards.pop(board, None)
        self._times.pop(board, None)
        self._changed(board, deleted=True)
        return self._answer(None)

    def touch(self, board: str, now: float, seq: int) -> "Deferred[None]":
        check_board(board)
        self._record(board)["active"] = now
        self._times.setdefault(board, []).append((now, seq))
        return self._answer(None)

    def seq_at(self, board: str, when: float, grain_seconds: float) -> "Deferred[int]":
        points = sorted(self._times.get(board, []))
        before, after = newest_before(points, when)
        current = len(self._boards.get(board, _Board()).log)
        return self._answer(
            seq_from_checkpoints(before, after, when, grain_seconds, current)
        )

    def _info(self, board: str) -> Optional[BoardInfo]:
        record = self._records.get(board)
        log = self._boards.get(board, _Board()).log
        if record is None and not log:
            return None
        record = record or {}
        scene = Scene()
        for text in log:
            scene.apply_text(text)
        return BoardInfo(
            board=board,
            named="edit" not in record,
            seq=len(log),
            items=len(scene),
            bytes=len(scene.snapshot_text()) + sum(len(t) for t in log),
            created=record.get("created"),
            active=record.get("active"),
            locked=bool(record.get("locked")),
        )

    def boards(self, limit: int) -> "Deferred[list[BoardInfo]]":
        found = [self._info(board) for board in self._records]
        infos = [info for info in found if info is not None]

        def recency(info: BoardInfo) -> float:
            return max(info.active or 0.0, info.created or 0.0)

        infos.sort(key=recency, reverse=True)
        return self._answer(infos[:limit])

    def board_info(self, board: str) -> "Deferred[Optional[BoardInfo]]":
        return self._answer(self._info(board))

    def watch_access(self, listener: AccessListener) -> "Deferred[None]":
        self._access_listeners.append(listener)
        return succeed(None)
