"""
The browser client's DOM-free modules (geometry, protocol, scene, outbox,
identity, reconnection delays), run as they are in Chromium.

Each test loads the modules from C{static/js/} into a blank page (served
from disk through Playwright's request routing, so no daemon is needed)
and checks what they return.
"""

import json
import os
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.test_browser import CHROMIUM, shared_browser

STATIC = Path(__file__).resolve().parent.parent / "static"
ORIGIN = "http://whitebrd.test"

_TYPES = {
    ".js": "text/javascript",
    ".html": "text/html",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}

# A storage object like window.localStorage, for modules given one.
_FAKE_STORAGE = """
class FakeStorage {
  constructor(values = {}) { this.values = new Map(Object.entries(values)); }
  get length() { return this.values.size; }
  key(index) { return [...this.values.keys()][index] ?? null; }
  getItem(key) { return this.values.has(key) ? this.values.get(key) : null; }
  setItem(key, value) { this.values.set(key, String(value)); }
  removeItem(key) { this.values.delete(key); }
}
"""

# Records what a path sink is asked to draw.
_RECORDER = """
class Recorder {
  constructor() { this.calls = []; }
  moveTo(x, y) { this.calls.push(["M", x, y]); }
  lineTo(x, y) { this.calls.push(["L", x, y]); }
  quadraticCurveTo(cx, cy, x, y) { this.calls.push(["Q", cx, cy, x, y]); }
}
"""


class ClientModuleTestCase(SynchronousTestCase):
    """
    A Chromium page that can import the client's modules.
    """

    def setUp(self) -> None:
        if not os.path.exists(CHROMIUM):
            raise SkipTest("Chromium is not installed at %s" % (CHROMIUM,))
        context = shared_browser().new_context()
        self.addCleanup(context.close)
        self.page = context.new_page()
        self.page.route(ORIGIN + "/**", self._serve)
        self.page.goto(ORIGIN + "/blank.html")

    def _serve(self, route: Any) -> None:
        path = route.request.url[len(ORIGIN) :].split("?")[0]
        if path == "/blank.html":
            route.fulfill(status=200, content_type="text/html", body="<!doctype html>")
            return
        relative = path[len("/static/") :] if path.startswith("/static/") else ""
        file = (STATIC / relative).resolve()
        if not relative or STATIC not in file.parents or not file.is_file():
            route.fulfill(status=404, body="")
            return
        route.fulfill(
            status=200,
            content_type=_TYPES.get(file.suffix, "application/octet-stream"),
            body=file.read_bytes(),
        )

    def run_js(self, modules: dict[str, str], body: str) -> Any:
        """
        Run C{body} (the inside of an async function) with each module of
        C{modules} imported under its name, e.g. C{{"g": "geometry.js"}},
        and with C{FakeStorage} and C{Recorder} defined; return what it
        returns, through JSON.
        """
        imports = "".join(
            'const %s = await import("/static/js/%s");\n' % (name, path)
            for name, path in modules.items()
        )
        source = "async () => {\n%s%s%s%s\n}" % (
            _FAKE_STORAGE,
            _RECORDER,
            imports,
            body,
        )
        return json.loads(
            self.page.evaluate(
                "async (source) => JSON.stringify(await eval(source)())", source
            )
        )


