"""
Who may draw, in real Chromium against a real C{twistd whitebrd} on a real
Redis: the owner shares a view link from the share dialog, the view page
follows the board live and draws nothing, revoking and rotating take effect
in the pages, and text a vandal typed never runs as script in the board
page, the admin pages or the page that says a link is gone.
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
        return page.page.evaluate("() => window.__pwned")


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
        Text items holding markup and script-closing payloads are stored as
        they are, and never run script in the board page, the admin list,
        the admin's board page or a gone link's page.
        """
        board = "xss-" + uuid.uuid4().hex[:12]
        from tests.support import Client
        from websockets.sync.client import connect

        client = Client(
            connect(
                "ws://127.0.0.1:%d/b/%s/ws?client=vandal-0001"
                % (self.daemon.port, board)
            )
        )
        client.join()
        for n, text in enumerate(PAYLOADS):
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
        client.until_seq(len(PAYLOADS))
        client.close()
        self.assertEqual(
            [i["text"] for i in self.daemon.board_json(board)["items"]], PAYLOADS
        )

        page = self.new_page(board).open()
        page.page.wait_for_function(
            "() => Number(document.body.dataset.seq) >= %d" % (len(PAYLOADS),)
        )
        self.assertIsNone(self.flag(page))
        self.assertEqual(page.page.title(), "%s · whitebrd" % (board,))

        operator = self.new_page(
            http_credentials={"username": "ops", "password": TOKEN}
        )
        operator.page.goto(self.daemon.url + "/admin")
        operator.page.wait_for_selector("table")
        self.assertIn(board, operator.page.inner_text("table"))
        self.assertIsNone(self.flag(operator))
        operator.page.goto("%s/admin/b/%s" % (self.daemon.url, board))
        texts = operator.page.locator("li.text").all_inner_texts()
        self.assertEqual(sorted(texts), sorted(PAYLOADS))
        self.assertIsNone(self.flag(operator))

        operator.page.click("form[action$='/lock'] button")
        operator.page.wait_for_selector(".notice")
        self.assertIsNone(self.flag(operator))
        page.page.wait_for_function(
            "() => document.body.dataset.mode === 'view'", timeout=TIMEOUT_MS
        )

        gone = self.new_page()
        gone.page.goto(self.daemon.url + "/v/" + "x" * 22)
        self.assertIn("No such view link", gone.page.inner_text("#message"))
        self.assertIsNone(self.flag(gone))
        self.assertEqual(page.errors + operator.errors + gone.errors, [])


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
