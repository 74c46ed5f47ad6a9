"""
Hostile and broken input against a running daemon: every kind of bad frame
gets its clear answer (an C{error} frame, or for abuse a close code and
reason), nothing bad is stored or relayed, the daemon logs no traceback,
and the people on the board notice nothing.
"""

import json
import random
import secrets
from typing import Any, Optional

from twisted.trial.unittest import TestCase

from tests.rawws import BINARY, Closed, HandshakeRefused, RawWebSocket, deflate
from tests.redis_server import shared_redis
from tests.support import (
    STREAMING_LIMITS,
    Daemon,
    drawing_ops,
    start_daemon,
    tagged_items,
)

LIMITS = (
    "--max-message-bytes",
    "65536",
    "--max-points-per-op",
    "1000",
    "--ops-per-second-per-connection",
    "200",
    "--ops-per-second-per-address",
    "1000000",
)


def tracebacks(daemon: Daemon) -> list[str]:
    """
    The log lines of C{daemon} that carry a traceback, with a few after.
    """
    lines = daemon.log().splitlines()
    return [
        "\n".join(lines[n : n + 12])
        for n, line in enumerate(lines)
        if "Traceback" in line
    ]


def new_board() -> str:
    return secrets.token_urlsafe(16)


def path(item_id: str, pts: Any = (1, 2, 3, 4), **fields: Any) -> dict[str, Any]:
    item = {
        "id": item_id,
        "kind": "path",
        "pts": list(pts),
        "color": "#223344",
        "width": 2,
    }
    item.update(fields)
    return item


def op(cid: str, **fields: Any) -> str:
    return json.dumps(dict({"t": "op", "cid": cid}, **fields))


def add(cid: str, item: dict[str, Any]) -> str:
    return op(cid, op="add", item=item)


# What a hostile or broken client sends, and the error code it gets back
# (with the op's cid where it had a readable one).  "ON_BOARD" is replaced by
# the id of an item drawn before the barrage.
BARRAGE: list[tuple[str, "str | bytes", str, Optional[str]]] = [
    ("malformed JSON", '{"t": "op", "cid": ', "bad_json", None),
    ("a list", "[1, 2, 3]", "bad_frame", None),
    ("a string", '"op"', "bad_frame", None),
    ("null", "null", "bad_frame", None),
    ("no t", '{"cid": "h-1", "op": "clear"}', "bad_frame", None),
    ("unknown t", '{"t": "launch"}', "bad_frame", None),
    ("t not a string", '{"t": 7}', "bad_frame", None),
    ("no op", '{"t": "op", "cid": "h-2"}', "bad_op", "h-2"),
    ("unknown op", op("h-3", op="paint"), "bad_op", "h-3"),
    ("no cid", '{"t": "op", "op": "clear"}', "bad_op", None),
    ("bad cid", op("a b", op="clear"), "bad_op", None),
    ("pts a string", add("h-4", path("h4", pts="1,2")), "bad_item", "h-4"),
    ("width a string", add("h-5", path("h5", width="2")), "bad_item", "h-5"),
    ("item a list", op("h-6", op="add", item=[1]), "bad_item", "h-6"),
    (
        "NaN",
        add("h-7", path("h7")).replace("[1, 2, 3, 4]", "[1, NaN, 3, 4]"),
        "bad_item",
        "h-7",
    ),
    (
        "Infinity",
        add("h-8", path("h8")).replace("[1, 2, 3, 4]", "[Infinity, 2, 3, 4]"),
        "bad_item",
        "h-8",
    ),
    (
        "1e400",
        add("h-9", path("h9")).replace("[1, 2, 3, 4]", "[1e400, 2, 3, 4]"),
        "bad_item",
        "h-9",
    ),
    ("out of range", add("h-10", path("h10", pts=[0, 0, 1e7, 0])), "bad_item", "h-10"),
    (
        "too many points",
        add("h-11", path("h11", pts=[1] * 2002)),
        "too_many_points",
        "h-11",
    ),
    ("deep nesting", "[" * 20000 + "]" * 20000, "bad_json", None),
    (
        "huge string",
        add("h-12", path("h12", color="#" + "f" * 60000)),
        "bad_item",
        "h-12",
    ),
    (
        "text past the limit",
        add("h-13", path("h13", kind="text", pts=[0, 0], text="x" * 2001, size=12)),
        "bad_item",
        "h-13",
    ),
    ("bad id", add("h-14", path("../etc/passwd")), "bad_id", "h-14"),
    ("non-ASCII id", add("h-15", path("caf\u00e9")), "bad_id", "h-15"),
    ("unknown field", add("h-16", path("h16", onclick="alert(1)")), "bad_item", "h-16"),
    (
        "too many ops",
        json.dumps(
            {
                "t": "ops",
                "ops": [{"cid": "b%d" % n, "op": "clear"} for n in range(1001)],
            }
        ),
        "too_many_ops",
        None,
    ),
    (
        "extend of an unknown item",
        op("h-17", op="extend", id="nowhere", pts=[1, 1]),
        "unknown_item",
        "h-17",
    ),
    (
        "erase of nothing there",
        op("h-18", op="erase", ids=["nowhere"]),
        "unknown_item",
        "h-18",
    ),
    (
        "add of an id on the board",
        add("h-19", path("ON_BOARD")),
        "duplicate_id",
        "h-19",
    ),
    ("cursor out of range", '{"t": "cursor", "x": 1e9, "y": 0}', "bad_frame", None),
    ("binary frame", b"\x00\x01\x02", "bad_frame", None),
]


