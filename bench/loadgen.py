"""
The fan-out load: clients on boards, some of them drawing, every one timing
every op it receives from the others.

A drawing client streams strokes as a person's browser does: an C{add} with
the stroke's first point, then one C{extend} per point, each op its own
frame, at a steady rate.  An op carries one point, as a message does in the
peers' benchmarks.  Its C{cid} carries the moment it was sent (in
microseconds of C{CLOCK_MONOTONIC}, which all processes of the machine
share), so a receiver times a delivery from the op alone.

The clients of one run are spread over a few worker processes; each worker
runs one event loop (uvloop when installed) and returns its counts and
latencies to the coordinator, which reads the servers' CPU from C{/proc}
around the measured window.
"""

import array
import asyncio
import multiprocessing
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import orjson

from bench.wsclient import WSClient, connect

__all__ = ["FanoutSpec", "run_fanout"]

# Ops in one stroke: an add and this many minus one extends.
STROKE_OPS = 40

# After the drawing stops, a worker waits until no op has arrived for this
# long (or DRAIN_MAX_SECONDS have passed) before it counts.
DRAIN_QUIET_SECONDS = 0.5
DRAIN_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class FanoutSpec:
    """
    One fan-out load.

    @ivar boards: B, boards drawn on at once.
    @ivar clients: C, clients on each board.
    @ivar drawers: D, clients of each board that draw.
    @ivar rate: R, ops per second each drawer sends.
    @ivar seconds: T, how long they draw.
    @ivar procs: worker processes the clients are spread over.
    """

    boards: int
    clients: int
    drawers: int
    rate: float
    seconds: float
    procs: int = 1

    def label(self) -> str:
        return "B=%d C=%d D=%d R=%g" % (self.boards, self.clients, self.drawers, self.rate)


@dataclass
class _Member:
    board: int
    index: int
    drawer: bool
    tag: str
    client: Optional[WSClient] = None
    joined: bool = False
    counter: int = 0
    strokes: int = 0
    item: str = ""
    sent: int = 0


@dataclass
class _Counts:
    received: int = 0
    acks: int = 0
    errors: int = 0
    last_op: float = 0.0
    latencies: array.array = field(default_factory=lambda: array.array("d"))  # type: ignore[type-arg]


def _handler(member: _Member, counts: _Counts, joined: "asyncio.Event") -> Any:
    own = member.tag + "."
    latencies = counts.latencies
    loads = orjson.loads
    clock = time.monotonic_ns

    def on_text(payload: bytes) -> None:
        frame = loads(payload)
        kind = frame.get("t")
        if kind == "ops":
            ops = frame["ops"]
        elif kind == "op":
            ops = (frame,)
        else:
            if kind == "state" and not frame.get("more"):
                member.joined = True
                joined.set()
            elif kind == "error":
                counts.errors += 1
            return
        now = clock() // 1000
        counts.last_op = time.monotonic()
        for op in ops:
            cid = op["cid"]
            if cid.startswith(own):
                counts.acks += 1
                continue
            counts.received += 1
            latencies.append((now - int(cid[cid.rindex(".") + 1 :])) / 1000.0)

    return on_text


def _op(member: _Member) -> bytes:
    member.counter += 1
    n = member.counter
    cid = "%s.%d.%d" % (member.tag, n, time.monotonic_ns() // 1000)
    x = 100 + (n * 7) % 900 + 0.5
    y = 100 + (n * 13) % 700 + 0.25
    if (n - 1) % STROKE_OPS == 0:
        member.strokes += 1
        member.item = "%ss%d" % (member.tag, member.strokes)
        text = (
            '{"t":"op","cid":"%s","op":"add","item":{"id":"%s","kind":"path",'
            '"pts":[%s,%s],"color":"#1e1e1e","width":4}}' % (cid, member.item, x, y)
        )
    else:
        text = '{"t":"op","cid":"%s","op":"extend","id":"%s","pts":[%s,%s]}' % (
            cid,
            member.item,
            x,
            y,
        )
    return text.encode()


async def _join_all(
    members: list[_Member], port: int, run: str, wait_state: bool, counts: _Counts
) -> None:
    pending = []
    for member in members:
        event = asyncio.Event()
        client_id = (member.tag + "-client")[-40:]
        path = "/b/%s-b%d/ws?client=%s" % (run, member.board, client_id)
        member.client = await connect(port, path, _handler(member, counts, event))
        pending.append(event)
    if wait_state:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in pending)), 60)