class GeometryTests(ClientModuleTestCase):
    """
    Smoothing, bounds and hit testing in board units.
    """

    def test_coordinates_are_rounded_and_clamped(self) -> None:
        """
        Coordinates go on the wire with 2 decimals, within the contract's
        range of +-1,000,000.
        """
        result = self.run_js(
            {"g": "geometry.js"},
            "return [3.14159, -7.456, -0.001, 2e6, -2e6, 12].map(g.roundCoordinate);",
        )

        self.assertEqual(result, [3.14, -7.46, 0, 1000000, -1000000, 12])

    def test_smoothed_path_runs_through_midpoints_to_the_last_point(self) -> None:
        """
        A stroke starts at its first point, curves through the midpoints
        of its points with each point as control, and ends where the pen
        was lifted; a single point traces nothing (it is drawn as a dot).
        """
        result = self.run_js(
            {"g": "geometry.js"},
            """
            const whole = new Recorder();
            g.tracePath([0, 0, 10, 0, 10, 10, 20, 10], whole);
            const dot = new Recorder();
            return [whole.calls, g.tracePath([5, 5], dot), dot.calls];
            """,
        )

        self.assertEqual(
            result,
            [
                [
                    ["M", 0, 0],
                    ["Q", 10, 0, 10, 5],
                    ["Q", 10, 10, 15, 10],
                    ["L", 20, 10],
                ],
                False,
                [],
            ],
        )

    def test_path_traced_in_pieces_is_the_whole_path(self) -> None:
        """
        A path painted piece by piece as its points arrive, then finished
        with its tail, draws the same curves as the whole path at once, each
        piece starting where the one before ended.
        """
        result = self.run_js(
            {"g": "geometry.js"},
            """
            const pts = [];
            for (let i = 0; i < 12; i++) {
              pts.push(i * 7, (i * i) % 13);
            }
            const whole = new Recorder();
            g.tracePath(pts, whole);
            const pieces = new Recorder();
            let from = 0;
            for (const count of [1, 2, 3, 6, 7, 12]) {
              g.tracePath(pts.slice(0, 2 * count), pieces, from, from === 0);
              from = count;
            }
            g.traceTail(pts, pieces);
            return [whole.calls, pieces.calls];
            """,
        )

        whole, pieces = result
        curves = lambda calls: [c for c in calls if c[0] == "Q"]
        self.assertEqual(curves(pieces), curves(whole))
        self.assertEqual(pieces[-1], whole[-1])
        # Every piece starts where the drawing so far ended.
        end = None
        for call in pieces:
            if call[0] == "M" and end is not None:
                self.assertEqual(call[1:], end)
            end = call[-2:]

    def test_segment_distances(self) -> None:
        """
        Crossing segments are 0 apart; others by their closest points.
        """
        result = self.run_js(
            {"g": "geometry.js"},
            """
            return [
              g.segmentDistance2(0, 0, 10, 10, 0, 10, 10, 0),
              g.segmentDistance2(0, 0, 10, 0, 0, 3, 10, 3),
              g.segmentDistance2(0, 0, 10, 0, 13, 4, 20, 4),
              g.pointSegmentDistance2(5, 5, 0, 0, 10, 0),
              g.pointSegmentDistance2(-3, 4, 0, 0, 10, 0),
            ];
            """,
        )

        self.assertEqual(result, [0, 9, 25, 25, 25])

    def test_eraser_touches_items_within_its_radius_and_their_width(self) -> None:
        """
        The eraser touches a stroke when it comes within its radius plus
        half the stroke's width, and a rect's inside only when it is filled.
        """
        result = self.run_js(
            {"g": "geometry.js"},
            """
            const path = {id: "p", kind: "path", pts: [0, 0, 50, 0, 100, 0],
                          color: "#000000", width: 4, opacity: 1};
            const rect = {id: "r", kind: "rect", pts: [0, 0, 100, 100],
                          color: "#000000", width: 2, opacity: 1};
            const filled = {...rect, fill: "#ff0000"};
            return [
              g.itemTouches(path, 50, 5.5, 50, 5.5, 4),
              g.itemTouches(path, 50, 7, 50, 7, 4),
              g.itemTouches(path, 50, -20, 50, 20, 1),
              g.itemTouches(path, 150, 0, 160, 0, 4),
              g.itemTouches(rect, 50, 50, 51, 51, 4),
              g.itemTouches(filled, 50, 50, 51, 51, 4),
              g.itemTouches(rect, 99, 50, 99, 50, 4),
            ];
            """,
        )

        self.assertEqual(result, [True, False, True, False, False, True, True])

    def test_bounds_include_half_the_width(self) -> None:
        """
        An item's bounds cover its stroke, half its width beyond its points.
        """
        result = self.run_js(
            {"g": "geometry.js"},
            """
            return g.itemBounds({id: "p", kind: "path", pts: [10, 20, -5, 40],
                                 color: "#000000", width: 6});
            """,
        )

        self.assertEqual(result, {"minX": -8, "minY": 17, "maxX": 13, "maxY": 43})


