"""
Idle cost: what a connection that sends nothing, and a board nobody is on,
cost the daemon and Redis.

M boards are drawn first (a small sketch each), then:

1. one connection joins each board: the daemon's resident memory grows by
   M live boards and M connections;
2. N - M more connections join them: the growth over N - M is the memory
   per idle connection (the same is measured on the floor, whose
   connections carry nothing but Autobahn's own state);
3. everyone leaves: the boards leave memory.  Python keeps freed memory for
   reuse rather than handing it back, so the daemon's resident memory after
   step 3 is not the measure; instead M other boards are opened and left
   twice more, and the growth from the second to the third round is what
   an idle board keeps in the daemon (nothing, if boards leave memory).

Redis's share is its C{used_memory} growth per board drawn and per live
board (one pub/sub channel each).  Kernel socket buffers are not in any
process's resident memory and are not counted; whitebrd does not negotiate
permessage-deflate, so a connection holds no compression state.
"""

import argparse
import asyncio
import gc
import time
from typing import Any

from bench.drawing import draw
from bench.report import median_spread, out, table, write_results
from bench.servers import Daemon, Floor, Redis, rss_bytes, workdir
from bench.wsclient import WSClient, connect

__all__ = ["main"]

# Rounds of M boards opened and left, after the first M.
ROUNDS = 6


def _sketch(board: int, tag: str) -> Any:
    for s in range(10):
        pts = []
        for p in range(30):
            pts += [100 + s * 40 + p * 2.5, 100 + (p * 7) % 60 + board % 10]
        item = {"id": "k%d" % (s,), "kind": "path", "pts": pts, "color": "#1e1e1e", "width": 3}
        yield {"cid": "%s-%d" % (tag, s), "op": "add", "item": item}


async def _open(port: int, paths: list[str], wait_state: bool) -> list[WSClient]:
    clients = []
    joined: list[asyncio.Future[None]] = []
    loop = asyncio.get_running_loop()
    for path in paths:
        done = loop.create_future()

        def on_text(payload: bytes, done: "asyncio.Future[None]" = done) -> None:
            if not done.done() and b'"t":"state"' in payload[:40] and b'"more":true' not in payload[:80]:
                done.set_result(None)

        clients.append(await connect(port, path, on_text))
        if wait_state:
            joined.append(done)
    if joined:
        await asyncio.wait_for(asyncio.gather(*joined), 120)
    return clients


async def _close(clients: list[WSClient]) -> None:
    for client in clients:
        client.close()
    await asyncio.sleep(1.0)


def _settle(pid: int) -> int:
    time.sleep(1.0)
    return rss_bytes(pid)


