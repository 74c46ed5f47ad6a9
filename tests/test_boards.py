"""
Tests for L{whitebrd.boards} and L{whitebrd.protocol}: fan-out of ops to a
board's connections, over in-memory transports with a fake clock and a
store that answers at once.
"""

import json
from typing import Any, Optional

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from autobahn.websocket.compress import (
    PerMessageDeflate,
    PerMessageDeflateOffer,
    PerMessageDeflateResponseAccept,
)
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase

from tests.memory_store import MemoryStore
from whitebrd.frames import stored_text
from whitebrd.limits import Limits
from whitebrd.counters import LocalCounters
from whitebrd.gate import Gate
from whitebrd.links import Links
from whitebrd.protocol import BoardFactory, BoardProtocol
from whitebrd.quotas import QuotaLimits, Quotas
from whitebrd.stores import StoreUnavailable


class _RecordingClient(WebSocketClientProtocol):
    frames: list[dict[str, Any]] = []
    closed: Optional[tuple[Any, Any]] = None

    def onConnect(self, response: Any) -> None:
        self.frames = []

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.frames.append(json.loads(payload))

    def onClose(self, wasClean: bool, code: Any, reason: Any) -> None:
        self.closed = (code, reason)


class Harness:
    """
    One board server in memory, and clients connected to it through pumps.
    """

    def __init__(self, limits: Optional[Limits] = None, **options: Any) -> None:
        self.clock = MemoryReactorClock()
        self.store = MemoryStore(limits)
        # No pings: Autobahn schedules them on the global reactor.
        self.factory = BoardFactory(
            self.store, limits or Limits(), self.clock, ping_interval_seconds=0, **options
        )
        self.pumps: list[iosim.IOPump] = []
        self.servers: dict[_RecordingClient, BoardProtocol] = {}

    def connect(
        self, board: str, client: str, since: Optional[int] = None, compress: bool = False
    ) -> _RecordingClient:
        url = "ws://127.0.0.1/b/%s/ws?client=%s" % (board, client)
        if since is not None:
            url += "&since=%d" % (since,)
        client_factory = WebSocketClientFactory(url, reactor=self.clock)
        client_factory.protocol = _RecordingClient
        if compress:
            client_factory.setProtocolOptions(
                perMessageCompressionOffers=[PerMessageDeflateOffer(True, True)],
                perMessageCompressionAccept=PerMessageDeflateResponseAccept,
            )
        server = self.factory.buildProtocol(None)
        protocol = client_factory.buildProtocol(None)
        pump = iosim.connect(
            server,
            iosim.FakeTransport(server, isServer=True),
            protocol,
            iosim.FakeTransport(protocol, isServer=False),
        )
        self.pumps.append(pump)
        self.servers[protocol] = server
        self.settle()
        return protocol

    def settle(self) -> None:
        """
        Let every frame and every scheduled flush go through.
        """
        for _ in range(10):
            for pump in self.pumps:
                pump.flush()
            self.clock.advance(0)

    def send(self, client: _RecordingClient, frame: dict[str, Any]) -> None:
        client.sendMessage(json.dumps(frame).encode())
        self.settle()


def add(cid: str, item_id: str, pts: list[float]) -> dict[str, Any]:
    item = {"id": item_id, "kind": "path", "pts": pts, "color": "#000000", "width": 2}
    return {"t": "op", "cid": cid, "op": "add", "item": item}


PRESENCE_FRAMES = {"people", "join", "leave", "presence"}


def kinds(client: _RecordingClient) -> list[str]:
    """
    The types of the board frames a client received, in order; presence
    frames (tests.test_presence) left out.
    """
    return [f["t"] for f in board_frames(client)]


def board_frames(client: _RecordingClient) -> list[dict[str, Any]]:
    """
    The board frames a client received, in order, presence frames left out.
    """
    return [f for f in client.frames if f["t"] not in PRESENCE_FRAMES]


