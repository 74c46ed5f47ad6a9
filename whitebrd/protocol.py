# -*- test-case-name: tests.test_protocol -*-
"""
The board's WebSocket: one connection per person per board.

A connection joins its board (L{whitebrd.boards}), checks every frame it
receives (L{whitebrd.frames}), hands each accepted op to the store in the
order it arrived, and answers what the store refused with an C{error} frame.
It never relays an op itself: an op reaches the board's connections, the
sender's included, only once the store holds it, so a sender's own copy is
its acknowledgement.

Who may connect, and who may draw, is decided by L{whitebrd.gate} (origin,
places per address, the link) and held in the connection's L{Access}; ops
through a view link or on a locked board are answered C{read_only}, and ops
past the rate limits of L{whitebrd.quotas} C{rate_limited}.
"""

import re
import secrets
from collections import deque
from typing import Any, Optional
from urllib.parse import unquote

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from whitebrd.boards import Board, BoardRegistry
from whitebrd.frames import (
    CLIENT_ID,
    CursorFrame,
    FrameError,
    Op,
    OpError,
    dumps,
    parse_frame,
)
from whitebrd.gate import Gate
from whitebrd.limits import Limits
from whitebrd.links import Access, Links
from whitebrd.moderation import Activity
from whitebrd.quotas import QuotaLimits, Quotas, TokenBucket
from whitebrd.stores import Appended, IStore, StoreUnavailable

__all__ = ["BoardFactory", "BoardProtocol", "WS_PATH"]

WS_PATH = re.compile(r"/([bv])/([A-Za-z0-9_-]{1,64})/ws")

# Close codes of RFC 6455 that the contract names.
_GOING_AWAY = 1001
_POLICY = 1008
_TRY_AGAIN_LATER = 1013


