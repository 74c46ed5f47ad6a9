"""
The whiteboard people expect, in real Chromium against a real daemon: every
tool, selection, per-person undo, presence, replay, export and import,
phones, and the page around the board.

Pages are in browser contexts of their own (their own client ids and local
storage); what one page does is checked on the other page's canvas, in
C{/b/<id>.json} and, where it matters, after a reload.  Screenshots of each
step are kept in C{test-artifacts/}.
"""

import base64
import itertools
import json
import math
import os
import struct
import threading
import urllib.request
import xml.etree.ElementTree as ElementTree
from typing import Any, Optional

from tests.support import (
    SCENES,
    Client,
    Daemon,
    excalidraw_items,
    scene_path,
    stroke_ops,
)
from tests.test_browser import (
    BLUE,
    GREEN,
    LOW,
    RED,
    WAVE,
    ZIGZAG,
    BoardPage,
    BrowserTestCase,
)
from whitebrd.scene import Scene

ORANGE = "#f08c00"
PURPLE = "#7048e8"
PINK = "#c2255c"
GREY = "#868e96"
BLACK = "#1e1e1e"
SVG = "{http://www.w3.org/2000/svg}"


def blend(color: str, opacity: float) -> str:
    """
    The colour C{color} shows at C{opacity} over the white board.
    """
    channels = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(c * opacity + 255 * (1 - opacity)) for c in channels]
    return "#%02x%02x%02x" % tuple(mixed)


def circle(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """
    Points round a circle, close enough that the segments between them
    stay on it.
    """
    return [
        (cx + r * math.cos(2 * math.pi * k / 48), cy + r * math.sin(2 * math.pi * k / 48))
        for k in range(49)
    ]


def outline(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """
    The corners of a rectangle, round and back to the first.
    """
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]


class Page(BoardPage):
    """
    A board page with the whiteboard's controls.
    """

    def tool(self, name: str) -> None:
        """
        Pick a tool with its button.
        """
        self.page.click("[data-tool='%s']" % (name,))

    def client_id(self) -> str:
        return self.dataset()["client"]

    def view(self) -> tuple[float, float, float]:
        x, y, scale = map(float, self.dataset()["view"].split())
        return x, y, scale

    def on_screen(self, x: float, y: float) -> tuple[float, float]:
        """
        Where a board point shows in the window now.
        """
        vx, vy, scale = self.view()
        return x * scale + vx, y * scale + vy

    def drag_with(self, key: str, points: list[tuple[int, int]]) -> None:
        """
        Drag with a key held (Shift keeps shapes square).
        """
        self.page.keyboard.down(key)
        self.drag(points)
        self.page.keyboard.up(key)

    def wait_items(self, count: int) -> None:
        """
        Wait until the page holds this many items.
        """
        self.page.wait_for_function(
            "(n) => document.body.dataset.items === String(n)", arg=count
        )

    def wait_toast(self, words: str) -> str:
        """
        Wait until the page's message says C{words}, and return it.
        """
        self.page.wait_for_function(
            "(words) => { const t = document.getElementById('toast');"
            " return !t.hidden && t.textContent.includes(words); }",
            arg=words,
        )
        return self.page.inner_text("#toast")


def _shifted(pts: list[float], dx: float, dy: float) -> list[float]:
    """
    A flat list of points moved by C{dx}, C{dy}.
    """
    return [v + (dx if n % 2 == 0 else dy) for n, v in enumerate(pts)]


class WhiteboardTestCase(BrowserTestCase):
    """
    Pages with the whiteboard's helpers, and waits for boards to settle.
    """

    def new_page(self, device_scale_factor: float = 1, width: int = 900, height: int = 600, **options: Any) -> Page:  # type: ignore[override]
        context = self.browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=device_scale_factor,
            **options,
        )
        self.addCleanup(context.close)
        page = Page(context.new_page(), self.daemon, self.board)
        self.addCleanup(lambda: self.assertEqual(page.errors, [], "errors in the page"))
        return page

    def settled(self, *pages: Page) -> dict[str, Any]:
        """
        Wait until every page's ops are stored and every page holds the
        board's newest seq; return the board as the server has it.
        """
        for page in pages:
            page.wait_saved()
        board = self.daemon.board_json(self.board)
        for page in pages:
            page.page.wait_for_function(
                "(seq) => Number(document.body.dataset.seq) >= seq", arg=board["seq"]
            )
        return board  # type: ignore[no-any-return]

    def kinds(self) -> list[tuple[str, str]]:
        return [(item["kind"], item["color"]) for item in self.stored_items()]


