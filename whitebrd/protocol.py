# -*- test-case-name: tests.test_boards -*-
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

What could hurt the daemon or the others on a board is bounded here too:
what a connection may have waiting for the store, and what may wait for its
peer to read (L{whitebrd.sending}).  While the store is down a connection
holds its ops, in order, and tries them again until the store takes them;
its page is told the board is not saving, and told again when it is.
"""

import re
import secrets
import socket
from collections import deque
from typing import Any, Iterator, Optional
from urllib.parse import unquote

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.util import encode_truncate
from autobahn.websocket.compress import (
    PerMessageDeflate,
    PerMessageDeflateOffer,
    PerMessageDeflateOfferAccept,
)
from autobahn.websocket.protocol import WebSocketProtocol
from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.internet.defer import CancelledError, Deferred, DeferredList, succeed
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
    PresenceFrame,
    dumps,
    parse_frame,
)
from whitebrd.gate import Gate
from whitebrd.health import StoreHealth
from whitebrd.limits import Limits
from whitebrd.links import Access, Links
from whitebrd.moderation import Activity
from whitebrd.presence import Presence, PresenceBus
from whitebrd.quotas import QuotaLimits, Quotas, TokenBucket
from whitebrd.sending import SendQueue
from whitebrd.stores import Appended, IStore, StoreUnavailable

__all__ = ["BoardFactory", "BoardProtocol", "WS_PATH"]

WS_PATH = re.compile(r"/([bv])/([A-Za-z0-9_-]{1,64})/ws")

# Close codes of RFC 6455 that the contract names.
_GOING_AWAY = 1001
_POLICY = 1008
_TRY_AGAIN_LATER = 1013

# How long a connection waits before trying a held op again when nothing
# says the store is back, doubling up to the longest.
_RETRY_FIRST_SECONDS = 0.5
_RETRY_LONGEST_SECONDS = 4.0

# A compressed frame's sliding window, 2**9 bytes each way, the smallest
# zlib allows: permessage-deflate then costs a connection no memory between
# messages (see _LeanDeflate) and little during one.
_DEFLATE_WINDOW_BITS = 9
_DEFLATE_MEM_LEVEL = 4


class _LeanDeflate(PerMessageDeflate):  # type: ignore[misc]
    """
    permessage-deflate without context takeover that lets go of its zlib
    streams after each message: an idle connection holds none (a deflate
    stream costs several KiB even with a small window).
    """

    def end_compress_message(self) -> bytes:
        data: bytes = super().end_compress_message()
        if self.server_no_context_takeover:
            self._compressor = None
        return data

    def end_decompress_message(self) -> None:
        super().end_decompress_message()
        if self.client_no_context_takeover:
            self._decompressor = None


def _accept_deflate(offers: list[Any]) -> Optional[PerMessageDeflateOfferAccept]:
    """
    Take a client's permessage-deflate offer with no context takeover either
    way and the smallest windows it allows.  The size limit applies to the
    inflated message (Autobahn bounds inflation by it), so a small frame
    that inflates past it closes the connection with 1009.
    """
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(
                offer,
                request_no_context_takeover=offer.accept_no_context_takeover,
                request_max_window_bits=(
                    _DEFLATE_WINDOW_BITS if offer.accept_max_window_bits else 0
                ),
                no_context_takeover=True,
                window_bits=_DEFLATE_WINDOW_BITS,
                mem_level=_DEFLATE_MEM_LEVEL,
            )
    return None


# What an op refused by its address's rate limit answers in place of the
# store's answer.
_OVER_ADDRESS_LIMIT = object()


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
    _refusals = 0.0
    _refused_at = 0.0
    _board: Optional[Board] = None
    _since: Optional[int] = None
    _gone = False
    _leaving = False
    _accepted = False
    _outgoing: Optional[SendQueue] = None
    _closed_waiters: list[Deferred[None]] = []

    def onConnect(  # type: ignore[override]
        self, request: ConnectionRequest
    ) -> "Deferred[None]":
        """
        Check the path, query, origin and link before the handshake
        completes; a bad one is refused with an HTTP status, so nothing
        half-open lingers.  A daemon shutting down takes no new connection.
        """
        if self.factory.draining:
            raise ConnectionDeny(503, "The server is shutting down; try another")
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

        limits = self.factory.limits
        self._closed_waiters = []
        self._idle_waiters: list[Deferred[None]] = []
        self._waiting: deque[Any] = deque()
        self._appending: deque[Op] = deque()
        self._issued: deque[list[Any]] = deque()
        self._held: list[Op] = []
        self._failing = False
        self._admitting = False
        self._appending_bytes = 0
        self._retry: Optional[IDelayedCall] = None
        self._retry_seconds = _RETRY_FIRST_SECONDS
        self._pumping = False
        self._told_saving = True
        self._bucket = self.factory.quotas.connection_bucket()
        self._outgoing = SendQueue(
            self._write, limits.max_send_buffer_bytes, self._too_slow
        )
        self._accepted = True
        return Deferred.fromCoroutine(
            self.factory.gate.admit(self, request, link, view)
        )

    def onOpen(self) -> None:
        """
        Take over flow control of the transport, load the board if nobody
        here is on it, then join it.
        """
        assert self._outgoing is not None
        # NB: the HTTP channel this connection was upgraded from is still the
        # transport's producer; the send queue takes its place.
        self.transport.unregisterProducer()
        self.transport.registerProducer(self._outgoing, True)
        handle = getattr(self.transport, "getHandle", lambda: None)()
        if isinstance(handle, socket.socket):
            handle.setsockopt(
                socket.SOL_SOCKET,
                socket.SO_SNDBUF,
                self.factory.limits.socket_send_buffer_bytes,
            )
        if type(self._perMessageCompress) is PerMessageDeflate:
            self._perMessageCompress.__class__ = _LeanDeflate
        self.factory.connections.add(self)
        d = self.factory.boards.open(self.board_id, self._since)
        d.addCallbacks(self._joined, self._open_failed)

    def _joined(self, board: Board) -> None:
        if self._gone or self._leaving:
            self.factory.boards.release(board, self)
            return
        self._board = board
        self.factory.gate.arrived(self)
        board.join(
            self,
            self._since,
            self.access.link,
            self.access.mode,
            self.factory.quotas.limits.ops_per_connection_rate(),
        )
        self.factory.presence.joined(self.board_id, self)
        if not self.factory.health.saving:
            self.tell_saving(False)
        while self._waiting and self._board is not None:
            self._handle(self._waiting.popleft())

    def _open_failed(self, failure: Failure) -> None:
        if failure.check(CancelledError) and self.factory.draining:
            # The store closed under the load: the daemon is stopping.
            self.events.debug(
                "Board {board} not opened: shutting down", board=self.board_id
            )
        elif failure.check(StoreUnavailable):
            self.events.warn(
                "Board {board} could not be opened, the store is unavailable: {error}",
                board=self.board_id,
                error=failure.getErrorMessage(),
            )
        else:
            self.events.failure(
                "Board {board} could not be opened", failure, board=self.board_id
            )
        self.close_with(_TRY_AGAIN_LATER, "the board's store is unavailable, try again")

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        """
        Take one frame; until the board is joined, frames wait in order.
        """
        if self._gone or self._leaving:
            return
        if isBinary:
            self._send_error(
                FrameError("bad_frame", "binary frames are not part of the protocol")
            )
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
            # A flood of bad frames costs parsing as a flood of ops costs
            # storing: it takes from the same bucket, and past it is dropped.
            if self._bucket is not None and not self._bucket.take():
                self._refused()
                return
            self._send_error(e)
            return
        except Exception:
            # A bug in the validator: refuse the frame, keep the connection.
            self.events.failure(
                "Checking a frame from {client} on board {board} failed",
                client=self.client_id,
                board=self.board_id,
            )
            self._send_error(FrameError("bad_frame", "the frame could not be checked"))
            return
        if isinstance(frame, CursorFrame):
            # A viewer's pointer is nobody's business; a flood of cursors
            # is dropped quietly.
            if (
                self.access.can_draw
                and self._bucket is not None
                and self._bucket.take()
            ):
                self.factory.presence.cursor(self.board_id, self, frame)
            return
        if isinstance(frame, PresenceFrame):
            if self._bucket is not None and self._bucket.take():
                self.factory.presence.updated(self.board_id, self, frame)
            return
        for op in frame.ops:
            if self._leaving:
                return
            if isinstance(op, OpError):
                self._send_error(op)
            elif not self.access.can_draw:
                self._send_error(_read_only(self.access, op))
            elif self._bucket is not None and not self._bucket.take():
                self._rate_limited(op, "this connection")
            else:
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
        self._refused()

    def _refused(self) -> None:
        """
        Count a refusal; a sender that keeps on past its rate, a further
        two seconds' worth of refusals (which drain at the rate itself), is
        abusing the board and is closed.  One that sends somewhat too fast
        is only slowed down.
        """
        rate = self.factory.quotas.limits.ops_per_second_per_connection
        now = self.factory.clock.seconds()
        drained = (now - self._refused_at) * rate
        self._refusals = max(0.0, self._refusals - drained) + 1
        self._refused_at = now
        if self._refusals > 2 * rate:
            self.events.warn(
                "Client {client} on board {board} from {address} kept sending past"
                " its rate limit; closing",
                client=self.client_id,
                board=self.board_id,
                address=self.address,
            )
            self.close_with(_POLICY, "too many ops: slow down")

    # Appending

    def _queue(self, op: Op) -> None:
        """
        Hand ops to the store in the order they arrived, a bounded number at
        a time: the store applies calls in the order they were made, so an
        C{extend} never overtakes the C{add} it extends, and a burst does
        not wait a round trip per op.
        """
        if self.factory.draining:
            # Not acknowledged, so the client sends it again elsewhere.
            return
        size = len(op.body)
        waiting = len(self._appending) + len(self._issued) + len(self._held)
        if (
            waiting >= self.factory.max_queued_ops
            or self._appending_bytes + size > self.factory.limits.max_pending_op_bytes
        ):
            self.events.warn(
                "Client {client} on board {board} has {count} ops ({bytes} bytes)"
                " waiting for the store; closing so it sends them again later",
                client=self.client_id,
                board=self.board_id,
                count=waiting,
                bytes=self._appending_bytes,
            )
            self.close_with(
                _TRY_AGAIN_LATER, "too many ops waiting for the store; send them again"
            )
            return
        self._appending.append(op)
        self._appending_bytes += size
        self._append_more()

    def _append_more(self) -> None:
        """
        Hand waiting ops to the store, up to the bound in flight, unless an
        earlier one failed and the connection waits to try again.
        """
        # NB: a store may answer before append() returns; the loop, not
        # recursion, then takes the next op.
        if self._pumping:
            return
        self._pumping = True
        try:
            while (
                self._appending
                and len(self._issued) < self.factory.max_appends_in_flight
                and not self._admitting
                and self._retry is None
                and not self._failing
                and not (self._gone or self._leaving)
            ):
                op = self._appending.popleft()
                entry: list[Any] = [op, None]
                self._issued.append(entry)
                admitted = self.factory.quotas.ops.take(self.address)
                if admitted.called:
                    # The usual case: within this daemon's lease of the
                    # address's budget.
                    admitted.addCallback(self._admitted, entry)
                else:
                    # NB: the ops behind wait until this one is admitted, so
                    # that they reach the store in the order they came.
                    self._admitting = True
                    admitted.addCallback(self._admitted_later, entry)
        finally:
            self._pumping = False

    def _admitted_later(self, within: bool, entry: list[Any]) -> None:
        self._admitting = False
        self._admitted(within, entry)
        self._append_more()

    def _admitted(self, within: bool, entry: list[Any]) -> None:
        if not within:
            entry[1] = _OVER_ADDRESS_LIMIT
            self._settle()
            return
        d = self.factory.store.append(self.board_id, self.client_id, entry[0])
        d.addCallbacks(
            self._answered,
            self._answered,
            callbackArgs=(entry,),
            errbackArgs=(entry,),
        )
        d.addErrback(self._unexpected, "Handling an append's answer")

    def _answered(self, result: Any, entry: list[Any]) -> None:
        entry[1] = result
        self._settle()

    def _settle(self) -> None:
        """
        Act on the store's answers in the order the ops were sent.

        Once one failed for want of the store, the refusals after it in the
        same run are held with it (an C{extend} refused because its C{add}
        was not stored is not refused on its merits), and all of them are
        tried again, in order, when the run is over.
        """
        while self._issued and self._issued[0][1] is not None:
            op, result = self._issued.popleft()
            if self._gone or self._leaving:
                continue
            if isinstance(result, Appended):
                self._stored(result, op)
            elif result is _OVER_ADDRESS_LIMIT:
                if self._failing:
                    self._held.append(op)
                else:
                    self._appending_bytes -= len(op.body)
                    self._rate_limited(op, "your address")
            elif isinstance(result, Failure) and result.check(StoreUnavailable):
                if not self._failing:
                    self.events.debug(
                        "Op {cid} on board {board} not stored yet, the store is"
                        " unavailable: {error}",
                        cid=op.cid,
                        board=self.board_id,
                        error=result.getErrorMessage(),
                    )
                    self.factory.health.failed(result)
                self._failing = True
                self._held.append(op)
            elif isinstance(result, Failure) and result.check(OpError):
                if self._failing:
                    self._held.append(op)
                else:
                    self._appending_bytes -= len(op.body)
                    self._send_error(result.value)
            else:
                self._appending_bytes -= len(op.body)
                self.events.failure(
                    "Appending op {cid} to board {board} failed",
                    result,
                    cid=op.cid,
                    board=self.board_id,
                )
        if self._gone or self._leaving:
            return
        if self._failing and not self._issued:
            # The run is over: the held ops go again first, in order, after
            # a pause (or as soon as the store is seen to answer).
            self._appending.extendleft(reversed(self._held))
            self._held = []
            self._failing = False
            self._retry = self.factory.clock.callLater(
                self._retry_seconds, self.retry_now
            )
            self._retry_seconds = min(_RETRY_LONGEST_SECONDS, 2 * self._retry_seconds)
        self._append_more()
        if not self._pending():
            waiters, self._idle_waiters = self._idle_waiters, []
            for waiter in waiters:
                waiter.callback(None)

    def _stored(self, appended: Appended, op: Op) -> None:
        self._appending_bytes -= len(op.body)
        self._retry_seconds = _RETRY_FIRST_SECONDS
        self.factory.health.answered()
        if appended.duplicate:
            # NB: after the board's next frame, so that when the op's first
            # copy was stored just now, that copy (which may wait for the
            # board's tick) reaches the sender before the ack.
            ack = dumps({"t": "ack", "cid": op.cid, "seq": appended.seq})
            if self._board is not None:
                self._board.send_after_ops(self, ack)
            else:
                self.factory.clock.callLater(0, self.send_text, ack)
            return
        assert appended.text is not None
        self.factory.activity.appended(self.board_id, appended.seq)
        if self._board is not None:
            self._board.receive(appended.seq, appended.text)

    def _pending(self) -> bool:
        return bool(self._appending or self._issued or self._held)

    def retry_now(self) -> bool:
        """
        Try the held ops again now (the store seems to be back).

        @return: whether this connection holds ops.
        """
        if self._retry is not None:
            if self._retry.active():
                self._retry.cancel()
            self._retry = None
        self._append_more()
        return self._pending()

    def appends_done(self) -> Deferred[None]:
        """
        Fires once the ops this connection received are all answered by the
        store (stored, refused or given up with the connection).
        """
        if not self._pending() or self._gone:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._idle_waiters.append(waiter)
        return waiter

    def _unexpected(self, failure: Failure, what: str) -> None:
        self.events.failure(
            "{what} failed on board {board}", failure, what=what, board=self.board_id
        )

    def _send_error(self, error: FrameError) -> None:
        self.events.debug(
            "Refused a frame from {client} on board {board}: {code} {message}",
            client=self.client_id,
            board=self.board_id,
            code=error.code,
            message=error.message,
        )
        self.send_text(dumps(error.frame()))

    def tell_saving(self, saving: bool) -> None:
        """
        Tell the page whether the board's ops are being saved, when that
        changed for it.
        """
        if saving == self._told_saving or self._board is None:
            return
        self._told_saving = saving
        if saving:
            self.send_text('{"t":"status","saving":true}')
        else:
            self.send_text(
                dumps(
                    {
                        "t": "status",
                        "saving": False,
                        "message": "storage unavailable: ops are kept and sent again",
                    }
                )
            )

    # Closing

    def close_with(self, code: int, reason: str) -> None:
        """
        Close the connection with C{code} and C{reason}, taking nothing more
        from it and sending it nothing more.
        """
        if self._leaving or self._gone:
            return
        self._leaving = True
        if self._outgoing is not None:
            self._outgoing.close()
        self._leave_board()
        if self.state == WebSocketProtocol.STATE_OPEN:
            self.sendCloseFrame(
                code=code, reasonUtf8=encode_truncate(reason, 123), isReply=False
            )
        elif self.state != WebSocketProtocol.STATE_CLOSED:
            self.dropConnection(abort=True)

    def _too_slow(self, held: int) -> None:
        self.events.warn(
            "Client {client} on board {board} reads too slowly: {bytes} bytes wait"
            " for it; closing",
            client=self.client_id,
            board=self.board_id,
            bytes=held,
        )
        # NB: the close frame waits behind what the transport holds; give a
        # peer that reads again a ping interval to take it, then drop it.
        self.closeHandshakeTimeout = max(
            float(self.closeHandshakeTimeout), self.factory.ping_interval_seconds
        )
        self.close_with(_POLICY, "reading too slowly: %d bytes waiting" % (held,))

    def _leave_board(self) -> None:
        if not self._accepted:
            return
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        self._appending.clear()
        self._held = []
        self._failing = False
        self._appending_bytes = 0
        waiters, self._idle_waiters = self._idle_waiters, []
        for waiter in waiters:
            waiter.callback(None)
        if self._board is not None:
            self.factory.presence.left(self.board_id, self)
            self.factory.boards.release(self._board, self)
            self._board = None

    def onClose(
        self, wasClean: bool, code: Optional[int], reason: Optional[str]
    ) -> None:
        """
        Leave the board; it leaves memory with its last connection.
        """
        self._gone = self.gone = True
        self.factory.connections.discard(self)
        self.factory.gate.left(self)
        if self._outgoing is not None:
            self._outgoing.close()
        self._leave_board()
        closed, self._closed_waiters = getattr(self, "_closed_waiters", []), []
        for waiter in closed:
            waiter.callback(None)

    def going_away(self, timeout_seconds: float) -> Deferred[None]:
        """
        Close with 1001 (going away) so that the client reconnects, maybe to
        another daemon, once the ops it sent are answered and their copies
        handed to the transport, or after C{timeout_seconds} at the latest.

        @return: a Deferred that fires once the connection is closed.
        """
        closed: Deferred[None] = Deferred()
        if self._gone:
            closed.callback(None)
            return closed
        self._closed_waiters.append(closed)
        if self._leaving:
            # Closing already (a slow reader given time to take its close
            # frame): the daemon is not waiting for it.
            self.dropConnection(abort=True)
            return closed

        def close(_: object = None) -> None:
            if timer.active():
                timer.cancel()
            self.close_with(_GOING_AWAY, "the server is shutting down")

        timer = self.factory.clock.callLater(timeout_seconds, close)
        done = self.appends_done()
        # One more turn of the reactor: the board sends what it stored in
        # the turn after the store answered.
        done.addCallback(lambda _: self.factory.clock.callLater(0, close))
        return closed

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

    def _write(self, frame: Any) -> None:
        # NB: Autobahn may have failed the connection itself (1007, 1009, a
        # ping timeout) before onClose tells us it is gone.
        if self.state != WebSocketProtocol.STATE_OPEN:
            return
        if isinstance(frame, bytes):
            self.sendMessage(frame)
        elif self._perMessageCompress is None and not self.send_queue:
            # NB: the fan-out's inner loop, once per connection per frame.
            # Autobahn's sendPreparedMessage would build the colored
            # arguments of a debug log line first, which cost about as much
            # as the write itself (see docs/performance.md).
            self.transport.write(frame.payloadHybi)
        else:
            self.sendPreparedMessage(frame)

    def sendMessage(
        self,
        payload: bytes,
        isBinary: bool = False,
        fragmentSize: Optional[int] = None,
        sync: bool = False,
        doNotCompress: bool = False,
    ) -> None:
        """
        Send one message, whatever its size.

        Autobahn holds what a connection sends to the bound on what it
        receives (C{--max-message-bytes}).  The daemon's own frames may pass
        it: a path grown by many C{extend}s goes whole in one C{state}
        frame, and a busy tick gathers many ops into one C{ops} frame.
        Refusing to send those would leave a board that nobody can open.
        """
        # NB: the bound is an attribute Autobahn reads on both ways; it is
        # lifted for this call only, and nothing is received meanwhile.
        bound, self.maxMessagePayloadSize = self.maxMessagePayloadSize, 0
        try:
            super().sendMessage(payload, isBinary, fragmentSize, sync, doNotCompress)
        finally:
            self.maxMessagePayloadSize = bound

    def send_text(self, text: str, live: bool = True) -> None:
        """
        Send one frame to this connection.
        """
        if not self._gone and self._outgoing is not None:
            data = text.encode("utf-8")
            self._outgoing.push(data, len(data), live)

    def send_prepared(self, prepared: Any) -> None:
        """
        Send a frame prepared once for the whole board.
        """
        if not self._gone and self._outgoing is not None:
            self._outgoing.push(prepared, len(prepared.payloadHybi))

    def send_frames(self, frames: Iterator[str]) -> None:
        """
        Send C{frames} one at a time, each once the transport took the one
        before; they do not count against the send buffer's bound.
        """
        if not self._gone and self._outgoing is not None:
            self._outgoing.push_stream(
                (data, len(data), False)
                for data in (text.encode("utf-8") for text in frames)
            )


class BoardFactory(WebSocketServerFactory):
    """
    Makes the connections of every board and keeps the live boards.

    @ivar boards: the boards live in this process.
    @ivar presence: who is on each of them.
    @ivar store: where ops are kept.
    @ivar limits: the bounds frames and boards are held to.
    @ivar health: whether the store takes ops now.
    @ivar draining: C{True} once the daemon is shutting down: no new
        connection is taken, no new op is stored.
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
        presence_bus: Optional[PresenceBus] = None,
        gate: Optional[Gate] = None,
        tick_seconds: float = 0.0,
    ) -> None:
        """
        @param presence_bus: carries presence to the other daemons sharing
            the store; C{None} for a daemon alone.
        @param max_queued_ops: ops one connection may have waiting for the
            store, counted (L{Limits.max_pending_op_bytes} bounds their
            bytes); past it the connection is closed (1013).
        @param max_appends_in_flight: ops of one connection handed to the
            store without waiting for its answers.
        @param gate: the checks at the door; by default, links over C{store}
            with the default quotas counted in this process and origins
            limited to the page's own host.
        @param tick_seconds: the least time between two C{ops} frames of a
            board (see L{whitebrd.boards}).
        """
        super().__init__(reactor=reactor)
        self.store = store
        self.limits = limits
        self.max_queued_ops = max_queued_ops
        self.max_appends_in_flight = max_appends_in_flight
        self.ping_interval_seconds = ping_interval_seconds
        self.connections: set[BoardProtocol] = set()
        self.presence = Presence(reactor, self.prepare, presence_bus)
        self.draining = False
        self._clock = self.clock = reactor
        if gate is None:
            from whitebrd.counters import LocalCounters

            quotas = Quotas(QuotaLimits(), LocalCounters(reactor), reactor)
            gate = Gate(Links(store, reactor.seconds), quotas, reactor)
        self.gate = gate
        self.quotas = gate.quotas
        self.activity = Activity(store, reactor)
        self.boards = BoardRegistry(
            store, self.prepare, reactor, limits.state_frame_bytes, tick_seconds
        )
        self.health = StoreHealth(
            store, reactor, self._saving_changed, self._retry_held
        )
        self.setProtocolOptions(
            maxMessagePayloadSize=limits.max_message_bytes,
            maxFramePayloadSize=limits.max_message_bytes,
            autoPingInterval=ping_interval_seconds,
            autoPingTimeout=ping_interval_seconds,
            # Refuse abuse with a close code and reason (1007, 1009), not by
            # dropping the TCP connection with no word.
            failByDrop=False,
            perMessageCompressionAccept=_accept_deflate,
            # A plain GET of a board's WebSocket address is answered 426
            # (Upgrade Required), not with Autobahn's own status page.
            webStatus=False,
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

    def _saving_changed(self, saving: bool) -> None:
        for connection in list(self.connections):
            connection.tell_saving(saving)

    def _retry_held(self) -> bool:
        held = False
        for connection in list(self.connections):
            held = connection.retry_now() or held
        return held

    def close_all(self, timeout_seconds: float = 10.0) -> Deferred[Any]:
        """
        Drain: take no new connection or op, let the store answer the ops
        already received, then close every connection with 1001 (going
        away).

        @return: a Deferred that fires once all are closed, or a little
            after C{timeout_seconds} at the latest.
        """
        self.draining = True
        self.health.stop()
        closing = [c.going_away(timeout_seconds) for c in list(self.connections)]
        if closing:
            self.events.info(
                "Closing {count} connections: shutting down", count=len(closing)
            )
        d: Deferred[Any] = DeferredList(closing, consumeErrors=True)
        d.addTimeout(timeout_seconds + 2.0, self.clock, onTimeoutCancel=lambda *_: None)
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
