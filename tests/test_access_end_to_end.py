"""
Who may draw, end to end: real C{twistd whitebrd} daemons sharing a real
Redis, plain WebSocket and HTTP clients on loopback.

View links show a board live and draw nothing; rotation ends every earlier
link and keeps the drawing; the admin pages exist only with a token and
lock, delete and revert for everyone; a foreign page cannot open a board's
WebSocket; and abuse limits hold when a client spreads its flood over two
daemons.
"""

import hashlib
import itertools
import json
import math
import os
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree
from typing import Any, Optional

from twisted.trial.unittest import TestCase
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.redis_server import shared_redis
from tests.support import Client, Daemon, excalidraw_items, start_daemon, stroke_ops

TOKEN = "admin-token-for-tests-0123456789"

# Every wait is for a condition; this only bounds how long a broken build
# takes to fail.
WAIT = 30.0


def request(
    daemon: Daemon,
    method: str,
    path: str,
    body: Optional[Any] = None,
    headers: Optional[dict[str, str]] = None,
) -> tuple[int, bytes, Any]:
    """
    One HTTP request; redirects are not followed.
    """
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(daemon.url + path, data=data, method=method)
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    if data is not None:
        req.add_header("Content-Type", "application/json")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=10) as answer:
            return answer.status, answer.read(), answer.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def create_board(daemon: Daemon) -> tuple[str, str]:
    """
    Make a board as the landing page does: its edit id and owner key.
    """
    status, body, _ = request(
        daemon, "POST", "/boards", headers={"Accept": "application/json"}
    )
    assert status == 201, (status, body)
    created = json.loads(body)
    return created["board"], created["owner_key"]


def owner(key: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + key}


