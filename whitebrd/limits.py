# -*- test-case-name: tests.test_frames -*-
"""
The bounds a board and a connection are held to.

Every limit is a daemon option (see L{whitebrd.tap.Options}); the defaults
are far above what a person drawing will meet, so only abuse and runaway
clients hit them.  Tests and benchmarks, whose clients all share one address,
set them explicitly.
"""

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    """
    The size bounds of frames, ops and boards.

    @ivar max_message_bytes: the largest WebSocket message the daemon reads,
        after any decompression; a larger one closes the connection (1009).
    @ivar max_points_per_op: points in one C{add} or C{extend}.
    @ivar max_points_per_item: points a path may grow to through C{extend}s.
    @ivar max_ops_per_frame: ops in one C{{"t": "ops"}} frame.
    @ivar max_ids_per_erase: item ids in one C{erase}.
    @ivar max_items_per_board: items visible on a board at once.
    @ivar max_text_chars: code points in a text item.
    @ivar state_frame_bytes: the most a single C{state} frame carries.
    """

    max_message_bytes: int = 1024 * 1024
    max_points_per_op: int = 10_000
    max_points_per_item: int = 100_000
    max_ops_per_frame: int = 1_000
    max_ids_per_erase: int = 10_000
    max_items_per_board: int = 200_000
    max_text_chars: int = 2_000
    state_frame_bytes: int = 1024 * 1024