class BoardProtocol(WebSocketServerProtocol):
    """
    One person's connection to one board.

    @ivar board_id: the board's internal key, from its link.
    @ivar client_id: the person, from C{?client=} or made here.
    @ivar access: what the link lets this connection do.
    @ivar address: the address the connection counts against.
    """

    # NB: Autobahn's own logger is self.log, filtered by txaio's level; ours
    # has another name so that Autobahn's per-frame debug lines stay quiet.
    events = Logger()
    factory: "BoardFactory"

    board_id = ""
    client_id = ""
    access: Access
    address = ""
    place: Optional[str] = None
    expiry: Optional[IDelayedCall] = None
    gone = False
    _bucket: Optional[TokenBucket] = None
    _refused_in_a_row = 0
    _board: Optional[Board] = None
    _since: Optional[int] = None
    _gone = False
    _closed_waiters: list[Deferred[None]] = []

    def onConnect(  # type: ignore[override]
        self, request: ConnectionRequest
    ) -> "Deferred[None]":
        """
        Check the path, query, origin and link before the handshake
        completes; a bad one is refused with an HTTP status, so nothing
        half-open lingers.
        """
        match = WS_PATH.fullmatch(unquote(request.path))
        if match is None:
            raise ConnectionDeny(404, "No such board")
        view, link = match.group(1) == "v", match.group(2)

        client = request.params.get("client", [None])[-1]
        if client is None or client == "":
            client = secrets.token_urlsafe(12)
        elif not CLIENT_ID.fullmatch(client):
            raise ConnectionDeny(400, "client must be 8 to 40 of A-Z a-z 0-9 _ -")
        self.client_id = client

        since = request.params.get("since", [None])[-1]
        if since is not None:
            if not (since.isascii() and since.isdigit()) or len(since) > 18:
                raise ConnectionDeny(400, "since must be a seq, a whole number")
            self._since = int(since)

        self._closed_waiters = []
        self._waiting: deque[Any] = deque()
        self._appending: deque[Op] = deque()
        self._in_flight = 0
        self._admitting = False
        self._bucket = self.factory.quotas.connection_bucket()
        return Deferred.fromCoroutine(self.factory.gate.admit(self, request, link, view))

    def onOpen(self) -> None:
        """
        Load the board if nobody here is on it, then join it.
        """
        self.factory.connections.add(self)
        d = self.factory.boards.open(self.board_id, self._since)
        d.addCallbacks(self._joined, self._open_failed)

    def _joined(self, board: Board) -> None:
        if self._gone:
            self.factory.boards.release(board, self)
            return
        self._board = board
        self.factory.gate.arrived(self)
        board.join(self, self._since, self.access.link, self.access.mode)
        while self._waiting and not self._gone:
            self._handle(self._waiting.popleft())

    def _open_failed(self, failure: Failure) -> None:
        if failure.check(StoreUnavailable):
            self.events.warn(
                "Board {board} could not be opened, the store is unavailable: {error}",
                board=self.board_id,
                error=failure.getErrorMessage(),
            )
        else:
            self.events.failure("Board {board} could not be opened", failure, board=self.board_id)
        self.close_with(_TRY_AGAIN_LATER, "the board's store is unavailable, try again")

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        """
        Take one frame; until the board is joined, frames wait in order.
        """
        if isBinary:
            self._send_error(FrameError("bad_frame", "binary frames are not part of the protocol"))
            return
        if self._board is None:
            if len(self._waiting) >= self.factory.limits.max_ops_per_frame:
                self.close_with(_POLICY, "too many frames before the board opened")
                return
            self._waiting.append(payload)
            return
        self._handle(payload)

    def _handle(self, payload: bytes) -> None:
        try:
            frame = parse_frame(payload, self.factory.limits)
        except FrameError as e:
            self._send_error(e)
            return
        if isinstance(frame, CursorFrame):
            # A viewer's pointer is nobody's business; a flood of cursors
            # is dropped quietly.
            if self.access.can_draw and self._bucket is not None and self._bucket.take():
                self._relay_cursor(frame)
            return
        for op in frame.ops:
            if isinstance(op, OpError):
                self._send_error(op)
            elif not self.access.can_draw:
                self._send_error(_read_only(self.access, op))
            elif self._bucket is not None and not self._bucket.take():
                self._rate_limited(op, "this connection")
            else:
                self._refused_in_a_row = 0
                self._queue(op)

    def _rate_limited(self, op: Op, whose: str) -> None:
        self._send_error(
            OpError(
                "rate_limited",
                "too many ops from %s; the op was not stored, send it again in a"
                " moment" % (whose,),
                op.cid,
            )
        )
        self._refused_in_a_row += 1
        if self._refused_in_a_row > 2 * self.factory.quotas.limits.ops_per_second_per_connection:
            self.events.warn(
                "Client {client} on board {board} from {address} kept sending past"
                " its rate limit; closing",
                client=self.client_id,
                board=self.board_id,
                address=self.address,
            )
            self.close_with(_POLICY, "too many ops: slow down")

    def _relay_cursor(self, cursor: CursorFrame) -> None:
        assert self._board is not None
        text = dumps({"t": "cursor", "by": self.client_id, "x": cursor.x, "y": cursor.y})
        prepared = None
        for other in list(self._board.subscribers):
            if other is not self:
                prepared = prepared or self.factory.prepare(text)
                other.send_prepared(prepared)

    def _queue(self, op: Op) -> None:
        """
        Hand ops to the store in the order they arrived, a bounded number at
        a time: the store applies calls in the order they were made, so an
        C{extend} never overtakes the C{add} it extends, and a burst does
        not wait a round trip per op.
        """
        if len(self._appending) + self._in_flight >= self.factory.max_queued_ops:
            self.events.warn(
                "Client {client} on board {board} sent ops faster than the store takes"
                " them; closing",
                client=self.client_id,
                board=self.board_id,
            )
            self.close_with(_POLICY, "ops arrive faster than they can be stored")
            return
        self._appending.append(op)
        self._append_more()

    def _append_more(self) -> None:
        while (
            self._appending
            and not self._admitting
            and self._in_flight < self.factory.max_appends_in_flight
            and not self._gone
        ):
            op = self._appending.popleft()
            self._in_flight += 1
            admitted = self.factory.quotas.ops.take(self.address)
            if admitted.called:
                # The usual case: within this daemon's lease of the
                # address's budget.
                admitted.addCallback(self._admitted, op)
            else:
                # NB: the ops behind wait until this one is admitted, so
                # that they reach the store in the order they came.
                self._admitting = True
                admitted.addCallback(self._admitted_later, op)

    def _admitted_later(self, within: bool, op: Op) -> None:
        self._admitting = False
        self._admitted(within, op)
        self._append_more()

    def _admitted(self, within: bool, op: Op) -> None:
        if not within:
            self._in_flight -= 1
            self._rate_limited(op, "your address")
            return
        d = self.factory.store.append(self.board_id, self.client_id, op)
        d.addCallbacks(
            self._appended, self._append_failed, callbackArgs=(op,), errbackArgs=(op,)
        )
        d.addErrback(self._unexpected, "Handling an append's answer")
        d.addBoth(self._settled)

    def _settled(self, _: object) -> None:
        self._in_flight -= 1
        self._append_more()

    def _appended(self, appended: Appended, op: Op) -> None:
        if appended.duplicate:
            # NB: a turn later, so that when the op's first copy was stored
            # just now, that copy (flushed at the end of this turn) reaches
            # the sender before the ack.
            ack = dumps({"t": "ack", "cid": op.cid, "seq": appended.seq})
            self.factory.clock.callLater(0, self.send_text, ack)
            return
        assert appended.text is not None
        self.factory.activity.appended(self.board_id, appended.seq)
        if self._board is not None:
            self._board.receive(appended.seq, appended.text)

    def _append_failed(self, failure: Failure, op: Op) -> None:
        if failure.check(OpError):
            self._send_error(failure.value)
            return
        if failure.check(StoreUnavailable):
            self.events.warn(
                "Op {cid} on board {board} not stored, the store is unavailable: {error}",
                cid=op.cid,
                board=self.board_id,
                error=failure.getErrorMessage(),
            )
            self.send_text(dumps({"t": "status", "saving": False, "message": "storage unavailable"}))
            # The ops queued behind this one would land without it (an
            # extend without its add): refuse them too, in order, and let
            # the client send them all again.
            refused = [op] + list(self._appending)
            self._appending.clear()
            for each in refused:
                self._send_error(
                    OpError(
                        "storage_unavailable",
                        "the board's store did not answer; the op was not stored, send it again",
                        each.cid,
                    )
                )
            return
        failure.raiseException()

    def _unexpected(self, failure: Failure, what: str) -> None:
        self.events.failure("{what} failed on board {board}", failure, what=what, board=self.board_id)

    def _send_error(self, error: FrameError) -> None:
        self.events.debug(
            "Refused a frame from {client} on board {board}: {code} {message}",
            client=self.client_id,
            board=self.board_id,
            code=error.code,
            message=error.message,
        )
        self.send_text(dumps(error.frame()))

    def onClose(self, wasClean: bool, code: Optional[int], reason: Optional[str]) -> None:
        """
        Leave the board; it leaves memory with its last connection.
        """
        self._gone = self.gone = True
        self.factory.connections.discard(self)
        self.factory.gate.left(self)
        closed, self._closed_waiters = self._closed_waiters, []
        for waiter in closed:
            waiter.callback(None)
        if self._board is not None:
            self.factory.boards.release(self._board, self)
            self._board = None

    def close_for(self, code: int, reason: str) -> None:
        """
        Close because the link or board stopped being what it was.
        """
        if self.gone:
            return
        self.events.info(
            "Closing client {client} on board {board}: {reason}",
            client=self.client_id,
            board=self.board_id,
            reason=reason,
        )
        self.close_with(code, reason)

    # The Subscriber interface of whitebrd.boards.

    def going_away(self) -> Deferred[None]:
        """
        Close with 1001 so that the client reconnects, maybe elsewhere.

        @return: a Deferred that fires once the connection is closed.
        """
        closed: Deferred[None] = Deferred()
        self._closed_waiters.append(closed)
        self.close_with(_GOING_AWAY, "the server is shutting down")
        return closed

    def close_with(self, code: int, reason: str) -> None:
        """
        Close with any of the contract's codes and a reason.  (Autobahn's
        C{sendClose} admits only 1000 and 3000-4999, not 1001, 1008 or
        1013.)
        """
        if self.state == self.STATE_OPEN:
            self.sendCloseFrame(code=code, reasonUtf8=reason.encode("utf-8")[:123], isReply=False)

    def send_text(self, text: str) -> None:
        """
        Send one frame to this connection.
        """
        if not self._gone:
            self.sendMessage(text.encode("utf-8"))

    def send_prepared(self, prepared: Any) -> None:
        """
        Send a frame prepared once for the whole board.
        """
        if not self._gone:
            self.sendPreparedMessage(prepared)


