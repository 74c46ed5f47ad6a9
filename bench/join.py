"""
Late join: how long a newcomer waits for a big board, and what it costs on
the wire.

Three boards are drawn through the daemon first, as clients would draw them:

    10k    10,000 ops: strokes of an add and 49 extends, one point per op
    100k   100,000 ops, the same way (the peers' "100,000-message board")
    2011   200,000 short line segments, one add each: the board that
           brought whitebrd.me down, one draw command per mouse move

Then a client joins each one and the time from connecting to holding the
whole board (every state frame received and decoded) is measured, with the
bytes and frames it received, both cold (nobody on the board, so the daemon
reads it from Redis) and warm (someone on it already, so it is in memory).
The floor serves the same board as one prepared frame, the least a server
can do.  Last, Chromium opens each board's page and the time from
navigation to the whole board on the canvas is taken from the page
(C{body.dataset.painted}).
"""

import argparse
import asyncio
import time
from typing import Any, Optional

import orjson

from bench.report import median_spread, out, table, write_results
from bench.servers import Daemon, Floor, Redis, workdir
from bench.drawing import draw
from bench.wsclient import connect

__all__ = ["main"]

BOARDS = {
    "10k": ("strokes", 10_000),
    "100k": ("strokes", 100_000),
    "2011": ("segments", 200_000),
}
STROKE_OPS = 50

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _ops(kind: str, count: int, tag: str) -> Any:
    """
    The ops that draw a board: one-point strokes or 2011's segments.
    """
    x, y = 200.0, 200.0
    for n in range(count):
        cid = "%s-%d" % (tag, n)
        x = 100 + (n * 37) % 1600 + (n % 7) * 0.25
        y = 100 + (n * 53) % 900 + (n % 5) * 0.5
        if kind == "segments":
            item = {
                "id": "g%d" % (n,),
                "kind": "line",
                "pts": [x, y, x + 3.5, y + 1.25],
                "color": "#1e1e1e",
                "width": 2,
            }
            yield {"cid": cid, "op": "add", "item": item}
        elif n % STROKE_OPS == 0:
            item = {
                "id": "s%d" % (n // STROKE_OPS,),
                "kind": "path",
                "pts": [x, y],
                "color": "#1971c2",
                "width": 3,
            }
            yield {"cid": cid, "op": "add", "item": item}
        else:
            yield {"cid": cid, "op": "extend", "id": "s%d" % (n // STROKE_OPS,), "pts": [x, y]}


async def _fill(port: int, board: str, kind: str, count: int) -> tuple[float, int]:
    """
    Draw a board through the daemon.

    @return: the seconds it took, and how many ops had to be sent again.
    """
    me = "filler-%s" % (board[-6:].replace("-", "x"),)
    started = time.monotonic()
    drawn = await draw(port, board, me, _ops(kind, count, me))
    return time.monotonic() - started, drawn["sent_again"]


class _Reader:
    """
    Reads a join: C{hello}, then state frames, until the board is held.
    """

    def __init__(self) -> None:
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.hello_seq: Optional[int] = None
        self.items: list[Any] = []
        self.seq = -1
        self.fresh = True

    def on_text(self, payload: bytes) -> None:
        frame = orjson.loads(payload)
        kind = frame.get("t")
        if kind == "hello":
            self.hello_seq = frame["seq"]
        elif kind == "state":
            if self.fresh:
                self.items = []
                self.fresh = False
            self.items.extend(frame["items"])
            if not frame.get("more"):
                self.fresh = True
                self.seq = frame["seq"]
        if (
            self.hello_seq is not None
            and self.seq >= self.hello_seq
            and not self.done.done()
        ):
            self.done.set_result(None)


async def _join(port: int, board: str) -> dict[str, Any]:
    reader = _Reader()
    started = time.perf_counter()
    client = await connect(port, "/b/%s/ws" % (board,), reader.on_text)
    await asyncio.wait_for(reader.done, 120)
    seconds = time.perf_counter() - started
    result = {
        "ms": 1000.0 * seconds,
        "bytes": client.bytes_received,
        "frames": client.frames,
        "items": len(reader.items),
        "seq": reader.seq,
    }
    client.close()
    result["_items"] = reader.items
    return result


async def _measure(
    port: int, boards: dict[str, str], runs: int, floors: dict[str, int]
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, board in boards.items():
        cold, warm, floor = [], [], []
        for _ in range(runs):
            cold.append(await _join(port, board))
            # The board leaves memory when its last connection closes.
            await asyncio.sleep(0.5)
        holder = await _join_and_stay(port, board)
        for _ in range(runs):
            warm.append(await _join(port, board))
            await asyncio.sleep(0.1)
        holder.close()
        if name in floors:
            for _ in range(runs):
                floor.append(await _join(floors[name], board))
                await asyncio.sleep(0.1)
        items = cold[0].pop("_items")
        for r in cold + warm + floor:
            r.pop("_items", None)
        found[name] = {"cold": cold, "warm": warm, "floor": floor, "items": items}
    return found


async def _join_and_stay(port: int, board: str) -> Any:
    reader = _Reader()
    client = await connect(port, "/b/%s/ws" % (board,), reader.on_text)
    await asyncio.wait_for(reader.done, 120)
    return client


def _browser(base: str, boards: dict[str, str], seqs: dict[str, int], runs: int) -> dict[str, Any]:
    """
    Open each board's page in Chromium and time it to the painted board.
    """
    from playwright.sync_api import sync_playwright

    found: dict[str, Any] = {}
    predicate = """(seq) => {
        if (document.body.dataset.painted === String(seq)) {
            window.__paintedAt = window.__paintedAt || performance.now();
            return true;
        }
        return false;
    }"""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name, board in boards.items():
                times = []
                for _ in range(runs):
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    page = context.new_page()
                    page.goto("%s/b/%s" % (base, board))
                    page.wait_for_function(
                        predicate, arg=seqs[name], polling="raf", timeout=180_000
                    )
                    painted = page.evaluate("window.__paintedAt")
                    times.append({"ms": painted})
                    context.close()
                    time.sleep(0.5)
                found[name] = times
        finally:
            browser.close()
    return found


def run(sizes: list[str], runs: int, browser: bool, daemon_args: tuple[str, ...]) -> dict[str, Any]:
    """
    Fill the boards, then time joins on whitebrd, the floor and Chromium.
    """
    folder = workdir()
    redis = Redis()
    daemon: Optional[Daemon] = None
    floors: list[Floor] = []
    try:
        daemon = Daemon(
            folder,
            redis_url=redis.url,
            extra=("--max-items-per-board", "250000") + daemon_args,
        )
        stamp = time.strftime("%H%M%S")
        boards = {name: "join-%s-%s" % (name, stamp) for name in sizes}

        async def fill_all() -> dict[str, tuple[float, int]]:
            times = await asyncio.gather(
                *(_fill(daemon.port, boards[n], *BOARDS[n]) for n in sizes)  # type: ignore[union-attr]
            )
            return dict(zip(sizes, times))

        out("filling %s ..." % (", ".join(sizes),))
        filled = asyncio.run(fill_all())
        for name, (seconds, again) in filled.items():
            out(
                "  %s: %d ops in %.1f s (%d sent again after storage_unavailable)"
                % (name, BOARDS[name][1], seconds, again)
            )
        # Let the last compactions finish, as a board left alone would.
        time.sleep(3)

        # The floor serves each board as one frame holding the same items.
        probe = asyncio.run(_measure(daemon.port, boards, 1, {}))
        floor_ports = {}
        for name in sizes:
            items = probe[name]["items"]
            state = folder / ("state-%s.json" % (name,))
            seq = probe[name]["cold"][0]["seq"]
            state.write_bytes(orjson.dumps({"t": "state", "seq": seq, "items": items}))
            floor = Floor(folder, state=state)
            floors.append(floor)
            floor_ports[name] = floor.port

        measured = asyncio.run(_measure(daemon.port, boards, runs, floor_ports))
        seqs = {name: measured[name]["cold"][0]["seq"] for name in sizes}
        painted = _browser(daemon.url, boards, seqs, max(1, min(runs, 3))) if browser else {}
        redis_bytes = {
            name: _redis_board_bytes(redis, boards[name]) for name in sizes
        }
    finally:
        for floor in floors:
            floor.stop()
        if daemon is not None:
            daemon.stop()
        redis.stop()

    rows = []
    for name in sizes:
        m = measured[name]
        compact = len(orjson.dumps(m["items"]))
        row = {
            "board": name,
            "ops": BOARDS[name][1],
            "items": len(m["items"]),
            "compact_json_bytes": compact,
            "fill_seconds": filled[name][0],
            "fill_sent_again": filled[name][1],
            "redis_live_bytes": redis_bytes[name],
            "cold_ms": median_spread(r["ms"] for r in m["cold"]),
            "warm_ms": median_spread(r["ms"] for r in m["warm"]),
            "floor_ms": median_spread(r["ms"] for r in m["floor"]),
            "bytes": m["cold"][0]["bytes"],
            "frames": m["cold"][0]["frames"],
            "bytes_ratio": m["cold"][0]["bytes"] / compact,
            "chromium_ms": median_spread(r["ms"] for r in painted.get(name, [])),
            "runs": {"cold": m["cold"], "warm": m["warm"], "floor": m["floor"], "chromium": painted.get(name, [])},
        }
        cold, warm, fl = row["cold_ms"]["median"], row["warm_ms"]["median"], row["floor_ms"]["median"]
        row["cold_ratio"] = cold / fl if fl else None
        row["warm_ratio"] = warm / fl if fl else None
        rows.append(row)
    out(
        table(
            "Late join: median (min-max) of %d joins" % (runs,),
            [
                ("board", "board", 0),
                ("ops", "ops", 0),
                ("items", "items", 0),
                ("compact JSON B", "compact_json_bytes", 0),
                ("bytes recv.", "bytes", 0),
                ("bytes ÷ JSON", "bytes_ratio", 3),
                ("frames", "frames", 0),
                ("cold ms", "cold_ms", 1),
                ("warm ms", "warm_ms", 1),
                ("floor ms", "floor_ms", 1),
                ("cold ÷ floor", "cold_ratio", 2),
                ("warm ÷ floor", "warm_ratio", 2),
                ("Chromium painted ms", "chromium_ms", 0),
            ],
            rows,
        )
    )
    return {"rows": rows}


def _redis_board_bytes(redis: Redis, board: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for key in redis.command("KEYS", "wb:{%s}:*" % (board,)):
        name = key.decode().rsplit("}:", 1)[1]
        found[name.split(":")[0]] = found.get(name.split(":")[0], 0) + int(
            redis.command("MEMORY", "USAGE", key, "SAMPLES", "0") or 0
        )
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--boards",
        default="10k,100k,2011",
        help="which boards: 10k, 100k, 2011 (comma-separated)",
    )
    parser.add_argument("--no-browser", action="store_true", help="skip Chromium")


def main(args: argparse.Namespace) -> None:
    sizes = [s for s in args.boards.split(",") if s]
    for s in sizes:
        if s not in BOARDS:
            raise SystemExit("unknown board %r; choose from %s" % (s, ", ".join(BOARDS)))
    data = run(sizes, args.runs, not args.no_browser, tuple(args.daemon_arg))
    out("results: %s" % (write_results("join", data),))
