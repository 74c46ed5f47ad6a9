"""
Tests for L{whitebrd.presence}: who is on a board, their names, views and
cursors, on one daemon and across daemons through a bus, in memory.
(C{tests.test_end_to_end} runs the same across two daemons on Redis.)
"""

from typing import Any, Callable

from twisted.trial.unittest import SynchronousTestCase

from tests.test_boards import Harness, _RecordingClient


class MemoryBus:
    """
    A bus that hands every message to every subscriber at once, as Redis
    pub/sub does, and can be cut to play a daemon that vanished.
    """

    def __init__(self) -> None:
        self.subscribers: list[tuple[str, Callable[[str], None]]] = []
        self.sent: list[str] = []

    def connect(self) -> "_BusEnd":
        return _BusEnd(self)


class _BusEnd:
    def __init__(self, bus: MemoryBus) -> None:
        self.bus = bus
        self.cut = False
        self._receivers: dict[str, Callable[[str], None]] = {}

    def subscribe(self, board: str, receive: Callable[[str], None]) -> None:
        self._receivers[board] = receive
        self.bus.subscribers.append((board, lambda text: None if self.cut else receive(text)))

    def unsubscribe(self, board: str) -> None:
        receive = self._receivers.pop(board, None)
        self.bus.subscribers = [(b, r) for b, r in self.bus.subscribers if b != board or r is receive]

    def publish(self, board: str, text: str) -> None:
        if self.cut:
            return
        self.bus.sent.append(text)
        for subscribed, receive in list(self.bus.subscribers):
            if subscribed == board:
                receive(text)


def presence(client: _RecordingClient) -> list[dict[str, Any]]:
    """
    The presence frames a client received, in order.
    """
    return [f for f in client.frames if f["t"] in ("people", "join", "leave", "presence", "cursor")]


def people(client: _RecordingClient) -> dict[str, Any]:
    """
    Who a client knows to be on the board, by client id, from the presence
    frames it received, as a page would fold them.
    """
    known: dict[str, Any] = {}
    for frame in client.frames:
        if frame["t"] == "people":
            known = {p["by"]: {"name": p["name"], "view": p.get("view")} for p in frame["people"]}
        elif frame["t"] == "join":
            known[frame["by"]] = {"name": frame["name"], "view": frame.get("view")}
        elif frame["t"] == "leave":
            known.pop(frame["by"], None)
        elif frame["t"] == "presence":
            known[frame["by"]].update({k: frame[k] for k in ("name", "view") if k in frame})
    return known


class PresenceTests(SynchronousTestCase):
    """
    On one daemon: people see who else is on the board, by name, and see
    them leave at once.
    """

    def test_newcomer_hears_who_is_here_and_the_others_hear_of_them(self) -> None:
        """
        A newcomer gets the people already on the board, with their names
        and views, after the board's state; those people hear it arrived.
        """
        h = Harness()
        alice = h.connect("b1", "alice-001")
        h.send(alice, {"t": "presence", "name": "Alice", "view": [0, 0, 800, 600]})

        bob = h.connect("b1", "bobby-001")

        self.assertEqual([f["t"] for f in bob.frames], ["hello", "state", "people"])
        self.assertEqual(
            bob.frames[2]["people"], [{"by": "alice-001", "name": "Alice", "view": [0, 0, 800, 600]}]
        )
        self.assertEqual(alice.frames[-1], {"t": "join", "by": "bobby-001", "name": None})
        self.assertEqual(h.factory.presence.count("b1"), 2)

    def test_names_and_views_reach_the_others(self) -> None:
        """
        A name or view a person gives goes to everyone else, not back.
        """
        h = Harness()
        alice = h.connect("b1", "alice-001")
        bob = h.connect("b1", "bobby-001")
        before = len(alice.frames)

        h.send(alice, {"t": "presence", "name": "Ada \U0001F469\u200d\U0001F4BB"})
        h.send(alice, {"t": "presence", "view": [-100, 50, 300.5, 400]})

        self.assertEqual(
            presence(bob)[-2:],
            [
                {"t": "presence", "by": "alice-001", "name": "Ada \U0001F469\u200d\U0001F4BB"},
                {"t": "presence", "by": "alice-001", "view": [-100, 50, 300.5, 400]},
            ],
        )
        self.assertEqual(len(alice.frames), before)

    def test_leaving_is_told_at_once_and_only_for_the_last_tab(self) -> None:
        """
        A person with two tabs open stays while one is closed (a reload)
        and leaves with the last; nobody hears a second join.
        """
        h = Harness()
        alice = h.connect("b1", "alice-001")
        bob = h.connect("b1", "bobby-001")
        bob_again = h.connect("b1", "bobby-001")

        bob.transport.loseConnection()
        h.settle()
        self.assertEqual([f["t"] for f in presence(alice)], ["people", "join"])

        bob_again.transport.loseConnection()
        h.settle()
        self.assertEqual(presence(alice)[-1], {"t": "leave", "by": "bobby-001"})
        self.assertEqual(h.factory.presence.count("b1"), 1)

    def test_bad_presence_is_refused_and_not_relayed(self) -> None:
        """
        A name that is not text is answered with an error and nobody hears
        of it.
        """
        h = Harness()
        alice = h.connect("b1", "alice-001")
        bob = h.connect("b1", "bobby-001")

        h.send(alice, {"t": "presence", "name": "a\u0000b"})

        self.assertEqual(alice.frames[-1]["code"], "bad_frame")
        self.assertEqual(presence(bob), [{"t": "people", "people": [{"by": "alice-001", "name": None}]}])


