# -*- test-case-name: tests.test_presence -*-
"""
A Redis pub/sub channel per board for what daemons tell each other and never
store: who is on the board, their names, views and cursors (see
L{whitebrd.presence}).

The channel, C{wb:{<board>}:presence}, carries the board's hash tag like
the board's keys.  The bus has connections of its own, apart from the
store's, so that a burst of cursors never queues behind an append and the
store's pub/sub stays only ops.  Both reconnect by themselves; messages sent
while Redis is away are dropped, which presence survives: daemons announce
their people again every few seconds.
"""

from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure

from whitebrd.stores._shared import check_board
from whitebrd.stores.redis import (
    SubscriberFactory,
    command_factory,
    parse_redis_url,
    start_connecting,
)

__all__ = ["RedisBus"]

_PREFIX = "wb:{"
_SUFFIX = "}:presence"


def _channel(board: str) -> str:
    return _PREFIX + board + _SUFFIX


class RedisBus:
    """
    The presence channels of the boards this daemon serves, on Redis.
    """

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        url: str,
        timeout_seconds: float = 5.0,
        reconnect_max_delay_seconds: float = 1.0,
    ) -> None:
        """
        @param url: the store's C{redis://} URL.
        @raise ValueError: for a bad URL.
        """
        self.address = parse_redis_url(url)
        self._reactor = reactor
        self._timeout = timeout_seconds
        self._max_delay = reconnect_max_delay_seconds
        self._receivers: dict[str, Callable[[str], None]] = {}
        self._subscriber: Optional[SubscriberFactory] = None
        self._publisher_factory: Any = None
        self._publisher: Any = None
        self._closed = False
        self._warned = False

    def _start(self, factory: Any) -> None:
        start_connecting(factory, self._reactor, self.address, self._timeout, self._max_delay)

    def subscribe(self, board: str, receive: Callable[[str], None]) -> None:
        check_board(board)
        if self._closed:
            return
        self._receivers[board] = receive
        if self._subscriber is None:
            self._subscriber = SubscriberFactory(
                self.address, self._message, lambda channel: None
            )
            self._start(self._subscriber)
        self._subscriber.want(_channel(board))

    def unsubscribe(self, board: str) -> None:
        self._receivers.pop(board, None)
        if self._subscriber is not None:
            self._subscriber.unwant(_channel(board))

    def publish(self, board: str, text: str) -> None:
        check_board(board)
        if self._closed:
            return
        if self._publisher is None:
            factory = command_factory(self.address)
            self._start(factory)
            self._publisher_factory = factory
            self._publisher = factory.handler
        d: Deferred[Any] = self._publisher.publish(_channel(board), text)
        d.addTimeout(self._timeout, self._reactor)
        d.addCallbacks(self._sent, self._not_sent)

    def _sent(self, _: object) -> None:
        if self._warned:
            self._warned = False
            self.log.info("Presence reaches the other daemons again through Redis")

    def _not_sent(self, failure: Failure) -> None:
        # Presence is announced again every few seconds: a lost message costs
        # a cursor position or a late name, so say it once, not per cursor.
        if not self._warned and not self._closed:
            self._warned = True
            self.log.warn(
                "Presence could not be sent through Redis at {address}: {error}",
                address=self.address,
                error=failure.getErrorMessage(),
            )

    def _message(self, channel: str, text: str) -> None:
        if not (channel.startswith(_PREFIX) and channel.endswith(_SUFFIX)):
            return
        receive = self._receivers.get(channel[len(_PREFIX) : -len(_SUFFIX)])
        if receive is not None:
            try:
                receive(text)
            except Exception:
                self.log.failure("Handling a presence message on {channel} failed", channel=channel)

    def close(self) -> "Deferred[None]":
        """
        Disconnect; fires when both connections are gone.
        """
        if self._closed:
            return succeed(None)
        self._closed = True
        self._receivers.clear()
        closing = [
            factory.disconnect()
            for factory in (self._publisher_factory, self._subscriber)
            if factory is not None
        ]
        d = gatherResults(closing, consumeErrors=True)
        # A connection that was never made, or is already gone, is closed.
        d.addErrback(lambda _: None)

        # NB: txredisapi hands a new connection to its pool one reactor turn
        # after it logs in; give that turn so that nothing is left behind.
        def settled(_: object) -> "Deferred[None]":
            return deferLater(self._reactor, 0, lambda: None)

        return d.addCallback(settled)
