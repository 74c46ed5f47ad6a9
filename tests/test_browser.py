"""
The browser client in C{static/}, driven in real Chromium against a real
C{twistd whitebrd} on the embedded store.

Two pages in separate browser contexts (so two client ids, two local
storages) share a board. What a user relies on is checked on the canvas's
pixels: a stroke drawn with the mouse on one page is painted, in its
colour and along its path, on the other.
"""

import atexit
import itertools
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Optional

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.redis_server import RedisServer
from tests.support import (
    ARTIFACTS,
    STREAMING_LIMITS,
    Daemon,
    excalidraw_items,
    start_daemon,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

# Every wait is for a condition; these only bound how long a broken build
# takes to fail.
TIMEOUT_MS = 30_000

RED = "#e03131"
BLUE = "#1971c2"
GREEN = "#2f9e44"

# Strokes in CSS pixels of a 900 x 600 viewport, clear of the toolbar.
ZIGZAG = [(150, 220), (300, 300), (450, 220), (600, 300)]
WAVE = [(150, 420), (300, 480), (450, 420), (600, 480)]
LOW = [(200, 540), (400, 540), (600, 540)]
# Crosses every one of the strokes above.
ACROSS = [(375, 150), (375, 580)]
# Crosses ZIGZAG but keeps clear of ACROSS.
UPRIGHT = [(520, 160), (520, 360)]

# The share of sample points along a stroke that must show its colour.
VISIBLE = 0.9

# How much of a stroke shows on a page's canvas: the share of points
# sampled along the stroke (away from its corners, where the smoothed curve
# cuts inside) that have a pixel of the stroke's colour within 3 CSS pixels.
# The canvas's backing store is scaled by the device pixel ratio.
_COVERAGE_JS = """
([points, color]) => {
  const canvas = document.getElementById("board");
  const ctx = canvas.getContext("2d");
  const ratio = canvas.width / canvas.getBoundingClientRect().width;
  const want = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  const reach = Math.ceil(3 * ratio);
  const samples = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [ax, ay] = points[i];
    const [bx, by] = points[i + 1];
    for (let t = 0.2; t <= 0.8001; t += 0.05) {
      samples.push([ax + (bx - ax) * t, ay + (by - ay) * t]);
    }
  }
  let hits = 0;
  for (const [x, y] of samples) {
    const image = ctx.getImageData(
      Math.round(x * ratio) - reach,
      Math.round(y * ratio) - reach,
      2 * reach + 1,
      2 * reach + 1,
    );
    const data = image.data;
    for (let j = 0; j < data.length; j += 4) {
      if (
        Math.abs(data[j] - want[0]) <= 24 &&
        Math.abs(data[j + 1] - want[1]) <= 24 &&
        Math.abs(data[j + 2] - want[2]) <= 24
      ) {
        hits += 1;
        break;
      }
    }
  }
  return hits / samples.length;
}
"""

# The share of points that have a pixel other than the white background
# within 3 CSS pixels.
_INKED_JS = """
(points) => {
  const canvas = document.getElementById("board");
  const ctx = canvas.getContext("2d");
  const ratio = canvas.width / canvas.getBoundingClientRect().width;
  const reach = Math.ceil(3 * ratio);
  let hits = 0;
  for (const [x, y] of points) {
    const data = ctx.getImageData(
      Math.round(x * ratio) - reach,
      Math.round(y * ratio) - reach,
      2 * reach + 1,
      2 * reach + 1,
    ).data;
    for (let j = 0; j < data.length; j += 4) {
      if (Math.min(data[j], data[j + 1], data[j + 2]) < 225) {
        hits += 1;
        break;
      }
    }
  }
  return hits / points.length;
}
"""


class BoardPage:
    """
    One browser page on a board, with what a person does there.
    """

    def __init__(self, page: Any, daemon: Daemon, board: str) -> None:
        self.page = page
        self.daemon = daemon
        self.board = board
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.set_default_timeout(TIMEOUT_MS)

    def open(self) -> "BoardPage":
        """
        Load the board's page and wait until it is live.
        """
        self.page.goto("%s/b/%s" % (self.daemon.url, self.board))
        self.wait_for("live")
        return self

    def reload(self) -> None:
        """
        Reload the page and wait until it is live again.
        """
        self.page.reload()
        self.wait_for("live")

    def wait_for(self, connection: str) -> None:
        """
        Wait until the page shows this connection state.
        """
        self.page.wait_for_function(
            "(state) => document.body.dataset.connection === state",
            arg=connection,
            timeout=TIMEOUT_MS,
        )

    def dataset(self) -> dict[str, str]:
        """
        What the page exposes about its connection: state, seq, pending.
        """
        return self.page.evaluate("() => ({...document.body.dataset})")  # type: ignore[no-any-return]

    def pick(self, color: Optional[str] = None, width: Optional[int] = None) -> None:
        """
        Choose a colour and a width on the toolbar (which picks the pen).
        """
        if color is not None:
            self.page.click("[data-color='%s']" % (color,))
        if width is not None:
            self.page.click("[data-width='%d']" % (width,))

    def menu(self, action: str) -> None:
        """
        Open the "more" menu and pick one of its entries.
        """
        self.page.click("[popovertarget='menu']")
        self.page.click("#menu [data-action='%s']" % (action,))

    def drag(self, points: list[tuple[int, int]]) -> None:
        """
        Press the mouse at the first point, move through the others and
        release, as a person drawing does.
        """
        mouse = self.page.mouse
        mouse.move(*points[0])
        mouse.down()
        for x, y in points[1:]:
            mouse.move(x, y, steps=12)
        mouse.up()

    def coverage(self, points: list[tuple[int, int]], color: str) -> float:
        """
        The share of the stroke along C{points} painted in C{color}.
        """
        return float(self.page.evaluate(_COVERAGE_JS, [points, color]))

    def wait_visible(self, points: list[tuple[int, int]], color: str) -> None:
        """
        Wait until the stroke along C{points} shows in C{color}.
        """
        self.page.wait_for_function(
            "(arg) => (%s)(arg) >= %s" % (_COVERAGE_JS, VISIBLE),
            arg=[points, color],
            timeout=TIMEOUT_MS,
        )

    def wait_gone(self, points: list[tuple[int, int]], color: str) -> None:
        """
        Wait until no pixel of C{color} is left along C{points}.
        """
        self.page.wait_for_function(
            "(arg) => (%s)(arg) === 0" % (_COVERAGE_JS,),
            arg=[points, color],
            timeout=TIMEOUT_MS,
        )

    def inked(self, points: list[tuple[float, float]]) -> float:
        """
        The share of C{points} with something drawn next to them.
        """
        return float(self.page.evaluate(_INKED_JS, points))

    def wait_inked(self, points: list[tuple[float, float]]) -> None:
        """
        Wait until something is drawn next to every one of C{points}.
        """
        self.page.wait_for_function(
            "(arg) => (%s)(arg) === 1" % (_INKED_JS,), arg=points, timeout=TIMEOUT_MS
        )

    def wait_saved(self) -> None:
        """
        Wait until the server confirmed every op this page sent.
        """
        self.page.wait_for_function(
            "() => document.body.dataset.pending === '0'", timeout=TIMEOUT_MS
        )

    def screenshot(self, name: str) -> None:
        """
        Keep a picture of the page in C{test-artifacts/}.
        """
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / ("browser-%s.png" % (name,))))