class AcrossDaemonsTests(SynchronousTestCase):
    """
    Two daemons sharing a bus: people on one see people on the other.
    """

    def setUp(self) -> None:
        self.bus = MemoryBus()
        self.first_end, self.second_end = self.bus.connect(), self.bus.connect()
        self.first = Harness(presence_bus=self.first_end)
        self.second = Harness(presence_bus=self.second_end)

    def test_people_names_cursors_and_leaving_cross_daemons(self) -> None:
        """
        A person on one daemon is listed, named, followed and seen leaving
        by a person on the other.
        """
        alice = self.first.connect("b1", "alice-001")
        self.first.send(alice, {"t": "presence", "name": "Alice"})

        bob = self.second.connect("b1", "bobby-001")
        self.first.settle()
        self.second.send(bob, {"t": "presence", "name": "Bob", "view": [0, 0, 10, 10]})
        self.first.settle()
        self.first.send(alice, {"t": "cursor", "x": 5, "y": 6})
        self.second.settle()

        self.assertEqual(people(bob), {"alice-001": {"name": "Alice", "view": None}})
        self.assertEqual(presence(bob)[-1], {"t": "cursor", "by": "alice-001", "x": 5, "y": 6})
        self.assertEqual(people(alice), {"bobby-001": {"name": "Bob", "view": [0, 0, 10, 10]}})
        self.assertEqual(self.first.factory.presence.count("b1"), 2)

        alice.transport.loseConnection()
        self.first.settle()
        self.second.settle()
        self.assertEqual(presence(bob)[-1], {"t": "leave", "by": "alice-001"})
        self.assertEqual(self.second.factory.presence.count("b1"), 1)

    def test_people_of_a_vanished_daemon_expire(self) -> None:
        """
        When a daemon dies without a word, its people are dropped by the
        others once it stops announcing them, so no ghost stays.
        """
        alice = self.first.connect("b1", "alice-001")
        bob = self.second.connect("b1", "bobby-001")
        self.first.settle()
        self.assertEqual(list(people(alice)), ["bobby-001"])
        self.assertEqual(list(people(bob)), ["alice-001"])

        self.first_end.cut = True
        for _ in range(3):
            self.first.clock.advance(10)
            self.second.clock.advance(10)
        self.second.settle()
        self.assertEqual(list(people(bob)), ["alice-001"])

        self.second.clock.advance(10)
        self.second.settle()
        self.assertEqual(presence(bob)[-1], {"t": "leave", "by": "alice-001"})
        self.assertEqual(people(bob), {})

    def test_heartbeat_keeps_remote_people(self) -> None:
        """
        People on a live daemon stay listed however long they stay.
        """
        self.first.connect("b1", "alice-001")
        bob = self.second.connect("b1", "bobby-001")

        for _ in range(20):
            self.first.clock.advance(10)
            self.second.clock.advance(10)
        self.second.settle()

        self.assertEqual(list(people(bob)), ["alice-001"])
        self.assertEqual(self.second.factory.presence.count("b1"), 2)