class ToolTests(WhiteboardTestCase):
    """
    Each tool, used with the mouse on one page, makes the item the other
    page shows.
    """

    def test_each_tool_makes_the_item_the_other_page_shows(self) -> None:
        """
        Pen, highlighter, line, arrow, rectangle (filled), ellipse (round
        with Shift) and text drawn on A are stored as their items and
        painted on B; the eraser removes a stroke from both; select moves
        the rectangle for both; the hand moves only A's view.
        """
        a = self.new_page().open()
        b = self.new_page().open()

        a.pick(RED, 8)
        a.drag(ZIGZAG)
        a.tool("highlighter")
        a.pick(ORANGE)
        a.drag([(150, 370), (420, 370)])
        a.tool("line")
        a.pick(BLUE, 4)
        a.drag([(150, 430), (320, 480)])
        a.tool("arrow")
        a.pick(GREEN)
        a.drag([(360, 430), (540, 480)])
        a.tool("rect")
        a.page.click("[data-action='fill']")
        a.pick(PURPLE)
        a.drag([(640, 140), (840, 240)])
        a.page.click("[data-action='fill']")
        a.tool("ellipse")
        a.pick(PINK)
        a.drag_with("Shift", [(640, 280), (800, 350)])
        a.tool("text")
        a.pick(BLACK)
        a.page.mouse.click(600, 500)
        a.page.keyboard.type("Hello <b>board</b>")
        a.page.keyboard.press("Shift+Enter")
        a.page.keyboard.type("two lines")
        a.page.keyboard.press("Enter")

        board = self.settled(a, b)
        self.screenshots("drawn", a=a, b=b)
        items = board["items"]
        self.assertEqual(
            [(i["kind"], i["color"]) for i in items],
            [("path", RED), ("path", ORANGE), ("line", BLUE), ("line", GREEN),
             ("rect", PURPLE), ("ellipse", PINK), ("text", BLACK)],
        )
        pen, highlighter, line, arrow, rect, ellipse, text = items
        self.assertEqual((pen["width"], pen["opacity"]), (8, 1))
        self.assertEqual((highlighter["width"], highlighter["opacity"]), (32, 0.35))
        self.assertEqual((line["pts"], "arrow" in line), ([150, 430, 320, 480], False))
        self.assertEqual((arrow["pts"], arrow["arrow"]), ([360, 430, 540, 480], "end"))
        self.assertEqual(rect["pts"], [640, 140, 840, 240])
        self.assertRegex(rect["fill"], "^#[0-9a-f]{6}$")
        self.assertNotIn("fill", ellipse)
        self.assertEqual(ellipse["pts"], [640, 280, 800, 440])
        self.assertEqual(text["text"], "Hello <b>board</b>\ntwo lines")
        self.assertEqual(text["pts"][0], 600)
        for page in (a, b):
            page.wait_visible(ZIGZAG, RED)
            page.wait_visible([(150, 370), (420, 370)], blend(ORANGE, 0.35))
            page.wait_visible([(150, 430), (320, 480)], BLUE)
            page.wait_visible([(360, 430), (540, 480)], GREEN)
            page.wait_visible(outline(640, 140, 840, 240), PURPLE)
            page.wait_visible(circle(720, 360, 80), PINK)
            page.wait_inked([(605, 500), (640, 500), (605, 525)])

        a.tool("pen")
        a.pick(GREY)
        a.drag([(180, 520), (420, 520)])
        b.wait_visible([(180, 520), (420, 520)], GREY)
        a.tool("eraser")
        a.drag([(300, 505), (300, 535)])
        for page in (a, b):
            page.wait_gone([(180, 520), (420, 520)], GREY)
        self.settled(a, b)
        self.assertEqual(len(self.stored_items()), 7)

        a.tool("select")
        a.drag([(640, 190), (600, 210)])
        for page in (a, b):
            page.wait_visible(outline(600, 160, 800, 260), PURPLE)
            page.wait_gone([(700, 140), (790, 140)], PURPLE)
        self.settled(a, b)
        self.assertEqual(self.stored_items()[4]["pts"], [600, 160, 800, 260])
        self.screenshots("moved", a=a, b=b)

        a.tool("hand")
        a.drag([(450, 390), (550, 390)])
        self.assertEqual(a.view(), (100, 0, 1))
        self.assertEqual(b.view(), (0, 0, 1))
        a.wait_visible([(x + 100, y) for x, y in ZIGZAG], RED)
        self.assertEqual(len(self.stored_items()), 7)

    def test_selection_is_restyled_duplicated_nudged_and_erased(self) -> None:
        """
        With the select tool: a box selects what it surrounds; a colour,
        width or opacity picked restyles the selection for everyone; Ctrl+D
        duplicates, the arrow keys nudge, Delete erases; a double-click
        edits text in place.
        """
        a = self.new_page().open()
        b = self.new_page().open()
        a.pick(RED, 4)
        a.drag([(200, 250), (300, 250)])
        a.drag([(200, 300), (300, 300)])
        a.tool("text")
        a.page.mouse.click(500, 300)
        a.page.keyboard.type("draft")
        a.page.keyboard.press("Enter")
        self.settled(a, b)

        a.tool("select")
        a.drag([(180, 200), (320, 330)])
        a.pick(BLUE, 8)
        a.page.click("[data-opacity='0.6']")
        self.settled(a, b)
        first, second, text = self.stored_items()
        for stroke in (first, second):
            self.assertEqual((stroke["color"], stroke["width"], stroke["opacity"]), (BLUE, 8, 0.6))
        self.assertEqual(text["color"], RED)
        b.wait_visible([(200, 250), (300, 250)], blend(BLUE, 0.6))

        a.page.keyboard.press("Control+d")
        self.settled(a, b)
        self.assertEqual(len(self.stored_items()), 5)
        a.page.keyboard.press("ArrowRight")
        a.page.keyboard.press("Shift+ArrowDown")
        self.settled(a, b)
        copies = self.stored_items()[3:]
        self.assertEqual(copies[0]["pts"][:2], [200 + 20 + 1, 250 + 20 + 10])
        a.page.keyboard.press("Delete")
        self.settled(a, b)
        self.assertEqual(len(self.stored_items()), 3)

        a.page.mouse.dblclick(510, 300)
        a.page.keyboard.press("End")
        a.page.keyboard.type(" final")
        a.page.keyboard.press("Enter")
        self.settled(a, b)
        self.assertEqual(self.stored_items()[2]["text"], "draft final")
        self.screenshots("restyled", a=a, b=b)