class HostileInputTests(TestCase):
    """
    The barrage, one kind of bad input at a time, against a board drawn
    before it.
    """

    def setUp(self) -> None:
        self.daemon = start_daemon(self, "--redis", shared_redis().url, *LIMITS)
        self.board = new_board()
        self.scene = tagged_items("iroomt-notes.excalidraw", "o")
        self.watcher = self.daemon.connect(self.board, client="watch-0001").join()
        for frame in drawing_ops(self.scene, "drawer-0001"):
            self.watcher.send(dict(frame, t="op"))
        self.watcher.until_seq(len(drawing_ops(self.scene, "drawer-0001")))
        self.before = self.daemon.board_json(self.board)

    def connect(self, board: Optional[str] = None, **options: Any) -> RawWebSocket:
        ws = RawWebSocket(
            self.daemon.port, "/b/%s/ws" % (board or self.board,), **options
        )
        ws.receive()  # hello
        while ws.receive().get("more"):
            pass
        return ws

    def assertUnharmed(self) -> None:
        """
        The board is what it was; the watcher heard nothing in the meantime
        and draws on; the daemon logged no traceback.
        """
        self.assertEqual(self.daemon.board_json(self.board), self.before)
        line = path("after-1", pts=[5, 5])
        self.watcher.send({"t": "op", "cid": "watch-0001-x", "op": "add", "item": line})
        frame = self.watcher.frames_until("ops")
        self.assertEqual(frame["ops"][0]["item"], line)
        self.assertEqual(frame["ops"][0]["seq"], self.before["seq"] + 1)
        self.assertEqual(tracebacks(self.daemon), [])

    def test_every_bad_frame_gets_its_error(self) -> None:
        """
        Each bad frame of the barrage is answered with its error code (and
        cid), the connection stays open, and nothing reaches the board or
        the others on it.
        """
        ws = self.connect()
        on_board = self.before["items"][0]["id"]
        answers = []

        for what, frame, _, _ in BARRAGE:
            if isinstance(frame, bytes):
                ws.send_frame(BINARY, frame)
            else:
                ws.send_text(frame.replace("ON_BOARD", on_board))
            answers.append(ws.receive())

        for (what, _, code, cid), answer in zip(BARRAGE, answers):
            self.assertEqual(answer["t"], "error", what)
            self.assertEqual((answer["code"], answer.get("cid")), (code, cid), what)
            self.assertTrue(answer["message"], what)
        self.assertUnharmed()

    def test_abuse_closes_with_a_code_and_reason(self) -> None:
        """
        Invalid UTF-8 closes with 1007, a frame over the size limit with
        1009, a small compressed frame that inflates past the limit with
        1009, and a flood with 1008 after rate_limited answers; a compressed
        frame within the limit is taken.
        """
        invalid = self.connect()
        invalid.send_text(b'{"t": "cursor", "x": 1, "y": "\xff\xfe"}')
        oversized = self.connect()
        oversized.send_text(
            json.dumps({"t": "cursor", "x": 1, "y": 1, "pad": "x" * 70000})
        )
        compressed = self.connect(compress=True)
        bomb = deflate(
            b'{"t": "cursor", "x": 1, "y": 1, "pad": "' + b"x" * 500_000 + b'"}'
        )
        compressed.send_frame(1, bomb, rsv1=True)
        polite = self.connect(board=new_board(), compress=True)
        polite.send_frame(1, deflate(add("p-1", path("p1")).encode()), rsv1=True)
        flood_board = new_board()
        flood = self.connect(board=flood_board)
        for n in range(1000):
            flood.send_text(add("f-%d" % (n,), path("f%d" % (n,))))

        stored = polite.receive()
        flood_codes: list[str] = []
        try:
            while True:
                frame = flood.receive()
                if frame["t"] == "error":
                    flood_codes.append(frame["code"])
        except Closed as closed:
            flood_closed = closed

        self.assertTrue(compressed.deflate)
        self.assertLess(len(bomb), 2000)
        self.assertEqual(invalid.until_closed().code, 1007)
        self.assertEqual(oversized.until_closed().code, 1009)
        self.assertEqual(compressed.until_closed().code, 1009)
        self.assertEqual(stored["ops"][0]["cid"], "p-1")
        self.assertEqual(flood_closed.code, 1008)
        self.assertIn("too many ops", flood_closed.reason)
        self.assertLessEqual(350, len(flood_codes))
        self.assertEqual(set(flood_codes), {"rate_limited"})
        self.assertLessEqual(self.daemon.board_json(flood_board)["seq"], 250)
        self.assertUnharmed()

    def test_bad_board_paths_are_404(self) -> None:
        """
        WebSocket paths with traversal, percent-encoding, non-ASCII or 10 KB
        of text are refused with 404 before any handshake.
        """
        statuses = []
        for bad in [
            "/b/../ws",
            "/b/a%2Fb/ws",
            "/b/%61bc/ws",
            "/b/caf%C3%A9/ws",
            "/b/" + "x" * 10_000 + "/ws",
        ]:
            try:
                RawWebSocket(self.daemon.port, bad).close()
                statuses.append(101)
            except HandshakeRefused as refused:
                statuses.append(refused.status)

        self.assertEqual(statuses, [404] * 5)
        self.assertUnharmed()

    def test_text_is_stored_and_returned_exactly(self) -> None:
        """
        Markup, control characters, right-to-left overrides and emoji in a
        text item are stored and come back exactly, to everyone; an extend
        of an erased item is refused.
        """
        board = new_board()
        ws = self.connect(board=board)
        other = self.connect(board=board)
        text = "<img src=x onerror=alert(1)>\u202eevil\u202c \x07\x1b[31m \U0001f9d1\u200d\U0001f3a8 \u0645\u0631\u062d\u0628\u0627"
        item = path("t1", kind="text", pts=[10, 20], text=text, size=16)

        ws.send_text(add("t-1", item))
        copies = [ws.receive(), other.receive()]
        ws.send_text(add("t-2", path("p1")))
        ws.send_text(op("t-3", op="erase", ids=["p1"]))
        ws.send_text(op("t-4", op="extend", id="p1", pts=[9, 9]))
        refused = ws.receive()
        while refused["t"] != "error":
            refused = ws.receive()

        for copy in copies:
            self.assertEqual(copy["ops"][0]["item"], item)
        self.assertEqual(self.daemon.board_json(board)["items"], [item])
        self.assertEqual((refused["code"], refused["cid"]), ("unknown_item", "t-4"))
        self.assertUnharmed()


