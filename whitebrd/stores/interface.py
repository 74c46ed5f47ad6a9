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
    "AccessListener",
    "Appended",
    "BoardInfo",
    "IStore",
    "LinkTarget",
    "OpListener",
    "StoreUnavailable",
    "ViewLink",
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


AccessListener = Callable[[Optional[str], bool], None]
"""
Called with C{(board, deleted)} when any process sharing the store changed
who may reach C{board} (a view link made or revoked, the edit link rotated,
the board locked or unlocked: C{deleted} false) or deleted it (C{deleted}
true); called with C{(None, False)} when changes may have been missed (the
store's notification channel reconnected), so that the listener checks
everything it holds.
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
        was given the first time, or, once that op was folded into the
        board's snapshot, the snapshot's seq (C{text} is then C{None}).
    """

    seq: int
    text: Optional[str]
    duplicate: bool = False


@dataclass(frozen=True)
class LinkTarget:
    """
    What one link id leads to, as the store records it.

    @ivar kind: C{edit} (the current edit id of a board made by C{POST
        /boards}), C{view} (one of its view links), C{named} (no link by that
        id: a named board, whose key is the id itself) or C{gone} (the id
        was an edit or view link and no longer is).
    @ivar board: the board's internal key; C{None} when C{gone}.
    @ivar locked: an admin made the board read-only.
    @ivar owner: the SHA-256 hex digest of the board's owner key, for boards
        made by C{POST /boards}.
    @ivar expires: when a view link stops working, in seconds since the
        epoch; C{None} for never.  The store does not compare it with the
        clock: its caller does.
    @ivar reason: why a C{gone} link is gone: C{replaced} (the edit link was
        rotated), C{revoked} (a view link was revoked, or dropped by a
        rotation) or C{deleted} (the board was deleted).
    """

    kind: str
    board: Optional[str] = None
    locked: bool = False
    owner: Optional[str] = None
    expires: Optional[float] = None
    reason: Optional[str] = None


@dataclass(frozen=True)
class ViewLink:
    """
    One view link of a board.

    @ivar id: the link's id, as in C{/v/<id>}.
    @ivar expires: seconds since the epoch, or C{None} for never.
    @ivar created: seconds since the epoch.
    """

    id: str
    expires: Optional[float]
    created: float


@dataclass(frozen=True)
class BoardInfo:
    """
    What the admin page shows of a board.

    @ivar board: the internal key.
    @ivar named: whether it is a named board (open to anyone by its name)
        rather than one made by C{POST /boards}.
    @ivar seq: the seq of its newest op.
    @ivar items: how many items it shows.
    @ivar bytes: about how much it takes in the store: snapshot, log and
        archive.
    @ivar created: when it was made by C{POST /boards}, or C{None}.
    @ivar active: when it was last drawn on, to within a minute or so;
        C{None} when never.
    @ivar locked: an admin made it read-only.
    """

    board: str
    named: bool
    seq: int
    items: int
    bytes: int
    created: Optional[float]
    active: Optional[float]
    locked: bool


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
        the store's C{compact_after_ops} (or its bytes past half the
        board's), or that was just cleared, is compacted in the background
        afterwards.

        A repeat of an op folded into the snapshot since is answered with a
        seq at or after its own (the store need not keep each cid's seq once
        its op left the log): what the sender needs to know is that the op
        is in every state from that seq on.

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

    # Access: links, owners, locks, moderation (see whitebrd.links).  Link
    # ids match BOARD_ID; board keys match BOARD_KEY.

    def create_board(
        board: str, edit: str, owner: str, now: float
    ) -> "Deferred[bool]":
        """
        Record a board made by C{POST /boards}: its internal key C{board},
        its edit link id C{edit} and the digest of its owner key.

        @return: a Deferred firing with C{False}, and recording nothing,
            when C{edit} or C{board} is in use already (a link, a gone
            link, a named board drawn on, a recorded board).
        """

    def resolve(link: str) -> "Deferred[LinkTarget]":
        """
        What C{link} leads to, in one round trip to the store: this is on
        the path of every page load and WebSocket connection.
        """

    def add_view(
        board: str, view: str, expires: Optional[float], now: float
    ) -> "Deferred[bool]":
        """
        Give C{board} (a board made by C{POST /boards}) the view link
        C{view}, working until C{expires} (seconds since the epoch) or for
        good.  View links expired long ago are forgotten here.

        @return: a Deferred firing with C{False}, recording nothing, when
            the board has no record or the id is in use.
        """

    def remove_view(board: str, view: str) -> "Deferred[bool]":
        """
        Revoke one view link of C{board}; it resolves as C{gone} afterwards.

        @return: a Deferred firing with whether C{board} had it.
        """

    def views(board: str) -> "Deferred[list[ViewLink]]":
        """
        The view links of C{board}, expired ones included, oldest first.
        """

    def rotate(board: str, edit: str) -> "Deferred[bool]":
        """
        Give C{board} the new edit link id C{edit}: its former edit id and
        every view link resolve as C{gone} from now on; the drawing stays.

        @return: a Deferred firing with C{False}, changing nothing, when the
            board has no edit link or C{edit} is in use.
        """

    def set_locked(board: str, locked: bool, now: float) -> "Deferred[None]":
        """
        Make C{board} read-only for everyone (or writable again).  Works for
        named boards too, drawn on or not.
        """

    def delete(board: str) -> "Deferred[None]":
        """
        Remove C{board}'s drawing, history and record; its links resolve as
        C{gone}.  A named board can be drawn on again afterwards, from
        empty.
        """

    def touch(board: str, now: float, seq: int) -> "Deferred[None]":
        """
        Note that C{board} was drawn on at C{now}, with C{seq} its seq just
        before: the admin list's last activity, and a checkpoint that
        L{seq_at} reads.  Callers touch a board at most every few seconds.
        """

    def seq_at(board: str, when: float, grain_seconds: float) -> "Deferred[int]":
        """
        A seq C{s} such that every op of C{board} after C{s} was appended at
        C{when} or later, or at most C{grain_seconds} before it (the
        checkpoints L{touch} left are that far apart at most while a board
        is drawn on): where a revert of the last minutes starts.
        """

    def boards(limit: int) -> "Deferred[list[BoardInfo]]":
        """
        Up to C{limit} boards, most recently active first: boards made by
        C{POST /boards}, and named boards that were drawn on or locked.
        """

    def board_info(board: str) -> "Deferred[Optional[BoardInfo]]":
        """
        What L{boards} says of one board, or C{None} when the store holds
        nothing of it.
        """

    def watch_access(listener: AccessListener) -> "Deferred[None]":
        """
        Call C{listener} whenever any process sharing the store changes a
        board's access or deletes it (every method above that changes
        something tells it).  Fires once listening has begun.
        """