class UndoTests(WhiteboardTestCase):
    """
    Undo and redo belong to each person, and survive a reload.
    """

    def test_undo_twice_and_redo_once_touch_only_ones_own_work(self) -> None:
        """
        A and B draw in turns; A, after a reload, undoes twice and redoes
        once: A's two strokes go and one comes back, on both pages and in
        the store, and B's stroke never moves.
        """
        a = self.new_page().open()
        b = self.new_page().open()
        first = [(150, 200), (600, 200)]
        theirs = [(150, 300), (600, 300)]
        second = [(150, 400), (600, 400)]
        a.pick(RED, 8)
        a.drag(first)
        self.settled(a, b)
        b.pick(BLUE, 8)
        b.drag(theirs)
        self.settled(a, b)
        a.pick(GREEN)
        a.drag(second)
        self.settled(a, b)
        a.reload()

        a.page.click("[data-action='undo']")
        a.page.keyboard.press("Control+z")
        for page in (a, b):
            page.wait_gone(first, RED)
            page.wait_gone(second, GREEN)
        self.assertEqual(self.kinds(), [("path", BLUE)])
        a.page.keyboard.press("Control+Shift+z")

        for page in (a, b):
            page.wait_visible(first, RED)
            page.wait_gone(second, GREEN)
            page.wait_visible(theirs, BLUE)
        self.settled(a, b)
        self.screenshots("undone", a=a, b=b)
        self.assertEqual(self.kinds(), [("path", BLUE), ("path", RED)])
        # B's undo takes back B's stroke, not A's.
        b.page.keyboard.press("Control+z")
        for page in (a, b):
            page.wait_gone(theirs, BLUE)
            page.wait_visible(first, RED)
        self.settled(a, b)
        self.assertEqual(self.kinds(), [("path", RED)])

    def test_undo_brings_back_what_an_erase_and_a_clear_removed(self) -> None:
        """
        Undoing one's erase of someone else's stroke puts it back; undoing
        one's clear, even after a reload, puts back everything it removed,
        everyone's.
        """
        a = self.new_page().open()
        b = self.new_page().open()
        b.pick(BLUE, 8)
        b.drag([(150, 300), (600, 300)])
        a.pick(RED, 8)
        a.drag(ZIGZAG)
        self.settled(a, b)
        a.tool("eraser")
        a.drag([(375, 260), (375, 340)])
        b.wait_gone([(150, 300), (600, 300)], BLUE)
        a.page.keyboard.press("Control+z")
        b.wait_visible([(150, 300), (600, 300)], BLUE)
        self.settled(a, b)
        self.assertEqual([i["color"] for i in self.stored_items()][-1], BLUE)

        a.menu("clear")
        a.page.click("[data-action='confirm-clear']")
        b.wait_gone(ZIGZAG, RED)
        self.settled(a, b)
        self.assertEqual(self.stored_items(), [])
        a.reload()
        a.page.keyboard.press("Control+z")

        for page in (a, b):
            page.wait_visible(ZIGZAG, RED)
            page.wait_visible([(150, 300), (600, 300)], BLUE)
        self.settled(a, b)
        self.assertEqual(sorted(i["color"] for i in self.stored_items()), [BLUE, RED])

    def test_undo_and_redo_a_move_and_a_restyle(self) -> None:
        """
        A moves its stroke with the select tool and gives it another colour;
        undo puts it back as it was, then where it was, and redo does both
        again, on both pages and in the store; B's stroke never changes.
        """
        a = self.new_page().open()
        b = self.new_page().open()
        here = [(200, 250), (500, 250)]
        there = [(200, 330), (500, 330)]
        theirs = [(200, 480), (500, 480)]
        b.pick(BLUE, 8)
        b.drag(theirs)
        a.pick(RED, 8)
        a.drag(here)
        self.settled(a, b)
        [b_before, a_before] = self.stored_items()

        a.tool("select")
        a.drag([(350, 250), (350, 330)])
        a.page.click("[data-color='%s']" % (GREEN,))
        for page in (a, b):
            page.wait_visible(there, GREEN)
            page.wait_gone(here, RED)
        self.settled(a, b)
        _, moved = self.stored_items()
        self.assertEqual(
            moved, dict(a_before, pts=_shifted(a_before["pts"], 0, 80), color=GREEN)
        )

        a.page.keyboard.press("Control+z")
        for page in (a, b):
            page.wait_visible(there, RED)
        self.settled(a, b)
        self.assertEqual(
            self.stored_items(), [b_before, dict(a_before, pts=moved["pts"])]
        )
        a.page.keyboard.press("Control+z")
        for page in (a, b):
            page.wait_visible(here, RED)
            page.wait_gone(there, RED)
        self.settled(a, b)
        self.assertEqual(self.stored_items(), [b_before, a_before])
        self.screenshots("undone", a=a, b=b)

        a.page.click("[data-action='redo']")
        for page in (a, b):
            page.wait_visible(there, RED)
            page.wait_gone(here, RED)
        a.page.click("[data-action='redo']")
        for page in (a, b):
            page.wait_visible(there, GREEN)
            page.wait_visible(theirs, BLUE)
        self.settled(a, b)
        self.assertEqual(self.stored_items(), [b_before, moved])


class PresenceTests(WhiteboardTestCase):
    """
    People see who is on the board, where they point, and follow them.
    """

    def test_cursor_labels_appear_and_go_with_the_page(self) -> None:
        """
        A names themself; B sees two people and A's cursor labelled with
        the name where A points; B follows A's view; when A reloads no
        second cursor is left, and when A's page closes the cursor and the
        person go at once.
        """
        a = self.new_page().open()
        b = self.new_page().open()
        a.page.click("[data-action='rename']")
        a.page.fill("#name-field", "Alice")
        a.page.click("#name-dialog [value='save']")
        alice = a.client_id()
        label = "#cursors [data-by='%s'] .label" % (alice,)

        b.page.wait_for_function("() => document.getElementById('people-count').textContent === '2'")
        a.page.mouse.move(300, 300)
        a.page.mouse.move(400, 350, steps=5)
        b.page.wait_for_function(
            "(sel) => document.querySelector(sel)?.textContent === 'Alice'", arg=label
        )
        b.page.wait_for_function(
            """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                          return Math.abs(r.left - 400) < 2 && Math.abs(r.top - 350) < 2; }""",
            arg="#cursors [data-by='%s']" % (alice,),
        )
        self.screenshots("cursor", b=b)

        b.page.click("#people [data-by='%s']" % (alice,))
        a.page.click("[data-action='zoom-in']")
        a.page.click("[data-action='zoom-in']")
        b.page.wait_for_function(
            "(scale) => Math.abs(Number(document.body.dataset.view.split(' ')[2]) - scale) < 0.02",
            arg=a.view()[2],
        )
        self.assertEqual(b.dataset()["following"], alice)

        a.reload()
        a.page.mouse.move(200, 200)
        a.page.mouse.move(250, 220, steps=3)
        b.page.wait_for_function(
            "(sel) => document.querySelectorAll(sel).length === 1", arg="#cursors [data-by='%s']" % (alice,)
        )
        b.page.wait_for_function("() => document.getElementById('people-count').textContent === '2'")

        a.page.context.close()
        b.page.wait_for_function(
            "(sel) => document.querySelector(sel) === null", arg="#cursors [data-by='%s']" % (alice,)
        )
        b.page.wait_for_function("() => document.getElementById('people-count').textContent === '1'")
        self.assertEqual(b.dataset()["following"], "")
        self.screenshots("left", b=b)