_shared: dict[str, Any] = {}


def shared_browser() -> Any:
    """
    One Chromium for the whole test run, started when first needed and
    closed when the run ends: launching one per test cost about 2 s each.
    Tests isolate themselves with browser contexts of their own.
    """
    browser = _shared.get("browser")
    if browser is None or not browser.is_connected():
        from playwright.sync_api import sync_playwright

        if "playwright" not in _shared:
            _shared["playwright"] = sync_playwright().start()
            atexit.register(_close_shared)
        browser = _shared["browser"] = _shared["playwright"].chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
    return browser


def _close_shared() -> None:
    for daemon in _shared.pop("daemons", {}).values():
        daemon.stop()
    browser = _shared.pop("browser", None)
    if browser is not None:
        browser.close()
    playwright = _shared.pop("playwright", None)
    if playwright is not None:
        playwright.stop()


class BrowserTestCase(SynchronousTestCase):
    """
    A daemon on the embedded store, Chromium, and a fresh board per test.

    The daemon and the browser are shared by the tests of a class (each
    test draws on a board of its own); a class whose daemon must be its own
    per test sets C{shared_daemon} false.
    """

    shared_daemon = True

    def setUp(self) -> None:
        if not os.path.exists(CHROMIUM):
            raise SkipTest("Chromium is not installed at %s" % (CHROMIUM,))
        if self.shared_daemon:
            self.daemon = self._class_daemon()
        else:
            self.daemon = start_daemon(self, *self.daemon_args())
        self.browser = shared_browser()
        self.board = "browser-" + uuid.uuid4().hex[:12]

    def _class_daemon(self) -> Daemon:
        daemons = _shared.setdefault("daemons", {})
        key = type(self).__qualname__
        daemon = daemons.get(key)
        if daemon is None:
            workdir = Path(tempfile.mkdtemp(prefix="whitebrd-", dir=os.getcwd()))
            daemon = daemons[key] = Daemon(list(self.daemon_args()), workdir)
            if "playwright" not in _shared:
                atexit.register(_close_shared)
        if daemon.process is None or daemon.process.poll() is not None:
            daemon.start()
        return daemon

    def daemon_args(self) -> tuple[str, ...]:
        """
        The daemon's options: the embedded store in a file of the test's.
        """
        data = Path(os.getcwd()).resolve() / (
            "browser-%s.sqlite3" % (uuid.uuid4().hex,)
        )
        return ("--data", str(data))

    def new_page(
        self, device_scale_factor: float = 1, width: int = 900, height: int = 600
    ) -> BoardPage:
        """
        A page in a browser context of its own: its own client id and
        local storage.
        """
        context = self.browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=device_scale_factor,
        )
        self.addCleanup(context.close)
        page = BoardPage(context.new_page(), self.daemon, self.board)
        self.addCleanup(lambda: self.assertEqual(page.errors, [], "errors in the page"))
        return page

    def screenshots(self, step: str, **pages: BoardPage) -> None:
        """
        Keep a picture of each page at this step of the test.
        """
        for name, page in pages.items():
            page.screenshot("%s-%s-%s" % (self._testMethodName, step, name))

    def stored_items(self) -> list[dict[str, Any]]:
        """
        The items the server holds for the board now.
        """
        return self.daemon.board_json(self.board)["items"]  # type: ignore[no-any-return]


