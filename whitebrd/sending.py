# -*- test-case-name: tests.test_sending -*-
"""
What one connection has yet to send, bounded, and sent as fast as its peer
reads.

Twisted buffers whatever is written to a transport, without bound.  A peer
that stops reading would so make the daemon hold every op of its board for
it until memory runs out.  L{SendQueue} sits in front of the transport as
its push producer: while the transport's own buffer is full (Twisted pauses
its producer past 64 KiB) frames wait here, and once the frames waiting for
live traffic pass a bound, the connection is given up as a reader too slow
to keep up.

A board's state is not live traffic: a newcomer on a large board receives it
as a stream of frames produced one at a time, each only once the transport
took the one before, so a slow link takes its time without counting against
the bound, and the daemon never holds the whole board encoded for it.
"""

from collections import deque
from typing import Any, Callable, Iterator, Union

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

__all__ = ["SendQueue"]

# A frame waiting to go: what to hand to the writer, its size in bytes and
# whether it counts against the bound.
_Frame = tuple[Any, int, bool]
_Entry = Union[_Frame, Iterator[_Frame]]


@implementer(IPushProducer)
class SendQueue:
    """
    The frames one connection has yet to send, in order.

    Register it as the transport's streaming producer; the transport then
    tells it when to hold frames back (C{pauseProducing}) and when it may
    send again (C{resumeProducing}).

    @ivar held_bytes: the bytes of live frames waiting here.
    @ivar limit_bytes: the most live bytes that may wait; one more is an
        overflow.
    """

    def __init__(
        self,
        write: Callable[[Any], None],
        limit_bytes: int,
        overflow: Callable[[int], None],
    ) -> None:
        """
        @param write: hands one frame to the transport.
        @param limit_bytes: the bound on waiting live frames.
        @param overflow: called once, with the bytes held, when the bound is
            passed; the queue is emptied and takes nothing more.
        """
        self._write = write
        self.limit_bytes = limit_bytes
        self._overflow = overflow
        self._queue: deque[_Entry] = deque()
        self._paused = False
        self._closed = False
        self._pumping = False
        self.held_bytes = 0

    @property
    def paused(self) -> bool:
        """
        Whether the transport asked to hold frames back.
        """
        return self._paused

    def __len__(self) -> int:
        return len(self._queue)

    def push(self, frame: Any, size: int, live: bool = True) -> None:
        """
        Send C{frame} now if nothing waits and the transport takes it, or
        queue it behind what waits.

        @param size: its size in bytes, for the bound.
        @param live: whether it counts against the bound (live traffic), or
            is part of a response the peer asked for.
        """
        if self._closed:
            return
        if not self._queue and not self._paused:
            self._write(frame)
            return
        self._queue.append((frame, size, live))
        if live:
            self.held_bytes += size
            if self.held_bytes > self.limit_bytes:
                held = self.held_bytes
                self.close()
                self._overflow(held)

    def push_stream(self, frames: Iterator[_Frame]) -> None:
        """
        Send C{frames} (each as L{push} takes them: frame, size, live) one at
        a time, each once the transport took the one before; whatever is
        pushed later waits behind the whole stream.
        """
        if self._closed:
            return
        self._queue.append(frames)
        self._pump()

    def _pump(self) -> None:
        # NB: a write may pause us (the transport's buffer filled) or close
        # us (the connection failed) before it returns, and a stream's next
        # frame may be computed lazily; go on only while neither happened.
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._queue and not self._paused and not self._closed:
                head = self._queue[0]
                if isinstance(head, tuple):
                    self._queue.popleft()
                    frame, size, live = head
                    if live:
                        self.held_bytes -= size
                    self._write(frame)
                    continue
                produced = next(head, None)
                if produced is None:
                    self._queue.popleft()
                    continue
                self._write(produced[0])
        finally:
            self._pumping = False

    def close(self) -> None:
        """
        Forget every waiting frame and take no more: the connection is
        going away.
        """
        self._closed = True
        self._queue.clear()
        self.held_bytes = 0

    # IPushProducer

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        self._pump()

    def stopProducing(self) -> None:
        self.close()
