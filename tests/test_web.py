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
from whitebrd.web import WhitebrdApp, static_root

# The types each kind of file in static/ must be served with, as browsers
# check them: a module or stylesheet of another type is refused.
_STATIC_TYPES = {
    "css": "text/css; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
}


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
        Every file of the client is served whole with the type a browser
        needs to use it: modules as JavaScript, styles as CSS, pages as HTML
        and images as SVG; and the pages load only files that are there.
        """
        treq, _ = client()
        root = static_root()
        files = sorted(
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(root).parts)
        )

        served = {name: self.get(treq, "/static/" + name) for name in files}
        pages = [self.get(treq, path)[1] for path in ("/", "/b/x")]

        # A new kind of file needs its type written down above first.
        self.assertLessEqual(
            {name.rsplit(".", 1)[-1] for name in files}, set(_STATIC_TYPES)
        )
        for name, (code, body, headers) in served.items():
            self.assertEqual(code, 200, name)
            self.assertEqual(body, (root / name).read_bytes(), name)
            self.assertEqual(
                headers.getRawHeaders("content-type"),
                [_STATIC_TYPES[name.rsplit(".", 1)[-1]]],
                name,
            )
        linked: set[str] = set()
        for page in pages:
            linked.update(
                m.decode() for m in re.findall(rb'(?:src|href)="/static/([^"]+)"', page)
            )
        self.assertTrue({"js/main.js", "css/board.css"} <= linked, linked)
        self.assertLessEqual(linked, set(files))

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

    def fill(self, store: MemoryStore, board: str, *ops: str) -> None:
        """
        Store ops given as the JSON a client sends, without C{t}.
        """
        frame = parse_frame('{"t":"ops","ops":[%s]}' % (",".join(ops),), Limits())
        for op in frame.ops:  # type: ignore[union-attr]
            self.successResultOf(store.append(board, "writer-01", op))  # type: ignore[arg-type]

    def test_board_svg_is_the_drawing(self) -> None:
        """
        C{/b/<id>.svg} is the board drawn as an SVG document that runs
        nothing, with typed markup escaped.
        """
        import xml.etree.ElementTree as ElementTree

        treq, store = client()
        self.fill(
            store,
            "s1",
            '{"cid":"c-1","op":"add","item":{"id":"a","kind":"rect","pts":[0,0,10,10],"color":"#112233","width":2}}',
            '{"cid":"c-2","op":"add","item":{"id":"b","kind":"text","pts":[0,20],"color":"#000000",'
            '"width":1,"text":"<script>alert(1)</script>","size":12}}',
        )

        code, body, headers = self.get(treq, "/b/s1.svg")

        self.assertEqual(code, 200)
        self.assertEqual(headers.getRawHeaders("content-type"), ["image/svg+xml; charset=utf-8"])
        self.assertIn("default-src 'none'", headers.getRawHeaders("content-security-policy")[0])
        root = ElementTree.fromstring(body)
        texts = [e.text for e in root.iter("{http://www.w3.org/2000/svg}tspan")]
        self.assertEqual(texts, ["<script>alert(1)</script>"])
        self.assertNotIn(b"<script", body)
        self.assertEqual(self.get(treq, "/b/never.svg")[0], 200)
        self.assertEqual(self.get(treq, "/b/s%201.svg")[0], 404)

    def test_history_pages(self) -> None:
        """
        C{/b/<id>/history} gives the ops after a seq, a page at a time, as
        clients received them; bad arguments are a 400 that says why.
        """
        treq, store = client()
        item = '{"id":"i%d","kind":"line","pts":[0,0,1,1],"color":"#000000","width":1}'
        self.fill(store, "h1", *['{"cid":"c-%d","op":"add","item":%s}' % (n, item % n) for n in range(5)])

        first = json.loads(self.get(treq, "/b/h1/history?limit=2")[1])
        rest = json.loads(self.get(treq, "/b/h1/history?after=2&limit=3")[1])
        everything = json.loads(self.get(treq, "/b/h1/history")[1])

        self.assertEqual(([op["seq"] for op in first["ops"]], first["more"]), ([1, 2], True))
        self.assertEqual(([op["seq"] for op in rest["ops"]], rest["more"]), ([3, 4, 5], False))
        self.assertEqual(everything["ops"][4]["item"]["id"], "i4")
        self.assertEqual(everything["ops"][4]["by"], "writer-01")
        for query in ("after=-1", "after=x", "limit=0", "limit=100000"):
            code, body, _ = self.get(treq, "/b/h1/history?" + query)
            self.assertEqual(code, 400, query)
            self.assertEqual(json.loads(body)["error"], "bad_request")
