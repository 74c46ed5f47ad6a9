"""
Breaking things on purpose: connections cut mid-stroke, Redis and daemons
killed under people drawing, peers that stop reading, and hostile input.
Each test runs real daemons (and, where Redis matters, real redis-servers)
and checks afterwards that nothing acknowledged was lost, nothing applied
twice, and everyone sees the same board.
"""

import os
import random
import secrets
import signal
import time
import urllib.error
import urllib.request
from typing import Any

from twisted.trial.unittest import TestCase

from tests.outbox_client import OutboxClient
from tests.rawws import RawWebSocket
from tests.redis_server import RedisServer, shared_redis
from tests.support import (
    UNLIMITED,
    Daemon,
    drawing_ops,
    new_board,
    redis_history,
    start_daemon,
    tagged_items,
)


def seeded(test: TestCase) -> random.Random:
    """
    A random source whose seed is in the test's log, so a failure can be
    replayed with C{WHITEBRD_SEED}.
    """
    seed = int(os.environ.get("WHITEBRD_SEED", secrets.randbelow(2**32)))
    test.addCleanup(lambda: print("%s: WHITEBRD_SEED=%d" % (test.id(), seed)))
    return random.Random(seed)


def health(daemon: Daemon) -> int:
    """
    The status C{/healthz} answers now.
    """
    try:
        with urllib.request.urlopen(daemon.url + "/healthz", timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def settle_all(clients: list[OutboxClient], timeout: float = 60.0) -> int:
    """
    Run every client until all ops are confirmed and all hold the same,
    newest seq.

    @return: that seq.
    """
    deadline = time.monotonic() + timeout
    while True:
        for client in clients:
            client.step(0.01)
        newest = max(client.seq for client in clients)
        if all(c.caught_up and not c.outbox and c.seq == newest for c in clients):
            return newest
        if time.monotonic() > deadline:
            raise AssertionError(
                "not settled in %gs: %s"
                % (
                    timeout,
                    [(c.client_id, c.seq, len(c.outbox), c.caught_up) for c in clients],
                )
            )


class ResilienceAssertions:
    """
    What every test here checks at the end.
    """

    assertEqual: Any
    assertLessEqual: Any

    def assertWhole(
        self,
        daemon: Daemon,
        board: str,
        clients: list[OutboxClient],
        scenes: list[list[dict[str, Any]]],
        sent: list[dict[str, Any]],
        history: list[dict[str, Any]],
    ) -> None:
        """
        Every client, a late joiner and the board's JSON hold the same
        board; it is every scene item for item, each scene in its own
        drawing order; the store holds every op sent exactly once.
        """
        first = clients[0]
        for client in clients[1:]:
            self.assertEqual(list(client.items.items()), list(first.items.items()))
        late = daemon.connect(board, client="latecomer-1").join()
        self.assertEqual(list(late.items.values()), list(first.items.values()))
        self.assertEqual(daemon.board_json(board)["items"], list(first.items.values()))

        expected = {item["id"]: item for scene in scenes for item in scene}
        self.assertEqual(first.items, expected)
        for scene in scenes:
            ids = {item["id"] for item in scene}
            self.assertEqual(
                [i for i in first.items if i in ids], [item["id"] for item in scene]
            )

        cids = [op["cid"] for op in history]
        self.assertEqual(sorted(cids), sorted(op["cid"] for op in sent))
        self.assertEqual(
            [op["seq"] for op in history], list(range(1, len(history) + 1))
        )
        self.assertEqual(first.seq, len(history))
        for client in clients:
            self.assertLessEqual(max(client.applied.values(), default=1), 1)


class ReconnectTests(ResilienceAssertions, TestCase):
    """
    A browser's connection drops at any moment, often; its outbox and
    C{?since=} make sure nothing is lost or doubled.
    """

    def test_two_scenes_survive_random_cuts(self) -> None:
        """
        Two people draw different real scenes on one board while their
        connections are cut at random moments (at least 20 cuts), each
        reconnecting to either of two daemons and resending what was not
        confirmed: in the end both, a late joiner and C{/b/<id>.json} hold
        each scene item for item, and no op was applied twice.
        """
        redis = shared_redis()
        daemons = [
            start_daemon(self, "--redis", redis.url, *UNLIMITED) for _ in range(2)
        ]
        ports = [d.port for d in daemons]
        rng = seeded(self)
        board = new_board()
        scenes = [
            tagged_items("doutorado-sw-design.excalidraw", "a"),
            tagged_items("summer-training-whiteboard.excalidraw", "b"),
        ]
        clients = [
            OutboxClient(ports, board, name, rng)
            for name in ("alice-0001", "bobby-0001")
        ]
        plans = [drawing_ops(scene, c.client_id) for scene, c in zip(scenes, clients)]
        cuts = [set(rng.sample(range(1, len(plan)), 12)) for plan in plans]
        for client in clients:
            client.connect(rng.choice(ports))

        step = 0
        while step < max(len(plan) for plan in plans):
            for client, plan, cut_at in zip(clients, plans, cuts):
                if step < len(plan):
                    client.submit(plan[step])
                    if step in cut_at:
                        client.port = rng.choice(ports)
                        client.cut()
                client.step()
            step += 1
        seq = settle_all(clients)

        self.assertLessEqual(20, sum(c.cuts for c in clients))
        self.assertLessEqual(20 + 2, sum(c.connections for c in clients))
        self.assertEqual(seq, sum(len(plan) for plan in plans))
        self.assertWhole(
            daemons[0],
            board,
            clients,
            scenes,
            plans[0] + plans[1],
            redis_history(redis, board),
        )


def draw_in_turns(
    clients: list[OutboxClient],
    plans: list[list[dict[str, Any]]],
    start: int,
    stop: int,
) -> None:
    """
    Each client submits its plan's ops C{start} to C{stop}, in turns, reading
    as it goes.
    """
    for step in range(start, stop):
        for client, plan in zip(clients, plans):
            if step < len(plan):
                client.submit(plan[step])
            client.step()


def wait_for(
    condition: Any, clients: list[OutboxClient], timeout: float = 30.0
) -> None:
    """
    Run C{clients} until C{condition()} holds.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in %gs" % (timeout,))
        for client in clients:
            client.step(0.01)


class ServerFailureTests(ResilienceAssertions, TestCase):
    """
    Redis or a daemon dies while people draw: what was acknowledged stays,
    what was drawn meanwhile is stored once it can be, and everyone ends
    with the same board.
    """

    def test_redis_killed_and_restarted_under_two_daemons(self) -> None:
        """
        Redis (append-only, fsync always) is killed with SIGKILL while two
        daemons serve a board two people draw on, and started again: the
        daemons stay up, C{/healthz} says 503 and the pages "not saving"
        meanwhile; afterwards every op acknowledged before the crash is
        stored, what was drawn during the outage is stored once, and both
        people end with the same, complete board.
        """
        redis = RedisServer(self.mktemp(), appendonly=True)
        redis.start()
        self.addCleanup(redis.cleanup)
        daemons = [
            start_daemon(self, "--redis", redis.url, "--store-timeout", "1", *UNLIMITED)
            for _ in range(2)
        ]
        board = new_board()
        scenes = [
            tagged_items("doutorado-esp32-calib.excalidraw", "a"),
            tagged_items("kodex-redis.excalidraw", "b"),
        ]
        clients = [
            OutboxClient([d.port], board, name)
            for d, name in zip(daemons, ("alice-0001", "bobby-0001"))
        ]
        plans = [drawing_ops(scene, c.client_id) for scene, c in zip(scenes, clients)]
        third = max(len(plan) for plan in plans) // 3
        for client in clients:
            client.connect()

        draw_in_turns(clients, plans, 0, third)
        settle_all(clients)
        draw_in_turns(clients, plans, third, third + 5)
        redis.kill()
        acknowledged = set().union(*(c.confirmed for c in clients))
        draw_in_turns(clients, plans, third + 5, 2 * third)
        wait_for(lambda: all(c.statuses for c in clients), clients)
        outage_health = [health(d) for d in daemons]
        held = [len(c.outbox) for c in clients]
        redis.start()
        draw_in_turns(clients, plans, 2 * third, 3 * third + 3)
        seq = settle_all(clients)

        history = redis_history(redis, board)
        self.assertEqual(outage_health, [503, 503])
        self.assertTrue(all(held), held)
        for client in clients:
            self.assertEqual(client.statuses[0]["saving"], False)
            self.assertEqual(client.statuses[-1], {"t": "status", "saving": True})
        self.assertLessEqual(acknowledged, {op["cid"] for op in history})
        self.assertLessEqual(2 * third, len(acknowledged))
        self.assertEqual(seq, sum(len(plan) for plan in plans))
        self.assertWhole(
            daemons[1], board, clients, scenes, plans[0] + plans[1], history
        )

    def test_daemon_killed_mid_drawing(self) -> None:
        """
        A daemon is killed with SIGKILL while a person draws through it: the
        page reconnects to a second daemon, resends what was not
        acknowledged, and nothing acknowledged is lost; the person on the
        second daemon sees the same board.
        """
        redis = shared_redis()
        first, second = (
            start_daemon(self, "--redis", redis.url, *UNLIMITED) for _ in range(2)
        )
        board = new_board()
        scenes = [
            tagged_items("cardinality-sketch.excalidraw", "a"),
            tagged_items("iroomt-notes.excalidraw", "b"),
        ]
        alice = OutboxClient([first.port, second.port], board, "alice-0001")
        bob = OutboxClient([second.port], board, "bobby-0001")
        clients = [alice, bob]
        plans = [drawing_ops(scene, c.client_id) for scene, c in zip(scenes, clients)]
        alice.connect(first.port)
        bob.connect(second.port)
        half = len(plans[0]) // 2

        draw_in_turns(clients, plans, 0, half)
        for op in plans[0][half : half + 5]:
            alice.submit(op)
        first.kill()
        acknowledged = set(alice.confirmed)
        unacknowledged = len(alice.outbox)
        draw_in_turns(clients, plans, half + 5, len(plans[0]))
        seq = settle_all(clients)

        history = redis_history(redis, board)
        self.assertLessEqual(acknowledged, {op["cid"] for op in history})
        self.assertEqual(alice.port, second.port)
        self.assertLessEqual(5, unacknowledged)
        self.assertEqual(seq, sum(len(plan) for plan in plans))
        self.assertWhole(second, board, clients, scenes, plans[0] + plans[1], history)


def resident_bytes(daemon: Daemon) -> int:
    """
    The daemon process's resident memory (VmRSS), in bytes.
    """
    assert daemon.process is not None
    with open("/proc/%d/status" % (daemon.process.pid,)) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for the daemon")


class SlowClientTests(TestCase):
    """
    Peers that stop reading cost the daemon a bounded amount each and are
    closed; the people drawing do not notice them.
    """

    def test_fifty_connections_that_never_read(self) -> None:
        """
        Fifty connections that never read sit on a board while a person
        draws two large real scenes: each is closed with 1008 and a reason
        once what waits for it passes the bound (64 KiB here), the person
        drawing and a watcher get every op, and the daemon's resident memory
        grows by less than 24 MB (unbounded, the fifty would hold over
        60 MB).  A newcomer on a slow link then receives the whole board,
        in many state frames, without being taken for a slow reader.
        """
        daemon = start_daemon(
            self,
            "--redis",
            shared_redis().url,
            "--max-send-buffer-bytes",
            "65536",
            "--socket-send-buffer-bytes",
            "16384",
            "--state-frame-bytes",
            "16384",
            "--ping-interval",
            "300",
            *UNLIMITED,
        )
        board = new_board()
        stuck = [
            RawWebSocket(
                daemon.port,
                "/b/%s/ws?client=stuck-%04d" % (board, n),
                receive_buffer=4096,
            )
            for n in range(50)
        ]
        drawer = OutboxClient([daemon.port], board, "alice-0001")
        watcher = OutboxClient([daemon.port], board, "watch-0001")
        for client in (drawer, watcher):
            client.connect()
        scene = tagged_items("cs307-lecture-notes.excalidraw", "a") + tagged_items(
            "doutorado-design-notes.excalidraw", "b"
        )
        plan = drawing_ops(scene, drawer.client_id)
        settle_all([drawer, watcher])
        baseline = peak = resident_bytes(daemon)

        for n, op in enumerate(plan):
            drawer.submit(op)
            drawer.step()
            watcher.step()
            if n % 200 == 0:
                peak = max(peak, resident_bytes(daemon))
        settle_all([drawer, watcher])
        peak = max(peak, resident_bytes(daemon))
        closes = [s.until_closed() for s in stuck]

        self.assertEqual({c.code for c in closes}, {1008})
        self.assertTrue(
            all("reading too slowly" in c.reason for c in closes), closes[0].reason
        )
        self.assertEqual(drawer.seq, len(plan))
        self.assertEqual(watcher.items, {item["id"]: item for item in scene})
        self.assertLess(peak - baseline, 24 * 1024 * 1024)

        newcomer = RawWebSocket(daemon.port, "/b/%s/ws" % (board,), receive_buffer=4096)
        hello = newcomer.receive()
        items: list[dict[str, Any]] = []
        frames = 0
        more = True
        while more:
            frame = newcomer.receive()
            time.sleep(0.005)
            frames += 1
            items += frame["items"]
            more = frame.get("more", False)
        self.assertGreater(frames, 20)
        self.assertEqual(hello["seq"], len(plan))
        self.assertEqual(items, list(watcher.items.values()))
        newcomer.close()


class ShutdownTests(ResilienceAssertions, TestCase):
    """
    A daemon stopped by its operator lets its clients go elsewhere without
    losing anything; a peer that vanished is found and dropped.
    """

    def test_sigterm_drains_and_clients_move_on(self) -> None:
        """
        SIGTERM in the middle of a drawing: the connection is closed with
        1001 (going away), the page reconnects to the second daemon and
        resends what was not acknowledged, and the board ends whole with
        nothing doubled.
        """
        redis = shared_redis()
        first, second = (
            start_daemon(self, "--redis", redis.url, *UNLIMITED) for _ in range(2)
        )
        board = new_board()
        scene = tagged_items("multiplayer-charges-math.excalidraw", "m")
        alice = OutboxClient([first.port, second.port], board, "alice-0001")
        plan = drawing_ops(scene, alice.client_id)
        alice.connect(first.port)
        half = len(plan) // 2
        draw_in_turns([alice], [plan], 0, half)
        settle_all([alice])

        for op in plan[half : half + 20]:
            alice.submit(op)
        assert first.process is not None
        first.process.send_signal(signal.SIGTERM)
        wait_for(lambda: bool(alice.closes), [alice])
        first.stop()
        draw_in_turns([alice], [plan], half + 20, len(plan))
        settle_all([alice])

        self.assertEqual(alice.closes[0], 1001)
        self.assertEqual(alice.port, second.port)
        self.assertWhole(
            second, board, [alice], [scene], plan, redis_history(redis, board)
        )

    def test_dead_peer_is_found_by_pings(self) -> None:
        """
        A peer that stops answering altogether (its machine gone) is found
        by the WebSocket pings and dropped; a live peer on the same board,
        which answers them, stays and draws on.
        """
        daemon = start_daemon(
            self, "--redis", shared_redis().url, "--ping-interval", "1"
        )
        board = new_board()
        dead = RawWebSocket(daemon.port, "/b/%s/ws" % (board,))
        live = daemon.connect(board, client="alive-0001").join()

        ended = dead.until_closed(timeout=20)
        live.send(
            {
                "t": "op",
                "cid": "alive-0001-1",
                "op": "add",
                "item": tagged_items("iroomt-notes.excalidraw", "x")[0],
            }
        )
        live.until_seq(1)

        self.assertIsNone(ended.code)
        self.assertIn("WebSocket ping timeout", daemon.log())
