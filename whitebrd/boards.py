# -*- test-case-name: tests.test_boards -*-
"""
Boards live in this process: who is on each, and the order ops reach them.

A board is live while it has subscribers (WebSocket connections) and leaves
memory with the last one.  While live it holds its items as a L{Scene}, kept
current by the ops its store reports, so that a newcomer gets the board from
memory without a store read, and a short buffer of recent ops, so that a
client reconnecting with C{?since=} gets only what it missed.

Ops reach a board from two sides, the store's answer to an append made here
and the store's listener (Redis pub/sub, which also carries the ops of other
daemons), in any order and possibly twice.  L{Board.receive} puts them in seq
order, drops what it has seen, and fills a gap that lasts from the store's
log.  Ops that arrive in the same turn of the reactor leave as one C{ops}
frame, encoded and framed once for all subscribers.  On a busy board a frame
leaves at most once per tick (a few milliseconds): the first op after a quiet
tick goes out at once, and the ops that follow it within the tick gather into
the next frame.  Writing a frame to a connection costs the same whether it
carries one op or twenty, so a busy board's fan-out costs a fraction of one
frame per op, and a quiet board's latency is unchanged.
"""

from collections import deque
from typing import Any, Callable, Iterator, Optional, Protocol

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from whitebrd.frames import dumps
from whitebrd.scene import Scene
from whitebrd.stores import IStore

__all__ = ["Board", "BoardRegistry", "Subscriber"]


class Subscriber(Protocol):
    """
    What a board needs of a connection on it.
    """

    client_id: str

    def send_text(self, text: str, live: bool = True) -> None:
        """
        Send one frame to this connection alone.

        @param live: C{False} for a frame answering what the connection
            asked for (its C{hello}, the ops it missed), which does not count
            against its send buffer's bound.
        """

    def send_prepared(self, prepared: Any) -> None:
        """
        Send a frame prepared once for all of the board's connections.
        """

    def send_frames(self, frames: Iterator[str]) -> None:
        """
        Send C{frames} (the board's state) one at a time, as fast as the
        connection's peer takes them, ahead of anything sent later.
        """


Prepare = Callable[[str], Any]