def admin(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": "Bearer " + token, "Accept": "application/json"}


def ws(
    daemon: Daemon, path: str, client: str, origin: Optional[str] = None, **headers: str
) -> Client:
    """
    A WebSocket client on C{path} (C{/b/<id>} or C{/v/<id>}).
    """
    url = "ws://127.0.0.1:%d%s/ws?client=%s" % (daemon.port, path, client)
    extra = {name.replace("_", "-"): value for name, value in headers.items()}
    return Client(connect(url, origin=origin, additional_headers=extra, max_size=None, open_timeout=10))  # type: ignore[arg-type]


def refused_status(
    daemon: Daemon, path: str, origin: Optional[str] = None, **headers: str
) -> int:
    """
    The HTTP status a WebSocket handshake on C{path} is refused with.
    """
    try:
        client = ws(daemon, path, "probe-0001", origin, **headers)
    except InvalidStatus as e:
        return int(e.response.status_code)
    client.close()
    raise AssertionError("the handshake on %s was accepted" % (path,))


def closed_with(client: Client) -> int:
    """
    Read until the server closes C{client}; the close code.
    """
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            client.receive(max(0.1, deadline - time.monotonic()))
        except ConnectionClosed as e:
            assert e.rcvd is not None, "closed without a close frame"
            return int(e.rcvd.code)
        except TimeoutError:
            break
    raise AssertionError("the connection was not closed")


def draw_items(client: Client, items: list[dict[str, Any]], prefix: str) -> int:
    counter = itertools.count(1)
    sent = 0
    for item in items:
        for op in stroke_ops(item, prefix, counter):
            client.send(dict(op, t="op"))
            sent += 1
    return sent


def line(item_id: str, y: float = 0) -> dict[str, Any]:
    return {
        "id": item_id,
        "kind": "line",
        "pts": [0, y, 100, y],
        "color": "#1971c2",
        "width": 4,
    }


def own_ops(client: Client, prefix: str) -> list[dict[str, Any]]:
    return [op for op in client.ops if op["cid"].startswith(prefix)]


class TwoDaemons:
    """
    Two daemons on the shared Redis, as a proxy would spread them.
    """

    daemons: list[Daemon]

    def start_two(self, *args: str) -> list[Daemon]:
        redis = shared_redis()
        return [start_daemon(self, "--redis", redis.url, *args) for _ in range(2)]  # type: ignore[arg-type]


class ViewLinkTests(TwoDaemons, TestCase):
    """
    View links, the edit link and rotation, over two daemons.
    """

    def setUp(self) -> None:
        self.a, self.b = self.start_two()

    def test_view_link_is_live_read_only_and_never_shows_the_edit_id(self) -> None:
        """
        A view link opened on daemon B shows a real drawing made through the
        edit link on daemon A, live; an op crafted by hand on the view
        connection is answered read_only and changes nothing; nothing the
        view page, its JSON or its WebSocket gives holds the edit id or the
        owner key, nor do the daemons' logs.
        """
        edit, key = create_board(self.a)
        status, body, _ = request(
            self.a, "POST", "/b/%s/links" % (edit,), {"expires_in": None}, owner(key)
        )
        self.assertEqual(status, 201)
        view = json.loads(body)["id"]
        items = list(excalidraw_items("multiplayer-charges-math.excalidraw"))[:40]
        drawer = ws(self.a, "/b/" + edit, "drawer-0001").join()
        viewer = ws(self.b, "/v/" + view, "viewer-0001").join()

        sent = draw_items(drawer, items, "drawer-0001")
        viewer.until_seq(sent, WAIT)
        viewer.send(
            {"t": "op", "cid": "viewer-0001-1", "op": "add", "item": line("v1")}
        )
        viewer.send({"t": "op", "cid": "viewer-0001-2", "op": "clear"})
        refusals = [
            viewer.frames_until("error", WAIT),
            viewer.frames_until("error", WAIT),
        ]
        drawer.send(
            {"t": "op", "cid": "drawer-0001-last", "op": "add", "item": line("d-last")}
        )
        viewer.until_seq(sent + 1, WAIT)

        self.assertEqual(viewer.hello["board"], view)
        self.assertEqual(viewer.hello["mode"], "view")
        self.assertEqual(
            [(r["code"], r["cid"]) for r in refusals],
            [("read_only", "viewer-0001-1"), ("read_only", "viewer-0001-2")],
        )
        board = self.a.board_json(edit)
        self.assertEqual(board["seq"], sent + 1)
        self.assertEqual(
            list(viewer.items), [item["id"] for item in items] + ["d-last"]
        )
        self.assertEqual(viewer.items, {i["id"]: i for i in board["items"]})
        page = self.b.get("/v/" + view)
        viewed = self.b.get("/v/%s.json" % (view,))
        self.assertEqual((page[0], viewed[0]), (200, 200))
        self.assertEqual(json.loads(viewed[1])["board"], view)
        seen = [
            json.dumps(frame) for frame in [viewer.hello] + viewer.ops + viewer.other
        ]
        seen += [page[1].decode(), viewed[1].decode()]
        for text in seen:
            self.assertNotIn(edit, text)
            self.assertNotIn(key, text)
        drawer.close()
        viewer.close()
        for daemon in (self.a, self.b):
            log = daemon.log()
            for secret in (edit, key, view):
                self.assertNotIn(secret, log)

    def test_view_link_exports_the_board_without_the_edit_id(self) -> None:
        """
        Through a view link on daemon B, the board's JSON and SVG are the
        drawing made through the edit link on daemon A, under the view id,
        and hold neither the edit id nor the owner key: an export shared
        from a view link gives no one the right to draw.
        """
        edit, key = create_board(self.a)
        view = json.loads(
            request(self.a, "POST", "/b/%s/links" % (edit,), {}, owner(key))[1]
        )["id"]
        note = {
            "id": "note",
            "kind": "text",
            "pts": [20, 60],
            "color": "#e03131",
            "width": 1,
            "text": "What went well",
            "size": 20,
        }
        drawer = ws(self.a, "/b/" + edit, "drawer-0001").join()
        sent = draw_items(
            drawer, [line("l%d" % n, n * 10) for n in range(3)] + [note], "drawer-0001"
        )
        drawer.until_seq(sent, WAIT)
        drawer.close()

        as_json = self.b.get("/v/%s.json" % (view,))
        as_svg = self.b.get("/v/%s.svg" % (view,))
        edit_svg = self.a.get("/b/%s.svg" % (edit,))

        self.assertEqual((as_json[0], as_svg[0], edit_svg[0]), (200, 200, 200))
        board = json.loads(as_json[1])
        self.assertEqual(board, dict(self.a.board_json(edit), board=view))
        self.assertEqual(
            [item["id"] for item in board["items"]], ["l0", "l1", "l2", "note"]
        )
        self.assertEqual(board["seq"], sent)
        self.assertEqual(as_svg[2]["Content-Type"], "image/svg+xml; charset=utf-8")
        self.assertEqual(
            as_svg[2]["Content-Disposition"], 'inline; filename="%s.svg"' % (view,)
        )
        # The same drawing as through the edit link, named for the view.
        self.assertIn(edit.encode(), edit_svg[1])
        self.assertEqual(as_svg[1], edit_svg[1].replace(edit.encode(), view.encode()))
        root = ElementTree.fromstring(as_svg[1])
        spans = root.iter("{http://www.w3.org/2000/svg}tspan")
        self.assertEqual([span.text for span in spans], ["What went well"])
        for status, body, headers in (as_json, as_svg):
            for secret in (edit, key):
                self.assertNotIn(secret, body.decode())
                self.assertNotIn(secret, str(headers))

    def test_owner_key_is_shown_only_when_the_board_is_made(self) -> None:
        """
        The owner key comes only in the answer that made the board: the
        board's page, JSON, SVG and history, through its edit link or a
        view link on either daemon, hold neither the key nor its digest, so
        someone given the edit link cannot take the owner's powers.
        """
        edit, key = create_board(self.a)
        view = json.loads(
            request(self.a, "POST", "/b/%s/links" % (edit,), {}, owner(key))[1]
        )["id"]
        drawer = ws(self.b, "/b/" + edit, "drawer-0001").join()
        drawer.until_seq(draw_items(drawer, [line("l0")], "drawer-0001"), WAIT)
        drawer.close()
        digest = hashlib.sha256(key.encode()).hexdigest()

        answers = {
            (daemon.port, path): daemon.get(path)
            for daemon in (self.a, self.b)
            for path in (
                "/b/" + edit,
                "/b/%s.json" % (edit,),
                "/b/%s.svg" % (edit,),
                "/b/%s/history" % (edit,),
                "/v/" + view,
                "/v/%s.json" % (view,),
            )
        }

        for where, (status, body, headers) in answers.items():
            self.assertEqual(status, 200, where)
            for secret in (key, digest):
                self.assertNotIn(secret, body.decode(), where)
                self.assertNotIn(secret, str(headers), where)
        page = answers[(self.a.port, "/b/" + edit)][1]
        self.assertIn(b"<canvas", page)
        self.assertEqual(
            json.loads(answers[(self.a.port, "/b/%s.json" % (edit,))][1])["seq"], 1
        )

    def test_rotation_ends_every_earlier_link_and_keeps_the_drawing(self) -> None:
        """
        After the owner rotates the board through daemon B, the old edit
        link and the view link fail on both daemons (their open connections
        closed with 4403, their pages 410, their handshakes refused), the
        new edit link draws, and the drawing is intact.
        """
        edit, key = create_board(self.a)
        view = json.loads(
            request(self.a, "POST", "/b/%s/links" % (edit,), {}, owner(key))[1]
        )["id"]
        drawer = ws(self.a, "/b/" + edit, "drawer-0001").join()
        viewer = ws(self.b, "/v/" + view, "viewer-0001").join()
        sent = draw_items(
            drawer, [line("l%d" % n, n * 10) for n in range(5)], "drawer-0001"
        )
        viewer.until_seq(sent, WAIT)

        status, body, _ = request(
            self.b, "POST", "/b/%s/rotate" % (edit,), {}, owner(key)
        )
        fresh = json.loads(body)["board"]

        self.assertEqual(status, 200)
        self.assertEqual(closed_with(drawer), 4403)
        self.assertEqual(closed_with(viewer), 4403)
        for daemon in (self.a, self.b):
            old_page, old_view = daemon.get("/b/" + edit), daemon.get("/v/" + view)
            self.assertEqual((old_page[0], old_view[0]), (410, 410))
            self.assertIn(b"replaced", old_page[1])
            self.assertIn(b"revoked", old_view[1])
            self.assertEqual(daemon.get("/b/%s.json" % (edit,))[0], 410)
            self.assertEqual(refused_status(daemon, "/b/" + edit), 410)
            self.assertEqual(refused_status(daemon, "/v/" + view), 410)
        again = ws(self.b, "/b/" + fresh, "drawer-0002").join()
        self.assertEqual(sorted(again.items), ["l%d" % n for n in range(5)])
        again.send(
            {"t": "op", "cid": "drawer-0002-1", "op": "add", "item": line("new")}
        )
        again.until_seq(sent + 1, WAIT)
        self.assertEqual(len(self.a.board_json(fresh)["items"]), 6)
        status, body, _ = request(
            self.a, "POST", "/b/%s/links" % (fresh,), {"expires_in": 3600}, owner(key)
        )
        self.assertEqual(status, 201)
        watcher = ws(self.b, json.loads(body)["url"], "viewer-0002").join()
        self.assertEqual(len(watcher.items), 6)
        self.assertEqual(watcher.hello["mode"], "view")
        again.close()
        watcher.close()

    def test_expired_view_link_fails_with_a_clear_message(self) -> None:
        """
        A view link made to last a second answers 410 with a sentence
        saying it expired, on its page, its JSON and its WebSocket.
        """
        edit, key = create_board(self.a)
        status, body, _ = request(
            self.a, "POST", "/b/%s/links" % (edit,), {"expires_in": 1}, owner(key)
        )
        view = json.loads(body)["id"]
        self.assertEqual(status, 201)

        deadline = time.monotonic() + WAIT
        while self.b.get("/v/" + view)[0] == 200:
            self.assertLess(time.monotonic(), deadline, "the view link never expired")
            time.sleep(0.2)
        status, page, headers = self.b.get("/v/" + view)

        self.assertEqual(status, 410)
        self.assertIn(b"This view link expired on ", page)
        self.assertIn("frame-ancestors 'none'", headers["Content-Security-Policy"])
        self.assertEqual(self.a.get("/v/%s.json" % (view,))[0], 410)
        self.assertIn(
            "expired", json.loads(self.a.get("/v/%s.json" % (view,))[1])["message"]
        )
        self.assertEqual(refused_status(self.a, "/v/" + view), 410)
        self.assertEqual(self.a.get("/b/" + edit)[0], 200)


class AdminTests(TwoDaemons, TestCase):
    """
    The admin pages of a daemon given a token, acting for every daemon.
    """

    def setUp(self) -> None:
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        redis = shared_redis()
        self.a = start_daemon(self, "--redis", redis.url, "--admin-token-file", path)
        self.b = start_daemon(self, "--redis", redis.url)

    def test_admin_is_404_without_a_token_and_401_with_a_wrong_one(self) -> None:
        """
        A daemon without a token has no /admin; one with a token refuses a
        wrong one and takes the right one.
        """
        self.assertEqual(request(self.b, "GET", "/admin", headers=admin())[0], 404)
        self.assertEqual(request(self.a, "GET", "/admin")[0], 401)
        self.assertEqual(
            request(self.a, "GET", "/admin/api/boards", headers=admin("x" + TOKEN))[0],
            401,
        )
        self.assertEqual(
            request(self.a, "GET", "/admin/api/boards", headers=admin())[0], 200
        )
        self.assertNotIn(TOKEN, self.a.log())

    def test_list_lock_revert_and_delete_for_everyone(self) -> None:
        """
        After A (on one daemon) and B (on the other) draw, the admin sees the
        board with its people; a lock makes both read-only; reverting A
        removes exactly A's items for everyone; deleting closes both and
        empties the board.  Every action is logged with who and what.
        """
        board = "retro-%d" % (os.getpid() * 1000 + int(time.time()) % 1000,)
        alice = ws(self.a, "/b/" + board, "alice-0001").join()
        bob = ws(self.b, "/b/" + board, "bobby-0001").join()
        for n in range(3):
            alice.send(
                {
                    "t": "op",
                    "cid": "alice-0001-%d" % n,
                    "op": "add",
                    "item": line("a%d" % n, n),
                }
            )
            bob.send(
                {
                    "t": "op",
                    "cid": "bobby-0001-%d" % n,
                    "op": "add",
                    "item": line("b%d" % n, n),
                }
            )
        alice.until_seq(6, WAIT)
        bob.until_seq(6, WAIT)

        deadline = time.monotonic() + WAIT
        while True:
            listed = json.loads(
                request(self.a, "GET", "/admin/api/boards", headers=admin())[1]
            )["boards"]
            mine = [b for b in listed if b["board"] == board]
            if mine and mine[0]["online"] == 2:
                break
            self.assertLess(
                time.monotonic(),
                deadline,
                "board not listed with 2 online: %r" % (mine,),
            )
            time.sleep(0.2)
        self.assertEqual(
            (mine[0]["items"], mine[0]["seq"], mine[0]["named"]), (6, 6, True)
        )
        self.assertGreater(mine[0]["bytes"], 0)
        self.assertIsNotNone(mine[0]["active"])

        self.assertEqual(
            request(self.a, "POST", "/admin/b/%s/lock" % (board,), headers=admin())[0],
            200,
        )
        self.assertEqual(
            bob.frames_until("access", WAIT),
            {"t": "access", "mode": "view", "locked": True},
        )
        self.assertEqual(alice.frames_until("access", WAIT)["mode"], "view")
        bob.send({"t": "op", "cid": "bobby-0001-x", "op": "add", "item": line("bx")})
        self.assertEqual(bob.frames_until("error", WAIT)["code"], "read_only")
        request(self.a, "POST", "/admin/b/%s/unlock" % (board,), headers=admin())
        self.assertEqual(bob.frames_until("access", WAIT)["mode"], "edit")

        status, body, _ = request(
            self.a,
            "POST",
            "/admin/b/%s/revert" % (board,),
            {"client": "alice-0001", "minutes": 10},
            admin(),
        )
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["erased"], 3)
        for client in (alice, bob):
            client.until_seq(7, WAIT)
            self.assertEqual(sorted(client.items), ["b0", "b1", "b2"])
        self.assertEqual(
            sorted(i["id"] for i in self.b.board_json(board)["items"]),
            ["b0", "b1", "b2"],
        )

        self.assertEqual(
            request(self.a, "POST", "/admin/b/%s/delete" % (board,), headers=admin())[
                0
            ],
            200,
        )
        self.assertEqual(closed_with(alice), 4410)
        self.assertEqual(closed_with(bob), 4410)
        self.assertEqual(self.b.board_json(board)["seq"], 0)

        log = self.a.log()
        self.assertIn("Admin bearer from 127.0.0.1: lock board %s" % (board,), log)
        self.assertIn(
            "Admin bearer from 127.0.0.1: revert board %s by client alice-0001 over the last 10"
            " minutes: 3 erased, 0 restored" % (board,),
            log,
        )
        self.assertIn("Admin bearer from 127.0.0.1: delete board %s" % (board,), log)