# Values a fuzzer puts where a field should be.
def _value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(14)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 2**63, -(2**70), 10**400 if depth else 7])
    if choice == 3:
        return rng.choice(
            [float("nan"), float("inf"), -float("inf"), 1e308, -0.0, 1e-320]
        )
    if choice == 4:
        return rng.uniform(-2e6, 2e6)
    if choice == 5:
        return "".join(
            rng.choice('z0-_.:\u202e\U0001f600<>"\\\x00\ud800')
            for _ in range(rng.randrange(12))
        )
    if choice == 6:
        return "z" * rng.choice([1, 40, 41, 81, 2001, 30000])
    if choice == 7 and depth < 4:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(6))]
    if choice == 8 and depth < 4:
        return {
            str(_value(rng, 4)): _value(rng, depth + 1) for _ in range(rng.randrange(4))
        }
    if choice == 9:
        return [rng.uniform(-100, 100) for _ in range(rng.choice([1, 2, 3, 4, 2001]))]
    if choice == 10:
        return "#%06x" % (rng.randrange(2**24),)
    if choice == 11:
        return rng.choice(
            ["add", "extend", "erase", "op", "ops", "cursor", "path", "text", "rect"]
        )
    if choice == 12:
        return "z%d" % (rng.randrange(20),)
    return rng.choice(["", " ", "#12345g", "../", "%2e%2e"])