class ReplayTests(WhiteboardTestCase):
    """
    Replay shows how a board came to be, from its whole history.
    """

    def test_replay_shows_the_board_at_each_seq(self) -> None:
        """
        A board drawn from a real scene, half of it cleared midway: the
        replay shows at the middle of its timeline the board as it was at
        that seq, before the clear the cleared half, and at the end the
        whole board as it is; the live board returns when it closes, with
        what was drawn meanwhile.
        """
        items = [
            dict(item, pts=[v + (330 if n % 2 == 0 else 240) for n, v in enumerate(item["pts"])])
            for item in excalidraw_items("cardinality-sketch.excalidraw")
        ]
        half = len(items) // 2
        counter = itertools.count(1)
        ops = [op for item in items[:half] for op in stroke_ops(item, "writer-0001", counter)]
        ops.append({"cid": "writer-0001-clear", "op": "clear"})
        ops += [op for item in items[half:] for op in stroke_ops(item, "writer-0001", counter)]
        writer = self.daemon.connect(self.board, client="writer-0001").join()
        for start in range(0, len(ops), 200):
            writer.send({"t": "ops", "ops": ops[start : start + 200]})
            writer.until_seq(min(len(ops), start + 200))
        history = [json.loads(json.dumps(op)) for op in writer.ops]
        page = self.new_page(width=1600, height=960).open()

        page.menu("replay")
        page.page.wait_for_function(
            "(n) => document.body.dataset.replayLength === String(n)", arg=len(history)
        )
        scrubber = page.page.locator("#replay-scrubber")
        self.assertEqual(scrubber.get_attribute("max"), str(len(history)))
        clear_index = next(n for n, op in enumerate(history) if op["op"] == "clear")

        for index in (len(history) // 2, clear_index, len(history)):
            page.page.eval_on_selector(
                "#replay-scrubber",
                "(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }",
                index,
            )
            seq = history[index - 1]["seq"]
            page.page.wait_for_function(
                "(seq) => document.body.dataset.replaySeq === String(seq)", arg=seq
            )
            expected = Scene()
            for op in history[:index]:
                expected.apply(op)
            shown, hidden = _sample_points(expected.items(), items)
            self.assertEqual(page.dataset()["replayItems"], str(len(expected.items())))
            self.assertGreater(len(shown) + len(hidden), 10)
            if shown:
                page.wait_inked(shown)
            if hidden:
                self.assertEqual(page.inked(hidden), 0, "items not drawn yet show at seq %d" % (seq,))
            self.screenshots("seq-%d" % (index,), page=page)

        writer.send({"t": "op", "cid": "writer-0001-late", "op": "add", "item": dict(items[0], id="late")})
        writer.until_seq(len(history) + 1)
        page.page.click("[data-action='replay-close']")
        page.page.wait_for_function("() => !('replay' in document.body.dataset)")
        self.settled(page)
        shown, _ = _sample_points([dict(items[0], id="late")] + items[half:], items)
        page.wait_inked(shown)

    def test_play_pause_and_speed_move_the_timeline(self) -> None:
        """
        Play moves the timeline on by itself up to the end, pause holds it
        where it is, and a higher speed goes further in the same stretch of
        time; the page's clock is stepped by the test, so this does not
        depend on how busy the machine is.
        """
        count = 400
        ops = [
            {
                "cid": "writer-0001-%d" % (n,),
                "op": "add",
                "item": {
                    "id": "r%d" % (n,),
                    "kind": "rect",
                    "pts": _cell(n),
                    "color": BLUE,
                    "width": 2,
                },
            }
            for n in range(count)
        ]
        writer = self.daemon.connect(self.board, client="writer-0001").join()
        for start in range(0, count, 200):
            writer.send({"t": "ops", "ops": ops[start : start + 200]})
            writer.until_seq(start + 200)
        page = self.new_page()
        page.page.clock.install()
        page.open()
        page.page.clock.pause_at(page.page.evaluate("() => Date.now()") + 1000)

        page.menu("replay")
        page.page.wait_for_function(
            "(n) => document.body.dataset.replayLength === String(n)", arg=count
        )
        self.assertEqual(_replay_seq(page), 0)
        self.assertEqual(_playing(page), "true")
        page.page.clock.run_for(1000)
        at_1x = _replay_seq(page)
        page.page.select_option("#replay-speed", "4")
        page.page.clock.run_for(1000)
        at_4x = _replay_seq(page) - at_1x

        self.assertGreater(at_1x, 0)
        self.assertGreaterEqual(at_4x, 3 * at_1x)
        page.page.click("[data-action='replay-play']")
        self.assertEqual(_playing(page), "false")
        paused = _replay_seq(page)
        page.page.clock.run_for(5000)
        self.assertEqual(_replay_seq(page), paused)
        self.assertLess(paused, count)
        page.wait_inked([_corner(n) for n in range(paused - 3, paused)])
        self.assertEqual(page.inked([_corner(n) for n in range(paused, count)]), 0)

        page.page.select_option("#replay-speed", "64")
        page.page.click("[data-action='replay-play']")
        self.assertEqual(_playing(page), "true")
        page.page.clock.run_for(1000)
        self.assertEqual(_replay_seq(page), count)
        self.assertEqual(_playing(page), "false")
        self.assertEqual(page.page.input_value("#replay-scrubber"), str(count))
        page.wait_inked([_corner(n) for n in range(count - 3, count)])
        self.screenshots("played", page=page)


def _cell(n: int) -> list[int]:
    """
    The corners of the C{n}th of 400 small squares in rows across the
    page.
    """
    x, y = 100 + (n % 40) * 18, 140 + (n // 40) * 40
    return [x, y, x + 12, y + 12]


def _corner(n: int) -> tuple[float, float]:
    x, y = _cell(n)[:2]
    return (x, y + 6)


def _replay_seq(page: Page) -> int:
    return int(page.dataset()["replaySeq"])


def _playing(page: Page) -> str:
    return str(page.page.get_attribute("[data-action='replay-play']", "data-playing"))


def _sample_points(present: list[dict[str, Any]], every: list[dict[str, Any]]) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """
    Points to look at: the first point of each present item, and of each
    other item whose first point lies well clear of every present item
    (so that nothing present covers it), all away from the page's panels.
    """

    def clear_of_panels(x: float, y: float) -> bool:
        return 130 < y < 900 and 20 < x < 1560 and not (x < 220 and y > 880)

    def boxes(item: dict[str, Any]) -> tuple[float, float, float, float]:
        xs, ys = item["pts"][0::2], item["pts"][1::2]
        if item["kind"] == "text":
            lines = item["text"].split("\n")
            return (min(xs), min(ys), max(xs) + max(map(len, lines)) * item["size"] * 0.6,
                    max(ys) + len(lines) * item["size"] * 1.2)
        return (min(xs), min(ys), max(xs), max(ys))

    present_ids = {item["id"] for item in present}
    areas = [boxes(item) for item in present]
    shown = [
        (item["pts"][0] + 2, item["pts"][1] + 2) if item["kind"] == "text" else tuple(item["pts"][:2])
        for item in present
        if item["kind"] in ("path", "text") and clear_of_panels(*item["pts"][:2])
    ]
    hidden = []
    for item in every:
        if item["id"] in present_ids or item["kind"] != "path":
            continue
        x, y = item["pts"][:2]
        if clear_of_panels(x, y) and all(
            not (x0 - 12 <= x <= x1 + 12 and y0 - 12 <= y <= y1 + 12) for x0, y0, x1, y1 in areas
        ):
            hidden.append((x, y))
    return shown, hidden  # type: ignore[return-value]


class ExportTests(WhiteboardTestCase):
    """
    A board can be taken away as SVG, PNG and JSON.
    """

    def test_svg_of_every_kind_is_valid_and_escapes_text(self) -> None:
        """
        The server's SVG of a board holding every kind of item, text with
        markup and characters XML cannot hold included, parses, holds each
        item, keeps the text as text, and shows in the browser.
        """
        hostile = "<script>alert('x')</script> & \x07\x1b\ufffe \u202eevil"
        base = {"color": BLACK, "width": 4}
        items = [
            dict(base, id="p", kind="path", pts=[100, 100, 150, 130, 200, 100], pressure=[0.2, 0.5, 0.9]),
            dict(base, id="l", kind="line", pts=[100, 200, 250, 220], arrow="end"),
            dict(base, id="r", kind="rect", pts=[300, 100, 400, 180], fill="#ffec99"),
            dict(base, id="e", kind="ellipse", pts=[300, 200, 420, 260]),
            dict(base, id="t", kind="text", pts=[100, 300], text=hostile + "\nline two", size=24),
        ]
        writer = self.daemon.connect(self.board, client="writer-0001").join()
        writer.send({"t": "ops", "ops": [{"cid": "w-%d" % n, "op": "add", "item": i} for n, i in enumerate(items)]})
        writer.until_seq(len(items))

        status, body, headers = self.daemon.get("/b/%s.svg" % (self.board,))

        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "image/svg+xml; charset=utf-8")
        root = ElementTree.fromstring(body)
        self.assertEqual(root.tag, SVG + "svg")
        self.assertEqual(root.findall(".//" + SVG + "script"), [])
        lines = [span.text for span in root.iter(SVG + "tspan")]
        self.assertEqual(lines, ["<script>alert('x')</script> & \ufffd\ufffd\ufffd \u202eevil", "line two"])
        self.assertEqual(len(root.findall(SVG + "rect")), 2)
        self.assertEqual(len(root.findall(SVG + "ellipse")), 1)
        page = self.new_page()
        page.page.goto("%s/b/%s.svg" % (self.daemon.url, self.board))
        page.page.screenshot(path=str(_artifact("svg-every-kind.png")))

    def test_png_and_json_download(self) -> None:
        """
        The view and the whole board download as PNG pictures of them, the
        board as its JSON.
        """
        page = self.new_page().open()
        page.pick(RED, 8)
        page.drag(ZIGZAG)
        self.settled(page)

        with page.page.expect_download() as caught:
            page.menu("export-png")
        whole = caught.value
        with page.page.expect_download() as caught:
            page.menu("export-view")
        view = caught.value
        with page.page.expect_download() as caught:
            page.menu("export-json")
        board = json.loads(open(caught.value.path(), encoding="utf-8").read())

        for download, name in ((whole, "%s.png" % self.board), (view, "%s-view.png" % self.board)):
            self.assertEqual(download.suggested_filename, name)
            data = open(download.path(), "rb").read()
            self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", open(whole.path(), "rb").read()[16:24])
        # The drawing (450 x 80 and half the width) plus margins, at 2x.
        self.assertEqual((width, height), (2 * (450 + 8 + 48), 2 * (80 + 8 + 48)))
        width, height = struct.unpack(">II", open(view.path(), "rb").read()[16:24])
        self.assertEqual((width, height), (900, 600))
        self.assertEqual(board["items"], self.stored_items())


def _artifact(name: str) -> Any:
    from tests.support import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / ("whiteboard-%s" % (name,))


def expected_import(name: str) -> dict[str, list[Any]]:
    """
    What importing an Excalidraw scene should put on the board, by the
    mapping of the issue, in a form that does not depend on where the
    drawing is placed: per kind, the shapes' sizes, the texts, the number
    of points of each stroke.
    """
    scene = json.loads(scene_path(name).read_text(encoding="utf-8"))
    expected: dict[str, list[Any]] = {"path": [], "line": [], "rect": [], "ellipse": [], "text": []}
    for element in scene["elements"]:
        if element.get("isDeleted"):
            continue
        kind = element["type"]
        if kind in ("freedraw", "line", "arrow"):
            points = len(element.get("points", []))
            if points == 0:
                continue
            if kind != "freedraw" and points == 2:
                expected["line"].append(2)
            else:
                expected["path"].append(points)
        elif kind in ("rectangle", "diamond", "ellipse"):
            key = "ellipse" if kind == "ellipse" else "rect"
            expected[key].append((element["width"], element["height"]))
        elif kind == "text" and element.get("text", "").strip():
            expected["text"].append(element["text"])
    return {k: sorted(v) for k, v in expected.items()}


def imported(items: list[dict[str, Any]]) -> dict[str, list[Any]]:
    got: dict[str, list[Any]] = {"path": [], "line": [], "rect": [], "ellipse": [], "text": []}
    for item in items:
        kind = item["kind"]
        if kind in ("path", "line"):
            got[kind].append(len(item["pts"]) // 2)
        elif kind in ("rect", "ellipse"):
            x0, y0, x1, y1 = item["pts"]
            got[kind].append((x1 - x0, y1 - y0))
        else:
            got[kind].append(item["text"])
    return {k: sorted(v) for k, v in got.items()}


def _same_sizes(got: list[tuple[float, float]], wanted: list[tuple[float, float]]) -> bool:
    """
    Whether two lists of sizes match one to one, within the rounding of
    coordinates to two decimals.
    """
    left = list(got)
    for w, h in wanted:
        match = next((g for g in left if abs(g[0] - w) <= 0.011 and abs(g[1] - h) <= 0.011), None)
        if match is None:
            return False
        left.remove(match)
    return not left


class ImportTests(WhiteboardTestCase):
    """
    Drawings from other whiteboards become items on the board.
    """

    def test_every_excalidraw_scene_imports_by_the_mapping(self) -> None:
        """
        Each Excalidraw scene of the corpus, chosen (one dropped), becomes
        one item per drawable element: freehand strokes paths, rectangles
        and diamonds rects, ellipses ellipses, lines and arrows lines or
        paths, text text; the image is skipped and counted.
        """
        names = sorted(path.name for path in SCENES.glob("*.excalidraw"))
        self.assertEqual(len(names), 14)
        page: Optional[Page] = None
        for n, name in enumerate(names):
            self.board = "import-%d-%s" % (n, self.board[-8:])
            if page is None:
                page = self.new_page(width=1200, height=800)
            page.board = self.board
            page.open()
            if n == 0:
                _drop(page, scene_path(name))
            else:
                page.page.set_input_files("#import-file", str(scene_path(name)))
            message = page.wait_toast("Imported")

            expected = expected_import(name)
            count = sum(len(v) for v in expected.values())
            self.assertGreater(count, 0, name)
            page.wait_items(count)
            self.settled(page)
            got = imported(self.stored_items())
            for kind in ("rect", "ellipse"):
                # Sizes as stored, both corners rounded to two decimals.
                self.assertTrue(_same_sizes(got.pop(kind), expected.pop(kind)), (name, kind))
            self.assertEqual(got, expected, name)
            self.assertIn("Imported %d item" % (count,), message)
            if name == "multiplayer-charges-math.excalidraw":
                self.assertIn("Skipped 1 element (1 image)", message)
            if name in ("cs307-lecture-notes.excalidraw", "kodex-redis.excalidraw"):
                self.screenshots("imported-" + name.split(".")[0], page=page)

    def test_broken_file_changes_nothing_and_wbo_imports(self) -> None:
        """
        The WBO board with its stray first byte is refused with a message
        saying why, and the board is left as it was; the same board
        repaired imports its pencil lines, straight lines and rectangle,
        skipping its empty texts.
        """
        page = self.new_page().open()
        page.pick(RED, 8)
        page.drag(ZIGZAG)
        before = self.settled(page)
        raw = scene_path("wbo-board-test-2019.json").read_bytes()
        self.assertEqual(raw[:1], b"!")

        page.page.set_input_files("#import-file", str(scene_path("wbo-board-test-2019.json")))

        message = page.wait_toast("not valid JSON")
        self.assertIn("nothing was imported", message)
        self.screenshots("broken", page=page)
        self.assertEqual(self.daemon.board_json(self.board), before)
        self.assertEqual(page.dataset()["pending"], "0")

        page.page.set_input_files(
            "#import-file",
            {"name": "board.json", "mimeType": "application/json", "buffer": raw[1:]},
        )
        message = page.wait_toast("Imported")
        self.settled(page)
        kinds = sorted(item["kind"] for item in self.stored_items()[1:])
        self.assertEqual(kinds, ["line"] * 5 + ["path"] * 2 + ["rect"])
        self.assertIn("Skipped 3 elements (3 empty text)", message)


def _drop(page: Page, path: Any) -> None:
    """
    Drop a file on the page, as dragging it from the desktop does.
    """
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    page.page.evaluate(
        """([name, data]) => {
          const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], name, {type: "application/json"}));
          const target = document.getElementById("board");
          target.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
          target.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        [path.name, data],
    )


class PhoneTests(WhiteboardTestCase):
    """
    On a phone, fingers draw, pan and pinch, and the page never scrolls.
    """

    def gesture(self, page: Page, starts: list[tuple[float, float]], ends: list[tuple[float, float]], steps: int = 12) -> None:
        """
        Fingers down at C{starts}, moved together to C{ends}, lifted, as
        the touch screen reports them.
        """
        cdp = page.page.context.new_cdp_session(page.page)

        def touch(kind: str, points: list[tuple[float, float]]) -> None:
            touches = [{"x": x, "y": y, "id": n} for n, (x, y) in enumerate(points)]
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touches})

        touch("touchStart", starts)
        for step in range(1, steps + 1):
            t = step / steps
            touch("touchMove", [(sx + (ex - sx) * t, sy + (ey - sy) * t) for (sx, sy), (ex, ey) in zip(starts, ends)])
            page.page.wait_for_timeout(16)
        touch("touchEnd", [])
        cdp.detach()

    def pick_on_phone(self, page: Page, color: str, width: int) -> None:
        """
        Open the style panel from the toolbar, choose, and close it.
        """
        page.page.click(".style-toggle")
        page.pick(color, width)
        page.page.click(".style-toggle")

    def test_touch_phone_draws_pans_and_pinch_zooms(self) -> None:
        """
        At 360 px wide with touch: one finger draws a stroke, two fingers
        pan the view, spreading them zooms in about them; the page never
        scrolls, and every tool button fits or scrolls within the toolbar.
        """
        phone = self.new_page(device_scale_factor=2, width=360, height=740, has_touch=True, is_mobile=True).open()
        self.screenshots("phone", phone=phone)
        self.pick_on_phone(phone, RED, 8)

        self.gesture(phone, [(60, 200)], [(300, 320)])
        self.settled(phone)
        [stroke] = self.stored_items()
        self.assertEqual(stroke["kind"], "path")
        self.assertEqual(stroke["pts"][:2], [60, 200])
        phone.wait_visible([(60, 200), (300, 320)], RED)

        self.gesture(phone, [(100, 400), (200, 400)], [(140, 450), (240, 450)])
        x, y, scale = phone.view()
        self.assertEqual((round(x), round(y), round(scale, 6)), (40, 50, 1))
        self.gesture(phone, [(150, 300), (210, 300)], [(100, 300), (260, 300)])
        x, y, scale = phone.view()
        self.assertAlmostEqual(scale, 160 / 60, places=2)
        # The board point under the fingers' midpoint stayed there.
        self.assertAlmostEqual((180 - x) / scale, (180 - 40) / 1, places=0)
        self.assertEqual(len(self.stored_items()), 1)
        self.assertEqual(
            phone.page.evaluate("() => [window.scrollX, window.scrollY, document.scrollingElement.scrollTop]"),
            [0, 0, 0],
        )
        fits = phone.page.evaluate(
            """() => [...document.querySelectorAll('.bar')].filter((b) => b.offsetParent)
                 .every((b) => { const r = b.getBoundingClientRect(); return r.left >= 0 && r.right <= 360; })"""
        )
        self.assertTrue(fits)
        self.screenshots("pinched", phone=phone)

    def test_pen_pressure_is_stored_and_a_palm_does_not_draw(self) -> None:
        """
        A pen's pressure is stored with its stroke; once a pen has drawn,
        a finger on the screen (a resting palm) moves the view instead of
        drawing.
        """
        tablet = self.new_page(width=800, height=600, has_touch=True).open()
        tablet.pick(BLUE, 8)
        cdp = tablet.page.context.new_cdp_session(tablet.page)
        presses = [(200, 200, 0.2), (260, 230, 0.5), (320, 260, 0.9), (380, 290, 0.9)]
        for n, (x, y, force) in enumerate(presses):
            cdp.send("Input.dispatchMouseEvent", {
                "type": "mousePressed" if n == 0 else "mouseMoved",
                "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1,
                "pointerType": "pen", "force": force,
            })
        cdp.send("Input.dispatchMouseEvent", {
            "type": "mouseReleased", "x": 380, "y": 290, "button": "left", "clickCount": 1,
            "pointerType": "pen", "force": 0,
        })
        cdp.detach()
        self.settled(tablet)
        [stroke] = self.stored_items()
        self.assertEqual(stroke["pressure"][0], 0.2)
        self.assertEqual(len(stroke["pressure"]), len(stroke["pts"]) // 2)
        self.assertGreaterEqual(max(stroke["pressure"]), 0.9)

        self.gesture(tablet, [(500, 400)], [(560, 430)])
        self.assertEqual(tablet.view()[:2], (60, 30))
        self.assertEqual(len(self.stored_items()), 1)


class FullBoardTests(WhiteboardTestCase):
    """
    Errors from the server are told in plain words.
    """

    def daemon_args(self) -> tuple[str, ...]:
        return super().daemon_args() + ("--max-items-per-board", "2")

    def test_a_full_board_says_so_and_takes_the_stroke_back(self) -> None:
        """
        A stroke past the board's limit is refused: the page says the board
        is full, in words, and the stroke leaves the page.
        """
        page = self.new_page().open()
        page.pick(RED, 8)
        page.drag([(150, 200), (600, 200)])
        page.drag([(150, 300), (600, 300)])
        page.pick(BLUE)
        page.drag([(150, 400), (600, 400)])

        message = page.wait_toast("This board is full")
        page.wait_gone([(150, 400), (600, 400)], BLUE)
        self.assertIn("erase something", message)
        self.screenshots("full", page=page)
        self.assertEqual(len(self.stored_items()), 2)


class ViewTests(WhiteboardTestCase):
    """
    The wheel and the space bar move the view, never the drawing.
    """

    def test_wheel_zooms_about_the_pointer_and_space_drag_pans(self) -> None:
        """
        Ctrl and the wheel (what a touchpad pinch sends too) zoom about the
        pointer, so what is under it stays there; the wheel alone scrolls;
        a drag with the space bar held pans the view and draws nothing.
        """
        page = self.new_page().open()
        page.pick(RED, 8)
        page.drag(ZIGZAG)
        self.settled(page)

        page.page.mouse.move(300, 300)
        page.page.keyboard.down("Control")
        page.page.mouse.wheel(0, -200)
        page.page.keyboard.up("Control")
        page.page.wait_for_function(
            "() => Number(document.body.dataset.view.split(' ')[2]) > 1"
        )
        x, y, scale = page.view()
        # The board point under the pointer is where it was, (300, 300).
        self.assertAlmostEqual((300 - x) / scale, 300)
        self.assertAlmostEqual((300 - y) / scale, 300)
        self.assertAlmostEqual(scale, math.exp(200 * 0.0018))
        self.assertEqual(page.page.inner_text("#zoom-level"), "143 %")
        zoomed = [page.on_screen(*point) for point in ZIGZAG]
        page.wait_visible(zoomed, RED)  # type: ignore[arg-type]
        self.screenshots("zoomed", page=page)

        page.page.mouse.wheel(0, 120)
        page.page.wait_for_function(
            "(y) => Number(document.body.dataset.view.split(' ')[1]) !== y", arg=y
        )
        self.assertEqual(page.view(), (x, y - 120, scale))

        page.page.keyboard.down("Space")
        page.drag([(500, 450), (600, 500)])
        page.page.keyboard.up("Space")
        self.assertEqual(page.view(), (x + 100, y - 70, scale))
        panned = [(px + 100, py - 70) for px, py in zoomed]
        page.wait_visible(panned, RED)  # type: ignore[arg-type]
        page.drag(LOW)
        self.settled(page)
        self.assertEqual([item["color"] for item in self.stored_items()], [RED, RED])


# The admin token of the daemons that lock boards in these tests.
_ADMIN_TOKEN = "admin-token-for-whiteboard-tests-0123456789"


class ReadOnlyTests(WhiteboardTestCase):
    """
    Drawing refused because the board became read-only is told in words,
    and leaves the page.
    """

    def daemon_args(self) -> tuple[str, ...]:
        token_file = os.path.abspath("whiteboard-admin-token")
        with open(token_file, "w") as f:
            f.write(_ADMIN_TOKEN)
        return super().daemon_args() + ("--admin-token-file", token_file)

    def test_a_stroke_drawn_offline_on_a_board_locked_meanwhile(self) -> None:
        """
        A stroke drawn while the page was offline, on a board an
        administrator locked meanwhile, is refused when the page is back:
        the page says the board is read-only, in words, and the stroke
        leaves it.
        """
        page = self.new_page().open()
        page.pick(RED, 8)
        page.drag(ZIGZAG)
        self.settled(page)
        page.page.context.set_offline(True)
        self.daemon.restart()
        page.page.wait_for_function("() => document.body.dataset.connection !== 'live'")
        page.pick(BLUE)
        page.drag(WAVE)
        page.wait_visible(WAVE, BLUE)
        self.assertNotEqual(page.dataset()["pending"], "0")
        _admin(self.daemon, "/admin/b/%s/lock" % (self.board,))

        page.page.context.set_offline(False)

        message = page.wait_toast("read-only here")
        self.assertEqual(
            message, "This board is read-only here: you can watch, not draw."
        )
        page.wait_gone(WAVE, BLUE)
        page.wait_saved()
        self.assertEqual(page.dataset()["mode"], "view")
        self.screenshots("refused", page=page)
        self.assertEqual([item["color"] for item in self.stored_items()], [RED])


def _admin(daemon: Daemon, path: str) -> None:
    """
    POST an admin action with the tests' admin token.
    """
    request = urllib.request.Request(
        daemon.url + path,
        method="POST",
        data=b"",
        headers={
            "Authorization": "Bearer " + _ADMIN_TOKEN,
            "Accept": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200, answer.status


class RateLimitTests(WhiteboardTestCase):
    """
    Ops refused for the rate of one's address are told in words, and sent
    again, not lost.
    """

    def daemon_args(self) -> tuple[str, ...]:
        return super().daemon_args() + (
            "--ops-per-second-per-connection",
            "100000",
            "--ops-per-second-per-address",
            "10",
        )

    def test_a_stroke_past_the_addresss_rate_says_so_and_is_kept(self) -> None:
        """
        While another connection from the same address (another tab, a
        classmate behind the same router) takes the address's whole rate,
        a stroke drawn here is refused: the page says it is drawing too
        fast and slows down, and once the rate frees up the stroke is
        stored whole.
        """
        page = self.new_page().open()
        page.pick(RED, 8)
        flooder = self.daemon.connect(
            self.board + "-flood", client="flooder-0001"
        ).join()
        self.addCleanup(flooder.close)
        stop = threading.Event()
        thread = threading.Thread(target=_flood, args=(flooder, stop))
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(stop.set)

        page.drag(ZIGZAG)

        message = page.wait_toast("Drawing too fast")
        self.assertEqual(message, "Drawing too fast: slowing down.")
        self.screenshots("refused", page=page)
        stop.set()
        thread.join()
        self.settled(page)
        [stroke] = self.stored_items()
        self.assertEqual(
            (stroke["pts"][:2], stroke["pts"][-2:]), ([150, 220], [600, 300])
        )
        page.wait_visible(ZIGZAG, RED)


def _flood(client: Client, stop: threading.Event) -> None:
    """
    Send adds as fast as the daemon answers until C{stop} is set, reading
    (and dropping) what comes back so that the daemon never takes the
    connection for a slow reader.
    """
    counter = itertools.count()
    while not stop.is_set():
        ops = [
            {
                "cid": "flooder-0001-%d" % (n,),
                "op": "add",
                "item": {
                    "id": "f%d" % (n,),
                    "kind": "rect",
                    "pts": [0, 0, 4, 4],
                    "color": RED,
                    "width": 1,
                },
            }
            for n in itertools.islice(counter, 10)
        ]
        client.send({"t": "ops", "ops": ops})
        try:
            while True:
                client.connection.recv(0)
        except TimeoutError:
            pass
        stop.wait(0.01)


class PageTests(WhiteboardTestCase):
    """
    The page around the board: sharing, the dark board, help, zoom, and
    controls everyone can reach.
    """

    def test_controls_are_labelled_and_reachable_by_keyboard(self) -> None:
        """
        Every control has a name a screen reader says, and Tab reaches
        every tool, the style choices and the menus; a tool's shortcut
        picks it; "?" opens the shortcuts.
        """
        page = self.new_page().open()

        unnamed = page.page.evaluate(
            """() => [...document.querySelectorAll('button, input, select, a, [role=radio]')]
                 .filter((e) => e.offsetParent !== null || e.closest('dialog, [popover]'))
                 .filter((e) => !(e.getAttribute('aria-label') || e.textContent.trim() || e.labels?.length
                                  || e.getAttribute('aria-labelledby')))
                 .map((e) => e.outerHTML.slice(0, 80))"""
        )
        self.assertEqual(unnamed, [])
        reached = set()
        for _ in range(60):
            page.page.keyboard.press("Tab")
            reached.add(page.page.evaluate("() => document.activeElement.dataset.tool || document.activeElement.dataset.action || document.activeElement.id"))
        tools = ["select", "hand", "pen", "highlighter", "eraser", "line", "arrow", "rect", "ellipse", "text"]
        self.assertTrue(set(tools) <= reached, set(tools) - reached)
        self.assertTrue({"share", "rename", "zoom-in", "zoom-fit", "custom-color", "fill"} <= reached, reached)
        page.page.focus("#board")
        for tool, key in zip(tools, "vhpmelarot"):
            page.page.keyboard.press(key)
            self.assertEqual(page.dataset()["tool"], tool)
        page.page.keyboard.press("?")
        self.assertTrue(page.page.is_visible("#help-dialog"))
        self.screenshots("help", page=page)

    def test_share_dark_board_and_zoom(self) -> None:
        """
        Share copies the board's link; the dark board paints chalk on
        black and is remembered; zoom in, out, to fit and back to 100 %
        move the view.
        """
        page = self.new_page()
        page.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.open()
        page.pick(BLACK, 8)
        page.drag(ZIGZAG)
        self.settled(page)

        page.page.click("[data-action='copy-link']")
        page.wait_toast("Link copied")
        self.assertEqual(page.page.evaluate("() => navigator.clipboard.readText()"), page.page.url)
        page.page.evaluate("() => navigator.clipboard.writeText('')")
        page.page.click("[data-action='share']")
        page.page.click("[data-action='copy-edit-link']")
        page.wait_toast("Edit link copied")
        self.assertEqual(page.page.evaluate("() => navigator.clipboard.readText()"), page.page.url)
        page.page.click("[data-action='close-share']")

        page.menu("dark")
        page.wait_visible(ZIGZAG, "#e1e1e1")
        corner = page.page.evaluate(
            "() => [...document.getElementById('board').getContext('2d').getImageData(450, 560, 1, 1).data]"
        )
        self.assertLess(max(corner[:3]), 40)
        self.screenshots("dark", page=page)
        page.reload()
        page.wait_visible(ZIGZAG, "#e1e1e1")

        page.page.click("[data-action='zoom-in']")
        self.assertEqual(page.view()[2], 1.25)
        page.page.click("[data-action='zoom-out']")
        page.page.click("[data-action='zoom-out']")
        self.assertEqual(page.view()[2], 0.8)
        page.page.click("[data-action='zoom-fit']")
        self.assertEqual(page.page.inner_text("#zoom-level"), "%d %%" % (round(page.view()[2] * 100),))
        self.assertGreater(page.view()[2], 1)
        page.page.click("[data-action='zoom-reset']")
        self.assertEqual(page.view()[2], 1)
        self.assertEqual(page.page.inner_text("#zoom-level"), "100 %")
