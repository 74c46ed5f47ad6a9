"""
The fan-out scenarios: a fixed load on whitebrd and on the floor, side by
side, and a ramp that finds the highest load each holds.

A delivery is one op reaching one client other than its sender.  whitebrd
runs on its Redis store, so every op is checked, stored and published before
anyone sees it; the floor relays it unchecked.  Runs alternate between the
two servers so that drift on the machine touches both alike.
"""

import argparse
from typing import Any, Optional

from bench.loadgen import FanoutSpec, run_fanout
from bench.report import RESULTS, out, summarize, table, write_results
from bench.servers import Daemon, Floor, Redis, workdir

__all__ = ["fanout", "ramp"]

# The two configurations the peers were measured with.
NAMED = [
    FanoutSpec(boards=10, clients=10, drawers=2, rate=30, seconds=10),
    FanoutSpec(boards=1, clients=50, drawers=5, rate=60, seconds=10),
]

KEYS = [
    "ops_sent",
    "deliveries_expected",
    "deliveries_received",
    "loss_percent",
    "deliveries_per_second",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "cpu_us_per_delivery",
    "cpu_s_per_1000_deliveries",
    "peak_rss_mb",
    "ops_per_frame",
    "generator_cpu_percent",
]

COLUMNS = [
    ("load", "spec", 0),
    ("server", "server", 0),
    ("ops sent", "ops_sent", 0),
    ("deliveries exp.", "deliveries_expected", 0),
    ("received", "deliveries_received", 0),
    ("loss %", "loss_percent", 3),
    ("deliv./s", "deliveries_per_second", 0),
    ("p50 ms", "p50_ms", 1),
    ("p95 ms", "p95_ms", 1),
    ("p99 ms", "p99_ms", 1),
    ("max ms", "max_ms", 1),
    ("CPU µs/deliv.", "cpu_us_per_delivery", 1),
    ("peak RSS MB", "peak_rss_mb", 1),
    ("ops/frame", "ops_per_frame", 1),
    ("gen CPU %", "generator_cpu_percent", 0),
]

RATIO_COLUMNS = [
    ("load", "spec", 0),
    ("CPU/deliv. ÷ floor", "cpu_ratio", 2),
    ("p99 ÷ floor", "p99_ratio", 2),
    ("deliv./s ÷ floor", "rate_ratio", 2),
]


class Servers:
    """
    whitebrd on a private Redis, and the floor, for one scenario.
    """

    def __init__(self, daemon_args: tuple[str, ...] = ()) -> None:
        self.dir = workdir()
        self.redis = Redis()
        try:
            self.daemon = Daemon(self.dir, redis_url=self.redis.url, extra=daemon_args)
            self.floor = Floor(self.dir)
        except BaseException:
            self.redis.stop()
            raise

    def targets(self) -> list[tuple[str, int, dict[str, int], bool]]:
        """
        (name, port, pids whose CPU counts, wait for state) per server.
        """
        return [
            ("floor", self.floor.port, {"floor": self.floor.pid}, False),
            (
                "whitebrd",
                self.daemon.port,
                {"whitebrd": self.daemon.pid, "redis": self.redis.pid},
                True,
            ),
        ]

    def stop(self) -> None:
        for server in (self.daemon, self.floor):
            server.stop()
        self.redis.stop()


def _ratios(spec: str, by_server: dict[str, dict[str, Any]]) -> dict[str, Any]:
    def ratio(key: str) -> Optional[float]:
        ours = by_server["whitebrd"][key]["median"]
        floor = by_server["floor"][key]["median"]
        if ours is None or not floor:
            return None
        return float(ours) / float(floor)

    return {
        "spec": spec,
        "cpu_ratio": ratio("cpu_us_per_delivery"),
        "p99_ratio": ratio("p99_ms"),
        "rate_ratio": ratio("deliveries_per_second"),
    }


def fanout(
    specs: list[FanoutSpec],
    runs: int,
    daemon_args: tuple[str, ...],
    profile: bool = False,
) -> dict[str, Any]:
    """
    Run each of C{specs} C{runs} times on each server, alternating.
    """
    servers = Servers(daemon_args)
    rows, ratios, raw = [], [], []
    try:
        for spec in specs:
            by_server: dict[str, list[dict[str, Any]]] = {}
            for n in range(runs):
                for name, port, pids, wait_state in servers.targets():
                    tag = "f%s%d%s" % (name[0], n, _spec_tag(spec))
                    spy = None
                    if profile and name == "whitebrd":
                        path = RESULTS / ("profile-%s.txt" % (tag,))
                        RESULTS.mkdir(exist_ok=True)
                        spy = (pids["whitebrd"], str(path))
                    result = run_fanout(spec, port, tag, pids, wait_state, spy)
                    result["server"] = name
                    result["run"] = n
                    if spy is not None:
                        result["profile"] = spy[1]
                        out("  profile: %s" % (spy[1],))
                    raw.append(result)
                    by_server.setdefault(name, []).append(result)
                    out(
                        "  %s %-8s run %d: %.0f deliveries/s, loss %.3f %%, p99 %.1f ms,"
                        " %.1f µs CPU per delivery, %.1f ops per frame"
                        % (
                            spec.label(),
                            name,
                            n + 1,
                            result["deliveries_per_second"],
                            result["loss_percent"],
                            result["p99_ms"] or 0,
                            result["cpu_us_per_delivery"] or 0,
                            result["ops_per_frame"],
                        )
                    )
            summaries = {name: summarize(results, KEYS) for name, results in by_server.items()}
            for name in ("whitebrd", "floor"):
                rows.append({"spec": spec.label(), "server": name, **summaries[name]})
            ratios.append(_ratios(spec.label(), summaries))
    finally:
        servers.stop()
    out(table("Fan-out: median (min-max) of %d runs" % (runs,), COLUMNS, rows))
    out(table("Fan-out: whitebrd as a ratio to the floor (medians)", RATIO_COLUMNS, ratios))
    return {"rows": rows, "ratios": ratios, "runs": raw}