class ProtocolTests(ClientModuleTestCase):
    """
    Every frame from the server is checked before anything uses it.
    """

    def test_contract_frames_are_accepted(self) -> None:
        """
        The frames of docs/protocol.md come through with their fields.
        """
        frames = [
            {"t": "hello", "board": "b", "you": "client-1", "seq": 3, "mode": "view", "rate": 500},
            {"t": "state", "seq": 3, "items": [], "more": True},
            {
                "t": "ops",
                "ops": [
                    {
                        "seq": 4,
                        "by": "c1",
                        "cid": "c1-1",
                        "op": "extend",
                        "id": "s5",
                        "pts": [1.5, 2],
                    },
                    {"seq": 5, "by": "c1", "cid": "c1-2", "op": "erase", "ids": ["s5"]},
                    {"seq": 6, "by": "c1", "cid": "c1-3", "op": "clear"},
                    {"seq": 7, "by": "c1", "cid": "c1-4", "op": "move", "ids": ["a"], "dx": 5, "dy": -1.5},
                    {
                        "seq": 8,
                        "by": "c1",
                        "cid": "c1-5",
                        "op": "update",
                        "id": "a",
                        "set": {"color": "#abcdef", "fill": None, "arrow": "both"},
                    },
                    {"seq": 9, "by": "c1", "cid": "c1-6", "op": "extend", "id": "s5", "pts": [1, 2], "pressure": [0.7]},
                ],
            },
            {"t": "ack", "cid": "c1-1", "seq": 4},
            {"t": "error", "code": "board_full", "message": "full", "cid": "c1-9"},
            {"t": "status", "saving": False, "message": "storage unavailable"},
            {"t": "cursor", "by": "client-2", "x": 1, "y": -2},
            {"t": "people", "people": [{"by": "client-2", "name": "Ada", "view": [0, 0, 10, 10]}]},
            {"t": "join", "by": "client-3", "name": None},
            {"t": "presence", "by": "client-3", "name": "Bo 😀"},
            {"t": "leave", "by": "client-3"},
        ]

        result = self.run_js(
            {"p": "protocol.js"},
            "return %s.map((f) => p.parseFrame(JSON.stringify(f)));"
            % (json.dumps(frames),),
        )

        self.assertEqual(result[0], frames[0])
        self.assertEqual(result[1], frames[1])
        self.assertEqual(result[2], frames[2])
        self.assertEqual(result[3], frames[3])
        self.assertEqual(result[4], frames[4])
        self.assertEqual(
            result[5],
            {"t": "status", "saving": False, "message": "storage unavailable"},
        )
        self.assertEqual(result[6:], frames[6:])

    def test_malformed_frames_are_ignored(self) -> None:
        """
        Frames that are not JSON, have no known C{t} or have fields of the
        wrong shape come out as C{null}, so nothing acts on them.
        """
        texts = [
            "not json",
            "[]",
            '{"t": 1}',
            '{"t": "nonsense"}',
            '{"t": "hello", "board": "b"}',
            '{"t": "hello", "board": "b", "seq": -1}',
            '{"t": "hello", "board": "b", "seq": 1.5}',
            '{"t": "state", "seq": 1, "items": {}}',
            '{"t": "ops", "ops": {}}',
            '{"t": "ops", "ops": [{"seq": 0, "op": "clear"}]}',
            '{"t": "ops", "ops": [{"op": "clear"}]}',
            '{"t": "ack", "cid": 5, "seq": 1}',
            '{"t": "error", "code": "x"}',
            '{"t": "cursor", "by": "c", "x": 2e6, "y": 0}',
        ]

        result = self.run_js(
            {"p": "protocol.js"}, "return %s.map(p.parseFrame);" % (json.dumps(texts),)
        )

        self.assertEqual(result, [None] * len(texts))

    def test_bad_items_are_dropped_from_a_state(self) -> None:
        """
        A malformed item in a state costs that item, not the board; fields
        the client does not know are tolerated (later versions may add
        some).
        """
        good = {
            "id": "a",
            "kind": "path",
            "pts": [0, 0],
            "color": "#112233",
            "width": 2,
            "opacity": 1,
        }
        items = [
            good,
            dict(good, id="bad color", color="red"),
            dict(good, id="b", color="#zzzzzz"),
            dict(good, id="c", pts=[0, 2000000]),
            dict(good, id="d", pts=[0]),
            dict(good, id="e", width=0),
            dict(good, id="f", opacity=2),
            dict(good, id="g", kind="rect"),
            dict(good, id="h", kind="blob"),
            dict(good, id="i", fill="#445566", future="x"),
        ]

        result = self.run_js(
            {"p": "protocol.js"},
            "return p.parseFrame(JSON.stringify({t: 'state', seq: 9, items: %s}));"
            % (json.dumps(items),),
        )

        self.assertEqual([item["id"] for item in result["items"]], ["a", "i"])

    def test_an_op_of_an_unknown_kind_keeps_its_seq(self) -> None:
        """
        An op the client cannot read still counts in the seq it holds.
        """
        result = self.run_js(
            {"p": "protocol.js"},
            """
            return p.parseFrame(JSON.stringify({t: "ops", ops: [
              {seq: 7, by: "c", cid: "c-1", op: "rotate", id: "a"},
              {seq: 8, by: "c", cid: "c-2", op: "add", item: {id: "x"}},
            ]})).ops;
            """,
        )

        self.assertEqual(
            result,
            [
                {"seq": 7, "by": "c", "cid": "c-1", "op": "unknown"},
                {"seq": 8, "by": "c", "cid": "c-2", "op": "unknown"},
            ],
        )


