"""
C{python -m bench SCENARIO [options]}: run one benchmark scenario, print its
table and write its JSON to C{bench/results/}.

Scenarios: C{fanout}, C{ramp}, C{join}, C{idle}, C{storage}; C{all} runs
them one after another.  C{python -m bench SCENARIO --help} lists a
scenario's options; C{docs/performance.md} explains the method.
"""

import argparse
import sys
from typing import Optional

from bench import fanout

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="scenario", required=True)

    def common(p: argparse.ArgumentParser, runs: int = 3) -> None:
        p.add_argument("--runs", type=int, default=runs, help="runs per figure (median)")
        p.add_argument(
            "--daemon-arg",
            action="append",
            default=[],
            help="an extra option for twistd whitebrd (repeatable), e.g. a raised limit",
        )

    p = sub.add_parser("fanout", help="B boards, C clients, D drawing R ops/s for T s")
    fanout.add_arguments(p)
    common(p)

    p = sub.add_parser("ramp", help="raise R until loss >= 0.1 %% or p99 >= 100 ms")
    fanout.add_arguments(p)
    p.add_argument(
        "--rates",
        default="60,120,180,240,300,360,420,480,600,720,900",
        help="the rates R tried, in order",
    )
    common(p, runs=3)
    p.set_defaults(seconds=5.0)

    from bench import idle, join, storage

    p = sub.add_parser("join", help="late join of 10k, 100k and 2011-shaped boards")
    join.add_arguments(p)
    common(p, runs=5)

    p = sub.add_parser("idle", help="memory per idle connection and per idle board")
    idle.add_arguments(p)
    common(p)

    p = sub.add_parser("storage", help="Redis and SQLite bytes per board from real scenes")
    storage.add_arguments(p)
    common(p, runs=1)

    p = sub.add_parser("all", help="every scenario with its defaults")
    common(p)
    return parser


def main(argv: Optional[list[str]] = None) -> None:
    """
    Parse the command line and run the scenario.
    """
    args = _parser().parse_args(argv)
    from bench import idle, join, storage

    if args.scenario == "fanout":
        fanout.main_fanout(args)
    elif args.scenario == "ramp":
        fanout.main_ramp(args)
    elif args.scenario == "join":
        join.main(args)
    elif args.scenario == "idle":
        idle.main(args)
    elif args.scenario == "storage":
        storage.main(args)
    elif args.scenario == "all":
        for name in ("fanout", "ramp", "join", "idle", "storage"):
            main([name, "--runs", str(args.runs)] + sum((["--daemon-arg", a] for a in args.daemon_arg), []))


if __name__ == "__main__":
    main(sys.argv[1:])
