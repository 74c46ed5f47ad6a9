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
    @ivar max_points_per_board: points of all the items visible on a board.
    @ivar max_bytes_per_board: bytes of the ops that drew the items visible
        on a board (an C{add}'s JSON, an C{extend}'s), about what the board
        costs to hold and to send.
    @ivar max_text_chars: code points in a text item.
    @ivar state_frame_bytes: the most a single C{state} frame carries.
    @ivar max_send_buffer_bytes: live frames one connection may have waiting
        for its peer to read them; past it the peer is too slow and is
        closed (1008).  The board's state, sent with flow control, does not
        count.
    @ivar socket_send_buffer_bytes: the kernel's send buffer for each
        WebSocket (C{SO_SNDBUF}, which Linux doubles for its bookkeeping);
        fixed rather than left to grow to several MiB, so that a peer that
        stops reading costs the machine a bounded amount.  It caps one
        connection's throughput near this size per round trip.
    @ivar max_pending_op_bytes: ops of one connection waiting for the store
        (while it is slow or down); past it the connection is closed (1013)
        and the client sends them again once reconnected.
    """

    max_message_bytes: int = 1024 * 1024
    max_points_per_op: int = 10_000
    max_points_per_item: int = 100_000
    max_ops_per_frame: int = 1_000
    max_ids_per_erase: int = 10_000
    max_items_per_board: int = 200_000
    max_points_per_board: int = 4_000_000
    max_bytes_per_board: int = 64 * 1024 * 1024
    max_text_chars: int = 2_000
    state_frame_bytes: int = 1024 * 1024
    max_send_buffer_bytes: int = 4 * 1024 * 1024
    socket_send_buffer_bytes: int = 256 * 1024
    max_pending_op_bytes: int = 8 * 1024 * 1024