class SceneTests(ClientModuleTestCase):
    """
    The items a page holds, and what each op does to them.
    """

    def test_ops_change_the_items(self) -> None:
        """
        add puts an item on top (once per id), extend appends points to a
        path, erase removes items, clear removes all; an op that changes
        nothing says so.
        """
        result = self.run_js(
            {"s": "scene.js"},
            """
            const scene = new s.Scene();
            const item = (id) => ({id, kind: "path", pts: [0, 0], color: "#000000",
                                   width: 2, opacity: 1});
            const log = [];
            const ids = () => scene.items.map((i) => i.id);
            const added = item("a");
            log.push(scene.apply({op: "add", item: added}).type);
            log.push(scene.apply({op: "add", item: item("b")}).type);
            log.push(scene.apply({op: "add", item: item("a")}));
            const grown = scene.apply({op: "extend", id: "a", pts: [1, 1, 2, 2]});
            log.push([grown.type, grown.from, scene.byId.get("a").pts, added.pts]);
            log.push(scene.apply({op: "extend", id: "zz", pts: [1, 1]}));
            log.push(ids());
            log.push(scene.apply({op: "erase", ids: ["a", "zz"]}).items.length);
            log.push(scene.apply({op: "erase", ids: ["zz"]}));
            log.push(ids());
            log.push(scene.apply({op: "clear"}).type);
            log.push([ids(), scene.byId.size]);
            return log;
            """,
        )

        self.assertEqual(
            result,
            [
                "add",
                "add",
                None,
                ["extend", 1, [0, 0, 1, 1, 2, 2], [0, 0]],
                None,
                ["a", "b"],
                1,
                None,
                ["b"],
                "clear",
                [[], 0],
            ],
        )

    def test_confirmed_item_moves_above_items_others_added_meanwhile(self) -> None:
        """
        When the server confirms an item drawn here, it moves above the
        items others added before the server got it, and stays below this
        page's items still unconfirmed, so every screen stacks them alike.
        """
        result = self.run_js(
            {"s": "scene.js"},
            """
            const scene = new s.Scene();
            for (const id of ["old", "mine", "theirs1", "theirs2", "mine2"]) {
              scene.apply({op: "add", item: {id, kind: "path", pts: [0, 0],
                                             color: "#000000", width: 2}});
            }
            const moved = scene.settle("mine", new Set(["mine2"]));
            const again = scene.settle("mine", new Set(["mine2"]));
            return [moved, again, scene.items.map((i) => i.id)];
            """,
        )

        self.assertEqual(
            result, [True, False, ["old", "theirs1", "theirs2", "mine", "mine2"]]
        )

    def test_eraser_finds_touched_items_top_first(self) -> None:
        """
        The items an eraser sweep touches come top first, and only those.
        """
        result = self.run_js(
            {"s": "scene.js"},
            """
            const scene = new s.Scene();
            const add = (id, y) => scene.apply({op: "add", item: {
              id, kind: "path", pts: [0, y, 100, y], color: "#000000", width: 2}});
            add("low", 0);
            add("high", 10);
            add("far", 500);
            return scene.touchedBy(50, -5, 50, 15, 2).map((i) => i.id);
            """,
        )

        self.assertEqual(result, ["high", "low"])


# The cids of each list saved under the board key "k", in key order.
_SAVED_LISTS = """
function saved(storage) {
  return [...storage.values.entries()]
    .filter(([key]) => key === "k" || /^k\\.[^.]+$/.test(key))
    .map(([, text]) => JSON.parse(text).map((record) => record.op.cid));
}
"""


