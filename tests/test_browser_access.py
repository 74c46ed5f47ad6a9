"""
Who may draw, in real Chromium against a real C{twistd whitebrd} on a real
Redis: the owner shares a view link from the share dialog, the view page
follows the board live and draws nothing, revoking and rotating take effect
in the pages, and text a vandal typed never runs as script in the board
page, the admin pages or the board's SVG opened on its own.  (The page that
says a link is gone shows only a fixed sentence: nothing typed reaches it.)
"""

import json
import os
import uuid
from typing import Any

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.redis_server import shared_redis
from tests.support import start_daemon
from tests.test_client_geometry import ClientModuleTestCase
from tests.test_browser import (
    BLUE,
    CHROMIUM,
    RED,
    TIMEOUT_MS,
    WAVE,
    ZIGZAG,
    BoardPage,
    shared_browser,
)

TOKEN = "admin-token-for-browser-tests-0123456789"

# Text items a vandal types, each trying to run script wherever the text is
# shown; every one would set window.__pwned.
PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "</script><script>window.__pwned=2</script>",
    '"><svg onload="window.__pwned=3"></svg>',
    "</title></textarea><script>window.__pwned=4</script>",
    '<iframe srcdoc="<script>parent.__pwned=5</script>"></iframe>',
    "]]></text><script>window.__pwned=6</script><text>",
]

# More for an SVG document, where SVG's own elements run script too.
SVG_PAYLOADS = PAYLOADS + [
    '<image href="x" onerror="window.__pwned=7"/>',
    '<set attributeName="onload" to="window.__pwned=8"/>',
    '<foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><script>'
    "window.__pwned=9</script></body></foreignObject>",
    '<a href="javascript:window.__pwned=10">click</a>',
    "&lt;b&gt; &amp; <!-- <![CDATA[ x ]]> -->",
]

# A name that would run script where the page shows who is on the board.
PAYLOAD_NAME = '<img src=x onerror="window.__pwned=11">'

# Give whatever the page started every chance to run: a probe image of the
# URL the payloads' images name ("x", relative to the page) fails to load,
# and Chromium shares one fetch of a URL between a document's images, so its
# error event comes after that of any such image the page made earlier; two
# frames and a task later, every handler those could set off has run.  A
# page's policy may refuse the load: that is an error event too.
_SETTLE_JS = """
async () => {
  await new Promise((resolve) => {
    const probe = new Image();
    probe.addEventListener("error", resolve);
    probe.addEventListener("load", resolve);
    probe.src = "x";
  });
  await new Promise((resolve) => {
    requestAnimationFrame(() => requestAnimationFrame(resolve));
  });
  await new Promise((resolve) => setTimeout(resolve, 0));
}
"""

# Every element now in the document that could run script the page did not
# ship: any with an on... attribute, any frame or plugin, any script but the
# page's own modules and its JSON settings.
_INJECTED_JS = """
() => Array.from(document.querySelectorAll("*"))
  .filter((e) =>
    ["iframe", "frame", "object", "embed", "foreignobject"].includes(
      e.localName.toLowerCase()) ||
    (e.localName === "script" &&
      !(e.getAttribute("src") || "").startsWith("/static/") &&
      e.getAttribute("type") !== "application/json") ||
    Array.from(e.attributes).some((a) => a.name.toLowerCase().startsWith("on")))
  .map((e) => e.outerHTML.slice(0, 200))
"""

# What an SVG document shows: its root, whether it failed to parse (the
# browser then shows a parsererror element instead), and each text element's
# text with whether it takes up room.
_SHOWN_SVG_JS = """
() => ({
  root: document.documentElement.localName,
  errors: document.getElementsByTagName("parsererror").length,
  texts: Array.from(document.querySelectorAll("text")).map(
    (text) => [text.textContent, text.getBBox().width > 0]),
})
"""


class AccessBrowserTestCase(SynchronousTestCase):
    """
    A daemon on Redis with an admin token, and Chromium.
    """

    def setUp(self) -> None:
        if not os.path.exists(CHROMIUM):
            raise SkipTest("Chromium is not installed at %s" % (CHROMIUM,))
        token_file = os.path.abspath(self.mktemp())
        with open(token_file, "w") as f:
            f.write(TOKEN)
        self.daemon = start_daemon(
            self, "--redis", shared_redis().url, "--admin-token-file", token_file  # type: ignore[arg-type]
        )
        self.browser = shared_browser()

    def new_page(self, board: str = "", **context: Any) -> BoardPage:
        """
        A page in a browser context of its own, whose WebSocket frames are
        recorded in C{page.received}.
        """
        options: dict[str, Any] = {"viewport": {"width": 900, "height": 600}}
        options.update(context)
        browser_context = self.browser.new_context(**options)
        self.addCleanup(browser_context.close)
        page = BoardPage(browser_context.new_page(), self.daemon, board)
        received: list[str] = []
        page.received = received  # type: ignore[attr-defined]
        page.page.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived", lambda payload: received.append(str(payload))
            ),
        )
        return page

    def flag(self, page: BoardPage) -> Any:
        """
        What a payload that ran set, once the page had every chance to run
        it (see L{_SETTLE_JS}); C{None} if none ran.
        """
        page.page.evaluate(_SETTLE_JS)
        return page.page.evaluate("() => window.__pwned")

    def injected(self, page: BoardPage) -> list[str]:
        """
        The elements in the page that could run script it did not ship.
        """
        return page.page.evaluate(_INJECTED_JS)  # type: ignore[no-any-return]

    def vandalise(self, board: str, texts: list[str]) -> None:
        """
        Put one text item per text on C{board}, as a vandal's own client
        would, and check they are stored exactly as typed.
        """
        client = self.daemon.connect(board, client="vandal-0001").join()
        for n, text in enumerate(texts):
            item = {
                "id": "t%d" % n,
                "kind": "text",
                "pts": [100, 100 + 40 * n],
                "color": "#e03131",
                "width": 1,
                "text": text,
                "size": 20,
            }
            client.send(
                {"t": "op", "cid": "vandal-0001-%d" % n, "op": "add", "item": item}
            )
        client.until_seq(len(texts))
        client.close()
        self.assertEqual(
            [i["text"] for i in self.daemon.board_json(board)["items"]], texts
        )


