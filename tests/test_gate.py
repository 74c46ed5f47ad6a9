"""
Tests for L{whitebrd.gate} and the access checks of L{whitebrd.protocol}:
who gets onto a board's WebSocket, what a view link may do there, and what
happens to open connections when links, locks or the board change.  In
memory, with a fake clock.
"""

import json
from typing import Any, Optional

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase

from tests.memory_store import MemoryStore
from whitebrd.counters import LocalCounters
from whitebrd.gate import BOARD_DELETED, LINK_GONE, Gate
from whitebrd.limits import Limits
from whitebrd.links import Links
from whitebrd.protocol import BoardFactory
from whitebrd.quotas import QuotaLimits, Quotas


class _Client(WebSocketClientProtocol):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[dict[str, Any]] = []
        self.texts: list[str] = []
        self.closed: Optional[tuple[Any, Any]] = None

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.texts.append(payload.decode("utf-8"))
        self.frames.append(json.loads(payload))

    def onClose(self, wasClean: bool, code: Any, reason: Any) -> None:
        self.closed = (code, reason)


def line(cid: str, item_id: str) -> dict[str, Any]:
    item = {
        "id": item_id,
        "kind": "line",
        "pts": [0, 0, 1, 1],
        "color": "#000000",
        "width": 2,
    }
    return {"t": "op", "cid": cid, "op": "add", "item": item}


class Harness:
    """
    A daemon in memory with the gate on, and clients through pumps.
    """

    def __init__(
        self, quotas: Optional[QuotaLimits] = None, origins: tuple[str, ...] = ()
    ) -> None:
        self.clock = MemoryReactorClock()
        self.clock.advance(1_800_000_000)
        self.store = MemoryStore()
        self.links = Links(self.store, self.clock.seconds)
        gate = Gate(
            self.links,
            Quotas(quotas or QuotaLimits(), LocalCounters(self.clock), self.clock),
            self.clock,
            origins,
        )
        self.factory = BoardFactory(
            self.store, Limits(), self.clock, ping_interval_seconds=0, gate=gate
        )
        self.factory.watch_access()
        self.pumps: list[iosim.IOPump] = []

    def create(self) -> tuple[str, str, str]:
        edit, owner, board = self._done(Deferred.fromCoroutine(self.links.create()))
        return edit, owner, board

    def view(self, edit: str, seconds: Optional[float] = None) -> str:
        access = self._done(self.links.open(edit, False))
        return self._done(
            Deferred.fromCoroutine(self.links.make_view(access, seconds))
        ).id

    @staticmethod
    def _done(d: "Deferred[Any]") -> Any:
        results: list[Any] = []
        d.addBoth(results.append)
        assert results and not hasattr(results[0], "raiseException"), results
        return results[0]

    def connect(self, path: str, client: str, origin: Optional[str] = None) -> _Client:
        url = "ws://127.0.0.1%s/ws?client=%s" % (path, client)
        client_factory = WebSocketClientFactory(url, origin=origin, reactor=self.clock)
        client_factory.protocol = _Client
        server = self.factory.buildProtocol(None)
        protocol = client_factory.buildProtocol(None)
        self.pumps.append(
            iosim.connect(
                server,
                iosim.FakeTransport(server, isServer=True),
                protocol,
                iosim.FakeTransport(protocol, isServer=False),
            )
        )
        self.settle()
        return protocol

    def settle(self) -> None:
        for _ in range(10):
            for pump in self.pumps:
                pump.flush()
            self.clock.advance(0)

    def send(self, client: _Client, frame: dict[str, Any]) -> None:
        client.sendMessage(json.dumps(frame).encode())
        self.settle()


def errors(client: _Client) -> list[str]:
    return [f["code"] for f in client.frames if f["t"] == "error"]


def seqs(client: _Client) -> list[int]:
    return [op["seq"] for f in client.frames if f["t"] == "ops" for op in f["ops"]]