class Board:
    """
    One board live in this process.

    @ivar board_id: the board's id.
    @ivar scene: its items at the newest seq delivered to subscribers.
    @ivar subscribers: the connections on it.
    """

    log = Logger()

    def __init__(
        self,
        board_id: str,
        store: IStore,
        prepare: Prepare,
        clock: IReactorTime,
        state_frame_bytes: int,
        recent_ops: int = 2000,
        gap_wait_seconds: float = 0.25,
        tick_seconds: float = 0.0,
    ) -> None:
        """
        @param tick_seconds: the least time between two C{ops} frames; 0
            sends the ops of each reactor turn as soon as the turn ends.
        """
        self.board_id = board_id
        self.scene = Scene()
        self.subscribers: set[Subscriber] = set()
        self._store = store
        self._prepare = prepare
        self._clock = clock
        self._state_frame_bytes = state_frame_bytes
        self._recent: deque[tuple[int, str]] = deque(maxlen=recent_ops)
        self._pending: dict[int, str] = {}
        self._outgoing: list[str] = []
        self._after_flush: list[tuple[Subscriber, str]] = []
        self._flush_call: Optional[IDelayedCall] = None
        self._tick_seconds = tick_seconds
        self._flushed_at = float("-inf")
        self._gap_call: Optional[IDelayedCall] = None
        self._gap_wait_seconds = gap_wait_seconds
        self._loaded = False

    @property
    def seq(self) -> int:
        """
        The seq of the newest op this board delivered.
        """
        return self.scene.seq

    def loaded(self, scene: Scene, tail: list[str]) -> None:
        """
        Start from C{scene}, as the store loaded it, with C{tail} as the
        recent ops that lead to it; ops the listener already reported beyond
        it are delivered next.
        """
        self.scene = scene
        for text in tail:
            self._recent.append((_seq_of(text), text))
        self._loaded = True
        self._drain()

    def receive(self, seq: int, text: str) -> None:
        """
        Take an op the store reported, from either side, in any order.
        """
        if seq <= self.scene.seq or seq in self._pending:
            return
        self._pending[seq] = text
        if self._loaded:
            self._drain()

    def _drain(self) -> None:
        while self.scene.seq + 1 in self._pending:
            seq = self.scene.seq + 1
            text = self._pending.pop(seq)
            self.scene.apply_text(text)
            self._recent.append((seq, text))
            self._outgoing.append(text)
        # Anything the listener reported at or below the loaded seq is old.
        for seq in [s for s in self._pending if s <= self.scene.seq]:
            del self._pending[seq]
        if self._outgoing and self._flush_call is None:
            wait = self._flushed_at + self._tick_seconds - self._clock.seconds()
            self._flush_call = self._clock.callLater(max(0.0, wait), self._flush)
        if self._pending and self._gap_call is None:
            self._gap_call = self._clock.callLater(self._gap_wait_seconds, self._fill_gap)

    def _flush(self) -> None:
        self._flush_call = None
        self._flushed_at = self._clock.seconds()
        texts, self._outgoing = self._outgoing, []
        after, self._after_flush = self._after_flush, []
        if self.subscribers:
            prepared = self._prepare('{"t":"ops","ops":[%s]}' % (",".join(texts),))
            for subscriber in list(self.subscribers):
                subscriber.send_prepared(prepared)
        for subscriber, text in after:
            if subscriber in self.subscribers:
                subscriber.send_text(text)

    def send_after_ops(self, subscriber: Subscriber, text: str) -> None:
        """
        Send C{text} to C{subscriber} once the ops on their way to the
        board's connections have left, so that an C{ack} never overtakes
        the op it acknowledges.
        """
        if self._flush_call is None:
            subscriber.send_text(text)
        else:
            self._after_flush.append((subscriber, text))

    def _fill_gap(self) -> None:
        """
        An op is missing: pub/sub lost it (Redis restarted, the subscriber
        reconnected) or it is slow.  Read what is missing from the log.
        """
        self._gap_call = None
        if not self._pending:
            return
        since = self.scene.seq
        self.log.info(
            "Board {board}: ops after seq {seq} missing, reading them from the store",
            board=self.board_id,
            seq=since,
        )

        def read(texts: Optional[list[str]]) -> None:
            if texts is None:
                return self._reload()
            for text in texts:
                self.receive(_seq_of(text), text)
            if self._pending and self._gap_call is None:
                self._gap_call = self._clock.callLater(
                    self._gap_wait_seconds, self._fill_gap
                )

        d = self._store.ops_since(self.board_id, since)
        d.addCallback(read)
        d.addErrback(self._gap_fill_failed)

    def _reload(self) -> Deferred[None]:
        """
        The missing ops were merged into the snapshot: take the whole board
        again and send it to everyone.
        """

        def reloaded(scene: Scene) -> None:
            if scene.seq <= self.scene.seq:
                return
            self.scene = scene
            self._recent.clear()
            self._pending = {s: t for s, t in self._pending.items() if s > scene.seq}
            for subscriber in list(self.subscribers):
                self.send_state(subscriber)
            self._drain()

        d = self._store.load(self.board_id)
        d.addCallback(reloaded)
        d.addErrback(self._gap_fill_failed)
        return d

    def _gap_fill_failed(self, failure: Any) -> None:
        self.log.warn(
            "Board {board}: could not read missing ops from the store ({error});"
            " trying again",
            board=self.board_id,
            error=failure.getErrorMessage(),
        )
        if self._gap_call is None:
            self._gap_call = self._clock.callLater(1.0, self._fill_gap)

    def join(
        self,
        subscriber: Subscriber,
        since: Optional[int],
        name: Optional[str] = None,
        mode: Optional[str] = None,
        rate: Optional[int] = None,
    ) -> None:
        """
        Bring C{subscriber} up to date and add it to the board: C{hello},
        then only the ops after C{since} when this board still has them, or
        else the whole board as C{state} frames.

        @param name: the board as this subscriber knows it (the link it
            came by), for C{hello}; the board's id by default.  NB: a board
            made by C{POST /boards} is kept under an internal key that its
            visitors must not be shown.
        @param mode: C{edit} or C{view}, for C{hello}, when known.
        @param rate: the ops per second this subscriber may send, for
            C{hello}, so that a page with many ops to send (an import, an
            outbox after a long outage) paces itself instead of being
            refused.
        """
        hello: dict[str, Any] = {
            "t": "hello",
            "board": name or self.board_id,
            "you": subscriber.client_id,
            "seq": self.scene.seq,
        }
        if mode is not None:
            hello["mode"] = mode
        if rate is not None:
            hello["rate"] = rate
        subscriber.send_text(dumps(hello), live=False)
        missed = self._ops_after(since)
        if missed is None:
            self.send_state(subscriber)
        elif missed:
            subscriber.send_text('{"t":"ops","ops":[%s]}' % (",".join(missed),), live=False)
        self.subscribers.add(subscriber)

    def send_state(self, subscriber: Subscriber) -> None:
        """
        Send the whole board to C{subscriber} as C{state} frames, built one
        at a time as its connection takes them.
        """
        subscriber.send_frames(self.scene.state_frames(self._state_frame_bytes))

    def _ops_after(self, since: Optional[int]) -> Optional[list[str]]:
        if since is None or since == 0 or since > self.scene.seq:
            return None
        if since == self.scene.seq:
            return []
        if not self._recent or self._recent[0][0] > since + 1:
            return None
        return [text for seq, text in self._recent if seq > since]

    def leave(self, subscriber: Subscriber) -> None:
        """
        Take C{subscriber} off the board.
        """
        self.subscribers.discard(subscriber)

    def stop(self) -> None:
        """
        Forget pending work; the board is leaving memory.
        """
        for call in (self._flush_call, self._gap_call):
            if call is not None and call.active():
                call.cancel()
        self._flush_call = self._gap_call = None


