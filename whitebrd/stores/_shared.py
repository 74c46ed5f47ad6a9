# -*- test-case-name: tests.test_stores -*-
"""
What the Redis and SQLite stores share, so that both refuse the same ops with
the same words, keep the same archive format and compact by the same rule.

Nothing here does I/O: the stores call these from the reactor thread or from
a worker thread alike.
"""

import re
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, TypeVar

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure

from whitebrd.frames import BOARD_KEY, CLIENT_ID, Op, OpError
from whitebrd.limits import Limits
from whitebrd.scene import Scene

__all__ = [
    "Compactor",
    "Held",
    "MAX_RUNS_PER_PREFIX",
    "check_append",
    "check_board",
    "compaction",
    "counted_cid",
    "drawn_bytes",
    "fold",
    "folded",
    "pack_chunk",
    "refusal",
    "runs_hold",
    "runs_with",
    "seq_of",
    "unpack_chunk",
]

_T = TypeVar("_T")

_SEQ_PREFIX = '{"seq":'

# Folding a board bigger than this (snapshot plus tail, in characters) runs
# in the reactor's thread pool, so that opening or compacting a large board
# holds up neither the reactor nor the other boards' database work.
FOLD_IN_THREAD_CHARS = 256 * 1024

# How long a board whose compaction failed waits before the next try, so
# that a store refusing writes (Redis out of memory, a full disk) is not
# asked again on every append and the log is not flooded.
_COMPACT_RETRY_SECONDS = 10.0


def check_board(board: str) -> None:
    """
    Refuse a board key outside the contract before it reaches a key or a
    query: a key with C{}} in it would break Redis hash tags.

    @raise ValueError: for a key that does not match L{BOARD_KEY} (a named
        board's id, or the internal key of a board made by C{POST /boards}).
    """
    if not isinstance(board, str) or not BOARD_KEY.fullmatch(board):
        raise ValueError("board key must match %s, got %r" % (BOARD_KEY.pattern, board))


def check_append(board: str, by: str, op: Op) -> None:
    """
    Check what the stores concatenate into stored text without escaping.

    @raise ValueError: for a bad board id, a C{by} that is not a client id
        (it goes into the JSON text as it is) or a body that is not a JSON
        object.
    """
    check_board(board)
    if not isinstance(by, str) or not CLIENT_ID.fullmatch(by):
        raise ValueError("by must match %s, got %r" % (CLIENT_ID.pattern, by))
    if not op.body.startswith("{") or len(op.body) < 3:
        raise ValueError("op body must be a JSON object, got %r" % (op.body[:40],))


# A cid as pages make them: a prefix (their client id and page id), a dash
# and a counter without leading zeros, small enough for a Lua number to hold
# exactly.  "a-7" and "a-07" are two cids, so only one of them may count.
_COUNTED_CID = re.compile(r"(.+)-([1-9][0-9]{0,14})")


def counted_cid(cid: str) -> tuple[str, int]:
    """
    Split a cid of the form C{<prefix>-<counter>}, so that a store can keep
    the counters it applied as ranges per prefix rather than each cid.

    @return: the prefix and the counter, or C{("", 0)} for a cid of another
        form, which a store remembers whole.
    """
    match = _COUNTED_CID.fullmatch(cid)
    if match is None:
        return "", 0
    return match.group(1), int(match.group(2))


# How many ranges of counters a cid prefix may keep per dedup window; a
# page's own run into a few at most, and the cids of a client scattering
# its counters on purpose are kept whole past this.
MAX_RUNS_PER_PREFIX = 32


def runs_hold(runs: Optional[str], counter: int) -> bool:
    """
    Whether C{counter} is in C{runs}, counter ranges as the stores keep
    them: C{"lo-hi,lo-hi"}, ascending, neither overlapping nor touching.
    The Redis append script does the same in Lua.
    """
    for run in (runs or "").split(","):
        if run:
            low, _, high = run.partition("-")
            if counter < int(low):
                return False
            if counter <= int(high):
                return True
    return False


def runs_with(runs: Optional[str], counter: int) -> tuple[str, int]:
    """
    C{runs} with C{counter} added, joined to the ranges it touches.

    @return: the new ranges and how many there are.
    """
    merged: list[list[int]] = []
    pairs = [tuple(map(int, run.split("-"))) for run in (runs or "").split(",") if run]
    for low, high in sorted(pairs + [(counter, counter)]):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return ",".join("%d-%d" % (low, high) for low, high in merged), len(merged)


def drawn_bytes(op: Op) -> int:
    """
    What C{op} adds to its board's size, for L{Limits.max_bytes_per_board}:
    the UTF-8 bytes of an C{add} or C{extend} as stored, nothing for the
    others.  Erasing an item gives back what its ops added; a C{clear}
    gives back everything.
    """
    if op.kind in ("add", "extend"):
        return len(op.body.encode("utf-8"))
    return 0