class OutboxTests(ClientModuleTestCase):
    """
    Unconfirmed ops survive a reload and are resent in order, and two tabs
    on one board keep each other's.
    """

    def run_js(self, modules: dict[str, str], body: str) -> Any:
        return super().run_js(modules, _SAVED_LISTS + body)

    def test_outbox_survives_a_reload(self) -> None:
        """
        Ops kept in storage come back after a reload, in order, taken as
        not shown, so that the server's confirmation applies them.
        """
        result = self.run_js(
            {"o": "outbox.js"},
            """
            const storage = new FakeStorage();
            const first = new o.Outbox(storage, "k");
            first.push({cid: "c-1", op: "add", item: {id: "a"}}, true);
            first.push({cid: "c-2", op: "erase", ids: ["z"]}, true);
            first.leave();
            const second = new o.Outbox(storage, "k");
            const taken = second.take("c-1");
            second.leave();
            const third = new o.Outbox(storage, "k");
            return [
              second.length, taken.op.cid, taken.sent, taken.applied,
              second.take("nope"),
              third.entries.map((e) => e.op.cid),
            ];
            """,
        )

        self.assertEqual(result, [1, "c-1", False, False, None, ["c-2"]])

    def test_extends_drawn_offline_join_into_one_op(self) -> None:
        """
        A path drawn while offline costs an add and one extend, not one op
        per frame; once an extend may have been sent, new points go in a
        new op.
        """
        result = self.run_js(
            {"o": "outbox.js"},
            """
            const box = new o.Outbox(null, "k");
            box.push({cid: "c-1", op: "add", item: {id: "a"}}, true);
            box.push({cid: "c-2", op: "extend", id: "a", pts: [1, 1]}, true);
            box.push({cid: "c-3", op: "extend", id: "a", pts: [2, 2]}, true);
            box.push({cid: "c-4", op: "extend", id: "b", pts: [3, 3]}, true);
            box.entries[2].sent = true;
            box.push({cid: "c-5", op: "extend", id: "b", pts: [4, 4]}, true);
            return box.entries.map((e) => [e.op.cid, e.op.pts || null]);
            """,
        )

        self.assertEqual(
            result,
            [["c-1", None], ["c-2", [1, 1, 2, 2]], ["c-4", [3, 3]], ["c-5", [4, 4]]],
        )

    def test_ops_older_than_the_dedup_window_are_dropped(self) -> None:
        """
        An op unconfirmed for longer than the server remembers cids is
        dropped rather than risk applying it twice.
        """
        result = self.run_js(
            {"o": "outbox.js"},
            """
            const day = 24 * 60 * 60 * 1000;
            const storage = new FakeStorage({k: JSON.stringify([
              {op: {cid: "old", op: "clear"}, at: 1000},
              {op: {cid: "new", op: "clear"}, at: 1000 + day},
              {op: "garbage", at: 5},
            ])});
            const box = new o.Outbox(storage, "k", () => 2000 + day);
            return box.entries.map((e) => e.op.cid);
            """,
        )

        self.assertEqual(result, ["new"])

    def test_two_tabs_on_one_board_keep_each_others_ops(self) -> None:
        """
        Two tabs of one browser on one board, each with unconfirmed ops,
        saving in turn: after both reload, the next page holds every op of
        both, oldest first.
        """
        result = self.run_js(
            {"o": "outbox.js"},
            """
            let t = 1000;
            const now = () => t;
            const storage = new FakeStorage();
            const a = new o.Outbox(storage, "k", now);
            const b = new o.Outbox(storage, "k", now);
            a.push({cid: "c-1", op: "clear"}, true);
            t += 1;
            b.push({cid: "c-2", op: "clear"}, true);
            a.flush();
            b.flush();
            t += 1;
            a.push({cid: "c-3", op: "clear"}, true);
            a.flush();
            t += 1;
            b.push({cid: "c-4", op: "clear"}, true);
            b.flush();
            const both = saved(storage);
            a.leave();
            b.leave();
            const next = new o.Outbox(storage, "k", now);
            return [both, next.entries.map((e) => e.op.cid), saved(storage)];
            """,
        )

        self.assertEqual(
            result,
            [
                [["c-1", "c-3"], ["c-2", "c-4"]],
                ["c-1", "c-2", "c-3", "c-4"],
                [["c-1", "c-2", "c-3", "c-4"]],
            ],
        )

    def test_a_closed_tabs_ops_are_adopted_once(self) -> None:
        """
        The ops of a tab that closed are taken up by the next page on the
        board, and by that page only: their keys go, and a page opened
        later finds nothing of theirs to send again.
        """
        result = self.run_js(
            {"o": "outbox.js"},
            """
            const storage = new FakeStorage();
            const closed = new o.Outbox(storage, "k");
            closed.push({cid: "c-1", op: "clear"}, true);
            closed.push({cid: "c-2", op: "erase", ids: ["z"]}, true);
            closed.leave();
            const keysBefore = storage.length;
            const next = new o.Outbox(storage, "k");
            const after = new o.Outbox(storage, "k");
            return [keysBefore,
                    next.entries.map((e) => [e.op.cid, e.sent, e.applied]),
                    after.entries.length, saved(storage), storage.length];
            """,
        )

        self.assertEqual(
            result,
            [1, [["c-1", False, False], ["c-2", False, False]], 0, [["c-1", "c-2"]], 3],
        )

    def test_an_op_two_closed_tabs_held_is_adopted_once(self) -> None:
        """
        Two pages that opened at once both adopted one list, then closed:
        the next page holds each of its ops once, in order.
        """
        result = self.run_js(
            {"o": "outbox.js"},
            """
            const storage = new FakeStorage();
            const a = new o.Outbox(storage, "k", () => 1000);
            const b = new o.Outbox(storage, "k", () => 1000);
            for (const box of [a, b]) {
              box.push({cid: "c-1", op: "clear"}, true);
              box.push({cid: "c-2", op: "erase", ids: ["z"]}, true);
              box.leave();
            }
            const next = new o.Outbox(storage, "k", () => 1000);
            return next.entries.map((e) => e.op.cid);
            """,
        )

        self.assertEqual(result, ["c-1", "c-2"])

    def test_a_live_tabs_ops_are_not_adopted(self) -> None:
        """
        A page opening beside a live tab, or beating while it lives, leaves
        that tab's ops alone; once the tab has been silent longer than a
        hidden tab's slowest timers (it crashed), the live page adopts
        them, and says so once.
        """
        result = self.run_js(
            {"o": "outbox.js"},
            """
            let t = 1000;
            const now = () => t;
            const storage = new FakeStorage();
            const live = new o.Outbox(storage, "k", now);
            live.push({cid: "c-1", op: "clear"}, true);
            live.flush();
            const other = new o.Outbox(storage, "k", now);
            let told = 0;
            other.onAdopt(() => { told += 1; });
            t += o.ORPHAN_AFTER_MS - 1;
            other.beat();
            const whileLive = [other.length, saved(storage)];
            t += 2;
            other.beat();
            other.beat();
            return [whileLive, other.entries.map((e) => e.op.cid), told,
                    saved(storage)];
            """,
        )

        self.assertEqual(result, [[0, [["c-1"]]], ["c-1"], 1, [["c-1"]]])

    def test_a_frozen_tab_keeps_its_ops_when_taken_for_gone(self) -> None:
        """
        A tab frozen long enough to look gone has its list adopted; when it
        wakes it keeps its ops and saves them again, so nothing is lost
        whichever of the two sends them.
        """
        result = self.run_js(
            {"o": "outbox.js"},
            """
            let t = 1000;
            const now = () => t;
            const storage = new FakeStorage();
            const frozen = new o.Outbox(storage, "k", now);
            frozen.push({cid: "c-1", op: "clear"}, true);
            frozen.flush();
            t += o.ORPHAN_AFTER_MS + 1;
            const other = new o.Outbox(storage, "k", now);
            const taken = saved(storage);
            frozen.beat();
            return [other.entries.map((e) => e.op.cid), taken, saved(storage)];
            """,
        )

        self.assertEqual(result, [["c-1"], [["c-1"]], [["c-1"], ["c-1"]]])

    def test_the_list_shared_by_older_pages_is_adopted(self) -> None:
        """
        The list a page from before keys per tab kept under the board's
        key is taken up by the next page, and its key removed.
        """
        result = self.run_js(
            {"o": "outbox.js"},
            """
            const storage = new FakeStorage({k: JSON.stringify([
              {op: {cid: "c-1", op: "clear"}, at: Date.now()},
            ])});
            const box = new o.Outbox(storage, "k");
            return [box.entries.map((e) => e.op.cid), storage.getItem("k")];
            """,
        )

        self.assertEqual(result, [["c-1"], None])