async def _draw(
    members: list[_Member], spec: FanoutSpec, start: float, counts: _Counts
) -> dict[str, Any]:
    drawers = [m for m in members if m.drawer]
    interval = 1.0 / spec.rate
    stop = start + spec.seconds
    due = {id(m): start + (i / max(1, len(drawers))) * interval for i, m in enumerate(drawers)}
    lag = 0.0
    lags = array.array("d")
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    while drawers:
        now = time.monotonic()
        if now >= stop:
            break
        soonest = stop
        for member in drawers:
            when = due[id(member)]
            while when <= now and when < stop:
                lag = max(lag, now - when)
                lags.append(now - when)
                member.client.send_text(_op(member))  # type: ignore[union-attr]
                member.sent += 1
                when += interval
            due[id(member)] = when
            soonest = min(soonest, when)
        await asyncio.sleep(max(0.0, soonest - time.monotonic()))
    if not drawers:
        await asyncio.sleep(max(0.0, stop - time.monotonic()))

    # Drain: until nothing has come for a while.
    deadline = time.monotonic() + DRAIN_MAX_SECONDS
    while time.monotonic() < deadline:
        last = max(counts.last_op, stop)
        if time.monotonic() - last > DRAIN_QUIET_SECONDS:
            break
        await asyncio.sleep(0.05)
    ordered = sorted(lags)
    return {"lag_max": lag, "lag_p99": ordered[int(0.99 * len(ordered))] if ordered else 0.0}


def _worker(
    members: list[_Member], spec: FanoutSpec, port: int, run: str, wait_state: bool, pipe: Any
) -> None:
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    counts = _Counts()
    try:
        loop.run_until_complete(_join_all(members, port, run, wait_state, counts))
    except BaseException as e:
        pipe.send({"error": "join failed: %r" % (e,)})
        return
    pipe.send({"ready": True})
    start = pipe.recv()
    cpu0 = sum(os.times()[:2])
    extra = loop.run_until_complete(_draw(members, spec, start, counts))
    cpu = sum(os.times()[:2]) - cpu0
    sent: dict[int, int] = {}
    for member in members:
        sent[member.board] = sent.get(member.board, 0) + member.sent
    closed = sum(1 for m in members if m.client is not None and m.client.closed.done())
    result = {
        "sent": sent,
        "received": counts.received,
        "acks": counts.acks,
        "errors": counts.errors,
        "closed": closed,
        "latencies": counts.latencies.tobytes(),
        "bytes": sum(m.client.bytes_received for m in members if m.client),
        "frames": sum(m.client.frames for m in members if m.client),
        "cpu": cpu,
        **extra,
    }
    for member in members:
        if member.client is not None:
            member.client.close()
    loop.run_until_complete(asyncio.sleep(0.05))
    pipe.send(result)


def _py_spy() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return beside if os.path.exists(beside) else "py-spy"