class ShareTests(AccessBrowserTestCase):
    """
    The owner's share dialog, and pages on the links it makes.
    """

    def test_view_link_page_is_live_and_read_only(self) -> None:
        """
        The owner makes a board from the landing page and a view link from
        the share dialog; the view page shows the owner's strokes live, has
        no drawing tools, stores nothing when dragged on, and nothing it
        shows or receives holds the edit id.  Revoked, the view link stops;
        rotated, the board moves to a new edit link with its drawing.
        """
        owner = self.new_page()
        owner.page.goto(self.daemon.url + "/")
        owner.page.click("[data-action='new-board']")
        owner.page.wait_for_url("**/b/*")
        owner.wait_for("live")
        edit = owner.page.url.rsplit("/", 1)[1]
        owner.board = edit

        owner.page.click("[data-action='share']")
        owner.page.click("[data-action='make-view']")
        owner.page.wait_for_selector("[data-field='view-url']")
        view_url = owner.page.input_value("[data-field='view-url']")
        self.assertNotIn(edit, view_url)
        owner.page.click("[data-action='close-share']")

        viewer = self.new_page()
        viewer.page.goto(view_url)
        viewer.wait_for("live")
        self.assertEqual(viewer.dataset()["mode"], "view")
        self.assertFalse(viewer.page.is_visible("button[data-tool='pen']"))
        self.assertFalse(viewer.page.is_visible("button[data-action='clear']"))

        owner.pick(RED, 8)
        owner.drag(ZIGZAG)
        viewer.wait_visible(ZIGZAG, RED)
        owner.wait_saved()
        # Dragging through a view link pans the board and draws nothing;
        # the drag back brings the view where it was.
        viewer.drag(WAVE)
        viewer.drag(list(reversed(WAVE)))
        owner.pick(BLUE, 8)
        owner.drag(WAVE)
        owner.wait_visible(WAVE, BLUE)
        viewer.wait_visible(WAVE, BLUE)
        owner.wait_saved()
        items = self.daemon.board_json(edit)["items"]
        self.assertEqual([item["color"] for item in items], [RED, BLUE])
        self.assertEqual(viewer.dataset()["pending"], "0")

        shown = [
            viewer.page.content(),
            viewer.page.url,
            viewer.page.title(),
            json.dumps(viewer.page.evaluate("() => ({...localStorage})")),
        ] + viewer.received  # type: ignore[attr-defined]
        self.assertTrue(any('"t":"hello"' in text for text in viewer.received))  # type: ignore[attr-defined]
        for text in shown:
            self.assertNotIn(edit, text)

        owner.page.click("[data-action='share']")
        owner.page.click("[data-action='revoke-view']")
        viewer.wait_for("offline")
        viewer.page.reload()
        self.assertIn("revoked", viewer.page.inner_text("#message"))

        owner.page.click("[data-action='rotate']")
        owner.page.click("[data-action='rotate']")
        owner.page.wait_for_url(lambda url: edit not in url)
        owner.wait_for("live")
        owner.wait_visible(ZIGZAG, RED)
        fresh = owner.page.url.rsplit("/", 1)[1]
        self.assertEqual(len(self.daemon.board_json(fresh)["items"]), 2)
        status, page, _ = self.daemon.get("/b/" + edit)
        self.assertEqual(status, 410)
        owner.page.click("[data-action='share']")
        owner.page.wait_for_selector(".share-views .empty")


