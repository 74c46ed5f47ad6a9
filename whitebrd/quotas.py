# -*- test-case-name: tests.test_quotas -*-
"""
Abuse limits that hold however many daemons share the work: board creation
per address per minute, connections per address, ops per second per
connection and per address.

Counts per address live where the store does (L{whitebrd.counters}): in
Redis, expiring, when several daemons share a Redis, so a client spreading a
flood over them still meets the limit; in memory with the embedded store.
The per-connection rate needs no sharing: a connection lives in one process.

Ops per address are counted in fixed one-second windows.  So that an op
does not wait for Redis, a daemon takes a small lease of the window's budget
at a time (a twentieth of it) and spends it locally; leases never add up to
more than the limit, so the limit holds exactly across daemons, and a daemon
may refuse a little early when another holds unspent lease.

Behind a proxy, the address is read from C{X-Forwarded-For} only when the
connection comes from a configured trusted proxy.  IPv6 addresses count per
/64, the block one host usually has.
"""

import ipaddress
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence, Union

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from whitebrd.counters import Counters
from whitebrd.stores import StoreUnavailable

__all__ = [
    "ConnectionPlaces",
    "QuotaLimits",
    "Quotas",
    "SharedRate",
    "TokenBucket",
    "client_address",
    "parse_network",
]

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@dataclass(frozen=True)
class QuotaLimits:
    """
    The abuse limits, each a daemon option.  The defaults are far above
    what people drawing meet, even a classroom behind one address; tests
    and benchmarks, whose clients share one address, set them.

    @ivar boards_per_minute_per_address: boards one address may make with
        C{POST /boards} in a minute.
    @ivar connections_per_address: WebSocket connections one address may
        hold open at once.
    @ivar ops_per_second_per_connection: ops one connection may send in a
        second (a token bucket holding one second's worth).
    @ivar ops_per_second_per_address: ops all connections of one address
        may send in a one-second window, over every daemon.
    """

    boards_per_minute_per_address: int = 30
    connections_per_address: int = 100
    ops_per_second_per_connection: int = 500
    ops_per_second_per_address: int = 1000

    def ops_per_connection_rate(self) -> int:
        """
        The ops per second one connection can send before either limit
        refuses them: what a page is told to pace itself to.
        """
        return min(self.ops_per_second_per_connection, self.ops_per_second_per_address)


def parse_network(text: str) -> Network:
    """
    An address or a network (C{10.0.0.0/8}, C{::1}).

    @raise ValueError: naming C{text}.
    """
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as e:
        raise ValueError("%r is not an IP address or network: %s" % (text, e))


def _trusted(host: str, proxies: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in proxies)