class FanOutTests(SynchronousTestCase):
    """
    Every connection on a board, the sender's included, receives every op
    once the store holds it, in seq order.
    """

    def test_join_gets_hello_and_state(self) -> None:
        """
        A newcomer gets C{hello} with the board's seq and the ops per
        second it may send, then the board.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        h.send(a, add("alice-001-1", "s1", [1, 2]))

        b = h.connect("b1", "bobby-001")

        self.assertEqual(kinds(b), ["hello", "state"])
        self.assertEqual(
            b.frames[0],
            {
                "t": "hello",
                "board": "b1",
                "you": "bobby-001",
                "seq": 1,
                "mode": "edit",
                "rate": QuotaLimits().ops_per_second_per_connection,
            },
        )
        self.assertEqual(b.frames[1]["seq"], 1)
        self.assertEqual([i["id"] for i in b.frames[1]["items"]], ["s1"])

    def test_everyone_receives_each_op_with_seq_and_by(self) -> None:
        """
        An op reaches the sender (its acknowledgement) and everyone else,
        with the seq the store gave it and who sent it.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        b = h.connect("b1", "bobby-001")

        h.send(a, add("alice-001-1", "s1", [1, 2]))
        h.send(a, {"t": "op", "cid": "alice-001-2", "op": "extend", "id": "s1", "pts": [3, 4.5]})

        for client in (a, b):
            ops = [op for f in client.frames if f["t"] == "ops" for op in f["ops"]]
            self.assertEqual([op["seq"] for op in ops], [1, 2])
            self.assertEqual({op["by"] for op in ops}, {"alice-001"})
            self.assertEqual(ops[1]["pts"], [3, 4.5])

    def test_other_boards_hear_nothing(self) -> None:
        """
        Ops stay on their board.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        c = h.connect("b2", "carol-001")

        h.send(a, add("alice-001-1", "s1", [1, 2]))

        self.assertEqual(kinds(c), ["hello", "state"])

    def test_ops_of_one_turn_leave_as_one_frame(self) -> None:
        """
        Ops stored in the same turn of the reactor reach each connection as
        one frame, prepared once for all.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        b = h.connect("b1", "bobby-001")
        ops = [{"cid": "alice-001-%d" % n, "op": "add", "item": add("x", "s%d" % n, [n, n])["item"]} for n in range(5)]

        h.send(a, {"t": "ops", "ops": ops})

        frames = [f for f in b.frames if f["t"] == "ops"]
        self.assertEqual(len(frames), 1)
        self.assertEqual([op["seq"] for op in frames[0]["ops"]], [1, 2, 3, 4, 5])

    def test_busy_board_gathers_ops_into_one_frame_per_tick(self) -> None:
        """
        On a busy board the ops stored within one tick after a frame leave
        together when the tick ends, while the first op after a quiet spell
        leaves at once.
        """
        h = Harness(tick_seconds=0.01)
        a = h.connect("b1", "alice-001")
        b = h.connect("b1", "bobby-001")

        h.send(a, add("alice-001-1", "s1", [1, 2]))
        first = [f for f in b.frames if f["t"] == "ops"]
        for n in range(2, 5):
            h.send(a, {"t": "op", "cid": "alice-001-%d" % n, "op": "extend", "id": "s1", "pts": [n, n]})
        held = [f for f in b.frames if f["t"] == "ops"]
        h.clock.advance(0.01)
        h.settle()

        frames = [f for f in b.frames if f["t"] == "ops"]
        self.assertEqual([[op["seq"] for op in f["ops"]] for f in first], [[1]])
        self.assertEqual(len(held), 1)
        self.assertEqual([[op["seq"] for op in f["ops"]] for f in frames], [[1], [2, 3, 4]])

    def test_ops_go_to_the_store_without_waiting_for_answers(self) -> None:
        """
        A drawer's ops are handed to the store one after another without
        each waiting for the answer to the one before, so a fast drawer is
        not held to one store round trip per op; they are stored in the
        order sent.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        issued: list[str] = []
        held: list[tuple[Deferred[Any], Deferred[Any]]] = []
        append = h.store.append

        def slow_append(board: str, by: str, op: Any) -> Deferred[Any]:
            issued.append(op.cid)
            answer: Deferred[Any] = Deferred()
            held.append((append(board, by, op), answer))
            return answer

        h.store.append = slow_append  # type: ignore[method-assign]
        extend = {"op": "extend", "id": "s1", "pts": [3, 4]}
        h.send(
            a,
            {
                "t": "ops",
                "ops": [
                    {"cid": "alice-001-1", "op": "add", "item": add("x", "s1", [1, 2])["item"]},
                    dict(extend, cid="alice-001-2"),
                    dict(extend, cid="alice-001-3"),
                ],
            },
        )
        issued_before_answers = list(issued)
        for result, answer in held:
            result.chainDeferred(answer)
        h.settle()

        self.assertEqual(issued_before_answers, ["alice-001-1", "alice-001-2", "alice-001-3"])
        ops = [op for f in a.frames if f["t"] == "ops" for op in f["ops"]]
        self.assertEqual([(op["seq"], op["cid"]) for op in ops], [(1, "alice-001-1"), (2, "alice-001-2"), (3, "alice-001-3")])
        self.assertEqual([f for f in a.frames if f["t"] == "error"], [])

    def test_duplicate_cid_is_acknowledged_not_applied(self) -> None:
        """
        An op sent twice (a resend after a reconnect) is applied once; the
        second copy is answered with an C{ack} carrying the first seq, to
        its sender alone.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        b = h.connect("b1", "bobby-001")

        h.send(a, add("alice-001-1", "s1", [1, 2]))
        h.send(a, add("alice-001-1", "s1", [1, 2]))

        self.assertEqual(a.frames[-1], {"t": "ack", "cid": "alice-001-1", "seq": 1})
        self.assertEqual(kinds(b), ["hello", "state", "ops"])

    def test_refused_op_gets_error_with_cid_and_is_not_relayed(self) -> None:
        """
        A bad op is answered to its sender with an error naming it, and
        nobody else hears of it.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        b = h.connect("b1", "bobby-001")

        a.sendMessage(b'{"t":"op","cid":"alice-001-1","op":"add","item":{"id":"s1","kind":"path","pts":[NaN,1],"color":"#000000","width":2}}')
        h.settle()
        h.send(a, {"t": "op", "cid": "alice-001-2", "op": "extend", "id": "nope", "pts": [1, 1]})

        errors = [f for f in a.frames if f["t"] == "error"]
        self.assertEqual([(e["code"], e["cid"]) for e in errors], [("bad_item", "alice-001-1"), ("unknown_item", "alice-001-2")])
        self.assertEqual(kinds(b), ["hello", "state"])
        self.assertEqual(self.successResultOf(h.store.load("b1")).seq, 0)

    def test_connection_stays_open_after_errors(self) -> None:
        """
        A bad frame does not cost the sender its connection.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")

        a.sendMessage(b"not json")
        a.sendMessage(b"\x00\x01", isBinary=True)
        h.settle()
        h.send(a, add("alice-001-1", "s1", [1, 2]))

        self.assertEqual([f.get("code") for f in a.frames if f["t"] == "error"], ["bad_json", "bad_frame"])
        self.assertEqual(a.frames[-1]["t"], "ops")
        self.assertIsNone(a.closed)

    def test_cursor_goes_to_the_others_only(self) -> None:
        """
        Presence is relayed to the others, tagged with the sender, and not
        stored.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        b = h.connect("b1", "bobby-001")

        h.send(a, {"t": "cursor", "x": 5, "y": 6.5})

        self.assertEqual(b.frames[-1], {"t": "cursor", "by": "alice-001", "x": 5, "y": 6.5})
        self.assertEqual(kinds(a), ["hello", "state"])
        self.assertEqual(self.successResultOf(h.store.load("b1")).seq, 0)

    def test_since_sends_only_what_was_missed(self) -> None:
        """
        A client reconnecting with C{?since=} gets only the ops after it.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        for n in range(1, 4):
            h.send(a, add("alice-001-%d" % n, "s%d" % n, [n, n]))

        b = h.connect("b1", "bobby-001", since=1)

        self.assertEqual(kinds(b), ["hello", "ops"])
        self.assertEqual([op["seq"] for op in b.frames[1]["ops"]], [2, 3])

    def test_since_zero_gets_state(self) -> None:
        """
        C{?since=0} is a first join: the client gets the board's state.
        """
        h = Harness()
        a = h.connect("b1", "alice-001", since=0)

        self.assertEqual(kinds(a), ["hello", "state"])

    def test_since_beyond_the_board_gets_state(self) -> None:
        """
        A C{since} that is not a seq of this board gets the whole state.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        h.send(a, add("alice-001-1", "s1", [1, 1]))

        b = h.connect("b1", "bobby-001", since=99)

        self.assertEqual(kinds(b), ["hello", "state"])

    def test_board_leaves_memory_with_its_last_connection(self) -> None:
        """
        A board no one is on holds no memory and no subscription.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        b = h.connect("b1", "bobby-001")
        self.assertIn("b1", h.factory.boards)

        a.sendClose()
        h.settle()
        self.assertIn("b1", h.factory.boards)
        b.sendClose()
        h.settle()

        self.assertNotIn("b1", h.factory.boards)
        self.assertEqual(h.store.listening("b1"), 0)

    def test_joiner_stays_live_when_an_earlier_one_left_during_the_load(self) -> None:
        """
        When a connection that asked for a board closes before the board
        has loaded, the connections that asked after it still get a live
        board that receives every op.
        """
        h = Harness()
        h.store.slow_loads = True
        first = h.connect("b1", "alice-001")
        second = h.connect("b1", "bobby-001")
        first.sendClose()
        h.settle()

        h.store.finish_loads()
        h.settle()
        third = h.connect("b1", "carol-001")
        h.send(third, add("carol-001-1", "s1", [1, 1]))

        self.assertEqual([op["cid"] for op in ops_of(second)], ["carol-001-1"])
        self.assertEqual(len(h.factory.boards), 1)

    def test_ops_from_another_process_arrive_in_order(self) -> None:
        """
        Ops another daemon stored reach this board's connections in seq
        order even when they arrive out of order, and each once.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        board = h.factory.boards.get("b1")
        assert board is not None
        texts = [
            stored_text(
                json.dumps({"cid": "other-%d" % n, "op": "add", "item": add("x", "s%d" % n, [n, n])["item"]}),
                n,
                "otherdaemon",
            )
            for n in (1, 2, 3)
        ]

        board.receive(3, texts[2])
        board.receive(1, texts[0])
        board.receive(1, texts[0])
        h.settle()
        self.assertEqual([op["seq"] for f in a.frames if f["t"] == "ops" for op in f["ops"]], [1])
        board.receive(2, texts[1])
        h.settle()

        self.assertEqual([op["seq"] for f in a.frames if f["t"] == "ops" for op in f["ops"]], [1, 2, 3])

    def test_gap_is_filled_from_the_store(self) -> None:
        """
        An op lost between processes (pub/sub drops messages while it
        reconnects) is read from the store's log.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        b = h.connect("b1", "bobby-001")
        h.send(a, add("alice-001-1", "s1", [1, 1]))
        board = h.factory.boards.get("b1")
        assert board is not None
        # Two ops stored by "another process" whose first message is lost.
        h.store.unlisten("b1", board.receive)
        h.send(a, add("alice-001-2", "s2", [2, 2]))
        h.store.listen("b1", board.receive)
        h.send(a, add("alice-001-3", "s3", [3, 3]))

        h.clock.advance(1)
        h.settle()

        seqs = [op["seq"] for f in b.frames if f["t"] == "ops" for op in f["ops"]]
        self.assertEqual(seqs, [1, 2, 3])

    def test_store_down_holds_ops_and_stores_them_once_back(self) -> None:
        """
        When the store does not answer, every page on the board is told it
        is not saving and nobody receives the ops; the sender's connection
        holds them in order, and once the store answers again they are
        stored once and reach everyone, and the pages are told the board
        saves again.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        b = h.connect("b1", "bobby-001")
        h.store.available = False

        h.send(a, add("alice-001-1", "s1", [1, 1]))
        h.send(a, {"t": "op", "cid": "alice-001-2", "op": "extend", "id": "s1", "pts": [2, 2]})
        while_down = (kinds(a), kinds(b))
        h.store.available = True
        h.clock.advance(1)
        h.settle()

        saving = {"t": "status", "saving": False, "message": "storage unavailable: ops are kept and sent again"}
        self.assertEqual(while_down, (["hello", "state", "status"], ["hello", "state", "status"]))
        self.assertEqual(board_frames(a)[2], saving)
        for client in (a, b):
            frames = board_frames(client)
            self.assertEqual(kinds(client)[3:], ["status", "ops"])
            self.assertEqual(frames[3], {"t": "status", "saving": True})
            self.assertEqual([op["cid"] for op in frames[4]["ops"]], ["alice-001-1", "alice-001-2"])
        self.assertEqual(self.successResultOf(h.store.load("b1")).items()[0]["pts"], [1, 1, 2, 2])

    def test_ops_behind_a_failed_append_are_held_and_stored_in_order(self) -> None:
        """
        When the store times out on an C{add} that several ops in flight
        follow, none lands without its start: the connection holds them all
        and stores them, in order, once the store answers; the sender gets
        no error, its page is told the board is not saving meanwhile.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        h.store.hold()
        h.send(a, add("alice-001-1", "s1", [1, 1]))
        for n in range(2, 5):
            h.send(a, {"t": "op", "cid": "alice-001-%d" % n, "op": "extend", "id": "s1", "pts": [n, n]})

        h.store.fail_held()
        h.settle()
        stored_meanwhile = self.successResultOf(h.store.load("b1")).seq
        h.clock.advance(1)
        h.settle()

        self.assertEqual(stored_meanwhile, 0)
        self.assertEqual([f for f in a.frames if f["t"] == "error"], [])
        self.assertEqual([f["saving"] for f in a.frames if f["t"] == "status"], [False, True])
        self.assertEqual([op["cid"] for op in ops_of(a)], ["alice-001-%d" % n for n in range(1, 5)])
        self.assertEqual(self.successResultOf(h.store.load("b1")).items()[0]["pts"], [1, 1, 2, 2, 3, 3, 4, 4])

    def test_refusal_behind_a_failed_append_is_tried_again(self) -> None:
        """
        An C{extend} the store refuses only because the C{add} before it
        failed to be stored is not refused to the client: it is tried again
        after the add, and stored.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        server = h.servers[a]
        original = h.store.append
        calls = []
        first: Deferred[Any] = Deferred()

        def flaky(board: str, by: str, op: Any) -> Any:
            # The first add times out, its extend reaches the store anyway.
            calls.append(op.cid)
            return first if len(calls) == 1 else original(board, by, op)

        h.store.append = flaky  # type: ignore[method-assign]
        h.send(a, {"t": "ops", "ops": [
            {"cid": "alice-001-1", "op": "add", "item": add("x", "s1", [1, 1])["item"]},
            {"cid": "alice-001-2", "op": "extend", "id": "s1", "pts": [2, 2]},
        ]})
        first.errback(StoreUnavailable("no answer in time"))
        h.clock.advance(1)
        h.settle()

        self.assertEqual(calls, ["alice-001-1", "alice-001-2", "alice-001-1", "alice-001-2"])
        self.assertEqual([f for f in a.frames if f["t"] == "error"], [])
        self.assertEqual([op["cid"] for op in ops_of(a)], ["alice-001-1", "alice-001-2"])
        self.assertFalse(server._pending())

    def test_many_appends_in_flight_keep_their_order(self) -> None:
        """
        A burst is handed to the store without waiting op by op, and lands
        in the order it was sent.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        h.store.hold()
        h.send(a, add("alice-001-0", "s1", [0, 0]))
        for n in range(1, 30):
            h.send(a, {"t": "op", "cid": "alice-001-%d" % n, "op": "extend", "id": "s1", "pts": [n, n]})

        h.store.release()
        h.settle()

        ops = [op for f in a.frames if f["t"] == "ops" for op in f["ops"]]
        self.assertEqual([op["cid"] for op in ops], ["alice-001-%d" % n for n in range(30)])
        self.assertEqual([f for f in a.frames if f["t"] == "error"], [])

    def test_too_many_ops_waiting_for_the_store_close_with_1013(self) -> None:
        """
        A client with more ops waiting for a store that does not take them
        than a connection may hold is closed with 1013 (try again later)
        and a reason: it sends them again once reconnected.
        """
        h = Harness(max_queued_ops=5)
        a = h.connect("b1", "alice-001")
        h.store.hold()

        for n in range(7):
            a.sendMessage(json.dumps(add("alice-001-%d" % n, "s%d" % n, [n, n])).encode())
        h.settle()

        assert a.closed is not None
        self.assertEqual(a.closed[0], 1013)
        self.assertIn("waiting for the store", a.closed[1])

    def test_oversized_message_is_closed_with_1009(self) -> None:
        """
        A message past the size limit closes the connection with 1009.
        """
        h = Harness(Limits(max_message_bytes=1000))
        a = h.connect("b1", "alice-001")

        a.sendMessage(b'{"t":"cursor","x":1,"y":1,"pad":"' + b"x" * 2000 + b'"}')
        h.settle()

        assert a.closed is not None
        self.assertEqual(a.closed[0], 1009)

    def test_invalid_utf8_is_closed_with_1007(self) -> None:
        """
        A text message that is not UTF-8 closes the connection with 1007.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")

        a.sendMessage(b'{"t":"cursor","x":1,"y":"\xff\xfe"}')
        h.settle()

        assert a.closed is not None
        self.assertEqual(a.closed[0], 1007)

    def test_shutdown_closes_with_1001(self) -> None:
        """
        A daemon going away closes its connections with 1001, so clients
        reconnect, maybe elsewhere.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")

        closed = h.factory.close_all()
        h.settle()

        assert a.closed is not None
        self.assertEqual(a.closed[0], 1001)
        self.successResultOf(closed)