class ScriptTests(AccessBrowserTestCase):
    """
    Text is shown as text, wherever it is shown.
    """

    def test_text_items_never_run_script(self) -> None:
        """
        Text items and a name holding markup and script-closing payloads are
        stored as they are, and never run script in the board page, the
        admin list or the admin's board page, even once every handler a payload
        could set off had its chance.
        """
        board = "xss-" + uuid.uuid4().hex[:12]
        self.vandalise(board, PAYLOADS)

        page = self.new_page(board).open()
        page.page.wait_for_function(
            "() => Number(document.body.dataset.seq) >= %d" % (len(PAYLOADS),)
        )
        # The board page draws text items on the canvas; the typed text it
        # shows in the document is a person's name, on their cursor.
        vandal = self.daemon.connect(board, client="vandal-0002").join()
        self.addCleanup(vandal.close)
        vandal.send({"t": "presence", "name": PAYLOAD_NAME})
        vandal.send({"t": "cursor", "x": 300, "y": 300})
        page.page.wait_for_selector(".remote-cursor .label:not(:empty)")

        self.assertIsNone(self.flag(page))
        self.assertEqual(self.injected(page), [])
        self.assertEqual(page.page.inner_text(".remote-cursor .label"), PAYLOAD_NAME)
        self.assertEqual(page.page.title(), "%s · whitebrd" % (board,))

        operator = self.new_page(
            http_credentials={"username": "ops", "password": TOKEN}
        )
        operator.page.goto(self.daemon.url + "/admin")
        operator.page.wait_for_selector("table")
        self.assertIn(board, operator.page.inner_text("table"))
        self.assertIsNone(self.flag(operator))
        self.assertEqual(self.injected(operator), [])
        operator.page.goto("%s/admin/b/%s" % (self.daemon.url, board))
        texts = operator.page.locator("li.text").all_inner_texts()
        self.assertEqual(sorted(texts), sorted(PAYLOADS))
        self.assertIsNone(self.flag(operator))
        self.assertEqual(self.injected(operator), [])

        operator.page.click("form[action$='/lock'] button")
        operator.page.wait_for_selector(".notice")
        self.assertIsNone(self.flag(operator))
        self.assertEqual(self.injected(operator), [])
        page.page.wait_for_function(
            "() => document.body.dataset.mode === 'view'", timeout=TIMEOUT_MS
        )
        self.assertEqual(page.errors + operator.errors, [])

    def test_svg_export_shows_text_and_runs_nothing(self) -> None:
        """
        A board's SVG opened on its own in the browser, as a download or a
        shared link is, shows every text a vandal typed as that text and
        runs none of it, whatever HTML or SVG markup it holds.
        """
        board = "xss-svg-" + uuid.uuid4().hex[:12]
        self.vandalise(board, SVG_PAYLOADS)
        page = self.new_page()

        page.page.goto("%s/b/%s.svg" % (self.daemon.url, board))

        self.assertIsNone(self.flag(page))
        self.assertEqual(self.injected(page), [])
        shown = page.page.evaluate(_SHOWN_SVG_JS)
        self.assertEqual((shown["root"], shown["errors"]), ("svg", 0))
        self.assertEqual(shown["texts"], [[text, True] for text in SVG_PAYLOADS])
        self.assertEqual(page.errors, [])


class AccessModuleTests(ClientModuleTestCase):
    """
    The client's DOM-free access modules, run as they are in Chromium.
    """

    def test_links_are_read_from_the_path(self) -> None:
        """
        /b/<id> is an edit link or name, /v/<id> a view link; anything else
        is no board.
        """
        result = self.run_js(
            {"a": "access.js"},
            "return ['/b/team-retro', '/v/AbC_-9', '/b/x/', '/v/', '/b/a.b',"
            " '/x/abc', '/b/' + 'a'.repeat(65)].map((p) => a.linkFromPath(p));",
        )

        self.assertEqual(
            result,
            [
                {"id": "team-retro", "view": False, "path": "/b/team-retro"},
                {"id": "AbC_-9", "view": True, "path": "/v/AbC_-9"},
                {"id": "x", "view": False, "path": "/b/x"},
                None,
                None,
                None,
                None,
            ],
        )

    def test_owner_keys_are_kept_per_edit_link_and_sent_as_bearer(self) -> None:
        """
        An owner key is kept under its edit id, moved on rotation, never
        kept when malformed, and sent in an Authorization header.
        """
        result = self.run_js(
            {"o": "owner.js"},
            """
            const storage = new FakeStorage();
            const key = "k".repeat(43);
            const kept = o.keepOwnerKey(storage, "edit1", key);
            const bad = o.keepOwnerKey(storage, "edit2", "<script>");
            o.keepOwnerKey(storage, "edit3", key, "edit1");
            const calls = [];
            const api = new o.OwnerApi("edit3", key, async (url, init) => {
              calls.push([url, init.method, init.headers.Authorization, init.body]);
              return { ok: true, status: 200, json: async () => ({ board: "edit4" }) };
            });
            const rotated = await api.rotate();
            await api.makeView(3600);
            return {
              kept, bad, rotated, calls,
              old: o.ownerKeyFor(storage, "edit1"),
              moved: o.ownerKeyFor(storage, "edit3") === key,
            };
            """,
        )

        self.assertEqual(
            (result["kept"], result["bad"], result["old"], result["moved"]),
            (True, False, None, True),
        )
        self.assertEqual(result["rotated"], "edit4")
        self.assertEqual(
            result["calls"],
            [
                ["/b/edit3/rotate", "POST", "Bearer " + "k" * 43, None],
                ["/b/edit3/links", "POST", "Bearer " + "k" * 43, '{"expires_in":3600}'],
            ],
        )
