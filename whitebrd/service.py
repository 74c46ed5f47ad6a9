# -*- test-case-name: tests.test_service -*-
"""
The running daemon as one Twisted service: the store, the boards and the
listening ports, started and stopped in the right order.

Nothing here runs at import or in L{WhitebrdService.__init__}: the store
connects and the ports open in C{startService}, after C{twistd} has
daemonized, so no connection is made in a process that is about to fork.
"""

from typing import Any, Callable, Optional

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.logger import Logger
from twisted.web.server import Site

from whitebrd.limits import Limits
from whitebrd.protocol import BoardFactory
from whitebrd.stores import IStore
from whitebrd.web import WhitebrdApp

__all__ = ["WhitebrdService"]

StoreMaker = Callable[[Any], IStore]


class WhitebrdService(MultiService):
    """
    The whole daemon.

    @ivar store: the store, once started.
    @ivar factory: the WebSocket factory and its live boards, once started.
    """

    log = Logger()
    store: Optional[IStore] = None
    factory: Optional[BoardFactory] = None

    def __init__(
        self,
        reactor: Any,
        listen: list[str],
        make_store: StoreMaker,
        limits: Limits,
        ping_interval_seconds: float = 30.0,
        drain_seconds: float = 10.0,
    ) -> None:
        super().__init__()
        self._reactor = reactor
        self._listen = listen
        self._make_store = make_store
        self._limits = limits
        self._ping_interval_seconds = ping_interval_seconds
        self._drain_seconds = drain_seconds

    def startService(self) -> None:
        """
        Open the store, then listen on every endpoint.
        """
        self.store = self._make_store(self._reactor)
        self.factory = BoardFactory(
            self.store,
            self._limits,
            self._reactor,
            ping_interval_seconds=self._ping_interval_seconds,
        )
        site = Site(WhitebrdApp(self.store, self.factory).resource())
        site.displayTracebacks = False
        for description in self._listen:
            listening = StreamServerEndpointService(
                serverFromString(self._reactor, description), site
            )
            # A port that cannot be opened stops the daemon with the reason,
            # rather than leaving it running and unreachable.
            listening._raiseSynchronously = True
            listening.setServiceParent(self)
        self.log.info(
            "whitebrd serving on {endpoints} with the {store} store",
            endpoints=", ".join(self._listen),
            store=self.store.name,
        )
        super().startService()

    def stopService(self) -> Deferred[None]:
        """
        Drain: refuse new connections (the ports close, a handshake under
        way is answered 503), let the store answer the ops already received
        and their copies go out, close every connection with 1001 (going
        away) so that clients reconnect elsewhere, then close the store.
        """
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self.factory is not None:
            self.factory.draining = True
        await super().stopService()
        if self.factory is not None:
            await self.factory.close_all(self._drain_seconds)
        if self.store is not None:
            await self.store.close()
