# -*- test-case-name: tests.test_service -*-
"""
The running daemon as one Twisted service: the store, the boards and the
listening ports, started and stopped in the right order.

Nothing here runs at import or in L{WhitebrdService.__init__}: the store
connects and the ports open in C{startService}, after C{twistd} has
daemonized, so no connection is made in a process that is about to fork.
"""

from typing import Any, Callable, Iterable, Optional

from twisted.application.internet import StreamServerEndpointService, TimerService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http import combinedLogFormatter
from twisted.web.server import Request, Site

from whitebrd.admin import Admin
from whitebrd.counters import counters_for
from whitebrd.gate import Gate
from whitebrd.limits import Limits
from whitebrd.links import Links, redacted_path
from whitebrd.protocol import BoardFactory
from whitebrd.quotas import Network, QuotaLimits, Quotas
from whitebrd.stores import IStore
from whitebrd.web import WhitebrdApp, set_security_headers

__all__ = ["WhitebrdService"]

StoreMaker = Callable[[Any], IStore]
BusMaker = Callable[[Any], Any]


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
        make_bus: Optional[BusMaker] = None,
        tick_seconds: float = 0.0,
        drain_seconds: float = 10.0,
        quotas: Optional[QuotaLimits] = None,
        allowed_origins: Iterable[str] = (),
        trusted_proxies: Iterable[Network] = (),
        admin_token: Optional[str] = None,
    ) -> None:
        """
        @param make_bus: makes the presence bus (L{whitebrd.bus.RedisBus})
            that daemons sharing a store talk through; C{None} for a daemon
            alone.
        @param admin_token: turns on C{/admin}; C{None} leaves it a 404.
        """
        super().__init__()
        self._reactor = reactor
        self._listen = listen
        self._make_store = make_store
        self._limits = limits
        self._ping_interval_seconds = ping_interval_seconds
        self._make_bus = make_bus
        self._bus: Any = None
        self._tick_seconds = tick_seconds
        self._drain_seconds = drain_seconds
        self._quota_limits = quotas or QuotaLimits()
        self._allowed_origins = list(allowed_origins)
        self._trusted_proxies = list(trusted_proxies)
        self._admin_token = admin_token

    def startService(self) -> None:
        """
        Open the store, then listen on every endpoint.
        """
        self.store = self._make_store(self._reactor)
        if self._make_bus is not None:
            self._bus = self._make_bus(self._reactor)
        counters = counters_for(self.store, self._reactor)
        quotas = Quotas(self._quota_limits, counters, self._reactor, self._trusted_proxies)
        gate = Gate(
            Links(self.store, self._reactor.seconds),
            quotas,
            self._reactor,
            self._allowed_origins,
        )
        self.factory = BoardFactory(
            self.store,
            self._limits,
            self._reactor,
            ping_interval_seconds=self._ping_interval_seconds,
            presence_bus=self._bus,
            tick_seconds=self._tick_seconds,
            gate=gate,
        )
        admin = None
        if self._admin_token is not None:
            admin = Admin(
                self._admin_token,
                self.store,
                self.factory,
                counters,
                self._limits,
                self._reactor,
            )
        site = Site(
            WhitebrdApp(
                self.store, self.factory, admin=admin, reactor=self._reactor
            ).resource(),
            requestFactory=_Request,
            logFormatter=_redacted_log_line,
        )
        site.displayTracebacks = False
        self._timer(60.0, quotas.places.refresh)
        self._timer(15.0, self._report_online)
        gate.on_presence = self._presence_changed
        watching = self.factory.watch_access()
        watching.addErrback(self._not_watching)
        for description in self._listen:
            listening = StreamServerEndpointService(
                serverFromString(self._reactor, description), site
            )
            # A port that cannot be opened stops the daemon with the reason,
            # rather than leaving it running and unreachable.
            listening._raiseSynchronously = True
            listening.setServiceParent(self)
        try:
            super().startService()
        except CannotListenError as e:
            # The operator needs the endpoint and the reason, not twistd's
            # traceback; the daemon exits 1.
            raise SystemExit(
                "whitebrd cannot listen on %s:%s: %s" % (e.interface or "*", e.port, e.socketError)
            )
        self.log.info(
            "whitebrd serving on {endpoints} with the {store} store; admin pages {admin}",
            endpoints=", ".join(self._listen),
            store=self._store_description(),
            admin="on" if admin is not None else "off (no admin token)",
        )

    def _store_description(self) -> str:
        assert self.store is not None
        where = getattr(self.store, "path", None) or getattr(self.store, "address", None)
        return "%s (%s)" % (self.store.name, where) if where else self.store.name

    def _timer(self, seconds: float, work: Callable[[], Any]) -> None:
        timer = TimerService(seconds, work)
        timer.clock = self._reactor
        timer.setServiceParent(self)

    _presence_call: Optional[Any] = None

    def _presence_changed(self) -> None:
        """
        Someone arrived or left: report soon, at most twice a second.
        """
        if self._presence_call is None and self.running:
            self._presence_call = self._reactor.callLater(0.5, self._report_soon)

    def _report_soon(self) -> None:
        self._presence_call = None
        self._report_online()

    def _report_online(self) -> "Deferred[None]":
        """
        Tell the other daemons how many people are on each board here, for
        the admin page.
        """
        assert self.factory is not None
        counts = {b.board_id: len(b.subscribers) for b in self.factory.boards.all()}
        d = self.factory.quotas.counters.report_online(counts)
        return d.addErrback(lambda f: None)

    def _not_watching(self, failure: Failure) -> None:
        self.log.warn(
            "Not yet told of link and lock changes by other daemons ({error});"
            " following them once the store answers",
            error=failure.getErrorMessage(),
        )

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
        stopping = super().stopService()
        if self._presence_call is not None and self._presence_call.active():
            self._presence_call.cancel()
        self._presence_call = None
        await stopping
        if self.factory is not None:
            await self.factory.close_all(self._drain_seconds)
            self.factory.presence.stop()
        if self._bus is not None:
            await self._bus.close()
        if self.store is not None:
            await self.store.close()


def _redacted_log_line(timestamp: str, request: Any) -> str:
    """
    The access log's line for C{request}, with board and view ids cut
    short: an edit id is a password, and logs are read by many.
    """
    return str(combinedLogFormatter(timestamp, _Redacted(request)))


class _Redacted:
    """
    A request as the access log sees it: its URI redacted.
    """

    def __init__(self, request: Any) -> None:
        self._request = request
        self.uri = redacted_path(request.uri)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


class _Request(Request):
    """
    A request whose answer carries the security headers unless its route
    sets its own: error pages and JSON too are never framed, sniffed or
    sent on with a referrer.
    """

    def process(self) -> None:
        set_security_headers(self)
        super().process()