def _spec_tag(spec: FanoutSpec) -> str:
    return "b%dc%dd%dr%d" % (spec.boards, spec.clients, spec.drawers, int(spec.rate))


def _holds(result: dict[str, Any], max_loss: float, max_p99: float) -> bool:
    return (
        result["loss_percent"] < max_loss
        and result["p99_ms"] is not None
        and result["p99_ms"] < max_p99
        and result["closed"] == 0
    )


def ramp(
    base: FanoutSpec,
    rates: list[float],
    runs: int,
    daemon_args: tuple[str, ...],
    max_loss: float = 0.1,
    max_p99: float = 100.0,
) -> dict[str, Any]:
    """
    Raise the rate step by step on each server until a step loses 0.1 % or
    more of its deliveries or its p99 reaches 100 ms; the highest step
    before that is the load the server holds.  A failed step is tried once
    more before the ramp stops, since one hiccup of a shared machine is not
    the server's limit.
    """
    servers = Servers(daemon_args)
    held: dict[str, list[float]] = {"whitebrd": [], "floor": []}
    steps: list[dict[str, Any]] = []
    try:
        for n in range(runs):
            for name, port, pids, wait_state in servers.targets():
                best: Optional[dict[str, Any]] = None
                for rate in rates:
                    spec = FanoutSpec(
                        base.boards, base.clients, base.drawers, rate, base.seconds, base.procs
                    )
                    ok = False
                    for attempt in range(2):
                        tag = "r%s%d%s%d" % (name[0], n, _spec_tag(spec), attempt)
                        result = run_fanout(spec, port, tag, pids, wait_state)
                        ok = _holds(result, max_loss, max_p99)
                        steps.append({"server": name, "run": n, "attempt": attempt, "held": ok, **result})
                        out(
                            "  ramp %-8s run %d R=%g: %.0f deliveries/s, loss %.3f %%, p99 %.1f ms,"
                            " gen CPU %.0f %% -> %s"
                            % (
                                name,
                                n + 1,
                                rate,
                                result["deliveries_per_second"],
                                result["loss_percent"],
                                result["p99_ms"] or 0,
                                result["generator_cpu_percent"],
                                "held" if ok else "missed",
                            )
                        )
                        if ok:
                            break
                    if not ok:
                        break
                    best = result
                # A run in which not even the first step held holds nothing.
                held[name].append(best["deliveries_per_second"] if best else 0.0)
    finally:
        servers.stop()
    summary = {name: summarize([{"held": v} for v in values], ["held"])["held"] for name, values in held.items()}
    rows = [
        {"server": name, "held": summary[name], "spec": base.label().rsplit(" ", 1)[0]}
        for name in ("whitebrd", "floor")
    ]
    ratio = None
    if summary["whitebrd"]["median"] and summary["floor"]["median"]:
        ratio = summary["whitebrd"]["median"] / summary["floor"]["median"]
    out(
        table(
            "Ramp: highest deliveries/s held (loss < %g %%, p99 < %g ms), median (min-max) of %d"
            % (max_loss, max_p99, runs),
            [("load", "spec", 0), ("server", "server", 0), ("deliveries/s held", "held", 0)],
            rows,
        )
    )
    if ratio is not None:
        out("whitebrd ÷ floor: %.2f" % (ratio,))
    return {"rows": rows, "ratio": ratio, "steps": steps}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--boards", "-B", type=int, help="boards (B)")
    parser.add_argument("--clients", "-C", type=int, help="clients per board (C)")
    parser.add_argument("--drawers", "-D", type=int, help="drawing clients per board (D)")
    parser.add_argument("--rate", "-R", type=float, help="ops/s per drawer (R)")
    parser.add_argument("--seconds", "-T", type=float, default=10.0, help="drawing time (T)")
    parser.add_argument("--procs", type=int, default=1, help="load worker processes")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the daemon with py-spy during each run (bench/results/profile-*.txt)",
    )


def spec_from(args: argparse.Namespace) -> Optional[FanoutSpec]:
    given = [args.boards, args.clients, args.drawers, args.rate]
    if all(v is None for v in given):
        return None
    return FanoutSpec(
        boards=args.boards or 1,
        clients=args.clients or 10,
        drawers=args.drawers if args.drawers is not None else 1,
        rate=args.rate or 30,
        seconds=args.seconds,
        procs=args.procs,
    )


def main_fanout(args: argparse.Namespace) -> None:
    spec = spec_from(args)
    specs = [spec] if spec else [
        FanoutSpec(s.boards, s.clients, s.drawers, s.rate, args.seconds, args.procs) for s in NAMED
    ]
    data = fanout(specs, args.runs, tuple(args.daemon_arg), getattr(args, "profile", False))
    out("results: %s" % (write_results("fanout", data),))


def main_ramp(args: argparse.Namespace) -> None:
    base = spec_from(args) or FanoutSpec(1, 50, 5, 60, args.seconds, args.procs)
    base = FanoutSpec(base.boards, base.clients, base.drawers, base.rate, args.seconds, args.procs)
    rates = [float(r) for r in args.rates.split(",")]
    data = ramp(base, rates, args.runs, tuple(args.daemon_arg))
    out("results: %s" % (write_results("ramp", data),))