def refusal(op: Op, code: str, limits: Limits) -> OpError:
    """
    The error a store answers when the board refuses C{op}.

    The stores detect the case (a Lua script, an SQL transaction) and name
    it by C{code}; the sentence the user reads is written here once.

    @param code: C{duplicate_id}, C{unknown_item}, C{board_full} (items),
        C{board_full:points}, C{board_full:bytes} or C{too_many_points}; the
        part after a colon says which limit, and is not part of the code
        the client receives.
    """
    code, _, which = code.partition(":")
    first = op.item_ids[0] if op.item_ids else ""
    if code == "duplicate_id":
        message = (
            "item %s is on the board already; an add needs an id the board "
            "does not show" % (first,)
        )
    elif code == "unknown_item" and op.kind in ("erase", "move"):
        verb = "erased" if op.kind == "erase" else "moved"
        if len(op.item_ids) == 1:
            message = "item %s is not on the board, so it cannot be %s" % (first, verb)
        else:
            message = "none of the %d items to %s is on the board" % (
                len(op.item_ids),
                op.kind,
            )
    elif code == "unknown_item":
        message = (
            "item %s is not on the board (erased, cleared or never added), so it "
            "cannot be %s" % (first, "changed" if op.kind == "update" else "extended")
        )
    elif code == "board_full" and which == "points":
        message = (
            "the board holds its limit of %d points; erase some strokes before "
            "drawing more" % (limits.max_points_per_board,)
        )
    elif code == "board_full" and which == "bytes":
        message = (
            "the board holds its limit of %d bytes of drawing; erase some before "
            "drawing more" % (limits.max_bytes_per_board,)
        )
    elif code == "board_full":
        message = (
            "the board holds its limit of %d items; erase some before drawing "
            "more" % (limits.max_items_per_board,)
        )
    elif code == "too_many_points":
        message = (
            "item %s would pass the limit of %d points per item; start a new "
            "stroke" % (first, limits.max_points_per_item)
        )
    else:
        message = "the board refused the op (%s)" % (code,)
    return OpError(code, message, op.cid)


def seq_of(text: str) -> int:
    """
    The seq of a stored op, read from its C{{"seq":N,} prefix without
    decoding the rest.

    @raise ValueError: when C{text} does not start that way.
    """
    if not text.startswith(_SEQ_PREFIX):
        raise ValueError("stored op does not start with its seq: %r" % (text[:40],))
    return int(text[len(_SEQ_PREFIX) : text.index(",", len(_SEQ_PREFIX))])


def fold(snapshot: Optional[str], texts: Iterable[str]) -> Scene:
    """
    The board a snapshot and the ops after it make.
    """
    scene = Scene.from_snapshot(snapshot)
    for text in texts:
        scene.apply_text(text)
    return scene


def compaction(snapshot: Optional[str], texts: list[str]) -> tuple[int, str, bytes]:
    """
    What compacting a board writes: the new snapshot's seq and text, and
    the archive chunk of the ops folded into it.
    """
    scene = fold(snapshot, texts)
    return scene.seq, scene.snapshot_text(), pack_chunk(texts)


def folded(
    reactor: Any,
    snapshot: Optional[str],
    texts: list[str],
    work: Callable[[Optional[str], list[str]], _T],
) -> "Deferred[_T]":
    """
    Run C{work} (L{fold} or L{compaction}) on a board: at once when the
    board is small, in the reactor's thread pool when it is large.

    @param reactor: provides C{getThreadPool}.
    """
    size = len(snapshot or "") + sum(len(text) for text in texts)
    if size < FOLD_IN_THREAD_CHARS:
        try:
            return succeed(work(snapshot, texts))
        except Exception:
            return fail()
    return deferToThreadPool(reactor, reactor.getThreadPool(), work, snapshot, texts)


def pack_chunk(texts: list[str]) -> bytes:
    """
    Ops merged out of a log, as one archive chunk: their texts as UTF-8 JSON
    lines, zlib-compressed.  Compact JSON holds no raw newline, so a line is
    an op.
    """
    return zlib.compress("\n".join(texts).encode("utf-8"), 6)


def unpack_chunk(chunk: "bytes | str") -> list[str]:
    """
    The op texts of an archive chunk, oldest first.

    @param chunk: what L{pack_chunk} made.  A client that decodes replies as
        UTF-8 may hand it over as C{str} when the bytes happen to be valid
        UTF-8; strict decoding is reversible, so it is encoded back.
    """
    if isinstance(chunk, str):
        chunk = chunk.encode("utf-8")
    data = zlib.decompress(chunk).decode("utf-8")
    return data.split("\n") if data else []