class IdentityAndReconnectTests(ClientModuleTestCase):
    """
    Client ids, cids and reconnection delays.
    """

    def test_client_id_is_kept_and_cids_never_repeat(self) -> None:
        """
        A browser keeps its client id across reloads; its cids never
        repeat, between two tabs making them in turn nor after a reload,
        and each page's count up from 1 after a prefix of its own.
        """
        result = self.run_js(
            {"i": "identity.js"},
            """
            const storage = new FakeStorage();
            storage.setItem("whitebrd.cid", "41");
            const first = new i.Identity(storage);
            const second = new i.Identity(storage);
            const cids = [];
            for (let n = 0; n < 3; n++) {
              cids.push([first.nextCid(), second.nextCid()]);
            }
            const reloaded = new i.Identity(storage);
            return [first.clientId, second.clientId, reloaded.clientId,
                    first.pageId, second.pageId, reloaded.pageId,
                    cids, reloaded.nextCid(), storage.getItem("whitebrd.cid"),
                    i.newItemId()];
            """,
        )

        client, second, reloaded, *pages = result[:6]
        cids, after_reload, retired, item_id = result[6:]
        self.assertRegex(client, r"^[A-Za-z0-9_-]{16,22}$")
        self.assertEqual((second, reloaded), (client, client))
        self.assertEqual(len(set(pages)), 3)
        self.assertEqual(
            cids,
            [["%s.%s-%d" % (client, page, n) for page in pages[:2]] for n in (1, 2, 3)],
        )
        self.assertEqual(after_reload, "%s.%s-1" % (client, pages[2]))
        self.assertRegex(after_reload, r"^[A-Za-z0-9_.:-]{1,80}$")
        self.assertIsNone(retired)
        self.assertRegex(item_id, r"^[A-Za-z0-9_-]{12,40}$")

    def test_reconnection_backs_off_from_half_a_second_to_five(self) -> None:
        """
        Reconnection waits 0.5 s, doubling to at most 5 s, give or take a
        quarter so that clients of a restarted daemon spread out.
        """
        result = self.run_js(
            {"c": "connection.js"},
            """
            return [
              [0, 1, 2, 3, 4, 10].map((n) => c.backoffDelay(n, 0.5)),
              c.backoffDelay(0, 0),
              c.backoffDelay(0, 0.999999),
              c.backoffDelay(10, 0.999999),
            ];
            """,
        )

        middle, low, high, top = result
        self.assertEqual(middle, [500, 1000, 2000, 4000, 5000, 5000])
        self.assertEqual(low, 375)
        self.assertAlmostEqual(high, 625, places=2)
        self.assertLessEqual(top, 5000)


# A stand-in for the browser's WebSocket that the test drives, and a
# BoardSync wired to a real scene and outbox with it.
_SYNC_HARNESS = """
class FakeSocket extends EventTarget {
  static OPEN = 1;
  static all = [];
  constructor(url) {
    super();
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.all.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = 3; }
  open() {
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }
  receive(frame) {
    this.dispatchEvent(
      new MessageEvent("message", {data: JSON.stringify(frame)}));
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.dispatchEvent(new CloseEvent("close", {code}));
  }
}
window.WebSocket = FakeSocket;

async function until(condition) {
  for (let i = 0; i < 400; i++) {
    if (condition()) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("condition not met: " + condition);
}

function harness(storage = null) {
  const scene = new s.Scene();
  const renderer = {show() {}, redraw() {}, paintLoaded() {},
                    repaintSoon() {}, requestRedraw() {}};
  const outbox = new o.Outbox(storage, "k");
  const notes = [];
  const sync = new y.BoardSync({
    board: "b", clientId: "me", scene, renderer, outbox,
    origin: "ws://x", notify: (m) => notes.push(m), changed: () => {},
  });
  sync.start();
  const socket = () => FakeSocket.all[FakeSocket.all.length - 1];
  const live = (seq = 0, items = []) => {
    socket().open();
    socket().receive({t: "hello", board: "b", you: "me", seq});
    socket().receive({t: "state", seq, items});
  };
  return {sync, scene, outbox, notes, socket, live};
}

const path = (id, pts = [0, 0]) =>
  ({id, kind: "path", pts, color: "#000000", width: 2, opacity: 1});
const add = (cid, id, pts) => ({cid, op: "add", item: path(id, pts)});
const extend = (cid, id, pts) => ({cid, op: "extend", id, pts});
const stored = (seq, by, op) => ({seq, by, ...op});
"""

