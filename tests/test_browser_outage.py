"""
The page while the board's storage is down, in real Chromium against a real
daemon on a real Redis that the test kills and starts again.
"""

import os
import uuid
from pathlib import Path

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.redis_server import RedisServer
from tests.support import start_daemon
from tests.test_browser import (
    BLUE,
    CHROMIUM,
    CHROMIUM_ARGS,
    RED,
    TIMEOUT_MS,
    WAVE,
    ZIGZAG,
    BoardPage,
)


class StorageOutageTests(SynchronousTestCase):
    """
    A person drawing while Redis is down sees that the board is not saving,
    keeps what they draw, and sees it saved once Redis is back.
    """

    def setUp(self) -> None:
        if not os.path.exists(CHROMIUM):
            raise SkipTest("Chromium is not installed at %s" % (CHROMIUM,))
        from playwright.sync_api import sync_playwright

        self.redis = RedisServer(str(Path(self.mktemp()).resolve()), appendonly=True)
        self.redis.start()
        self.addCleanup(self.redis.cleanup)
        self.daemon = start_daemon(self, "--redis", self.redis.url, "--store-timeout", "1")
        self.playwright = sync_playwright().start()
        self.addCleanup(self.playwright.stop)
        browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        self.addCleanup(browser.close)
        context = browser.new_context(viewport={"width": 900, "height": 600})
        self.addCleanup(context.close)
        self.board = "outage-" + uuid.uuid4().hex[:12]
        self.page = BoardPage(context.new_page(), self.daemon, self.board)

    def wait_saving(self, saving: str) -> None:
        self.page.page.wait_for_function(
            "(saving) => document.body.dataset.saving === saving",
            arg=saving,
            timeout=TIMEOUT_MS,
        )

    def test_page_says_not_saving_until_redis_is_back(self) -> None:
        """
        With Redis killed, a stroke still shows on the page, the page says
        "Not saving" and keeps the stroke as unsaved; when Redis is back the
        page says so by itself, and both strokes are stored once.
        """
        page = self.page.open()
        page.pick(RED, 8)
        page.drag(ZIGZAG)
        page.wait_saved()

        self.redis.kill()
        page.pick(BLUE)
        page.drag(WAVE)
        page.wait_visible(WAVE, BLUE)
        self.wait_saving("false")
        shown = page.page.text_content("#status-text")
        pending = page.dataset()["pending"]
        self.redis.start()
        self.wait_saving("true")
        page.wait_saved()

        self.assertEqual(shown, "Not saving")
        self.assertNotEqual(pending, "0")
        self.assertEqual(page.page.text_content("#status-text"), "Live")
        items = self.daemon.board_json(self.board)["items"]
        self.assertEqual([item["color"] for item in items], [RED, BLUE])
        self.assertEqual(page.errors, [])
