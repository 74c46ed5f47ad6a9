"""
End-to-end tests: a real C{twistd whitebrd} in a subprocess, real drawings
from the scene corpus, and plain WebSocket clients, on the embedded store
and on a real Redis.
"""

import itertools
import os
import secrets
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from twisted.trial.unittest import TestCase

from tests.redis_server import shared_redis
from tests.support import (
    STREAMING_LIMITS,
    Client,
    Daemon,
    excalidraw_items,
    start_daemon,
    stroke_ops,
)


def new_board() -> str:
    return secrets.token_urlsafe(16)


def draw(client: Client, items: list[dict[str, Any]], cid_prefix: str) -> list[dict[str, Any]]:
    """
    Stream C{items} as a person's browser would, one op per frame, and
    return the ops sent.
    """
    counter = itertools.count(1)
    sent = []
    for item in items:
        for op in stroke_ops(item, cid_prefix, counter):
            client.send(dict(op, t="op"))
            sent.append(op)
    return sent


def _people(client: Client) -> dict[str, Any]:
    """
    The names of the people a client knows to be on its board, by client
    id, from the presence frames it received.
    """
    known: dict[str, Any] = {}
    for frame in client.presence:
        if frame["t"] == "people":
            known = {person["by"]: person["name"] for person in frame["people"]}
        elif frame["t"] == "join":
            known[frame["by"]] = frame["name"]
        elif frame["t"] == "leave":
            known.pop(frame["by"], None)
        elif frame["t"] == "presence" and "name" in frame:
            known[frame["by"]] = frame["name"]
    return known


class HttpTests(TestCase):
    """
    The daemon's HTTP side, as a browser and an attacker see it.
    """

    def setUp(self) -> None:
        self.daemon = start_daemon(self)

    def test_new_board_page(self) -> None:
        """
        The landing page's button makes a board: 303 to a 22-character id,
        whose page has a canvas.
        """
        request = urllib.request.Request(self.daemon.url + "/boards", method="POST")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(request)
            self.fail("no redirect")
        except urllib.error.HTTPError as answer:
            self.assertEqual(answer.code, 303)
            location = answer.headers["Location"]
        self.assertRegex(location, r"^/b/[A-Za-z0-9_-]{22}$")

        status, body, _ = self.daemon.get(location)
        self.assertEqual(status, 200)
        self.assertIn(b"<canvas", body)
        status, body, _ = self.daemon.get("/")
        self.assertEqual(status, 200)
        self.assertIn(b"/boards", body)

    def test_bad_paths_are_404(self) -> None:
        """
        Traversal, over-long ids, NULs, percent-encoding and non-ASCII are
        404s, never a file and never a 500.
        """
        for path in [
            "/b/..%2F..%2Fetc%2Fpasswd",
            "/b/" + "a" * 65,
            "/b/a%00b",
            "/b/%61bc",
            "/b/caf%C3%A9",
            "/b/" + "x" * 10_000,
            "/static/..%2F..%2Fsetup.py",
            "/static/../../setup.py",
            "/b/..%2F..%2Fetc%2Fpasswd.json",
            "/b/a%2Fb/ws",
        ]:
            status, body, _ = self.daemon.get(path)
            self.assertEqual(status, 404, path)
            self.assertNotIn(b"root:", body)

    def test_websocket_address_without_upgrade_is_426(self) -> None:
        """
        A plain GET of a board's WebSocket address says an upgrade is
        needed, rather than serving a page of the WebSocket library's.
        """
        status, body, _ = self.daemon.get("/b/plain-get-0001/ws")
        self.assertEqual(status, 426)
        self.assertNotIn(b"Autobahn", body)


