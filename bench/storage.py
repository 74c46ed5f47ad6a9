"""
Storage per board: what Redis and SQLite hold for a board drawn from a real
scene, after drawing, erasing and clearing, against the size of the board's
items as compact JSON.

Each scene of the corpus (C{WHITEBRD_SCENES}, the Excalidraw drawings) is
drawn on a board of its own as a browser streams it (a path as an C{add}
and C{extend}s of eight points), then taken through four phases, measured
after each:

    drawn     every item drawn
    erased    every other item erased, ten ids an erase
    cleared   the board cleared
    redrawn   every item drawn again

Redis: the sum of C{MEMORY USAGE} of the board's keys, the history archive
(C{:archive}) reported aside.  SQLite: a fresh file per scene, so the file
is the board; the bytes its pages use (C{dbstat}, less free space in pages)
outside the archive table, and the file's size.
"""

import argparse
import asyncio
import itertools
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import orjson

from bench.drawing import draw
from bench.report import out, table, write_results
from bench.servers import Daemon, Redis, workdir
from tests.support import SCENES, excalidraw_items, stroke_ops

__all__ = ["main"]

PHASES = ["drawn", "erased", "cleared", "redrawn"]


def _phase_ops(phase: str, items: list[dict[str, Any]], tag: str) -> Iterator[dict[str, Any]]:
    counter = itertools.count()
    if phase in ("drawn", "redrawn"):
        for item in items:
            yield from stroke_ops(item, "%s-%s" % (tag, phase), counter)
    elif phase == "erased":
        ids = [item["id"] for item in items[::2]]
        for n in range(0, len(ids), 10):
            yield {"cid": "%s-e-%d" % (tag, n), "op": "erase", "ids": ids[n : n + 10]}
    elif phase == "cleared":
        yield {"cid": "%s-c" % (tag,), "op": "clear"}


def _redis_bytes(redis: Redis, board: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for key in redis.command("KEYS", "wb:{%s}:*" % (board,)):
        name = key.decode().rsplit("}:", 1)[1].split(":")[0]
        size = int(redis.command("MEMORY", "USAGE", key, "SAMPLES", "0") or 0)
        found[name] = found.get(name, 0) + size
    return found


def _sqlite_bytes(path: Path) -> dict[str, int]:
    connection = sqlite3.connect("file:%s?mode=ro" % (path,), uri=True)
    try:
        rows = connection.execute(
            "SELECT name, sum(pgsize - unused) FROM dbstat GROUP BY name"
        ).fetchall()
    finally:
        connection.close()
    found = {name: int(size) for name, size in rows}
    files = [path, Path(str(path) + "-wal")]
    found["_file"] = sum(p.stat().st_size for p in files if p.exists())
    return found


def _compact_json(daemon: Daemon, board: str) -> int:
    items = daemon.get_json("/b/%s.json" % (board,))["items"]
    return len(orjson.dumps(items)) if items else 0


def run(scenes: list[str], daemon_args: tuple[str, ...]) -> dict[str, Any]:
    folder = workdir()
    redis = Redis()
    daemon: Optional[Daemon] = None
    rows: list[dict[str, Any]] = []
    try:
        daemon = Daemon(folder, redis_url=redis.url, extra=daemon_args)
        for scene in scenes:
            items = list(excalidraw_items(scene))
            tag = "st%s" % (time.strftime("%H%M%S"),)
            board = "store-%s-%s" % (Path(scene).stem[:30], tag)
            sqlite_path = folder / ("%s.sqlite3" % (board,))
            lite = Daemon(folder, data=sqlite_path, extra=daemon_args)
            try:
                for phase in PHASES:
                    ops = list(_phase_ops(phase, items, tag))
                    for port in (daemon.port, lite.port):
                        asyncio.run(draw(port, board, "drawer-%s" % (tag,), ops))
                    # Let a compaction the phase started finish.
                    time.sleep(1.0)
                    compact = _compact_json(daemon, board)
                    in_redis = _redis_bytes(redis, board)
                    in_sqlite = _sqlite_bytes(sqlite_path)
                    live = sum(v for k, v in in_redis.items() if k != "archive")
                    sqlite_live = sum(
                        v for k, v in in_sqlite.items() if not k.startswith("_") and k != "archive"
                    )
                    row = {
                        "scene": Path(scene).stem,
                        "phase": phase,
                        "ops": len(ops),
                        "items": len(daemon.get_json("/b/%s.json" % (board,))["items"]),
                        "compact_json_bytes": compact,
                        "redis_live_bytes": live,
                        "redis_archive_bytes": in_redis.get("archive", 0),
                        "redis_by_key": in_redis,
                        "redis_ratio": live / compact if compact else None,
                        "sqlite_live_bytes": sqlite_live,
                        "sqlite_file_bytes": in_sqlite["_file"],
                        "sqlite_by_table": in_sqlite,
                        "sqlite_ratio": sqlite_live / compact if compact else None,
                    }
                    rows.append(row)
                    out(
                        "  %-38s %-8s items %5d  JSON %8d B  Redis %8d B (%s)  SQLite %8d B (%s)"
                        % (
                            row["scene"],
                            phase,
                            row["items"],
                            compact,
                            live,
                            "%.2fx" % row["redis_ratio"] if compact else "-",
                            sqlite_live,
                            "%.2fx" % row["sqlite_ratio"] if compact else "-",
                        )
                    )
            finally:
                lite.stop()
    finally:
        if daemon is not None:
            daemon.stop()
        redis.stop()

    out(
        table(
            "Storage per board (live Redis footprint without the archive; SQLite page bytes without the archive)",
            [
                ("scene", "scene", 0),
                ("phase", "phase", 0),
                ("items", "items", 0),
                ("compact JSON B", "compact_json_bytes", 0),
                ("Redis B", "redis_live_bytes", 0),
                ("Redis ÷ JSON", "redis_ratio", 2),
                ("archive B", "redis_archive_bytes", 0),
                ("SQLite B", "sqlite_live_bytes", 0),
                ("SQLite ÷ JSON", "sqlite_ratio", 2),
                ("SQLite file B", "sqlite_file_bytes", 0),
            ],
            rows,
        )
    )
    return {"rows": rows}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenes",
        help="comma-separated scene files (default: every .excalidraw in the corpus)",
    )


def main(args: argparse.Namespace) -> None:
    if args.scenes:
        scenes = [s for s in args.scenes.split(",") if s]
    else:
        scenes = sorted(p.name for p in SCENES.glob("*.excalidraw"))
    if not scenes:
        raise SystemExit("no scenes found in %s; set WHITEBRD_SCENES" % (SCENES,))
    data = run(scenes, tuple(args.daemon_arg))
    out("results: %s" % (write_results("storage", data),))
