"""
Bounded boards, end to end: a board stops growing at its limits with a
clear answer, and what a board costs to hold and to open follows what is on
it, not everything ever drawn on it.
"""

import json
from typing import Any

from twisted.trial.unittest import TestCase

from tests.rawws import RawWebSocket
from tests.redis_server import shared_redis
from tests.support import (
    UNLIMITED,
    Client,
    Daemon,
    drawing_ops,
    new_board,
    redis_history,
    start_daemon,
    tagged_items,
)



def opening(daemon: Daemon, board: str) -> tuple[list[dict[str, Any]], int, int]:
    """
    Open C{board} as a newcomer does: its items, and how many frames and
    bytes that took (C{hello} and the state frames).
    """
    ws = RawWebSocket(daemon.port, "/b/%s/ws" % (board,))
    ws.receive()
    items: list[dict[str, Any]] = []
    while True:
        frame = ws.receive()
        items += frame["items"]
        if not frame.get("more"):
            break
    ws.close()
    return items, ws.messages_received, ws.bytes_received


def draw_rounds(client: Client, items: list[dict[str, Any]], rounds: int) -> int:
    """
    Draw C{items} and clear the board, C{rounds} times, one frame per
    round, then draw them once more, naming each op as a page does
    (C{<client id>-<counter>}).

    @return: how many ops that was.
    """
    sent = 0
    for n in range(rounds + 1):
        ops: list[dict[str, Any]] = [{"op": "add", "item": item} for item in items]
        if n < rounds:
            ops.append({"op": "clear"})
        for k, op in enumerate(ops, sent + 1):
            op["cid"] = "%s-%d" % (client.hello["you"], k)
        client.send({"t": "ops", "ops": ops})
        sent += len(ops)
        if n % 50 == 0:
            client.until_seq(sent)
    client.until_seq(sent)
    return sent


class BoundedBoardTests(TestCase):
    """
    Limits on a board, and its cost after a long life.
    """

    def test_board_past_its_limit_answers_board_full(self) -> None:
        """
        A real drawing fed to a board that holds 40 items: the 41st add and
        every one after it is answered board_full (the page says the board
        is full), the board keeps its 40 items, and erasing makes room.
        """
        daemon = start_daemon(
            self,
            "--redis",
            shared_redis().url,
            "--max-items-per-board",
            "40",
            *UNLIMITED,
        )
        board = new_board()
        scene = tagged_items("kodex-redis.excalidraw", "k")
        client = daemon.connect(board, client="alice-0001").join()
        adds = [op for op in drawing_ops(scene, "alice-0001") if op["op"] == "add"]

        for op in adds:
            client.send(dict(op, t="op"))
        client.until(lambda c: len(c.other) >= len(adds) - 40)
        full = [f for f in client.other if f["t"] == "error"]
        client.send(
            {"t": "op", "cid": "alice-0001-e", "op": "erase", "ids": [scene[0]["id"]]}
        )
        client.send(dict(adds[40], t="op"))
        client.until_seq(42)

        self.assertEqual({f["code"] for f in full}, {"board_full"})
        self.assertEqual([f["cid"] for f in full], [op["cid"] for op in adds[40:]])
        self.assertIn("40 items", full[0]["message"])
        self.assertEqual(
            [i["id"] for i in daemon.board_json(board)["items"]],
            [item["id"] for item in scene[1:41]],
        )

    def test_board_cleared_and_redrawn_a_thousand_times(self) -> None:
        """
        A board cleared and redrawn a thousand times (a classroom's) opens
        with the same items in the same number of frames as one drawn once,
        in bytes within 10 %, and its live Redis keys, the dedup window's
        included, are within 10 % of the other's plus one small snapshot;
        its whole history is still in the archive.  Every op sent again is
        still recognised.
        """
        redis = shared_redis()
        daemon = start_daemon(
            self, "--redis", redis.url, "--state-frame-bytes", "600", *UNLIMITED
        )
        items = tagged_items("iroomt-notes.excalidraw", "r")[:6]
        once, often = new_board(), new_board()
        drawer = daemon.connect(once, client="drawer-0001").join()
        draw_rounds(drawer, items, 0)
        drawer.close()
        drawer = daemon.connect(often, client="drawer-0002").join()

        sent = draw_rounds(drawer, items, 1000)
        resent = ["drawer-0002-%d" % (n,) for n in (7, 3500, sent - 7)]
        drawer.send({"t": "ops", "ops": [{"cid": cid, "op": "clear"} for cid in resent]})
        acks = [drawer.frames_until("ack") for _ in resent]
        drawer.close()

        self.assertEqual([ack["cid"] for ack in acks], resent)
        items_once, frames_once, bytes_once = opening(daemon, once)
        items_often, frames_often, bytes_often = opening(daemon, often)
        self.assertEqual(items_often, items)
        self.assertEqual(items_once, items)
        self.assertEqual(frames_often, frames_once)
        self.assertGreater(frames_once, 2)
        self.assertLessEqual(abs(bytes_often - bytes_once), bytes_once / 10)

        def live(board: str) -> dict[str, int]:
            sizes: dict[str, int] = {}
            for key in redis.command("KEYS", "wb:{%s}:*" % (board,)):
                name = key.decode().split("}:", 1)[1]
                if not name.startswith("archive"):
                    sizes[name] = int(redis.command("MEMORY", "USAGE", key, "SAMPLES", "0"))
            return sizes

        often_keys, once_keys = live(often), live(once)
        self.assertLessEqual(
            sum(often_keys.values()),
            sum(once_keys.values()) * 1.1 + 600,
            (often_keys, once_keys),
        )
        history = redis_history(redis, often)
        self.assertEqual(len(history), sent)
        self.assertEqual(len({op["cid"] for op in history}), sent)

    def test_item_larger_than_a_message_still_reaches_everyone(self) -> None:
        """
        A path grown by many extends past the size of one incoming message
        is still sent whole: to a newcomer in its own C{state} frame, with
        or without compression, and a board whose every op the daemon took
        never becomes one that nobody can open.
        """
        daemon = start_daemon(
            self, "--max-message-bytes", "65536", "--state-frame-bytes", "65536", *UNLIMITED
        )
        board = new_board()
        drawer = daemon.connect(board, client="alice-0001").join()
        pts = [float(n % 1000) + 0.25 for n in range(4000)]
        drawer.send(
            {
                "t": "op",
                "cid": "alice-0001-1",
                "op": "add",
                "item": {"id": "long", "kind": "path", "color": "#1e1e1e", "width": 2, "pts": pts},
            }
        )
        for n in range(2, 12):
            drawer.send({"t": "op", "cid": "alice-0001-%d" % (n,), "op": "extend", "id": "long", "pts": pts})
        drawer.until_seq(11)

        stored = daemon.board_json(board)["items"]
        self.assertEqual(len(stored[0]["pts"]), 11 * len(pts))
        self.assertGreater(len(json.dumps(stored[0])), 4 * 65536)
        for compression in ("deflate", None):
            newcomer = daemon.connect(board, client="bobby-0001", compression=compression).join()
            self.assertEqual(newcomer.items["long"]["pts"], stored[0]["pts"])
            newcomer.close()
        drawer.send({"t": "op", "cid": "alice-0001-12", "op": "extend", "id": "long", "pts": [1, 1]})
        drawer.until_seq(12)
