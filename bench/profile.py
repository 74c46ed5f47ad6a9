"""
C{python -m bench.profile FILE [N]}: the functions a py-spy profile (raw,
collapsed stacks) spends its samples in, by own time and by total time.

The fan-out scenario writes such files with C{--profile}; this turns one
into the short lists C{docs/performance.md} quotes.
"""

import re
import sys
from collections import Counter

__all__ = ["main", "summarize"]

_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    for marker in ("site-packages/", "/whitebrd/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return "%s (%s)" % (match.group("name"), path)


def summarize(path: str) -> tuple[int, Counter[str], Counter[str]]:
    """
    Total samples, samples per function as the innermost frame, and per
    function anywhere on the stack.
    """
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            n = int(count)
            frames = [_short(fr) for fr in stack.split(";")]
            # Threads idling in the pool or the reactor waiting in epoll are
            # not work.
            if frames[-1].startswith(("poll ", "wait ", "_wait_for_tstate_lock", "get (queue")):
                continue
            samples += n
            own[frames[-1]] += n
            for name in set(frames):
                total[name] += n
    return samples, own, total


def main(argv: list[str]) -> None:
    path = argv[0]
    top = int(argv[1]) if len(argv) > 1 else 25
    samples, own, total = summarize(path)
    sys.stdout.write("%d busy samples\n\nown time:\n" % (samples,))
    for name, n in own.most_common(top):
        sys.stdout.write("  %5.1f %%  %s\n" % (100.0 * n / samples, name))
    sys.stdout.write("\ntotal time:\n")
    for name, n in total.most_common(top):
        sys.stdout.write("  %5.1f %%  %s\n" % (100.0 * n / samples, name))


if __name__ == "__main__":
    main(sys.argv[1:])