class HandshakeTests(SynchronousTestCase):
    """
    The WebSocket path and query are checked before the handshake completes.
    """

    def test_bad_client_id_is_refused(self) -> None:
        """
        A client id outside the contract is refused at the handshake with
        400, saying why, and never joins the board.
        """
        h = Harness()

        c = h.connect("b1", "bad!")

        self.assertEqual(
            c.http_status_line,
            "HTTP/1.1 400 client must be 8 to 40 of A-Z a-z 0-9 _ -",
        )
        # NB: frames is a class attribute until onConnect, which Autobahn
        # calls only once the handshake is accepted.
        self.assertNotIn("frames", vars(c))
        assert c.closed is not None
        self.assertIn("upgrade failed [400]", c.closed[1])
        self.assertEqual(len(h.factory.boards), 0)

    def test_client_id_is_made_when_missing(self) -> None:
        """
        A connection without C{?client=} is given an id in C{hello}.
        """
        h = Harness()
        c = h.connect("b1", "")
        self.assertRegex(c.frames[0]["you"], r"^[A-Za-z0-9_-]{8,40}$")


def ops_of(client: _RecordingClient) -> list[dict[str, Any]]:
    return [op for f in client.frames if f["t"] == "ops" for op in f["ops"]]


class SlowReaderTests(SynchronousTestCase):
    """
    A connection whose peer stops reading is bounded and then given up; a
    newcomer taking its time over a large board is not.
    """

    def test_reader_that_stops_is_closed_with_a_reason(self) -> None:
        """
        While one peer reads nothing, what waits for it grows only to the
        bound; then it is closed (1008, with a reason) and the others go on
        receiving every op.
        """
        h = Harness(Limits(max_send_buffer_bytes=2000))
        a = h.connect("b1", "alice-001")
        b = h.connect("b1", "bobby-001")
        stuck = h.servers[b]._outgoing
        assert stuck is not None
        stuck.pauseProducing()

        held = []
        for n in range(40):
            h.send(a, add("alice-001-%d" % (n,), "s%d" % (n,), [n, n]))
            held.append(stuck.held_bytes)
        stuck.resumeProducing()
        h.settle()

        self.assertLessEqual(max(held), 2000)
        self.assertEqual(b.closed[0] if b.closed else None, 1008)
        self.assertIn("reading too slowly", b.closed[1])
        self.assertEqual([op["seq"] for op in ops_of(a)], list(range(1, 41)))
        self.assertNotIn(h.servers[b], h.factory.boards.get("b1").subscribers)

    def test_newcomer_on_a_large_board_is_not_taken_for_a_slow_reader(self) -> None:
        """
        A board many times the bound reaches a newcomer whose transport takes
        one frame at a time, with live ops after it, and the newcomer stays.
        """
        h = Harness(Limits(max_send_buffer_bytes=2000, state_frame_bytes=1024))
        a = h.connect("b1", "alice-001")
        for n in range(200):
            h.send(a, add("alice-001-%d" % (n,), "s%d" % (n,), [n, n, n + 1, n + 1]))

        server = h.factory.buildProtocol(None)
        original = BoardProtocol._write

        def write_then_fill(self: BoardProtocol, frame: Any) -> None:
            original(self, frame)
            if self is server and self._outgoing is not None:
                self._outgoing.pauseProducing()

        self.patch(BoardProtocol, "_write", write_then_fill)
        h.factory.buildProtocol = lambda addr: server  # type: ignore[method-assign]
        b = h.connect("b1", "bobby-001")
        h.send(a, add("alice-001-x", "sx", [1, 1]))
        while server._outgoing is not None and len(server._outgoing):
            server._outgoing.resumeProducing()
            h.settle()

        states = [f for f in b.frames if f["t"] == "state"]
        self.assertIsNone(b.closed)
        self.assertGreater(len(states), 5)
        self.assertEqual(sum(len(f["items"]) for f in states), 200)
        self.assertEqual(kinds(b)[-1], "ops")
        self.assertEqual(ops_of(b)[-1]["seq"], 201)


