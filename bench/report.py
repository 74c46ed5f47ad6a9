"""
Figures out of runs: percentiles, medians with their spread, tables on
stdout and JSON in C{bench/results/}.

A figure measured several times is reported as the median of the runs with
the lowest and highest run beside it, so one noisy run on a shared machine
neither hides nor makes a result.
"""

import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

__all__ = [
    "machine",
    "median_spread",
    "percentile",
    "summarize",
    "table",
    "write_results",
]

RESULTS = Path(__file__).resolve().parent / "results"

# The machine's load average when the scenario started: on a shared machine,
# what else was running tells how far to trust the absolute figures.
LOAD_AT_START = __import__("os").getloadavg()


def percentile(sorted_values: Sequence[float], fraction: float) -> Optional[float]:
    """
    The value below which C{fraction} of C{sorted_values} lie (nearest
    rank); C{None} for no values.
    """
    if not sorted_values:
        return None
    rank = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values))) - 1))
    return sorted_values[rank]


def median_spread(values: Iterable[Optional[float]]) -> dict[str, Optional[float]]:
    """
    The median, lowest and highest of C{values}, ignoring C{None}s.
    """
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "min": None, "max": None, "runs": 0}
    return {
        "median": statistics.median(present),
        "min": min(present),
        "max": max(present),
        "runs": len(present),
    }


def summarize(runs: list[dict[str, Any]], keys: Iterable[str]) -> dict[str, Any]:
    """
    Median and spread of each of C{keys} over C{runs}.
    """
    return {key: median_spread(run.get(key) for run in runs) for key in keys}


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        median = value.get("median")
        if median is None:
            return "-"
        if value.get("runs", 1) > 1 and value["min"] != value["max"]:
            return "%s (%s-%s)" % (
                _number(median, digits),
                _number(value["min"], digits),
                _number(value["max"], digits),
            )
        return _number(median, digits)
    if isinstance(value, float):
        return _number(value, digits)
    return str(value)


def _number(value: float, digits: int) -> str:
    if isinstance(value, int) or (abs(value) >= 1000 and digits <= 1):
        return "{:,.0f}".format(value)
    return "{:,.{d}f}".format(value, d=digits)


def table(
    title: str,
    columns: list[tuple[str, str, int]],
    rows: list[dict[str, Any]],
) -> str:
    """
    A Markdown table: each column is C{(heading, key, digits)}; a cell that
    holds a L{median_spread} shows C{median (min-max)}.
    """
    cells = [[heading for heading, _, _ in columns]]
    for row in rows:
        cells.append([_cell(row.get(key), digits) for _, key, digits in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["", "### " + title, ""]
    for n, r in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines) + "\n"


def out(text: str) -> None:
    """
    Show C{text} to the person running the benchmark, at once.
    """
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def machine() -> dict[str, Any]:
    """
    What the figures were measured on.
    """
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import os

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": LOAD_AT_START,
        "load_average_at_end": os.getloadavg(),
    }


def write_results(scenario: str, data: dict[str, Any]) -> Path:
    """
    Write C{data} as C{bench/results/<scenario>-<time>.json}.
    """
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / ("%s-%s.json" % (scenario, stamp))
    payload = {"scenario": scenario, "at": stamp, "machine": machine(), **data}
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return path
