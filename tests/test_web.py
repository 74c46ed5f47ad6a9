"""
Tests for L{whitebrd.web}: the HTTP routes, served in memory through treq's
StubTreq over the Klein resource.
"""

import json
import re
from typing import Any

from treq.testing import StubTreq
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.memory_store import MemoryStore
from whitebrd.frames import parse_frame
from whitebrd.limits import Limits
from whitebrd.protocol import BoardFactory
from whitebrd.web import WhitebrdApp


def client() -> tuple[StubTreq, MemoryStore]:
    store = MemoryStore()
    factory = BoardFactory(store, Limits(), MemoryReactorClock())
    return StubTreq(WhitebrdApp(store, factory).resource()), store


class RouteTests(SynchronousTestCase):
    """
    The pages, the board's JSON and the health check answer as the contract
    says.
    """

    def get(self, treq: StubTreq, path: str) -> tuple[int, bytes, Any]:
        requested = treq.get("http://whitebrd.test" + path)
        treq.flush()
        response = self.successResultOf(requested)
        content = response.content()
        treq.flush()
        return response.code, self.successResultOf(content), response.headers

    def test_new_board_redirects_to_a_fresh_id(self) -> None:
        """
        C{POST /boards} answers 303 to a new board of 22 random characters.
        """
        treq, _ = client()

        locations = set()
        for _ in range(3):
            response = self.successResultOf(treq.post("http://whitebrd.test/boards", allow_redirects=False))
            self.assertEqual(response.code, 303)
            locations.add(response.headers.getRawHeaders("location")[0])

        self.assertEqual(len(locations), 3)
        for location in locations:
            self.assertRegex(location, r"^/b/[A-Za-z0-9_-]{22}$")

    def test_board_page_has_a_canvas(self) -> None:
        """
        A board's page is HTML with a canvas, and carries the security
        headers.
        """
        treq, _ = client()

        code, body, headers = self.get(treq, "/b/team-retro")

        self.assertEqual(code, 200)
        self.assertIn(b"<canvas", body)
        self.assertTrue(headers.getRawHeaders("content-type")[0].startswith("text/html"))
        self.assertIn("frame-ancestors 'none'", headers.getRawHeaders("content-security-policy")[0])
        self.assertEqual(headers.getRawHeaders("x-content-type-options"), ["nosniff"])

    def test_bad_board_ids_are_404(self) -> None:
        """
        Anything but C{[A-Za-z0-9_-]{1,64}} is no board.
        """
        treq, _ = client()

        for path in ["/b/" + "a" * 65, "/b/a%00b", "/b/%41", "/b/a.b", "/b/", "/b/a/b", "/b/a.json/x"]:
            code, _, _ = self.get(treq, path)
            self.assertEqual(code, 404, path)

    def test_empty_board_json(self) -> None:
        """
        A board never drawn on is empty at seq 0, and reading it stores
        nothing.
        """
        treq, store = client()

        code, body, headers = self.get(treq, "/b/fresh.json")

        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body), {"board": "fresh", "seq": 0, "items": []})
        self.assertEqual(headers.getRawHeaders("content-type"), ["application/json"])
        self.assertEqual(self.successResultOf(store.ops_since("fresh", 0)), [])

    def test_board_json_shows_the_items(self) -> None:
        """
        The JSON is the board now: the visible items in drawing order.
        """
        treq, store = client()
        frame = parse_frame(
            '{"t":"ops","ops":[{"cid":"c-1","op":"add","item":{"id":"a","kind":"line","pts":[0,0,1,1],"color":"#000000","width":1}},'
            '{"cid":"c-2","op":"add","item":{"id":"b","kind":"line","pts":[0,0,2,2],"color":"#000000","width":1}},'
            '{"cid":"c-3","op":"erase","ids":["a"]}]}',
            Limits(),
        )
        for op in frame.ops:
            self.successResultOf(store.append("b1", "writer-01", op))  # type: ignore[arg-type]

        _, body, _ = self.get(treq, "/b/b1.json")

        board = json.loads(body)
        self.assertEqual((board["seq"], [i["id"] for i in board["items"]]), (3, ["b"]))

    def test_static_files_have_their_types(self) -> None:
        """
        The client's modules are served as JavaScript, its styles as CSS.
        """
        treq, _ = client()

        code, body, headers = self.get(treq, "/b/x")
        scripts = [m.decode() for m in re.findall(rb'<script[^>]*\bsrc="([^"]+)"', body)]
        self.assertTrue(scripts, "the board page loads no script")
        for script in scripts:
            code, _, headers = self.get(treq, script)
            self.assertEqual(code, 200, script)
            self.assertTrue(headers.getRawHeaders("content-type")[0].startswith("text/javascript"), script)

    def test_static_paths_stay_inside_static(self) -> None:
        """
        No request path reaches a file outside C{static/}, nor a dot file.
        """
        treq, _ = client()

        for path in [
            "/static/../setup.py",
            "/static/..%2Fsetup.py",
            "/static/%2e%2e/setup.py",
            "/static/.hidden",
            "/static/js/",
            "/static/",
            "/static/nope.js",
        ]:
            code, _, _ = self.get(treq, path)
            self.assertEqual(code, 404, path)

    def test_healthz_follows_the_store(self) -> None:
        """
        C{/healthz} is 200 while the store answers and 503 when it does not.
        """
        treq, store = client()

        self.assertEqual(self.get(treq, "/healthz")[0], 200)
        store.available = False
        self.assertEqual(self.get(treq, "/healthz")[0], 503)
        self.assertEqual(self.get(treq, "/b/x.json")[0], 503)
        self.flushLoggedErrors()