class FloodTests(SynchronousTestCase):
    """
    A flood of frames the validator refuses costs the sender its rate limit
    like a flood of ops, and the others on the board notice nothing.
    """

    def test_flood_of_bad_frames_is_closed(self) -> None:
        """
        Bad frames take from the connection's bucket: past it they go
        unanswered, and a sender that keeps on is closed with 1008; the
        other person's ops still go through.
        """
        clock = MemoryReactorClock()
        store = MemoryStore()
        quotas = Quotas(
            QuotaLimits(ops_per_second_per_connection=5), LocalCounters(clock), clock
        )
        gate = Gate(Links(store, clock.seconds), quotas, clock)
        h = Harness(gate=gate)
        a = h.connect("b1", "alice-001")
        b = h.connect("b1", "bobby-001")

        for n in range(30):
            if a.closed is None:
                a.sendMessage(b"not json %d" % (n,))
                h.settle()
        h.send(b, add("bobby-001-1", "t1", [1, 1]))

        self.assertEqual([f["code"] for f in a.frames if f["t"] == "error"], ["bad_json"] * 5)
        self.assertEqual(a.closed[0] if a.closed else None, 1008)
        self.assertIsNone(b.closed)
        self.assertEqual([op["cid"] for op in ops_of(b)], ["bobby-001-1"])