class OriginTests(TestCase):
    """
    Another site's page cannot open a board's WebSocket through a visitor's
    browser.
    """

    def test_foreign_origin_is_refused_at_the_handshake(self) -> None:
        """
        A handshake with a foreign Origin is refused with 403; the page's
        own origin is accepted.
        """
        daemon = start_daemon(self, "--redis", shared_redis().url)

        self.assertEqual(refused_status(daemon, "/b/origin-test", origin="http://evil.example"), 403)  # type: ignore[arg-type]
        self.assertEqual(refused_status(daemon, "/b/origin-test", origin="http://127.0.0.1:1"), 403)  # type: ignore[arg-type]
        own = ws(daemon, "/b/origin-test", "drawer-0001", origin="http://127.0.0.1:%d" % (daemon.port,)).join()  # type: ignore[arg-type]
        self.assertEqual(own.hello["board"], "origin-test")
        own.close()

    def test_every_answer_carries_the_security_headers(self) -> None:
        """
        Pages, error pages and JSON alike come with a policy that allows no
        inline script and no framing, no sniffing and no referrer.
        """
        daemon = start_daemon(self)

        for path in (
            "/",
            "/b/headers-test",
            "/b/headers-test.json",
            "/nope",
            "/v/" + "x" * 22,
            "/static/js/main.js",
        ):
            _, _, headers = daemon.get(path)
            csp = headers["Content-Security-Policy"]
            self.assertIn("frame-ancestors 'none'", csp, path)
            self.assertIn("script-src 'self'", csp, path)
            self.assertNotIn("unsafe-inline", csp, path)
            self.assertEqual(headers["X-Content-Type-Options"], "nosniff", path)
            self.assertEqual(headers["Referrer-Policy"], "no-referrer", path)


