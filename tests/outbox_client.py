"""
A person's browser tab, in Python, for the tests that cut connections and
kill servers under it.

It keeps every op it sends until its own copy comes back (or an C{ack}), as
C{static/js/outbox.js} does; after a reconnect it asks for what it missed
with C{?since=}, waits until it has caught up (its seq reached the
C{hello} seq), and sends every unconfirmed op again, in order, as
C{static/js/sync.js} does.  Its board is folded from what the daemon sends
only, so it shows exactly what the daemon said, and it counts each op it
applies by cid, so an op applied twice shows.
"""

import json
import random
import time
from collections import Counter
from typing import Any, Optional

from tests.rawws import Closed, HandshakeRefused, RawWebSocket

__all__ = ["OutboxClient"]

_RETRYABLE = {"storage_unavailable", "rate_limited"}


class OutboxClient:
    """
    One tab on one board, reconnecting to any of C{ports}.

    @ivar items: the board as the daemon sent it, by id, in drawing order.
    @ivar seq: the seq this tab holds.
    @ivar outbox: ops sent or to send, not yet confirmed, by cid, oldest
        first.
    @ivar confirmed: cids whose own copy came back: stored and
        acknowledged.
    @ivar applied: how many times each cid was applied from an C{ops} frame.
    @ivar refused: C{error} frames that dropped an op for good.
    @ivar statuses: the C{status} frames received.
    @ivar closes: the close codes the daemon sent.
    """

    def __init__(
        self,
        ports: list[int],
        board: str,
        client_id: str,
        rng: Optional[random.Random] = None,
    ) -> None:
        self.ports = list(ports)
        self.board = board
        self.client_id = client_id
        self.rng = rng or random.Random(0)
        self.port = self.ports[0]
        self.socket: Optional[RawWebSocket] = None
        self.items: dict[str, dict[str, Any]] = {}
        self.seq = 0
        self.outbox: dict[str, dict[str, Any]] = {}
        self.confirmed: set[str] = set()
        self.applied: Counter[str] = Counter()
        self.refused: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.closes: list[Optional[int]] = []
        self.connections = 0
        self.cuts = 0
        self._since = 0
        self._hello_seq: Optional[int] = None
        self._in_state = False
        self._caught_up = False
        self._resend_at: Optional[float] = None
        self._next_attempt = 0.0

    @property
    def caught_up(self) -> bool:
        return self.socket is not None and self._caught_up

    # Connecting

    def connect(self, port: Optional[int] = None) -> bool:
        """
        Open a connection (to C{port}, or the one used last), asking for the
        ops after the seq held.

        @return: whether the daemon took it.
        """
        if port is not None:
            self.port = port
        path = "/b/%s/ws?client=%s" % (self.board, self.client_id)
        if self.seq > 0:
            path += "&since=%d" % (self.seq,)
        try:
            self.socket = RawWebSocket(self.port, path, timeout=5.0)
        except (OSError, HandshakeRefused):
            self.socket = None
            # Try another daemon next time, as a proxy would.
            others = [p for p in self.ports if p != self.port]
            if others:
                self.port = self.rng.choice(others)
            self._next_attempt = time.monotonic() + 0.05
            return False
        self.connections += 1
        self._since = self.seq
        self._hello_seq = None
        self._in_state = False
        self._caught_up = False
        return True

    def cut(self) -> None:
        """
        Lose the connection at once (a TCP reset), whatever was in flight.
        """
        if self.socket is not None:
            self.socket.cut()
            self.cuts += 1
        self._lost()

    def _lost(self) -> None:
        if self.socket is not None:
            self.socket.close()
        self.socket = None
        self._caught_up = False

    # Drawing

    def submit(self, op: dict[str, Any]) -> None:
        """
        Draw an op: keep it, and send it if the tab is caught up.
        """
        self.outbox[op["cid"]] = op
        if self.caught_up and self._resend_at is None:
            self._send(op)

    def _send(self, op: dict[str, Any]) -> None:
        if self.socket is None:
            return
        try:
            self.socket.send_text(json.dumps(dict(op, t="op")))
        except OSError:
            self._lost()

    def _send_all(self) -> None:
        self._resend_at = None
        for op in list(self.outbox.values()):
            if self.socket is None:
                return
            self._send(op)

    # Receiving

    def step(self, timeout: float = 0.0) -> None:
        """
        Reconnect if the connection is gone, read what has arrived (waiting
        up to C{timeout} for the first frame), resend what waits.
        """
        if self.socket is None:
            if time.monotonic() < self._next_attempt:
                time.sleep(min(timeout, 0.01))
                return
            if not self.connect():
                return
        assert self.socket is not None
        try:
            if timeout > 0 or self.socket.pending():
                self._handle(self.socket.receive(timeout))
            while self.socket is not None and self.socket.pending():
                self._handle(self.socket.receive(5.0))
        except TimeoutError:
            pass
        except Closed as closed:
            self.closes.append(closed.code)
            self._lost()
            self._next_attempt = time.monotonic() + 0.02
        except OSError:
            self._lost()
        if self._resend_at is not None and time.monotonic() >= self._resend_at:
            if self.caught_up:
                self._send_all()

    def settle(self, timeout: float = 60.0, seq: Optional[int] = None) -> None:
        """
        Keep going until every op is confirmed and the tab is caught up (and
        holds C{seq}, if given).
        """
        deadline = time.monotonic() + timeout
        while self.outbox or not self.caught_up or (seq is not None and self.seq < seq):
            if time.monotonic() > deadline:
                raise AssertionError(
                    "%s not settled in %gs: %d ops unconfirmed, seq %d, caught up %s"
                    % (
                        self.client_id,
                        timeout,
                        len(self.outbox),
                        self.seq,
                        self.caught_up,
                    )
                )
            self.step(0.05)

    def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("t")
        if kind == "hello":
            self._hello_seq = frame["seq"]
            expect_state = self._since == 0 or self._since > frame["seq"]
            if not expect_state and self.seq >= frame["seq"]:
                self._catch_up()
        elif kind == "state":
            if not self._in_state:
                self.items = {}
            for item in frame["items"]:
                self.items[item["id"]] = item
            self._in_state = bool(frame.get("more"))
            if not self._in_state:
                self.seq = frame["seq"]
                self._check_caught_up()
        elif kind == "ops":
            for op in frame["ops"]:
                self._apply(op)
            self._check_caught_up()
        elif kind == "ack":
            if self.outbox.pop(frame["cid"], None) is not None:
                self.confirmed.add(frame["cid"])
        elif kind == "error":
            cid = frame.get("cid")
            if frame.get("code") in _RETRYABLE:
                self._resend_at = time.monotonic() + 0.2
            else:
                self.refused.append(frame)
                if cid is not None:
                    self.outbox.pop(cid, None)
        elif kind == "status":
            self.statuses.append(frame)

    def _apply(self, op: dict[str, Any]) -> None:
        if op["seq"] <= self.seq:
            return
        if op["seq"] != self.seq + 1:
            raise AssertionError(
                "%s: seq %d after %d; the daemon skipped ops"
                % (self.client_id, op["seq"], self.seq)
            )
        self.seq = op["seq"]
        self.applied[op["cid"]] += 1
        if self.outbox.pop(op["cid"], None) is not None:
            self.confirmed.add(op["cid"])
        kind = op["op"]
        if kind == "add":
            item = op["item"]
            self.items.pop(item["id"], None)
            self.items[item["id"]] = dict(item, pts=list(item["pts"]))
        elif kind == "extend":
            self.items[op["id"]]["pts"].extend(op["pts"])
        elif kind == "erase":
            for item_id in op["ids"]:
                self.items.pop(item_id, None)
        elif kind == "clear":
            self.items = {}

    def _check_caught_up(self) -> None:
        if (
            not self._caught_up
            and self._hello_seq is not None
            and not self._in_state
            and self.seq >= self._hello_seq
        ):
            self._catch_up()

    def _catch_up(self) -> None:
        self._caught_up = True
        self._send_all()