class BoardFactory(WebSocketServerFactory):
    """
    Makes the connections of every board and keeps the live boards.

    @ivar boards: the boards live in this process.
    @ivar store: where ops are kept.
    @ivar limits: the bounds frames and boards are held to.
    """

    protocol = BoardProtocol
    events = Logger()

    def __init__(
        self,
        store: IStore,
        limits: Limits,
        reactor: IReactorTime,
        ping_interval_seconds: float = 30.0,
        max_queued_ops: int = 10_000,
        max_appends_in_flight: int = 64,
        gate: Optional[Gate] = None,
    ) -> None:
        """
        @param gate: the checks at the door; by default, links over C{store}
            with the default quotas counted in this process and origins
            limited to the page's own host.
        """
        super().__init__(reactor=reactor)
        self.store = store
        self.limits = limits
        self.max_queued_ops = max_queued_ops
        self.max_appends_in_flight = max_appends_in_flight
        self.connections: set[BoardProtocol] = set()
        self._clock = self.clock = reactor
        if gate is None:
            from whitebrd.counters import LocalCounters

            quotas = Quotas(QuotaLimits(), LocalCounters(reactor), reactor)
            gate = Gate(Links(store, reactor.seconds), quotas, reactor)
        self.gate = gate
        self.quotas = gate.quotas
        self.activity = Activity(store, reactor)
        self.boards = BoardRegistry(store, self.prepare, reactor, limits.state_frame_bytes)
        self.setProtocolOptions(
            maxMessagePayloadSize=limits.max_message_bytes,
            maxFramePayloadSize=limits.max_message_bytes,
            autoPingInterval=ping_interval_seconds,
            autoPingTimeout=ping_interval_seconds,
            # Refuse abuse with a close code and reason (1007, 1009), not by
            # dropping the TCP connection with no word.
            failByDrop=False,
        )

    def watch_access(self) -> "Deferred[None]":
        """
        Follow the store's access changes: a deleted board leaves memory,
        and the gate checks the links in use again.
        """
        return self.store.watch_access(self._access_changed)

    def _access_changed(self, board: Optional[str], deleted: bool) -> None:
        if deleted and board is not None:
            self.boards.evict(board)
        self.gate.access_changed(board, deleted)

    def close_all(self, timeout_seconds: float = 5.0) -> Deferred[Any]:
        """
        Close every connection with 1001 (going away).

        @return: a Deferred that fires once all are closed, or after
            C{timeout_seconds} at the latest.
        """
        closing = [c.going_away() for c in list(self.connections)]
        if closing:
            self.events.info("Closing {count} connections: shutting down", count=len(closing))
        d: Deferred[Any] = DeferredList(closing, consumeErrors=True)
        d.addTimeout(timeout_seconds, self._clock, onTimeoutCancel=lambda *_: None)
        return d

    def prepare(self, text: str) -> Any:
        """
        Encode and frame C{text} once, for any number of connections.
        """
        return self.prepareMessage(text.encode("utf-8"))


def _read_only(access: Access, op: Op) -> OpError:
    if access.kind == "view":
        message = "this is a view link: the board can be watched, not drawn on"
    else:
        message = "an administrator locked this board: it can be watched, not drawn on"
    return OpError("read_only", message, op.cid)