class ViewLinkTests(SynchronousTestCase):
    """
    A view link shows the board live and draws nothing.
    """

    def test_view_connection_watches_and_is_refused_drawing(self) -> None:
        """
        Through a view link, hello names the view id and says view; ops
        drawn through the edit link arrive; an op sent by hand is answered
        read_only and not stored; nothing received holds the edit id.
        """
        h = Harness()
        edit, _, board = h.create()
        view = h.view(edit)
        drawer = h.connect("/b/" + edit, "drawer-01")
        viewer = h.connect("/v/" + view, "viewer-01")

        h.send(drawer, line("drawer-01-1", "s1"))
        h.send(viewer, line("viewer-01-1", "v1"))
        batch = {k: v for k, v in line("viewer-01-2", "v2").items() if k != "t"}
        h.send(viewer, {"t": "ops", "ops": [batch]})

        hello = viewer.frames[0]
        self.assertEqual(
            (hello["t"], hello["board"], hello["mode"]), ("hello", view, "view")
        )
        self.assertEqual(drawer.frames[0]["mode"], "edit")
        self.assertEqual(seqs(viewer), [1])
        self.assertEqual(errors(viewer), ["read_only", "read_only"])
        self.assertEqual(self._items(h, board), ["s1"])
        for text in viewer.texts:
            self.assertNotIn(edit, text)
            self.assertNotIn(board, text)

    def _items(self, h: Harness, board: str) -> list[str]:
        return [i["id"] for i in Harness._done(h.store.load(board)).items()]

    def test_expired_view_link_is_refused_and_closes_at_expiry(self) -> None:
        """
        A connection through a view link closes with 4403 when the link
        expires; afterwards the handshake is refused with 410.
        """
        h = Harness()
        edit, _, _ = h.create()
        view = h.view(edit, seconds=60)
        viewer = h.connect("/v/" + view, "viewer-01")
        self.assertIsNone(viewer.closed)

        h.clock.advance(61)
        h.settle()
        late = h.connect("/v/" + view, "viewer-02")

        self.assertEqual(viewer.closed[0], LINK_GONE)  # type: ignore[index]
        self.assertIn("expired", viewer.closed[1])  # type: ignore[index]
        self.assertIsNotNone(late.closed)
        self.assertNotIn("hello", [f["t"] for f in late.frames])


class AccessChangeTests(SynchronousTestCase):
    """
    Open connections follow changes of links, locks and deletions.
    """

    def test_rotation_closes_connections_on_old_links(self) -> None:
        """
        After rotation, connections through the old edit link and the view
        links are closed with 4403; the new edit link draws on the same
        board.
        """
        h = Harness()
        edit, owner, board = h.create()
        view = h.view(edit)
        old = h.connect("/b/" + edit, "drawer-01")
        viewer = h.connect("/v/" + view, "viewer-01")
        h.send(old, line("drawer-01-1", "s1"))

        access = Harness._done(h.links.open(edit, False))
        fresh = Harness._done(Deferred.fromCoroutine(h.links.rotate(access)))
        h.settle()
        new = h.connect("/b/" + fresh, "drawer-02")
        h.send(new, line("drawer-02-1", "s2"))

        self.assertEqual(old.closed[0], LINK_GONE)  # type: ignore[index]
        self.assertEqual(viewer.closed[0], LINK_GONE)  # type: ignore[index]
        self.assertEqual(new.frames[0]["board"], fresh)
        self.assertEqual(seqs(new), [2])

    def test_lock_makes_every_link_read_only_until_unlocked(self) -> None:
        """
        A lock tells open connections they may only watch, refuses their
        ops with read_only, and an unlock lets them draw again.
        """
        h = Harness()
        a = h.connect("/b/team-retro", "drawer-01")

        Harness._done(h.store.set_locked("team-retro", True, 0.0))
        h.settle()
        h.send(a, line("drawer-01-1", "s1"))
        Harness._done(h.store.set_locked("team-retro", False, 0.0))
        h.settle()
        h.send(a, line("drawer-01-2", "s2"))

        accesses = [f for f in a.frames if f["t"] == "access"]
        self.assertEqual(
            [(f["mode"], f["locked"]) for f in accesses],
            [("view", True), ("edit", False)],
        )
        self.assertEqual(errors(a), ["read_only"])
        self.assertEqual(seqs(a), [1])

    def test_deletion_closes_everyone_and_forgets_the_board(self) -> None:
        """
        Deleting a board closes its connections with 4410 and takes it out
        of memory; a named board starts again from empty.
        """
        h = Harness()
        a = h.connect("/b/team-retro", "drawer-01")
        h.send(a, line("drawer-01-1", "s1"))

        Harness._done(h.store.delete("team-retro"))
        h.settle()
        b = h.connect("/b/team-retro", "drawer-02")

        self.assertEqual(a.closed[0], BOARD_DELETED)  # type: ignore[index]
        self.assertEqual(b.frames[0]["seq"], 0)