_SYNC_MODULES = {"s": "scene.js", "o": "outbox.js", "y": "sync.js"}


class SyncTests(ClientModuleTestCase):
    """
    What keeps every page's board the same as the server's, driven through
    a stand-in WebSocket.
    """

    def run_sync(self, body: str) -> Any:
        return self.run_js(_SYNC_MODULES, _SYNC_HARNESS + body)

    def test_own_ops_are_applied_once(self) -> None:
        """
        A page applies its ops at once and sends them; their copies from
        the server confirm them without applying them again.
        """
        result = self.run_sync("""
            const h = harness();
            h.live();
            const status = h.sync.status;
            h.sync.submit(add("me-1", "p"));
            h.sync.submit(extend("me-2", "p", [1, 1]));
            h.socket().receive({t: "ops", ops: [
              stored(1, "me", add("me-1", "p")),
              stored(2, "me", extend("me-2", "p", [1, 1])),
            ]});
            return [status, h.socket().sent.map((f) => [f.t, f.cid]),
                    h.scene.byId.get("p").pts, h.outbox.length, h.sync.seq];
            """)

        self.assertEqual(
            result,
            ["live", [["op", "me-1"], ["op", "me-2"]], [0, 0, 1, 1], 0, 2],
        )

    def test_reconnection_catches_up_before_resending(self) -> None:
        """
        After a drop the page asks only for what it missed, and resends
        what is unconfirmed once it has caught up: ops the server stored
        meanwhile come back as its own and are neither sent nor applied
        twice; ops drawn while offline go out after them.
        """
        result = self.run_sync("""
            const h = harness();
            h.live();
            h.socket().receive({t: "ops", ops: [
              stored(1, "other", add("o-1", "q")),
            ]});
            h.sync.submit(add("me-1", "p"));
            h.sync.submit(extend("me-2", "p", [1, 1]));
            h.socket().drop();
            const offline = h.sync.status;
            h.sync.submit(extend("me-3", "p", [2, 2]));
            await until(() => FakeSocket.all.length === 2);
            const second = h.socket();
            second.open();
            second.receive({t: "hello", board: "b", you: "me", seq: 3});
            const early = second.sent.length;
            second.receive({t: "ops", ops: [
              stored(2, "me", add("me-1", "p")),
              stored(3, "me", extend("me-2", "p", [1, 1])),
            ]});
            const resent = second.sent.map((f) => f.cid);
            second.receive({t: "ops", ops: [
              stored(4, "me", extend("me-3", "p", [2, 2])),
            ]});
            return [offline, second.url, early, resent,
                    h.scene.byId.get("p").pts, h.outbox.length, h.sync.status];
            """)

        self.assertEqual(
            result,
            [
                "offline",
                "ws://x/b/b/ws?client=me&since=1",
                0,
                ["me-3"],
                [0, 0, 1, 1, 2, 2],
                0,
                "live",
            ],
        )

    def test_ops_kept_across_a_reload_are_applied_once(self) -> None:
        """
        After a reload, an op the server had stored is acknowledged and
        shows once (from the state); one it had not is applied when its
        copy comes back.
        """
        result = self.run_sync("""
            const storage = new FakeStorage({k: JSON.stringify([
              {op: add("me-1", "p"), at: Date.now()},
              {op: add("me-2", "q"), at: Date.now()},
            ])});
            const h = harness(storage);
            h.live(1, [path("p")]);
            const resent = h.socket().sent.map((f) => f.cid);
            const before = h.scene.items.map((i) => i.id);
            h.socket().receive({t: "ack", cid: "me-1", seq: 1});
            h.socket().receive({t: "ops", ops: [stored(2, "me", add("me-2", "q"))]});
            return [resent, before, h.scene.items.map((i) => i.id),
                    h.outbox.length];
            """)

        self.assertEqual(result, [["me-1", "me-2"], ["p"], ["p", "q"], 0])

    def test_ops_a_closed_tab_left_are_sent_by_a_live_page(self) -> None:
        """
        A tab on the same board closes with ops unconfirmed; the page still
        open sends them on its next beat, and shows them once the server
        stored them.
        """
        result = self.run_sync("""
            const storage = new FakeStorage();
            const h = harness(storage);
            h.live();
            const closed = new o.Outbox(storage, "k");
            closed.push(add("me-1", "q"), true);
            closed.leave();
            h.outbox.beat();
            const sent = h.socket().sent.map((f) => f.cid);
            h.socket().receive({t: "ops", ops: [stored(1, "me", add("me-1", "q"))]});
            return [sent, h.scene.items.map((i) => i.id), h.outbox.length];
            """)

        self.assertEqual(result, [["me-1"], ["q"], 0])

    def test_a_gap_in_seqs_reloads_the_board(self) -> None:
        """
        Seqs skip nothing, so an op that does not follow the one before
        means something was missed: the page reconnects for a full state.
        """
        result = self.run_sync("""
            const h = harness();
            h.live(5, [path("p")]);
            h.socket().receive({t: "ops", ops: [
              stored(7, "other", add("o-1", "q")),
            ]});
            return [FakeSocket.all.length, h.socket().url,
                    h.scene.byId.has("q")];
            """)

        self.assertEqual(result, [2, "ws://x/b/b/ws?client=me", False])

    def test_own_item_cleared_by_another_comes_back_with_its_copy(self) -> None:
        """
        A clear from someone else that the server put before this page's
        add takes the item off the page only until the add's copy arrives,
        as it does on every other page.
        """
        result = self.run_sync("""
            const h = harness();
            h.live();
            h.sync.submit(add("me-1", "p"));
            h.socket().receive({t: "ops", ops: [
              stored(1, "other", {cid: "o-1", op: "clear"}),
            ]});
            const cleared = h.scene.items.length;
            h.socket().receive({t: "ops", ops: [stored(2, "me", add("me-1", "p"))]});
            return [cleared, h.scene.items.map((i) => i.id)];
            """)

        self.assertEqual(result, [0, ["p"]])

    def test_refused_add_leaves_the_page_with_a_message(self) -> None:
        """
        An add the server refuses (the board is full) is on no other
        screen, so it goes from this one too, and the page says why.
        """
        result = self.run_sync("""
            const h = harness();
            h.live();
            h.sync.submit(add("me-1", "p"));
            const drawn = h.scene.byId.has("p");
            h.socket().receive({t: "error", code: "board_full",
                                message: "full", cid: "me-1"});
            return [drawn, h.scene.byId.has("p"), h.outbox.length, h.notes];
            """)

        self.assertEqual(result, [True, False, 0, ["This board is full: erase something to make room, or start a new board."]])

    def test_ops_not_stored_are_sent_again_in_order(self) -> None:
        """
        When the store fails an add, the add and the extends refused after
        it for lack of the item are kept, the page says it is not saving,
        and all go again, in order, once the server answered the ones it
        had.
        """
        result = self.run_sync("""
            const h = harness();
            h.live();
            h.sync.submit(add("me-1", "p"));
            h.sync.submit(extend("me-2", "p", [1, 1]));
            h.socket().receive({t: "status", saving: false, message: "x"});
            h.socket().receive({t: "error", code: "storage_unavailable",
                                message: "x", cid: "me-1"});
            h.socket().receive({t: "error", code: "unknown_item",
                                message: "x", cid: "me-2"});
            const kept = [h.outbox.length, h.sync.saving];
            await until(() => h.socket().sent.length === 4);
            h.socket().receive({t: "ops", ops: [
              stored(1, "me", add("me-1", "p")),
              stored(2, "me", extend("me-2", "p", [1, 1])),
            ]});
            return [kept, h.socket().sent.map((f) => f.cid), h.notes.length,
                    h.sync.saving, h.outbox.length, h.scene.byId.get("p").pts];
            """)

        self.assertEqual(
            result,
            [[2, False], ["me-1", "me-2", "me-1", "me-2"], 1, True, 0, [0, 0, 1, 1]],
        )

    def test_many_ops_at_once_go_at_the_rate_the_server_allows(self) -> None:
        """
        A page with more ops to send than the server takes in a second (an
        import) sends them at the rate C{hello} gave, in order, so that
        none is refused for speed: replayed through the server's bucket
        (a second's worth, refilled at the rate), every send finds a token.
        """
        result = self.run_sync("""
            const h = harness();
            h.socket().open();
            const times = [];
            const send = h.socket().send.bind(h.socket());
            h.socket().send = (text) => { times.push(performance.now()); send(text); };
            h.socket().receive({t: "hello", board: "b", you: "me", seq: 0, rate: 20});
            h.socket().receive({t: "state", seq: 0, items: []});
            for (let i = 1; i <= 40; i++) {
              h.sync.submit(add("me-" + i, "p" + i));
            }
            const atOnce = h.socket().sent.length;
            await until(() => h.socket().sent.length === 40);
            let tokens = 20, stamp = times[0], refused = 0;
            for (const t of times) {
              tokens = Math.min(20, tokens + ((t - stamp) / 1000) * 20);
              stamp = t;
              if (tokens >= 1) { tokens -= 1; } else { refused += 1; }
            }
            return [atOnce, refused, h.socket().sent.map((f) => f.cid)];
            """)

        at_once, refused, sent = result
        self.assertLess(at_once, 20)
        self.assertGreater(at_once, 0)
        self.assertEqual(refused, 0)
        self.assertEqual(sent, ["me-%d" % (i,) for i in range(1, 41)])

    def test_a_server_that_names_no_rate_gets_everything_at_once(self) -> None:
        """
        Older servers say no rate in C{hello} and refuse nothing for
        speed, so the page holds nothing back from them.
        """
        result = self.run_sync("""
            const h = harness();
            h.live();
            for (let i = 1; i <= 600; i++) {
              h.sync.submit(add("me-" + i, "p" + i));
            }
            return h.socket().sent.length;
            """)

        self.assertEqual(result, 600)
