# -*- test-case-name: tests.test_gate -*-
"""
Who gets onto a board's WebSocket, and who stays on it.

Before the handshake completes, a connection's C{Origin} is checked (so
another site cannot draw through a visitor's browser), its address gets one
of its places (L{whitebrd.quotas}) and its link is resolved
(L{whitebrd.links}); a refusal is an HTTP status, so nothing half-open
lingers.  Afterwards, when any daemon changes a board's links or lock, or
deletes it, the store tells every daemon (L{IStore.watch_access}) and the
gate checks the links of the connections it holds on that board again:
a link that stopped working closes its connections with 4403, a deleted
board closes all of them with 4410, a lock or unlock changes their mode.
"""

from typing import TYPE_CHECKING, Callable, Iterable, Optional
from urllib.parse import urlsplit

from autobahn.websocket.types import ConnectionDeny, ConnectionRequest
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from whitebrd.frames import dumps
from whitebrd.links import Access, LinkRefused, Links
from whitebrd.quotas import Quotas
from whitebrd.stores import StoreUnavailable

if TYPE_CHECKING:
    from whitebrd.protocol import BoardProtocol

__all__ = ["Gate", "LINK_GONE", "BOARD_DELETED"]

# Close codes of our own (RFC 6455 leaves 4000-4999 to applications); a
# client does not reconnect after LINK_GONE.
LINK_GONE = 4403
BOARD_DELETED = 4410

_DEFAULT_PORTS = {"http": 80, "https": 443}


def access_frame(access: Access) -> str:
    """
    The C{access} frame that tells a page what it may do now.
    """
    return dumps({"t": "access", "mode": access.mode, "locked": access.locked})