class DoorTests(SynchronousTestCase):
    """
    The handshake refuses what must not connect.
    """

    def test_foreign_origin_is_refused_own_origin_accepted(self) -> None:
        """
        A page from another site cannot open a board's WebSocket; the
        page's own host, and a client that sends no Origin, can.
        """
        h = Harness()

        foreign = h.connect("/b/team-retro", "drawer-01", origin="http://evil.example")
        own = h.connect("/b/team-retro", "drawer-02", origin="http://127.0.0.1")
        plain = h.connect("/b/team-retro", "drawer-03")

        self.assertIsNotNone(foreign.closed)
        self.assertEqual(foreign.frames, [])
        self.assertEqual(own.frames[0]["t"], "hello")
        self.assertEqual(plain.frames[0]["t"], "hello")

    def test_origin_must_be_the_pages_own_host_and_port(self) -> None:
        """
        By default a page may connect only from the host and port it was
        served from; a Host without a port (behind a TLS proxy) matches the
        origin's default port.
        """
        gate = Harness().factory.gate
        cases = [
            ("http://127.0.0.1:8080", "127.0.0.1:8080", True),
            ("https://draw.example.org", "draw.example.org", True),
            ("https://draw.example.org", "draw.example.org:443", True),
            ("http://127.0.0.1:9999", "127.0.0.1:8080", False),
            ("http://evil.example", "draw.example.org", False),
            ("http://draw.example.org.evil.example", "draw.example.org", False),
            ("null", "draw.example.org", False),
            ("file://", "draw.example.org", False),
            ("http://[::1]:8080", "[::1]:8080", True),
            ("http://draw.example.org", None, False),
            (None, "draw.example.org", True),
        ]
        for origin, host, allowed in cases:
            self.assertEqual(gate.origin_allowed(origin, host), allowed, (origin, host))

    def test_allowed_origins_replace_the_default(self) -> None:
        """
        With allowed origins set, only those (not the page's own host)
        connect.
        """
        h = Harness(origins=("https://draw.example.org",))

        allowed = h.connect("/b/x", "drawer-01", origin="https://draw.example.org")
        own = h.connect("/b/x", "drawer-02", origin="http://127.0.0.1")

        self.assertEqual(allowed.frames[0]["t"], "hello")
        self.assertEqual(own.frames, [])

    def test_unknown_and_gone_links_are_refused(self) -> None:
        """
        A view id nobody made, an edit id under /v/ and a deleted board's
        link are refused at the handshake.
        """
        h = Harness()
        edit, _, board = h.create()
        Harness._done(h.store.delete(board))

        for path in ("/v/nobody-made-this", "/v/" + edit, "/b/" + edit):
            client = h.connect(path, "drawer-01")
            self.assertEqual(client.frames, [], path)
            self.assertIsNotNone(client.closed, path)

    def test_places_and_rates_per_connection(self) -> None:
        """
        An address holds at most its places; a connection past its ops per
        second is answered rate_limited and nothing more is stored.
        """
        h = Harness(
            QuotaLimits(connections_per_address=2, ops_per_second_per_connection=3)
        )
        a = h.connect("/b/x", "drawer-01")
        h.connect("/b/x", "drawer-02")
        third = h.connect("/b/x", "drawer-03")

        for n in range(5):
            a.sendMessage(
                json.dumps(line("drawer-01-%d" % (n,), "s%d" % (n,))).encode()
            )
        h.settle()

        self.assertEqual(third.frames, [])
        self.assertEqual(seqs(a), [1, 2, 3])
        self.assertEqual(errors(a), ["rate_limited", "rate_limited"])