def run(connections: int, boards: int, runs: int, daemon_args: tuple[str, ...]) -> dict[str, Any]:
    folder = workdir()
    redis = Redis()
    daemon = floor = None
    results: list[dict[str, Any]] = []
    try:
        for n in range(runs):
            # NB: each run gets a fresh daemon and floor: a process reuses
            # the memory earlier connections freed, so a second run in the
            # same one grows by nothing and measures nothing.
            for server in (daemon, floor):
                if server is not None:
                    server.stop()
            daemon = Daemon(folder, redis_url=redis.url, extra=daemon_args)
            floor = Floor(folder)
            port = daemon.port
            names = ["idle%d-%d" % (n, b) for b in range(boards)]
            spare = [["idle%d-x%d-%d" % (n, r, b) for b in range(boards)] for r in range(ROUNDS)]

            async def scenario() -> dict[str, Any]:
                found: dict[str, Any] = {}
                redis0 = redis.used_memory()
                for b, name in enumerate(names + [s for round_ in spare for s in round_]):
                    await draw(port, name, "sketcher%d" % (b,), _sketch(b, "k%d" % (b,)))
                drawn_boards = len(names) + ROUNDS * boards
                found["redis_bytes_per_stored_board"] = (redis.used_memory() - redis0) / drawn_boards
                await asyncio.sleep(1.0)

                rss0 = _settle(daemon.pid)
                redis1 = redis.used_memory()
                first = await _open(port, ["/b/%s/ws" % (name,) for name in names], True)
                rss1 = _settle(daemon.pid)
                redis2 = redis.used_memory()
                rest_paths = [
                    "/b/%s/ws" % (names[i % boards],) for i in range(connections - boards)
                ]
                rest = await _open(port, rest_paths, True)
                rss2 = _settle(daemon.pid)
                per_connection = (rss2 - rss1) / max(1, len(rest))
                found["daemon_bytes_per_connection"] = per_connection
                found["daemon_bytes_per_live_board"] = (rss1 - rss0) / boards - per_connection
                found["redis_bytes_per_live_board"] = (redis2 - redis1) / boards
                await _close(first + rest)

                # Boards nobody is on: open and leave M other boards in
                # rounds; once freed memory is reused, a round costs nothing.
                after = []
                for round_ in spare:
                    clients = await _open(port, ["/b/%s/ws" % (s,) for s in round_], True)
                    await _close(clients)
                    after.append(_settle(daemon.pid))
                found["daemon_bytes_per_idle_board"] = (after[-1] - after[1]) / (
                    boards * (ROUNDS - 2)
                )
                found["redis_bytes_after_leaving_per_board"] = (redis.used_memory() - redis1) / boards

                # The floor: the same connections, nothing else.
                f0 = _settle(floor.pid)  # type: ignore[union-attr]
                on_floor = await _open(
                    floor.port, ["/b/%s/ws" % (names[i % boards],) for i in range(connections)], False  # type: ignore[union-attr]
                )
                f1 = _settle(floor.pid)  # type: ignore[union-attr]
                found["floor_bytes_per_connection"] = (f1 - f0) / connections
                await _close(on_floor)
                return found

            result = asyncio.run(scenario())
            gc.collect()
            result["run"] = n
            results.append(result)
            out(
                "  run %d: %.1f KB per connection (floor %.1f KB), %.1f KB per live board,"
                " %.2f KB per idle board in the daemon"
                % (
                    n + 1,
                    result["daemon_bytes_per_connection"] / 1024,
                    result["floor_bytes_per_connection"] / 1024,
                    result["daemon_bytes_per_live_board"] / 1024,
                    result["daemon_bytes_per_idle_board"] / 1024,
                )
            )
    finally:
        for server in (daemon, floor):
            if server is not None:
                server.stop()
        redis.stop()

    keys = [
        "daemon_bytes_per_connection",
        "floor_bytes_per_connection",
        "daemon_bytes_per_live_board",
        "daemon_bytes_per_idle_board",
        "redis_bytes_per_live_board",
        "redis_bytes_per_stored_board",
        "redis_bytes_after_leaving_per_board",
    ]
    rows = []
    for key in keys:
        spread = median_spread(r[key] / 1024 for r in results)
        rows.append({"what": key.replace("_", " ").replace("bytes", "KB"), "value": spread})
    floor_kb = median_spread(r["floor_bytes_per_connection"] for r in results)["median"]
    ours_kb = median_spread(r["daemon_bytes_per_connection"] for r in results)["median"]
    ratio = ours_kb / floor_kb if floor_kb else None
    out(
        table(
            "Idle: %d connections over %d boards, median (min-max) of %d runs"
            % (connections, boards, runs),
            [("what", "what", 0), ("KB", "value", 2)],
            rows,
        )
    )
    if ratio is not None:
        out("daemon per connection ÷ floor per connection: %.2f" % (ratio,))
    return {
        "connections": connections,
        "boards": boards,
        "rows": rows,
        "connection_ratio": ratio,
        "runs": results,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connections", "-N", type=int, default=2000, help="idle connections (N)")
    parser.add_argument("--boards", "-M", type=int, default=100, help="boards (M)")


def main(args: argparse.Namespace) -> None:
    if args.connections < args.boards:
        raise SystemExit("--connections must be at least --boards")
    data = run(args.connections, args.boards, args.runs, tuple(args.daemon_arg))
    out("results: %s" % (write_results("idle", data),))