class DrawingTests(BrowserTestCase):
    """
    What one person draws, everyone on the board sees, and it stays.
    """

    def test_stroke_shows_on_the_other_page_and_survives_restarts(self) -> None:
        """
        A stroke drawn on page A is painted on page B in its colour along
        its path, stored in board units, and still there after B reloads
        and after the daemon restarts.
        """
        a = self.new_page().open()
        b = self.new_page(device_scale_factor=2).open()
        self.assertEqual(b.coverage(ZIGZAG, RED), 0)

        a.pick(RED, 8)
        a.drag(ZIGZAG)

        b.wait_visible(ZIGZAG, RED)
        a.wait_visible(ZIGZAG, RED)
        a.wait_saved()
        self.screenshots("drawn", a=a, b=b)
        [item] = self.stored_items()
        self.assertEqual(
            (item["kind"], item["color"], item["width"], item["opacity"]),
            ("path", RED, 8, 1),
        )
        self.assertEqual(item["pts"][:2], [150, 220])
        self.assertEqual(item["pts"][-2:], [600, 300])
        seq = self.daemon.board_json(self.board)["seq"]
        b.page.wait_for_function(
            "(seq) => document.body.dataset.seq === String(seq)", arg=seq
        )

        b.reload()
        b.wait_visible(ZIGZAG, RED)

        self.daemon.restart()
        a.wait_for("live")
        b.wait_for("live")
        b.reload()
        b.wait_visible(ZIGZAG, RED)
        self.screenshots("restarted", b=b)

        a.pick(BLUE)
        a.drag(WAVE)
        b.wait_visible(WAVE, BLUE)
        b.wait_visible(ZIGZAG, RED)
        self.assertEqual(len(self.stored_items()), 2)

    def test_strokes_drawn_offline_are_sent_later(self) -> None:
        """
        What a person draws while the daemon is down shows at once on
        their page and reaches the others when it is back, also when they
        left the page in between.
        """
        a = self.new_page().open()
        b = self.new_page().open()
        a.pick(RED, 8)

        self.daemon.stop()
        a.wait_for("offline")
        a.drag(ZIGZAG)
        a.wait_visible(ZIGZAG, RED)
        self.assertNotEqual(a.dataset()["pending"], "0")
        self.daemon.start()

        a.wait_saved()
        b.wait_visible(ZIGZAG, RED)

        self.daemon.stop()
        a.wait_for("offline")
        a.pick(BLUE)
        a.drag(WAVE)
        a.wait_visible(WAVE, BLUE)
        a.page.goto("about:blank")
        self.daemon.start()
        a.open()

        a.wait_saved()
        b.wait_visible(WAVE, BLUE)
        a.wait_visible(WAVE, BLUE)
        a.wait_visible(ZIGZAG, RED)
        self.screenshots("sent", a=a, b=b)
        self.assertEqual([item["color"] for item in self.stored_items()], [RED, BLUE])

    def test_eraser_removes_the_stroke_on_both_pages(self) -> None:
        """
        The eraser, dragged across a stroke on page B, removes the whole
        stroke on B, on A and on the server, and leaves a stroke it did not
        touch whole, where the two crossed too.
        """
        a = self.new_page().open()
        b = self.new_page().open()
        a.pick(BLUE, 8)
        a.drag(UPRIGHT)
        a.pick(RED, 8)
        a.drag(ZIGZAG)
        b.wait_visible(ZIGZAG, RED)
        b.wait_visible(UPRIGHT, BLUE)

        b.page.click("[data-tool='eraser']")
        b.drag(ACROSS)

        b.wait_gone(ZIGZAG, RED)
        a.wait_gone(ZIGZAG, RED)
        b.wait_saved()
        self.screenshots("erased", a=a, b=b)
        self.assertEqual([item["color"] for item in self.stored_items()], [BLUE])
        for page in (a, b):
            self.assertEqual(page.coverage(UPRIGHT, BLUE), 1)
        a.reload()
        self.assertEqual(a.coverage(ZIGZAG, RED), 0)
        self.assertEqual(a.coverage(UPRIGHT, BLUE), 1)

    def test_clear_asks_first_then_empties_both_pages(self) -> None:
        """
        Clear opens a confirmation in the page; cancelling keeps the
        board, confirming empties it for everyone.
        """
        a = self.new_page().open()
        b = self.new_page().open()
        a.pick(RED, 8)
        a.drag(ZIGZAG)
        b.pick(BLUE, 8)
        b.drag(WAVE)
        a.wait_visible(WAVE, BLUE)
        b.wait_visible(ZIGZAG, RED)

        a.menu("clear")
        self.assertTrue(a.page.is_visible("#confirm-clear"))
        a.page.click("[data-action='cancel-clear']")
        # Ops arrive in order: once this stroke is on B, a clear sent
        # before it would have been too.
        a.pick(GREEN)
        a.drag(LOW)
        b.wait_visible(LOW, GREEN)
        self.assertGreaterEqual(b.coverage(ZIGZAG, RED), VISIBLE)
        self.assertGreaterEqual(b.coverage(WAVE, BLUE), VISIBLE)

        a.menu("clear")
        self.screenshots("confirm", a=a)
        a.page.click("[data-action='confirm-clear']")

        for page in (a, b):
            page.wait_gone(ZIGZAG, RED)
            page.wait_gone(WAVE, BLUE)
            page.wait_gone(LOW, GREEN)
        a.wait_saved()
        self.screenshots("cleared", a=a, b=b)
        self.assertEqual(self.stored_items(), [])