class HelloRateTests(SynchronousTestCase):
    """
    A page is told how fast it may send, so that it paces a big batch of
    ops instead of having them refused.
    """

    def test_hello_names_the_lower_of_the_two_rates(self) -> None:
        """
        C{hello}'s rate is what the connection can send before either its
        own limit or its address's refuses an op.
        """
        rates = []
        for per_connection, per_address in [(50, 80), (300, 120)]:
            clock = MemoryReactorClock()
            limits = QuotaLimits(
                ops_per_second_per_connection=per_connection,
                ops_per_second_per_address=per_address,
            )
            quotas = Quotas(limits, LocalCounters(clock), clock)
            h = Harness(gate=Gate(Links(MemoryStore(), clock.seconds), quotas, clock))
            rates.append(h.connect("b1", "alice-001").frames[0]["rate"])

        self.assertEqual(rates, [50, 120])


class DrainTests(SynchronousTestCase):
    """
    Shutting down lets the ops already received be stored and their copies
    go out before every connection is closed with 1001; new connections are
    refused meanwhile.
    """

    def test_pending_appends_finish_before_1001(self) -> None:
        """
        An op still with the store when the daemon is asked to stop is
        stored and acknowledged to its sender, and only then is the
        connection closed with 1001.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        h.store.hold()
        h.send(a, add("alice-001-1", "s1", [1, 1]))

        done = h.factory.close_all(timeout_seconds=10)
        h.settle()
        open_while_storing = a.closed is None
        h.store.release()
        h.settle()

        self.assertTrue(open_while_storing)
        self.assertEqual([op["cid"] for op in ops_of(a)], ["alice-001-1"])
        self.assertEqual(a.closed[0] if a.closed else None, 1001)
        self.successResultOf(done)

    def test_drain_gives_up_waiting_after_its_timeout(self) -> None:
        """
        A store that never answers does not hold the shutdown: after the
        timeout every connection is closed with 1001 anyway, and the op stays
        the client's to send again.
        """
        h = Harness()
        a = h.connect("b1", "alice-001")
        h.store.hold()
        h.send(a, add("alice-001-1", "s1", [1, 1]))

        done = h.factory.close_all(timeout_seconds=3)
        h.clock.advance(3)
        h.settle()

        self.assertEqual(a.closed[0] if a.closed else None, 1001)
        self.assertEqual(ops_of(a), [])
        self.successResultOf(done)

    def test_no_new_connection_while_draining(self) -> None:
        """
        A handshake that arrives while the daemon drains is refused, so the
        client goes elsewhere.
        """
        h = Harness()
        h.factory.close_all()

        c = h.connect("b1", "carol-001")

        self.assertFalse(hasattr(c, "frames") and c.frames)
        self.assertEqual(len(h.factory.connections), 0)


class CompressionTests(SynchronousTestCase):
    """
    permessage-deflate is taken, cheaply.
    """

    def test_deflate_holds_no_zlib_stream_between_messages(self) -> None:
        """
        A client offering permessage-deflate gets it with no context
        takeover and 512-byte windows both ways, its ops go through
        compressed, and once a message is through the connection holds no
        zlib stream, so an idle connection costs no compression memory.
        """
        h = Harness()
        a = h.connect("b1", "alice-001", compress=True)

        h.send(a, add("alice-001-1", "s1", [1, 1]))

        deflate = h.servers[a]._perMessageCompress
        assert isinstance(deflate, PerMessageDeflate)
        self.assertEqual(
            (
                deflate.server_max_window_bits,
                deflate.client_max_window_bits,
                deflate.server_no_context_takeover,
                deflate.client_no_context_takeover,
            ),
            (9, 9, True, True),
        )
        self.assertEqual([op["cid"] for op in ops_of(a)], ["alice-001-1"])
        self.assertIsNone(deflate._compressor)
        self.assertIsNone(deflate._decompressor)
