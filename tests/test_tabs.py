"""
Two tabs of one browser on one board, in real Chromium against a real
C{twistd whitebrd}: they share a local storage, and neither may lose the
other's unconfirmed ops (C{static/js/outbox.js}).
"""

import json
from collections import Counter

from tests.test_browser import BLUE, RED, WAVE, ZIGZAG, BoardPage, BrowserTestCase


class TwoTabsTests(BrowserTestCase):
    """
    Pages of one browser context: one client id, one local storage.
    """

    shared_daemon = False

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