def client_address(
    peer: str, forwarded_for: Optional[str], proxies: Sequence[Network]
) -> str:
    """
    The address a client is counted by.

    @param peer: the host of the TCP peer.
    @param forwarded_for: the C{X-Forwarded-For} header, if any; read only
        when C{peer} is a trusted proxy, from the right, up to the first
        address that is not one (a client can write anything on the left).
    @param proxies: the trusted proxies.
    @return: an IPv4 address, or an IPv6 /64 network; C{peer} as it is
        when it is no IP address (a UNIX socket).
    """
    host = peer
    if forwarded_for and _trusted(peer, proxies):
        for part in reversed(forwarded_for.split(",")):
            part = part.strip()
            try:
                ipaddress.ip_address(part)
            except ValueError:
                break
            host = part
            if not _trusted(part, proxies):
                break
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class TokenBucket:
    """
    Ops per second of one connection: a bucket of C{rate} tokens, refilled
    at C{rate} per second.
    """

    def __init__(self, rate: int, clock: IReactorTime) -> None:
        self._rate = float(rate)
        self._clock = clock
        self._tokens = float(rate)
        self._stamp = clock.seconds()

    def take(self) -> bool:
        """
        Spend a token if there is one.
        """
        now = self._clock.seconds()
        self._tokens = min(self._rate, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class _Lease:
    """
    This daemon's share of one address's budget in the current window.
    """

    def __init__(self) -> None:
        self.tokens = 0
        self.exhausted = False
        self.waiting: list[Deferred[bool]] = []


class SharedRate:
    """
    At most C{limit} events per address per window, over every daemon
    sharing C{counters}.
    """

    log = Logger()

    def __init__(
        self,
        counters: Counters,
        limit: int,
        clock: IReactorTime,
        what: str,
        window_seconds: int = 1,
        lease: Optional[int] = None,
    ) -> None:
        """
        @param what: names the counters and log lines (C{ops}, C{boards}).
        @param lease: how much of the budget to take from the shared count
            at a time; a twentieth of C{limit} by default.
        """
        self._counters = counters
        self._limit = limit
        self._clock = clock
        self._what = what
        self._window_seconds = window_seconds
        self._lease = lease or max(1, limit // 20)
        self._window = -1
        self._leases: dict[str, _Lease] = {}
        self._failing = False

    def take(self, address: str) -> "Deferred[bool]":
        """
        Count one event of C{address}.

        @return: a Deferred firing with whether it is within the limit; at
            once while this daemon holds lease for the address.
        """
        window = int(self._clock.seconds() // self._window_seconds)
        if window != self._window:
            # Everything held belongs to an earlier window.
            self._window = window
            self._leases = {}
        lease = self._leases.get(address)
        if lease is None:
            lease = self._leases[address] = _Lease()
        if lease.tokens > 0 and not lease.waiting:
            lease.tokens -= 1
            return succeed(True)
        if lease.exhausted:
            return succeed(False)
        answer: Deferred[bool] = Deferred()
        lease.waiting.append(answer)
        if len(lease.waiting) == 1:
            self._ask(address, lease, window)
        return answer

    def _ask(self, address: str, lease: _Lease, window: int) -> None:
        wanted = self._lease
        name = "%s:%s:%d" % (self._what, address, window)
        d = self._counters.add(name, wanted, 3 * self._window_seconds)

        def granted(total: int) -> None:
            self._answered()
            lease.tokens += max(0, min(wanted, self._limit - (total - wanted)))
            if total >= self._limit:
                lease.exhausted = True
            while lease.waiting and lease.tokens > 0:
                lease.tokens -= 1
                lease.waiting.pop(0).callback(True)
            if not lease.waiting:
                return
            if lease.exhausted:
                self.log.warn(
                    "Address {address} reached its limit of {limit} {what} per"
                    " {seconds} s",
                    address=address,
                    limit=self._limit,
                    what=self._what,
                    seconds=self._window_seconds,
                )
                waiting, lease.waiting = lease.waiting, []
                for answer in waiting:
                    answer.callback(False)
            else:
                self._ask(address, lease, window)

        def failed(failure: Failure) -> None:
            # NB: with the store unreachable nothing is stored anyway; let
            # events through rather than refuse everyone.
            failure.trap(StoreUnavailable)
            if not self._failing:
                self._failing = True
                self.log.warn(
                    "Cannot count {what} per address ({error}); not limiting them"
                    " until the store answers",
                    what=self._what,
                    error=failure.getErrorMessage(),
                )
            waiting, lease.waiting = lease.waiting, []
            for answer in waiting:
                answer.callback(True)

        d.addCallbacks(granted, failed)
        d.addErrback(
            lambda f: self.log.failure("Counting {what} failed", f, what=self._what)
        )

    def _answered(self) -> None:
        if self._failing:
            self._failing = False
            self.log.info("Counting {what} per address works again", what=self._what)


class ConnectionPlaces:
    """
    At most C{limit} open connections per address, over every daemon.
    """

    log = Logger()

    def __init__(self, counters: Counters, limit: int) -> None:
        self._counters = counters
        self._limit = limit
        self._held: dict[str, set[str]] = {}
        self._serial = 0

    def claim(self, address: str) -> "Deferred[Optional[str]]":
        """
        Take a place for a new connection of C{address}.

        @return: a Deferred firing with the place's name, to give back with
            L{release}, or C{None} when the address has no place left.
        """
        self._serial += 1
        member = "%s:%d" % (self._counters.daemon, self._serial)
        d = self._counters.claim("conns:" + address, member, self._limit)

        def claimed(ok: bool) -> Optional[str]:
            if not ok:
                self.log.warn(
                    "Address {address} holds its limit of {limit} connections;"
                    " refused one more",
                    address=address,
                    limit=self._limit,
                )
                return None
            self._held.setdefault(address, set()).add(member)
            return member

        def failed(failure: Failure) -> str:
            failure.trap(StoreUnavailable)
            self._held.setdefault(address, set()).add(member)
            return member

        return d.addCallbacks(claimed, failed)

    def release(self, address: str, member: str) -> None:
        """
        Give a place back.
        """
        held = self._held.get(address)
        if held is not None:
            held.discard(member)
            if not held:
                del self._held[address]
        d = self._counters.release("conns:" + address, member)
        d.addErrback(_quiet)

    def refresh(self) -> "Deferred[None]":
        """
        Keep this daemon's places alive in the shared count.
        """
        claims = {"conns:" + a: sorted(members) for a, members in self._held.items()}
        d = self._counters.refresh(claims)
        d.addErrback(_quiet)
        return d


def _quiet(failure: Failure) -> None:
    """
    The store did not answer: a place not given back lapses by itself.
    """
    failure.trap(StoreUnavailable)


class Quotas:
    """
    Every abuse limit of one daemon.

    @ivar limits: the limits in force.
    @ivar boards: board creations per address per minute.
    @ivar ops: ops per address per second.
    @ivar places: open connections per address.
    """

    def __init__(
        self,
        limits: QuotaLimits,
        counters: Counters,
        clock: IReactorTime,
        trusted_proxies: Iterable[Network] = (),
    ) -> None:
        self.limits = limits
        self.counters = counters
        self._clock = clock
        self._proxies = tuple(trusted_proxies)
        self.boards = SharedRate(
            counters, limits.boards_per_minute_per_address, clock, "boards", 60, lease=1
        )
        self.ops = SharedRate(counters, limits.ops_per_second_per_address, clock, "ops")
        self.places = ConnectionPlaces(counters, limits.connections_per_address)

    def address(self, peer: str, forwarded_for: Optional[str]) -> str:
        """
        The address a client is counted by; see L{client_address}.
        """
        return client_address(peer, forwarded_for, self._proxies)

    def address_of_request(self, request: Any) -> str:
        """
        The address of an HTTP request's client.
        """
        peer = request.getClientAddress()
        forwarded = request.getHeader(b"x-forwarded-for")
        return self.address(
            getattr(peer, "host", "unix"),
            forwarded.decode("latin-1") if forwarded is not None else None,
        )

    def connection_bucket(self) -> TokenBucket:
        """
        A new connection's ops per second.
        """
        return TokenBucket(self.limits.ops_per_second_per_connection, self._clock)