class BoardRegistry:
    """
    The boards live in this process, by id; one per board however many
    connections are on it.
    """

    log = Logger()

    def __init__(
        self,
        store: IStore,
        prepare: Prepare,
        clock: IReactorTime,
        state_frame_bytes: int,
        tick_seconds: float = 0.0,
    ) -> None:
        """
        @param tick_seconds: see L{Board.__init__}.
        """
        self._store = store
        self._prepare = prepare
        self._clock = clock
        self._state_frame_bytes = state_frame_bytes
        self._tick_seconds = tick_seconds
        self._boards: dict[str, Board] = {}
        self._loading: dict[str, list[Deferred[Board]]] = {}
        # Boards whose waiters are being handed the board, and whether one
        # of them released it meanwhile.
        self._handing_out: dict[str, bool] = {}

    def __contains__(self, board_id: str) -> bool:
        return board_id in self._boards

    def __len__(self) -> int:
        return len(self._boards)

    def get(self, board_id: str) -> Optional[Board]:
        """
        The board if it is live here.
        """
        return self._boards.get(board_id)

    def open(self, board_id: str, since: Optional[int] = None) -> Deferred[Board]:
        """
        The live board, loaded from the store first if nobody here is on it.

        @param since: the seq a first joiner already holds, so that the ops
            after it can be read with the board and sent alone.
        @return: a Deferred firing with the L{Board}; the caller should
            L{Board.join} at once, in the same turn of the reactor.
        """
        board = self._boards.get(board_id)
        if board is not None:
            return succeed(board)
        waiter: Deferred[Board] = Deferred()
        waiters = self._loading.get(board_id)
        if waiters is not None:
            waiters.append(waiter)
            return waiter
        waiters = self._loading[board_id] = [waiter]

        def done(result: Any) -> None:
            del self._loading[board_id]
            if isinstance(result, Board):
                self._boards[board_id] = result
                self.log.debug(
                    "Board {board} live, {count} items at seq {seq}",
                    board=board_id,
                    count=len(result.scene),
                    seq=result.seq,
                )
                # NB: a waiter whose connection closed meanwhile releases the
                # board at once; it must not take it out of memory while the
                # waiters after it are still to join.
                self._handing_out[board_id] = False
                try:
                    for w in waiters:
                        w.callback(result)
                finally:
                    released = self._handing_out.pop(board_id)
                if released:
                    self._forget_if_empty(result)
            else:
                for w in waiters:
                    w.errback(result)

        self._load(board_id, since).addBoth(done)
        return waiter

    def _load(self, board_id: str, since: Optional[int]) -> Deferred[Board]:
        board = Board(
            board_id,
            self._store,
            self._prepare,
            self._clock,
            self._state_frame_bytes,
            tick_seconds=self._tick_seconds,
        )
        store = self._store

        async def load() -> Board:
            await store.listen(board_id, board.receive)
            try:
                scene = await store.load(board_id)
                tail: list[str] = []
                if since is not None and 0 < since < scene.seq:
                    tail = await store.ops_since(board_id, since) or []
            except BaseException:
                store.unlisten(board_id, board.receive)
                raise
            board.loaded(scene, [t for t in tail if _seq_of(t) <= scene.seq])
            return board

        return Deferred.fromCoroutine(load())

    def release(self, board: Board, subscriber: Subscriber) -> None:
        """
        Take C{subscriber} off C{board}; the board leaves memory when it was
        the last.
        """
        board.leave(subscriber)
        if board.board_id in self._handing_out:
            self._handing_out[board.board_id] = True
        else:
            self._forget_if_empty(board)

    def _forget_if_empty(self, board: Board) -> None:
        if board.subscribers or self._boards.get(board.board_id) is not board:
            return
        del self._boards[board.board_id]
        board.stop()
        self._store.unlisten(board.board_id, board.receive)
        self.log.debug("Board {board} left memory", board=board.board_id)

    def evict(self, board_id: str) -> None:
        """
        Drop the live board C{board_id} at once (it was deleted); its
        subscribers are being closed, and releasing them later is harmless.
        """
        board = self._boards.pop(board_id, None)
        if board is None:
            return
        board.stop()
        self._store.unlisten(board_id, board.receive)
        self.log.info("Board {board} left memory: it was deleted", board=board_id)

    def all(self) -> list[Board]:
        """
        Every live board.
        """
        return list(self._boards.values())


def _seq_of(text: str) -> int:
    """
    The seq of a stored op's text, read from its C{{"seq":N,} prefix.
    """
    return int(text[7 : text.index(",", 7)])
