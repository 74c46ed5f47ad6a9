"""
Two tabs of one browser on one board, in real Chromium against a real
C{twistd whitebrd}: they share a local storage, and neither may lose the
other's unconfirmed ops (C{static/js/outbox.js}).
"""

import json
from collections import Counter

from tests.support import UNLIMITED
from tests.test_browser import BLUE, RED, WAVE, ZIGZAG, BoardPage, BrowserTestCase

# Short pen strokes drawn by script, as fast as a page takes pointer
# events: two tabs doing it at once make ops in the same milliseconds.
_DRAW_STROKES = """async ([count, top]) => {
  const board = document.getElementById("board");
  const box = board.getBoundingClientRect();
  const pointer = (type, x, y) => board.dispatchEvent(new PointerEvent(type, {
    pointerId: 1, pointerType: "mouse", isPrimary: true, bubbles: true,
    button: 0, buttons: type === "pointerup" ? 0 : 1,
    clientX: box.left + x, clientY: box.top + y,
  }));
  const pause = (ms) => new Promise((done) => setTimeout(done, ms));
  for (let n = 0; n < count; n++) {
    const x = 20 + Math.floor(n / 10) * 40, y = top + (n % 10) * 12;
    pointer("pointerdown", x, y);
    await pause(2);
    pointer("pointermove", x + 10, y + 3);
    await pause(2);
    pointer("pointermove", x + 20, y + 5);
    await pause(2);
    pointer("pointerup", x + 20, y + 5);
    await pause(2);
  }
  window.strokesDrawn = true;
}"""


class TwoTabsTests(BrowserTestCase):
    """
    Pages of one browser context: one client id, one local storage.
    """

    shared_daemon = False

    def daemon_args(self) -> tuple[str, ...]:
        return super().daemon_args() + UNLIMITED

    def new_tab(self, context: object) -> BoardPage:
        """
        Another page in C{context}, on this test's board.
        """
        page = BoardPage(context.new_page(), self.daemon, self.board)  # type: ignore[attr-defined]
        self.addCleanup(lambda: self.assertEqual(page.errors, [], "errors in the page"))
        return page

    def test_a_tab_closed_offline_leaves_its_strokes_to_the_other(self) -> None:
        """
        Two tabs draw a stroke each while the daemon is down, then one tab
        is closed: the tab still open takes up the closed one's ops, and
        once the daemon is back both strokes are stored, each op once, and
        a tab opened afterwards finds nothing left to send.
        """
        context = self.browser.new_context(viewport={"width": 900, "height": 600})
        self.addCleanup(context.close)
        closing = self.new_tab(context).open()
        staying = self.new_tab(context).open()
        self.daemon.stop()
        closing.wait_for("offline")
        staying.wait_for("offline")
        # NB: a tab behind another gets no frames, so its input crawls.
        closing.page.bring_to_front()
        closing.pick(RED, 8)
        closing.drag(ZIGZAG)
        staying.page.bring_to_front()
        staying.pick(BLUE, 8)
        staying.drag(WAVE)
        pending = int(closing.dataset()["pending"]) + int(staying.dataset()["pending"])
        self.assertGreaterEqual(pending, 4)

        closing.page.close()
        staying.page.wait_for_function(
            "(n) => document.body.dataset.pending === String(n)", arg=pending
        )
        self.daemon.start()

        staying.wait_for("live")
        staying.wait_saved()
        staying.wait_visible(ZIGZAG, RED)
        staying.wait_visible(WAVE, BLUE)
        self.assertEqual(sorted(item["color"] for item in self.stored_items()), [BLUE, RED])
        _, body, _ = self.daemon.get("/b/%s/history" % (self.board,))
        ops = json.loads(body)["ops"]
        self.assertEqual(len(ops), pending)
        self.assertEqual([cid for cid, n in Counter(op["cid"] for op in ops).items() if n > 1], [])
        later = self.new_tab(context).open()
        self.assertEqual(later.dataset()["pending"], "0")

    def test_two_tabs_drawing_at_once_keep_every_stroke(self) -> None:
        """
        Two tabs of one browser (one client id) drawing in the same
        milliseconds name every op apart: all 120 strokes are stored, no
        cid twice, and each tab holds the board up to its last op.
        """
        context = self.browser.new_context(viewport={"width": 900, "height": 600})
        self.addCleanup(context.close)
        tabs = [self.new_tab(context).open() for _ in range(2)]
        for tab in tabs:
            tab.pick(RED, 2)

        for n, tab in enumerate(tabs):
            tab.page.evaluate(
                "(args) => { window.strokesDrawn = false; (%s)(args); }" % (_DRAW_STROKES,),
                [60, 80 + 200 * n],
            )
        for tab in tabs:
            tab.page.wait_for_function("() => window.strokesDrawn === true")
        for tab in tabs:
            tab.wait_saved()

        self.assertEqual(len(self.stored_items()), 120)
        _, body, _ = self.daemon.get("/b/%s/history" % (self.board,))
        cids = [op["cid"] for op in json.loads(body)["ops"]]
        self.assertEqual([cid for cid, n in Counter(cids).items() if n > 1], [])
        for tab in tabs:
            tab.page.wait_for_function(
                "() => Number(document.body.dataset.seq) >= %d" % (len(cids),)
            )
        self.assertEqual(tabs[0].dataset()["client"], tabs[1].dataset()["client"])
