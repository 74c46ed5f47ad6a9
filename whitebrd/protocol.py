# -*- test-case-name: tests.test_protocol -*-
"""
The board's WebSocket: one connection per person per board.

A connection joins its board (L{whitebrd.boards}), checks every frame it
receives (L{whitebrd.frames}), hands each accepted op to the store in the
order it arrived, and answers what the store refused with an C{error} frame.
It never relays an op itself: an op reaches the board's connections, the
sender's included, only once the store holds it, so a sender's own copy is
its acknowledgement.
"""

import re
import secrets
from collections import deque
from typing import Any, Optional
from urllib.parse import unquote

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IReactorTime
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
from whitebrd.limits import Limits
from whitebrd.stores import Appended, IStore, StoreUnavailable

__all__ = ["BoardFactory", "BoardProtocol", "WS_PATH"]

WS_PATH = re.compile(r"/b/([A-Za-z0-9_-]{1,64})/ws")

# Close codes of RFC 6455 that the contract names.
_GOING_AWAY = 1001
_POLICY = 1008
_TRY_AGAIN_LATER = 1013


class BoardProtocol(WebSocketServerProtocol):
    """
    One person's connection to one board.

    @ivar board_id: the board, from the request path.
    @ivar client_id: the person, from C{?client=} or made here.
    """

    # NB: Autobahn's own logger is self.log, filtered by txaio's level; ours
    # has another name so that Autobahn's per-frame debug lines stay quiet.
    events = Logger()
    factory: "BoardFactory"

    board_id = ""
    client_id = ""
    _board: Optional[Board] = None
    _since: Optional[int] = None
    _gone = False
    _closed_waiters: list[Deferred[None]] = []

    def onConnect(self, request: ConnectionRequest) -> None:
        """
        Check the path and query before the handshake completes; a bad one
        is refused with an HTTP status, so nothing half-open lingers.
        """
        match = WS_PATH.fullmatch(unquote(request.path))
        if match is None:
            raise ConnectionDeny(404, "No such board")
        self.board_id = match.group(1)

        client = request.params.get("client", [None])[-1]
        if client is None or client == "":
            client = secrets.token_urlsafe(12)
        elif not CLIENT_ID.fullmatch(client):
            raise ConnectionDeny(400, "client must be 8 to 40 of A-Z a-z 0-9 _ -")
        self.client_id = client

        since = request.params.get("since", [None])[-1]
        if since is not None:
            if not since.isdigit() or len(since) > 18:
                raise ConnectionDeny(400, "since must be a seq, a whole number")
            self._since = int(since)

        self._closed_waiters = []
        self._waiting: deque[Any] = deque()
        # Ops handed to the store and not yet answered.
        self._appending = 0

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
        board.join(self, self._since)
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
        self.sendClose(_TRY_AGAIN_LATER, "the board's store is unavailable, try again")

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        """
        Take one frame; until the board is joined, frames wait in order.
        """
        if isBinary:
            self._send_error(FrameError("bad_frame", "binary frames are not part of the protocol"))
            return
        if self._board is None:
            if len(self._waiting) >= self.factory.limits.max_ops_per_frame:
                self.sendClose(_POLICY, "too many frames before the board opened")
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
            self._relay_cursor(frame)
            return
        for op in frame.ops:
            if isinstance(op, OpError):
                self._send_error(op)
            else:
                self._queue(op)

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
        Hand C{op} to the store at once, without waiting for the ops before
        it: the store applies the appends of one caller in the order they
        were made (see L{IStore.append}), so an C{extend} never overtakes
        the C{add} it extends, and a fast drawer's ops share round trips to
        the store instead of waiting for one each.
        """
        if self._appending >= self.factory.max_queued_ops:
            self.events.warn(
                "Client {client} on board {board} sent ops faster than the store takes"
                " them; closing",
                client=self.client_id,
                board=self.board_id,
            )
            self.sendClose(_POLICY, "ops arrive faster than they can be stored")
            return
        self._appending += 1
        d = self.factory.store.append(self.board_id, self.client_id, op)
        d.addCallbacks(
            self._appended, self._append_failed, callbackArgs=(op,), errbackArgs=(op,)
        )
        d.addErrback(self._unexpected, "Handling an append's answer")
        d.addBoth(self._append_done)

    def _append_done(self, _: object) -> None:
        self._appending -= 1

    def _appended(self, appended: Appended, op: Op) -> None:
        if appended.duplicate:
            ack = dumps({"t": "ack", "cid": op.cid, "seq": appended.seq})
            if self._board is not None:
                self._board.send_after_ops(self, ack)
            else:
                self.send_text(ack)
            return
        assert appended.text is not None
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
            self._send_error(
                OpError(
                    "storage_unavailable",
                    "the board's store did not answer; the op was not stored, send it again",
                    op.cid,
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
        self._gone = True
        self.factory.connections.discard(self)
        closed, self._closed_waiters = self._closed_waiters, []
        for waiter in closed:
            waiter.callback(None)
        if self._board is not None:
            self.factory.boards.release(self._board, self)
            self._board = None

    # The Subscriber interface of whitebrd.boards.

    def going_away(self) -> Deferred[None]:
        """
        Close with 1001 so that the client reconnects, maybe elsewhere.

        @return: a Deferred that fires once the connection is closed.
        """
        closed: Deferred[None] = Deferred()
        self._closed_waiters.append(closed)
        self.sendClose(_GOING_AWAY, "the server is shutting down")
        return closed

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
        tick_seconds: float = 0.0,
    ) -> None:
        """
        @param tick_seconds: the least time between two C{ops} frames of a
            board (see L{whitebrd.boards}).
        """
        super().__init__(reactor=reactor)
        self.store = store
        self.limits = limits
        self.max_queued_ops = max_queued_ops
        self.connections: set[BoardProtocol] = set()
        self._clock = reactor
        self.boards = BoardRegistry(
            store, self.prepare, reactor, limits.state_frame_bytes, tick_seconds
        )
        self.setProtocolOptions(
            maxMessagePayloadSize=limits.max_message_bytes,
            maxFramePayloadSize=limits.max_message_bytes,
            autoPingInterval=ping_interval_seconds,
            autoPingTimeout=ping_interval_seconds,
        )

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
