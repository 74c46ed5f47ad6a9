"""
Tests for L{whitebrd.sending}: a peer that reads slowly gets everything in
order, one that stops reading is given up once it passes the bound, and a
newcomer's state never counts against it.
"""

from typing import Any, Iterator

from twisted.trial.unittest import SynchronousTestCase

from whitebrd.sending import SendQueue


class _Peer:
    """
    What the transport took, and the queue's overflows.
    """

    def __init__(self) -> None:
        self.written: list[Any] = []
        self.overflows: list[int] = []


def queue(limit: int = 100) -> tuple[SendQueue, _Peer]:
    peer = _Peer()
    return SendQueue(peer.written.append, limit, peer.overflows.append), peer


class SendQueueTests(SynchronousTestCase):
    """
    Frames go out at once while the transport takes them, wait in order
    while it does not, and a bound limits what live traffic may wait.
    """

    def test_frames_go_out_at_once_when_not_paused(self) -> None:
        """
        With nothing waiting and the transport taking data, a frame is
        written at once.
        """
        q, peer = queue()

        q.push(b"a", 1)

        self.assertEqual(peer.written, [b"a"])
        self.assertEqual(len(q), 0)

    def test_paused_transport_keeps_order(self) -> None:
        """
        While the transport is paused frames wait, and go out in order when
        it resumes.
        """
        q, peer = queue()
        q.pauseProducing()

        q.push(b"a", 1)
        q.push(b"b", 1)
        waiting = list(peer.written)
        q.resumeProducing()

        self.assertEqual(waiting, [])
        self.assertEqual(peer.written, [b"a", b"b"])
        self.assertEqual(q.held_bytes, 0)

    def test_overflow_past_the_bound(self) -> None:
        """
        Live frames waiting past the bound give the peer up: the overflow is
        reported once with what was held, and the queue drops everything.
        """
        q, peer = queue(limit=10)
        q.pauseProducing()

        for n in range(6):
            q.push(b"xx", 2)
        q.push(b"xx", 2)
        q.resumeProducing()

        self.assertEqual(peer.overflows, [12])
        self.assertEqual(peer.written, [])
        self.assertEqual(len(q), 0)

    def test_state_stream_does_not_count_and_is_produced_lazily(self) -> None:
        """
        A state stream many times the bound passes through a peer that reads
        slowly without an overflow; its frames are made only as the
        transport takes them, and live frames sent meanwhile follow it.
        """
        q, peer = queue(limit=10)
        made: list[int] = []

        def frames() -> Iterator[tuple[bytes, int, bool]]:
            for n in range(100):
                made.append(n)
                yield (b"s%d" % (n,), 1000, False)

        q.pauseProducing()
        q.push_stream(frames())
        q.push(b"live", 4)
        made_while_paused = list(made)
        while len(q):
            q.resumeProducing()
            # The transport takes one frame, then its buffer is full again.
            q.pauseProducing()
            q.resumeProducing()

        self.assertEqual(made_while_paused, [])
        self.assertEqual(peer.overflows, [])
        self.assertEqual(peer.written, [b"s%d" % (n,) for n in range(100)] + [b"live"])

    def test_stream_waits_between_frames(self) -> None:
        """
        Each state frame waits until the transport took the one before.
        """
        q, peer = queue()

        def frames() -> Iterator[tuple[bytes, int, bool]]:
            for n in range(3):
                yield (b"s%d" % (n,), 1, False)

        def write(frame: Any) -> None:
            peer.written.append(frame)
            q.pauseProducing()

        q._write = write
        q.push_stream(frames())
        first = list(peer.written)
        q.resumeProducing()

        self.assertEqual(first, [b"s0"])
        self.assertEqual(peer.written, [b"s0", b"s1"])

    def test_closed_queue_takes_nothing(self) -> None:
        """
        Once the connection goes away nothing more is written.
        """
        q, peer = queue()
        q.stopProducing()

        q.push(b"a", 1)
        q.push_stream(iter([(b"s", 1, False)]))

        self.assertEqual(peer.written, [])