class TacTests(TestCase):
    """
    C{twistd -ny whitebrd.tac} runs the same service as C{twistd whitebrd}.
    """

    def test_tac_serves_boards(self) -> None:
        """
        The .tac daemon, configured through C{WHITEBRD_OPTIONS}, stores and
        relays ops.
        """
        workdir = Path(tempfile.mkdtemp(dir=os.getcwd()))
        daemon = Daemon(["--data", str(workdir / "tac.sqlite3")], workdir, tac=True)
        self.addCleanup(daemon.stop)
        daemon.start()
        line = {"id": "l1", "kind": "line", "pts": [0, 0, 10, 10], "color": "#ff0000", "width": 3}

        client = daemon.connect("tac-board", client="alice-0001").join()
        client.send({"t": "op", "cid": "alice-0001-1", "op": "add", "item": line})
        client.until_seq(1)

        self.assertEqual(daemon.board_json("tac-board")["items"], [line])
        self.assertTrue((workdir / "tac.sqlite3").exists())


class BoardTestsMixin:
    """
    What a person drawing relies on, run against each store.
    """

    daemon: Daemon

    def start(self) -> Daemon:
        raise NotImplementedError()

    def test_scene_reaches_everyone_exactly(self) -> None:
        """
        A real drawing streamed by one client reaches a second client item
        for item and point for point, seqs rising by one; the sender gets
        its own copy of every op; a latecomer and C{.json} show the same
        board.
        """
        board = new_board()
        items = list(excalidraw_items("doutorado-sw-design.excalidraw"))
        items += list(excalidraw_items("multiplayer-charges-math.excalidraw"))
        alice = self.daemon.connect(board, client="alice-0001").join()
        bob = self.daemon.connect(board, client="bobby-0001").join()

        sent = draw(alice, items, "alice-0001")
        alice.until_seq(len(sent))
        bob.until_seq(len(sent))

        expected = {item["id"]: item for item in items}
        self.assertEqual(bob.items, expected)
        self.assertEqual(list(bob.items), list(expected))
        self.assertEqual([op["seq"] for op in bob.ops], list(range(1, len(sent) + 1)))
        self.assertEqual([op["cid"] for op in alice.ops], [op["cid"] for op in sent])
        self.assertEqual({op["by"] for op in bob.ops}, {"alice-0001"})
        late = self.daemon.connect(board, client="carol-0001").join()
        self.assertEqual(list(late.items.values()), list(expected.values()))
        self.assertEqual(self.daemon.board_json(board), {"board": board, "seq": len(sent), "items": list(expected.values())})

    def test_bad_op_and_duplicate(self) -> None:
        """
        A path with a NaN coordinate gets an error with its cid and is not
        stored or relayed; a cid sent twice is applied once, the second
        answered with an C{ack}.
        """
        board = new_board()
        alice = self.daemon.connect(board, client="alice-0001").join()
        bob = self.daemon.connect(board, client="bobby-0001").join()
        line = {"id": "l1", "kind": "line", "pts": [0, 0, 10, 10], "color": "#ff0000", "width": 3}

        alice.send('{"t":"op","cid":"alice-0001-1","op":"add","item":{"id":"p1","kind":"path","pts":[1,NaN],"color":"#000000","width":2}}')
        error = alice.frames_until("error")
        alice.send({"t": "op", "cid": "alice-0001-2", "op": "add", "item": line})
        alice.send({"t": "op", "cid": "alice-0001-2", "op": "add", "item": line})
        ack = alice.frames_until("ack")
        # NB: the ack of the retry may overtake the first copy of the op,
        # which goes out on the next turn of the daemon's reactor.
        alice.until_seq(1)
        bob.until_seq(1)

        self.assertEqual((error["code"], error["cid"]), ("bad_item", "alice-0001-1"))
        self.assertEqual(ack, {"t": "ack", "cid": "alice-0001-2", "seq": 1})
        self.assertEqual(alice.seq, 1)
        self.assertEqual([op["cid"] for op in bob.ops], ["alice-0001-2"])
        self.assertEqual(self.daemon.board_json(board)["items"], [line])

    def test_board_survives_restart_with_erase_and_clear(self) -> None:
        """
        Erase and clear reach everyone and are stored; the board is the same
        after the daemon restarts.
        """
        board = new_board()
        items = list(excalidraw_items("doutorado-esp32-calib.excalidraw"))[:30]
        alice = self.daemon.connect(board, client="alice-0001").join()
        bob = self.daemon.connect(board, client="bobby-0001").join()
        sent = draw(alice, items, "alice-0001")
        alice.send({"t": "op", "cid": "alice-0001-e", "op": "erase", "ids": [items[0]["id"], items[1]["id"]]})
        bob.until_seq(len(sent) + 1)
        self.assertNotIn(items[0]["id"], bob.items)
        before = self.daemon.board_json(board)
        alice.close()
        bob.close()

        self.daemon.restart()

        self.assertEqual(self.daemon.board_json(board), before)
        carol = self.daemon.connect(board, client="carol-0001").join()
        self.assertEqual(list(carol.items.values()), before["items"])
        dave = self.daemon.connect(board, client="dave-00001").join()
        carol.send({"t": "op", "cid": "carol-0001-1", "op": "clear"})
        dave.until_seq(before["seq"] + 1)
        self.assertEqual(dave.items, {})

        self.daemon.restart()

        self.assertEqual(self.daemon.board_json(board), {"board": board, "seq": before["seq"] + 1, "items": []})