class LimitTests(TwoDaemons, TestCase):
    """
    Abuse limits hold when a client spreads its traffic over two daemons
    sharing a Redis.
    """

    def test_flood_over_two_daemons_meets_the_address_limit(self) -> None:
        """
        Ops sent as fast as possible through one connection to each daemon
        are stored at most 20 per second for the address; the rest are
        answered rate_limited, and nothing refused is stored.
        """
        a, b = self.start_two(
            "--ops-per-second-per-address",
            "20",
            "--ops-per-second-per-connection",
            "100000",
        )
        board = "flood-%d" % (int(time.time() * 1000) % 10**9,)
        clients = [
            ws(a, "/b/" + board, "flood-000a").join(),
            ws(b, "/b/" + board, "flood-000b").join(),
        ]
        total = 300

        started = time.time()
        for n in range(total):
            client = clients[n % 2]
            prefix = "flood-000%s" % ("ab"[n % 2],)
            client.send(
                {
                    "t": "op",
                    "cid": "%s-%d" % (prefix, n),
                    "op": "add",
                    "item": line("f%d" % n),
                }
            )
        answered: list[int] = []
        for client, prefix in zip(clients, ("flood-000a", "flood-000b")):
            errors = 0

            def done(c: Client) -> bool:
                return len(own_ops(c, prefix)) + errors >= total // 2

            deadline = time.monotonic() + WAIT
            while not done(client):
                frame = client.receive(max(0.1, deadline - time.monotonic()))
                if frame["t"] == "error":
                    self.assertEqual(frame["code"], "rate_limited")
                    errors += 1
            answered.append(errors)
        finished = time.time()

        stored = a.board_json(board)
        windows = math.floor(finished) - math.floor(started) + 1
        self.assertEqual(stored["seq"], total - sum(answered))
        self.assertLessEqual(stored["seq"], 20 * windows)
        self.assertGreaterEqual(stored["seq"], 1)
        self.assertGreater(sum(answered), 0)
        for client in clients:
            client.close()

    def test_board_creations_over_two_daemons_meet_the_limit(self) -> None:
        """
        A burst of board creations spread over both daemons makes at most
        the address's boards per minute; the rest are 429.
        """
        a, b = self.start_two(
            "--boards-per-minute-per-address", "5", "--trusted-proxy", "127.0.0.1"
        )
        # An address of its own: the other tests of the run make boards from
        # 127.0.0.1, in the same minute of the same Redis.
        xff = {"X-Forwarded-For": "192.0.2.%d" % (os.getpid() % 200 + 1,)}
        # Start well inside a minute, so that the burst stays in one window.
        deadline = time.monotonic() + 90
        while time.time() % 60 > 45:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.5)

        started = time.time()
        codes = [
            request((a, b)[n % 2], "POST", "/boards", headers=xff)[0] for n in range(20)
        ]
        finished = time.time()

        windows = int(finished // 60) - int(started // 60) + 1
        self.assertLessEqual(codes.count(303), 5 * windows)
        self.assertGreaterEqual(codes.count(303), 5)
        self.assertEqual(codes.count(303) + codes.count(429), 20)

    def test_connections_per_address_count_over_both_daemons(self) -> None:
        """
        An address holds at most its connections over both daemons; one
        closed frees a place.  Behind a trusted proxy, each forwarded
        address is counted on its own.
        """
        a, b = self.start_two(
            "--connections-per-address", "3", "--trusted-proxy", "127.0.0.1"
        )
        board = "places-%d" % (int(time.time() * 1000) % 10**9,)
        xff = {"X_Forwarded_For": "198.51.100.%d" % (os.getpid() % 200 + 1,)}

        held = [
            ws(a, "/b/" + board, "place-0001", **xff),
            ws(b, "/b/" + board, "place-0002", **xff),
            ws(a, "/b/" + board, "place-0003", **xff),
        ]
        refused = [
            refused_status(b, "/b/" + board, **xff),
            refused_status(a, "/b/" + board, **xff),
        ]
        other = ws(
            b,
            "/b/" + board,
            "place-0004",
            X_Forwarded_For="203.0.113.%d" % (os.getpid() % 200 + 1,),
        )
        held[0].close()
        deadline = time.monotonic() + WAIT
        while True:
            try:
                again = ws(b, "/b/" + board, "place-0005", **xff)
                break
            except InvalidStatus:
                self.assertLess(
                    time.monotonic(),
                    deadline,
                    "the closed connection's place never came free",
                )
                time.sleep(0.1)

        self.assertEqual(refused, [429, 429])
        for client in held[1:] + [other, again]:
            client.close()