class Gate:
    """
    The checks at a board's door, for one daemon.

    @ivar allowed_origins: origins (C{scheme://host[:port]}) whose pages may
        open WebSockets; empty means the page's own host only.
    """

    log = Logger()

    def __init__(
        self,
        links: Links,
        quotas: Quotas,
        clock: IReactorTime,
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self.links = links
        self.quotas = quotas
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)
        self._clock = clock
        self._on: dict[str, set["BoardProtocol"]] = {}
        # Told whenever someone arrives or leaves, so that the admin page's
        # count of people online can be brought up to date.
        self.on_presence: Callable[[], None] = lambda: None

    def origin_allowed(self, origin: Optional[str], host: Optional[str]) -> bool:
        """
        Whether a page from C{origin} may open a WebSocket here.

        A client that sends no C{Origin} (or an empty one) is no browser,
        so no visitor's browser is being used against the board; browsers
        always send one, C{null} when they hide it.

        @param host: the request's C{Host} header, for the default rule:
            the page's own host.
        """
        if not origin:
            return True
        origin = origin.strip().lower()
        if self.allowed_origins:
            return origin in self.allowed_origins or "*" in self.allowed_origins
        if host is None:
            return False
        try:
            page = urlsplit(origin)
            server = urlsplit("//" + host.strip().lower())
            page_port = page.port or _DEFAULT_PORTS.get(page.scheme)
            server_port = server.port
        except ValueError:
            return False
        # NB: a Host header without a port is the default port of whatever
        # scheme the browser used, which a TLS proxy in front hides from us.
        return (
            page.scheme in _DEFAULT_PORTS
            and page.hostname is not None
            and page.hostname == server.hostname
            and (server_port is None or server_port == page_port)
        )

    async def admit(
        self,
        protocol: "BoardProtocol",
        request: ConnectionRequest,
        link: str,
        view: bool,
    ) -> None:
        """
        Check a WebSocket handshake and fill in C{protocol.access},
        C{protocol.address} and C{protocol.board_id} (the internal key).

        @raise ConnectionDeny: 403 for a foreign origin, 429 for an address
            out of places, 404 or 410 for a link that leads nowhere, 503
            when the store does not answer.
        """
        headers = request.headers
        if not self.origin_allowed(request.origin, headers.get("host")):
            self.log.warn(
                "Refused a WebSocket from a page at {origin}: not an allowed origin",
                origin=request.origin,
            )
            raise ConnectionDeny(403, "pages from this origin may not connect")

        peer = protocol.transport.getPeer() if protocol.transport else None
        address = self.quotas.address(
            getattr(peer, "host", "unix"), headers.get("x-forwarded-for")
        )
        protocol.address = address
        place = await self.quotas.places.claim(address)
        if place is None:
            raise ConnectionDeny(429, "too many connections from your address")
        try:
            access = await self.links.open(link, view)
        except LinkRefused as e:
            self.quotas.places.release(address, place)
            raise ConnectionDeny(e.status, e.message)
        except StoreUnavailable as e:
            self.quotas.places.release(address, place)
            self.log.warn(
                "A WebSocket was refused, the store is unavailable: {error}", error=e
            )
            raise ConnectionDeny(503, "the board's store is unavailable, try again")
        except BaseException:
            self.quotas.places.release(address, place)
            raise
        if protocol.gone:
            self.quotas.places.release(address, place)
            raise ConnectionDeny(400, "the connection closed during the handshake")
        protocol.place = place
        protocol.access = access
        protocol.board_id = access.board

    def arrived(self, protocol: "BoardProtocol") -> None:
        """
        C{protocol} is open on its board: watch its link from now on, and
        close it when its view link expires.
        """
        self._on.setdefault(protocol.board_id, set()).add(protocol)
        self.on_presence()
        expires = protocol.access.expires
        if expires is not None:
            wait = max(0.0, expires - self.links.clock())
            protocol.expiry = self._clock.callLater(wait, self._expired, protocol)

    def left(self, protocol: "BoardProtocol") -> None:
        """
        C{protocol} closed: give its place back.
        """
        on = self._on.get(protocol.board_id)
        if on is not None and protocol in on:
            on.discard(protocol)
            if not on:
                del self._on[protocol.board_id]
            self.on_presence()
        if protocol.expiry is not None and protocol.expiry.active():
            protocol.expiry.cancel()
        protocol.expiry = None
        if protocol.place is not None:
            self.quotas.places.release(protocol.address, protocol.place)
            protocol.place = None

    def connections(self, board: str) -> set["BoardProtocol"]:
        """
        The open connections on C{board} in this daemon.
        """
        return set(self._on.get(board, ()))

    def _expired(self, protocol: "BoardProtocol") -> None:
        protocol.expiry = None
        protocol.close_for(LINK_GONE, "this view link expired")

    def access_changed(self, board: Optional[str], deleted: bool) -> None:
        """
        The store says C{board}'s access changed (or, for C{None}, that
        changes may have been missed): check again every link in use on
        it.  Listener for L{IStore.watch_access}.
        """
        boards = [board] if board is not None else list(self._on)
        for key in boards:
            protocols = self.connections(key)
            if deleted:
                for protocol in protocols:
                    protocol.close_for(BOARD_DELETED, "the board was deleted")
                continue
            by_link: dict[tuple[str, bool], list["BoardProtocol"]] = {}
            for protocol in protocols:
                used = (protocol.access.link, protocol.access.kind == "view")
                by_link.setdefault(used, []).append(protocol)
            for (link, view), group in by_link.items():
                d = self.links.open(link, view)
                d.addCallbacks(
                    self._still,
                    self._refused,
                    callbackArgs=(group,),
                    errbackArgs=(group,),
                )
                d.addErrback(self._unexpected, key)

    def _still(self, access: Access, group: list["BoardProtocol"]) -> None:
        for protocol in group:
            if protocol.gone:
                continue
            if not protocol.access.same_as(access):
                protocol.close_for(LINK_GONE, "this link no longer leads to the board")
                continue
            changed = protocol.access.mode != access.mode or (
                protocol.access.locked != access.locked
            )
            protocol.access = access
            if changed:
                protocol.send_text(access_frame(access))

    def _refused(self, failure: Failure, group: list["BoardProtocol"]) -> None:
        if failure.check(StoreUnavailable):
            # Checked again when the store tells of the next change, or
            # when its channel reconnects.
            return
        failure.trap(LinkRefused)
        refused = failure.value
        assert isinstance(refused, LinkRefused)
        for protocol in group:
            protocol.close_for(LINK_GONE, refused.message)

    def _unexpected(self, failure: Failure, board: str) -> None:
        self.log.failure(
            "Checking the links on board {board} failed", failure, board=board
        )