@dataclass(frozen=True)
class Held:
    """
    What a board holds, in bytes, for the compaction rule.

    @ivar tail: the ops of the log past the snapshot, as stored.
    @ivar snapshot: the snapshot's text.
    @ivar drawn: what the visible items take (L{drawn_bytes} of the ops
        that made them).
    @ivar erased: what the items erased since the last fold took, alike.
    """

    tail: int
    snapshot: int
    drawn: int
    erased: int


class Compactor:
    """
    When and how often a store folds a board's log into its snapshot.

    A board is compacted after an append leaves its log tail at
    C{compact_after_ops} ops or more, after every C{clear} (whose tail
    folds into a nearly empty snapshot), and, once the board holds
    C{compact_after_bytes} or more, when its log passes half the size of
    its snapshot or what was erased since the last fold passes a third of
    what it still shows.  The byte rules keep what a board holds within
    about one and a half times what it shows, while the snapshot, growing
    with each fold, makes a board that is only drawn on be folded a few
    times over its life.  At most one compaction runs per board in this
    process; one asked for meanwhile runs once the current one is done.  A
    failed compaction loses nothing (the log is left as it was) and is
    logged; the board is not tried again for a few seconds.

    @ivar compact_after_ops: the tail length that triggers a compaction.
    @ivar compact_after_bytes: the fewest bytes (log and snapshot) a board
        holds before the byte rules fold it, so that a small board is not
        compacted every few ops.
    """

    log = Logger()

    def __init__(
        self,
        reactor: IReactorTime,
        compact_after_ops: int,
        compact: Callable[[str], "Deferred[None]"],
        describe: Callable[[], str],
        compact_after_bytes: int = 8 * 1024,
    ) -> None:
        """
        @param compact: folds one board; its Deferred fails when it could not.
        @param describe: names the store for log messages.
        """
        if compact_after_ops < 1:
            raise ValueError(
                "compact_after_ops must be at least 1, got %r" % (compact_after_ops,)
            )
        if compact_after_bytes < 1:
            raise ValueError(
                "compact_after_bytes must be at least 1, got %r" % (compact_after_bytes,)
            )
        self.compact_after_ops = compact_after_ops
        self.compact_after_bytes = compact_after_bytes
        self._reactor = reactor
        self._compact = compact
        self._describe = describe
        self._running: dict[str, "Deferred[None]"] = {}
        self._again: set[str] = set()
        self._resting: dict[str, float] = {}
        self._idle_waiters: list["Deferred[None]"] = []
        self.closed = False

    def due(self, kind: str, tail: int, held: Held) -> bool:
        """
        Whether a board whose last op was a C{kind} is due a compaction.

        @param tail: how many ops the log holds past the snapshot.
        @param held: the board's sizes after that op.
        """
        if kind == "clear" or tail >= self.compact_after_ops:
            return True
        if held.tail + held.snapshot < self.compact_after_bytes:
            return False
        return 2 * held.tail > held.snapshot or 3 * held.erased > held.drawn

    def after_append(self, board: str, kind: str, tail: int, held: Held) -> None:
        """
        Start a compaction of C{board} in the background if the op just
        appended calls for one (see L{due}).
        """
        if self.closed or not self.due(kind, tail, held):
            return
        if self._resting.get(board, 0.0) > self._reactor.seconds():
            return
        if board in self._running:
            self._again.add(board)
            return
        self._start(board)

    def _start(self, board: str) -> None:
        d = self._compact(board)
        self._running[board] = d
        d.addErrback(self._failed, board)
        d.addBoth(self._done, board)

    def _failed(self, failure: Failure, board: str) -> None:
        if self.closed:
            return
        self._resting[board] = self._reactor.seconds() + _COMPACT_RETRY_SECONDS
        self.log.warn(
            "Compacting board {board} in {store} failed, its log is kept as it "
            "was and compaction is tried again later: {why}",
            board=board,
            store=self._describe(),
            why=failure.getErrorMessage(),
        )

    def _done(self, _: object, board: str) -> None:
        del self._running[board]
        if board in self._again and not self.closed:
            self._again.discard(board)
            self._start(board)
            return
        if not self._running:
            waiters, self._idle_waiters = self._idle_waiters, []
            for waiter in waiters:
                waiter.callback(None)

    def idle(self) -> "Deferred[None]":
        """
        Fires once no compaction runs in this store any more.
        """
        if not self._running:
            return succeed(None)
        waiter: "Deferred[None]" = Deferred()
        self._idle_waiters.append(waiter)
        return waiter

    def close(self) -> None:
        """
        Start no more compactions, and forget the ones asked for.
        """
        self.closed = True
        self._again.clear()
