# -*- test-case-name: tests.test_stores -*-
"""
What the daemon asks of a store, whichever one keeps the boards.

Two stores implement L{IStore}: L{whitebrd.stores.redis.RedisStore}, which
several daemons share, and L{whitebrd.stores.sqlite.SQLiteStore}, the
embedded default for one daemon.  Both pass the same contract tests
(C{tests/test_stores.py}).  Every method returns a L{Deferred} and none
blocks the reactor; every Deferred fires or fails within the store's
timeout.
"""

from dataclasses import dataclass
from typing import Callable, Optional

from twisted.internet.defer import Deferred
from zope.interface import Attribute, Interface

from whitebrd.frames import Op
from whitebrd.scene import Scene

__all__ = [
    "Appended",
    "IStore",
    "OpListener",
    "StoreUnavailable",
]

OpListener = Callable[[int, str], None]
"""
Called with C{(seq, text)} for each op appended to a board, C{text} being
the op as clients receive it (see L{whitebrd.frames.stored_text}).

Calls come in the reactor thread, in seq order, each op once and with no
gap: a store that lost pub/sub messages (Redis restarted, the subscriber
reconnected) reads the missing ops back from its log or archive before it
goes on, and holds later ops meanwhile.  Only ops missing from the store
itself would be skipped, with an error logged.  An exception raised by a
listener is logged and does not reach the other listeners or the append.
"""


class StoreUnavailable(ConnectionError):
    """
    The store did not answer in time, or is not reachable; nothing was
    written, or what was written is not known.  Clients keep the op and send
    it again, and the C{cid} makes the second try harmless.
    """


@dataclass(frozen=True)
class Appended:
    """
    What a store answers for an accepted op.

    @ivar seq: the seq the op holds on its board.
    @ivar text: the op as clients receive it, with C{seq} and C{by}.
    @ivar duplicate: C{True} when the C{cid} had been applied before, within
        the dedup window: nothing was stored now, and C{seq} is the seq it
        was given the first time (C{text} is then C{None}).
    """

    seq: int
    text: Optional[str]
    duplicate: bool = False


class IStore(Interface):
    """
    Keeps each board's log of ops and its snapshot, and tells a board's
    listeners about every op appended to it, from this process or another.
    """

    name = Attribute("A short name for logs and /healthz: 'redis' or 'sqlite'.")

    def append(board: str, by: str, op: Op) -> "Deferred[Appended]":
        """
        Store C{op} on C{board}, atomically: check its C{cid} against the
        dedup window, check it against the board (an C{add} of an id the
        board shows, an C{extend} or C{erase} of no visible item, a full
        board), assign the next seq, keep it and tell the board's listeners.

        Ops appended through one store without waiting for each other are
        applied in the order of the calls, so an C{extend} sent right after
        its C{add} never finds the item missing.  A refused op takes no seq
        and its C{cid} is not remembered.  A board whose log has grown past
        the store's C{compact_after_ops}, or that was just cleared, is
        compacted in the background afterwards.

        @param by: the sender's client id (it goes into the stored text
            unescaped, so it must match L{whitebrd.frames.CLIENT_ID}).
        @return: a Deferred that fires with an L{Appended}, or fails with an
            L{OpError} (the op is refused; nothing was stored) or
            L{StoreUnavailable}.
        @raise ValueError: at once, for a board id, C{by} or body outside the
            contract (a bug in the caller, not a refusal).
        """

    def load(board: str) -> "Deferred[Scene]":
        """
        The board now: its snapshot with the log's tail folded in.  A board
        never drawn on is an empty L{Scene} at seq 0; loading stores nothing.
        """

    def ops_since(board: str, since: int) -> "Deferred[Optional[list[str]]]":
        """
        The ops after seq C{since}, oldest first, as clients receive them.

        @return: a Deferred firing with the ops' texts (an empty list when
            C{since} is the newest seq), or with C{None} when some of them
            were merged into the snapshot, or C{since} is negative or past
            the newest seq, so that the caller sends the whole state.
        """

    def history(
        board: str, after: int = 0, limit: Optional[int] = None
    ) -> "Deferred[list[str]]":
        """
        The board's ops after seq C{after}, oldest first, as clients receive
        them, whether still in the log or merged into the archive: what a
        replay reads, a page at a time.  Ops dropped from the archive (past
        a retention) are simply not there, so a page may start later than
        C{after + 1}; otherwise pages follow on without a gap.

        @param limit: the most ops to return, at least 1; C{None} for all,
            which costs the whole history.
        @return: a Deferred firing with the texts: fewer than C{limit} only
            when no more ops follow.
        """

    def listen(board: str, listener: OpListener) -> "Deferred[None]":
        """
        Call C{listener} for each op appended to C{board} from now on, by
        any process sharing the store.  Fires once listening has begun, so
        a L{load} issued after it misses nothing; the listener may also be
        called with ops that load then includes (ops at or below its seq),
        which the caller ignores.  Fails with L{StoreUnavailable} when the
        store cannot confirm the subscription in time; the listener is then
        not registered.
        """

    def unlisten(board: str, listener: OpListener) -> None:
        """
        Stop calling C{listener}; the board's subscription ends with its
        last listener.  Unknown listeners are ignored.
        """

    def ping() -> "Deferred[None]":
        """
        Fires when the store answers; fails with L{StoreUnavailable} when it
        does not, in time.
        """

    def close() -> "Deferred[None]":
        """
        Release connections and threads; fires when they are gone.  Calls
        made afterwards fail with L{StoreUnavailable}.
        """