def run_fanout(
    spec: FanoutSpec,
    port: int,
    run: str,
    server_pids: dict[str, int],
    wait_state: bool = True,
    profile: Optional[tuple[int, str]] = None,
) -> dict[str, Any]:
    """
    Put C{spec}'s load on the server on C{port} and measure it.

    @param run: a prefix for this run's board ids, so runs never share one.
    @param server_pids: the processes whose CPU and memory count as the
        server's (the daemon and its Redis, or the floor).
    @param wait_state: wait for each client's C{state} frame before drawing
        (whitebrd); the floor sends none.
    @param profile: a pid and a file: sample that process with py-spy
        during the drawing and write its stacks there (collapsed format).
    @return: the run's figures (see the scenario's table).
    """
    from bench.report import percentile
    from bench.servers import Sampler, cpu_seconds

    members = []
    for b in range(spec.boards):
        for c in range(spec.clients):
            members.append(
                _Member(b, c, c < spec.drawers, "%sb%dc%d" % (run.replace("-", ""), b, c))
            )
    procs = max(1, min(spec.procs, len(members)))
    shares: list[list[_Member]] = [[] for _ in range(procs)]
    for n, member in enumerate(members):
        shares[n % procs].append(member)

    context = multiprocessing.get_context("fork")
    pipes, workers = [], []
    for share in shares:
        mine, theirs = context.Pipe()
        worker = context.Process(
            target=_worker, args=(share, spec, port, run, wait_state, theirs), daemon=True
        )
        worker.start()
        pipes.append(mine)
        workers.append(worker)
    try:
        for pipe in pipes:
            if not pipe.poll(120):
                raise RuntimeError("a load worker did not connect its clients in 120 s")
            answer = pipe.recv()
            if "error" in answer:
                raise RuntimeError(answer["error"])

        spy = None
        if profile is not None:
            spy = subprocess.Popen(
                [_py_spy(), "record", "--nonblocking", "--rate", "250", "--format", "raw",
                 "--duration", str(int(spec.seconds)), "--pid", str(profile[0]),
                 "--output", profile[1]],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
        cpu_before = {name: cpu_seconds(pid) for name, pid in server_pids.items()}
        start = time.monotonic() + 0.2
        with Sampler(server_pids) as sampler:
            for pipe in pipes:
                pipe.send(start)
            results = []
            for pipe in pipes:
                if not pipe.poll(spec.seconds + DRAIN_MAX_SECONDS + 60):
                    raise RuntimeError("a load worker did not finish")
                results.append(pipe.recv())
        cpu_after = {name: cpu_seconds(pid) for name, pid in server_pids.items()}
        if spy is not None:
            spy.wait(60)
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()

    sent_by_board: dict[int, int] = {}
    latencies = array.array("d")
    for result in results:
        for board, count in result["sent"].items():
            sent_by_board[board] = sent_by_board.get(board, 0) + count
        latencies.frombytes(result["latencies"])
    sent = sum(sent_by_board.values())
    expected = sent * (spec.clients - 1)
    received = sum(r["received"] for r in results)
    ordered = sorted(latencies)
    cpu = {name: cpu_after[name] - cpu_before[name] for name in server_pids}
    server_cpu = sum(cpu.values())
    return {
        "spec": spec.label(),
        "seconds": spec.seconds,
        "ops_sent": sent,
        "ops_per_second": sent / spec.seconds,
        "acks": sum(r["acks"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "closed": sum(r["closed"] for r in results),
        "deliveries_expected": expected,
        "deliveries_received": received,
        "loss_percent": 100.0 * (expected - received) / expected if expected else 0.0,
        "deliveries_per_second": received / spec.seconds,
        "p50_ms": percentile(ordered, 0.50),
        "p95_ms": percentile(ordered, 0.95),
        "p99_ms": percentile(ordered, 0.99),
        "max_ms": ordered[-1] if ordered else None,
        "server_cpu_seconds": server_cpu,
        "cpu_by_process": cpu,
        "cpu_us_per_delivery": 1e6 * server_cpu / received if received else None,
        "cpu_s_per_1000_deliveries": 1e3 * server_cpu / received if received else None,
        "peak_rss_mb": sum(sampler.peak.values()) / 1e6,
        "peak_rss_by_process_mb": {k: v / 1e6 for k, v in sampler.peak.items()},
        "frames_received": sum(r["frames"] for r in results),
        "bytes_received": sum(r["bytes"] for r in results),
        "ops_per_frame": received / max(1, sum(r["frames"] for r in results)),
        "generator_cpu_percent": 100.0 * sum(r["cpu"] for r in results) / spec.seconds,
        "generator_lag_ms": 1000.0 * max(r["lag_max"] for r in results),
        "generator_lag_p99_ms": 1000.0 * max(r["lag_p99"] for r in results),
    }