class StorageOutageTests(BrowserTestCase):
    """
    Drawing goes on while the store is down, and is saved when it is back.
    """

    shared_daemon = False

    def daemon_args(self) -> tuple[str, ...]:
        """
        Redis as the store, keeping what it acknowledged across a restart,
        and a short store timeout so that an outage shows quickly.
        """
        if shutil.which("redis-server") is None:
            raise SkipTest("redis-server is not installed")
        self.redis = RedisServer(appendonly=True)
        self.redis.start()
        self.addCleanup(self.redis.cleanup)
        return ("--redis", self.redis.url, "--store-timeout", "1")

    def test_strokes_drawn_while_storage_is_down_are_saved_later(self) -> None:
        """
        While Redis is down, a stroke still shows on the page that drew it,
        which says it is not saving; once Redis is back the stroke is
        stored and reaches the other page.
        """
        a = self.new_page().open()
        b = self.new_page().open()
        a.pick(BLUE, 8)
        a.drag(WAVE)
        b.wait_visible(WAVE, BLUE)

        self.redis.stop()
        a.pick(RED)
        a.drag(ZIGZAG)
        a.wait_visible(ZIGZAG, RED)
        a.page.wait_for_function("() => document.body.dataset.saving === 'false'")
        self.assertEqual(a.page.inner_text("#status-text"), "Not saving")
        self.screenshots("not-saving", a=a)
        self.redis.start()

        a.wait_saved()
        b.wait_visible(ZIGZAG, RED)
        a.page.wait_for_function("() => document.body.dataset.saving === 'true'")
        self.assertEqual(a.page.inner_text("#status-text"), "Live")
        self.assertEqual([item["color"] for item in self.stored_items()], [BLUE, RED])


