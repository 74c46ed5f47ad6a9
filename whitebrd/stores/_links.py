# -*- test-case-name: tests.test_stores -*-
"""
What the stores share about links, owners and moderation records, so that
Redis, SQLite and the tests' memory store answer alike.

Nothing here does I/O.
"""

from typing import Optional, Sequence

from whitebrd.frames import BOARD_ID
from whitebrd.stores._shared import check_board

__all__ = [
    "ACCESS_CHANNEL",
    "CHECKPOINTS_KEPT",
    "VIEW_GRACE_SECONDS",
    "check_link",
    "seq_from_checkpoints",
]

# The Redis pub/sub channel that tells every daemon a board's access changed:
# "a <board>" for links or locks, "d <board>" for a deletion.
ACCESS_CHANNEL = "wb:access"

# How long a view link is still known after it expired, so that it answers
# "expired" rather than "no such link"; it is forgotten afterwards.
VIEW_GRACE_SECONDS = 7 * 86400.0

# The newest checkpoints kept per board (see IStore.touch): at one every ten
# seconds of drawing, more than two days of continuous drawing.
CHECKPOINTS_KEPT = 20_000


def check_link(link: str) -> None:
    """
    Refuse a link id outside C{BOARD_ID} before it reaches a key or a query.

    @raise ValueError: naming the id.
    """
    if not isinstance(link, str) or not BOARD_ID.fullmatch(link):
        raise ValueError("link id must match %s, got %r" % (BOARD_ID.pattern, link))


def check_link_and_board(link: str, board: str) -> None:
    """
    L{check_link} and L{check_board} at once.
    """
    check_link(link)
    check_board(board)


def seq_from_checkpoints(
    before: Optional[tuple[float, int]],
    after: Optional[tuple[float, int]],
    when: float,
    grain_seconds: float,
    current: int,
) -> int:
    """
    Where a revert of everything since C{when} starts, from the checkpoints
    around C{when}.

    A checkpoint C{(t, s)} says the board was at seq C{s} at time C{t}, just
    before an op: every op after C{s} came at C{t} or later, and every op
    between two checkpoints came less than C{grain_seconds} after the first
    of them (a drawing daemon leaves one at least that often).

    @param before: the newest checkpoint at or before C{when}, if any.
    @param after: the oldest checkpoint after C{when}, if any.
    @param current: the board's seq now.
    @return: a seq C{s}: every op after it was appended at C{when} or at
        most C{grain_seconds} before; with no checkpoint before C{when}, 0
        (the whole history).
    """
    if before is None:
        return 0
    at, seq = before
    if when - at < grain_seconds:
        return seq
    return after[1] if after is not None else current


def newest_before(
    checkpoints: Sequence[tuple[float, int]], when: float
) -> tuple[Optional[tuple[float, int]], Optional[tuple[float, int]]]:
    """
    The checkpoints around C{when} in a list sorted by time: the newest at
    or before it and the oldest after it.
    """
    before: Optional[tuple[float, int]] = None
    after: Optional[tuple[float, int]] = None
    for point in checkpoints:
        if point[0] <= when:
            before = point
        elif after is None:
            after = point
    return before, after