def _template(rng: random.Random, n: int) -> dict[str, Any]:
    item_id = "z%d" % (rng.randrange(20),)
    kind = rng.choice(["path", "line", "rect", "ellipse", "text"])
    pts = [rng.uniform(-100, 100) for _ in range(2 if kind == "text" else 4)]
    item: dict[str, Any] = {
        "id": item_id,
        "kind": kind,
        "pts": pts,
        "color": "#102030",
        "width": 3,
    }
    if kind == "text":
        item.update(text="fuzz", size=12)
    cid = "fz-%d" % (n,)
    return rng.choice(
        [
            {"t": "op", "cid": cid, "op": "add", "item": item},
            {"t": "op", "cid": cid, "op": "extend", "id": item_id, "pts": pts[:2]},
            {"t": "op", "cid": cid, "op": "erase", "ids": [item_id]},
            {
                "t": "ops",
                "ops": [
                    {"cid": cid + "a", "op": "add", "item": item},
                    {"cid": cid + "b", "op": "extend", "id": item_id, "pts": [1, 1]},
                ],
            },
            {"t": "cursor", "x": 1, "y": 2},
        ]
    )


def _mutate(rng: random.Random, value: Any) -> Any:
    """
    Break C{value} in one place: a field dropped, renamed or replaced, or a
    list entry replaced, somewhere down its tree.
    """
    if isinstance(value, dict) and value:
        key = rng.choice(sorted(value))
        what = rng.randrange(4)
        if what == 0:
            del value[key]
        elif what == 1:
            value[str(_value(rng, 4))] = value.pop(key)
        elif what == 2:
            value[key] = _value(rng)
        else:
            value[key] = _mutate(rng, value[key])
    elif isinstance(value, list) and value:
        n = rng.randrange(len(value))
        value[n] = _mutate(rng, value[n]) if rng.random() < 0.5 else _value(rng)
    else:
        return _value(rng)
    return value


def fuzz_frame(rng: random.Random, n: int) -> str:
    """
    One random frame: mostly a valid frame broken in a place or two, some
    valid ones, some text that is not even JSON.
    """
    roll = rng.random()
    if roll < 0.1:
        return json.dumps(_template(rng, n))
    if roll < 0.2:
        text = json.dumps(_template(rng, n))
        return text[: rng.randrange(len(text))] + rng.choice(
            ["", "}", "]]", "\x00", "\ufffd"]
        )
    frame = _template(rng, n)
    for _ in range(rng.randrange(1, 4)):
        frame = _mutate(rng, frame)
    if rng.random() < 0.05:
        frame = [frame]
    return json.dumps(frame, allow_nan=True)


class FuzzTests(TestCase):
    """
    Random frames thrown at a running daemon leave its boards and the people
    on them intact.
    """

    def test_random_frames_leave_the_board_intact(self) -> None:
        """
        Two thousand random frames (broken variants of valid ones, and some
        valid ones, on fuzz ids only) sent to a board with a real drawing on
        it: the drawing is untouched, everyone agrees on the board, the
        fuzzing connection still works, and the daemon logged no traceback.
        """
        daemon = start_daemon(
            self,
            "--redis",
            shared_redis().url,
            *STREAMING_LIMITS,
        )
        board = new_board()
        scene = tagged_items("kodex-redis.excalidraw", "o")
        plan = drawing_ops(scene, "drawer-0001")
        watcher = daemon.connect(board, client="watch-0001").join()
        for frame in plan:
            watcher.send(dict(frame, t="op"))
        watcher.until_seq(len(plan))
        before = {item["id"]: item for item in daemon.board_json(board)["items"]}
        seed = secrets.randbelow(2**32)
        rng = random.Random(seed)
        fuzzer = RawWebSocket(daemon.port, "/b/%s/ws" % (board,))

        for n in range(2000):
            fuzzer.send_text(fuzz_frame(rng, n))
        fuzzer.send_text(add("final-1", path("final1")))
        while True:
            frame = fuzzer.receive()
            if frame["t"] == "ops" and frame["ops"][-1]["cid"] == "final-1":
                break
        final_seq = frame["ops"][-1]["seq"]
        watcher.until_seq(final_seq)

        now = daemon.board_json(board)
        late = daemon.connect(board, client="latecomer-1").join()
        kept = {i["id"]: i for i in now["items"] if i["id"] in before}
        message = "fuzz seed %d" % (seed,)
        self.assertEqual(kept, before, message)
        self.assertEqual(now["items"][-1], path("final1"), message)
        self.assertEqual(list(watcher.items.values()), now["items"], message)
        self.assertEqual(list(late.items.values()), now["items"], message)
        self.assertEqual(now["seq"], final_seq, message)
        self.assertEqual(tracebacks(daemon), [], message)