class SQLiteBoardTests(BoardTestsMixin, TestCase):
    """
    The embedded store, as C{make run} uses it.
    """

    def setUp(self) -> None:
        self.daemon = start_daemon(self, *STREAMING_LIMITS)


class RedisBoardTests(BoardTestsMixin, TestCase):
    """
    Redis as the store.
    """

    def setUp(self) -> None:
        self.daemon = start_daemon(self, "--redis", shared_redis().url, *STREAMING_LIMITS)


class TwoDaemonTests(TestCase):
    """
    Two daemons on one Redis share a board live.
    """

    def test_strokes_cross_daemons_with_the_same_seqs(self) -> None:
        """
        Clients on each daemon see the other's strokes, with the same seqs.
        """
        url = shared_redis().url
        first = start_daemon(self, "--redis", url, *STREAMING_LIMITS)
        second = start_daemon(self, "--redis", url, *STREAMING_LIMITS)
        board = new_board()
        items = list(excalidraw_items("cardinality-sketch.excalidraw"))
        alice = first.connect(board, client="alice-0001").join()
        bob = second.connect(board, client="bobby-0001").join()

        sent = draw(alice, items[: len(items) // 2], "alice-0001")
        sent += draw(bob, items[len(items) // 2 :], "bobby-0001")
        alice.until_seq(len(sent))
        bob.until_seq(len(sent))

        self.assertEqual([(op["seq"], op["cid"]) for op in alice.ops], [(op["seq"], op["cid"]) for op in bob.ops])
        self.assertEqual(list(alice.items.values()), list(bob.items.values()))
        self.assertEqual(sorted(alice.items), sorted(item["id"] for item in items))
        self.assertEqual(first.board_json(board), second.board_json(board))

    def test_presence_crosses_daemons(self) -> None:
        """
        People on two daemons of one Redis see each other by name, see each
        other's cursors, and see each other leave at once.
        """
        url = shared_redis().url
        first = start_daemon(self, "--redis", url)
        second = start_daemon(self, "--redis", url)
        board = new_board()
        alice = first.connect(board, client="alice-0001").join()
        bob = second.connect(board, client="bobby-0001").join()

        alice.send({"t": "presence", "name": "Alice"})

        bob.until(lambda c: _people(c).get("alice-0001") == "Alice")
        alice.send({"t": "cursor", "x": 10, "y": 20})
        bob.until(lambda c: {"t": "cursor", "by": "alice-0001", "x": 10, "y": 20} in c.presence)
        alice.until(lambda c: "bobby-0001" in _people(c))
        alice.close()
        bob.until(lambda c: {"t": "leave", "by": "alice-0001"} in c.presence)