class LoadingTests(BrowserTestCase):
    """
    Boards drawn by people open whole.
    """

    def daemon_args(self) -> tuple[str, ...]:
        """
        The embedded store, and limits that let the test load a drawing
        as fast as it can.
        """
        return super().daemon_args() + STREAMING_LIMITS

    def test_a_real_drawing_opens_whole(self) -> None:
        """
        A board holding a real drawing (hundreds of handwritten strokes)
        opens with every stroke painted, and the page holds the server's
        seq.
        """
        items = list(excalidraw_items("cs307-lecture-notes.excalidraw"))
        cids = ("loader-0001-%d" % (n,) for n in itertools.count(1))
        ops = [{"cid": next(cids), "op": "add", "item": item} for item in items]
        writer = self.daemon.connect(self.board, client="loader-0001").join()
        for start in range(0, len(ops), 100):
            writer.send({"t": "ops", "ops": ops[start : start + 100]})
            writer.until_seq(min(len(ops), start + 100))
        writer.close()
        # The first points of strokes lying wholly in the window.
        inside = [
            item
            for item in items
            if item["kind"] == "path"
            and all(0 <= x <= 1600 for x in item["pts"][0::2])
            and all(0 <= y <= 1000 for y in item["pts"][1::2])
        ]
        points = [tuple(item["pts"][:2]) for item in inside]
        self.assertGreater(len(points), 100)
        empty = self.new_page(width=1600, height=1000)
        empty.board = "nothing-here"
        self.assertEqual(empty.open().inked(points), 0)

        page = self.new_page(width=1600, height=1000).open()

        page.page.wait_for_function(
            "(seq) => document.body.dataset.seq === String(seq)", arg=len(ops)
        )
        page.wait_inked(points)
        self.screenshots("opened", page=page)


class LandingTests(BrowserTestCase):
    """
    The landing page makes boards and opens named ones.
    """

    def test_new_board_and_named_board(self) -> None:
        """
        "New board" lands on a fresh board that goes live; a name typed in
        the field opens that board.
        """
        page = self.new_page()
        page.page.goto(self.daemon.url + "/")

        page.page.click("[data-action='new-board']")
        page.page.wait_for_url("**/b/*")
        page.wait_for("live")
        self.assertRegex(page.page.url, r"/b/[A-Za-z0-9_-]{22}$")

        page.page.goto(self.daemon.url + "/")
        page.page.fill("#board-name", self.board)
        page.page.press("#board-name", "Enter")
        page.page.wait_for_url("**/b/" + self.board)
        page.wait_for("live")
        page.page.goto(self.daemon.url + "/")
        self.assertIn(self.board, page.page.inner_text("#recent"))
