# -*- test-case-name: tests.test_links -*-
"""
Who may draw: capability links.

A board made by C{POST /boards} keeps its drawing under an internal key
(C{k.} and 22 random characters: the dot keeps it out of every URL) and is
reached through links that map to that key:

  - its edit link, C{/b/<edit id>}: whoever has it draws;
  - its view links, C{/v/<view id>}, each with its own random id and maybe
    an expiry: whoever has one watches, and nothing it shows leads to the
    edit id;
  - its owner key, given once to its creator, which makes and revokes view
    links and rotates the board (a new edit id; every earlier edit and view
    link stops working; the drawing stays).

A named board (C{/b/team-retro}) is its own key and open to anyone who
knows the name.  An admin can lock any board, which makes every link to it
read-only.  Every id, key and secret here comes from L{secrets}; the store
keeps only a digest of an owner key.
"""

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from whitebrd.stores import IStore, LinkTarget, ViewLink

__all__ = [
    "Access",
    "LinkRefused",
    "Links",
    "new_link_id",
    "owner_digest",
    "redacted_path",
]

# The longest a view link may be made to last; "never" is also allowed.
MAX_VIEW_SECONDS = 366 * 86400.0

# Ids in request paths, for redacting logs: /b/<id>, /v/<id> and the view id
# of the owner's /b/<id>/links/<view id>.
_LINK_IN_PATH = re.compile(rb"(/[bv]/|/links/)([A-Za-z0-9_-]{5,64})")

_GONE_MESSAGES = {
    "replaced": (
        "This link no longer works: the board's owner replaced it with a new"
        " one. Ask them for the new link."
    ),
    "revoked": "This view link no longer works: the board's owner revoked it.",
    "deleted": "This board was deleted.",
}


def new_link_id() -> str:
    """
    A fresh edit or view id: 128 random bits as 22 characters of URL-safe
    base64.
    """
    return secrets.token_urlsafe(16)


def new_board_key() -> str:
    """
    A fresh internal key for a board made by C{POST /boards}.  Its dot is
    outside every link id's alphabet, so no URL ever names it.
    """
    return "k." + secrets.token_urlsafe(16)


def new_owner_key() -> str:
    """
    A fresh owner key: 256 random bits.
    """
    return secrets.token_urlsafe(32)


def owner_digest(owner_key: str) -> str:
    """
    What the store keeps of an owner key: its SHA-256, in hex.  The key is
    random and long, so no salt or slow hash is needed to keep it from
    being guessed back.
    """
    return hashlib.sha256(owner_key.encode("utf-8")).hexdigest()


def redacted_path(path: bytes) -> bytes:
    """
    C{path} with every board and view id cut to its first four characters,
    for access logs: an edit id is a password.  The query of an admin page
    (which may name a link to find) is left out.
    """
    if path.startswith(b"/admin") and b"?" in path:
        path = path.split(b"?", 1)[0] + b"?..."
    return _LINK_IN_PATH.sub(lambda m: m.group(1) + m.group(2)[:4] + b"...", path)


class LinkRefused(Exception):
    """
    A link that leads nowhere now.

    @ivar status: the HTTP status to answer: 404 (no such link) or 410
        (gone: replaced, revoked, expired or deleted).
    @ivar message: a sentence for the person who followed the link.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class OwnerRefused(Exception):
    """
    An owner action without the board's owner key, or on a board that has
    none (a named board).

    @ivar status: 403 (wrong or missing key) or 404 (no owner: a named
        board).
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Access:
    """
    What a visitor may do through one link, as it stood when checked.

    @ivar link: the id in the URL, the only id the visitor is shown.
    @ivar kind: C{edit}, C{view} or C{named}.
    @ivar board: the internal key the drawing is kept under; never shown.
    @ivar locked: an admin made the board read-only.
    @ivar expires: when a view link stops working (seconds since the epoch).
    @ivar owner: the digest of the board's owner key, if it has one.
    """

    link: str
    kind: str
    board: str
    locked: bool = False
    expires: Optional[float] = None
    owner: Optional[str] = None

    @property
    def can_draw(self) -> bool:
        """
        Whether ops through this link are taken: not a view link, not a
        locked board.
        """
        return self.kind != "view" and not self.locked

    @property
    def mode(self) -> str:
        """
        C{edit} or C{view}, as the page and C{hello} say it.
        """
        return "edit" if self.can_draw else "view"

    def same_as(self, other: "Access") -> bool:
        """
        Whether C{other} (checked later) leads the same visitor to the same
        board with the same rights.
        """
        return (self.link, self.kind, self.board) == (
            other.link,
            other.kind,
            other.board,
        )


class Links:
    """
    Links and owner keys over a store.

    @ivar clock: gives the time, for expiries: C{time.time} unless a test
        gives another.
    """

    log = Logger()

    def __init__(
        self, store: IStore, clock: Optional[Callable[[], float]] = None
    ) -> None:
        self.store = store
        self.clock = clock or time.time

    def open(self, link: str, view: bool) -> "Deferred[Access]":
        """
        Check C{link} as followed through C{/v/} (C{view}) or C{/b/}.

        @return: a Deferred firing with the L{Access} it gives, or failing
            with L{LinkRefused} (or L{StoreUnavailable}).
        """
        d = self.store.resolve(link)
        return d.addCallback(self._access, link, view)

    def _access(self, target: LinkTarget, link: str, view: bool) -> Access:
        if target.kind == "gone":
            raise LinkRefused(
                410,
                _GONE_MESSAGES.get(target.reason or "", "This link no longer works."),
            )
        assert target.board is not None
        if view != (target.kind == "view"):
            raise LinkRefused(404, "No such view link." if view else "No such board.")
        if target.expires is not None and self.clock() >= target.expires:
            raise LinkRefused(
                410,
                "This view link expired on %s UTC. Ask the board's owner for a new one."
                % (time.strftime("%Y-%m-%d %H:%M", time.gmtime(target.expires)),),
            )
        return Access(
            link, target.kind, target.board, target.locked, target.expires, target.owner
        )

    async def create(self) -> tuple[str, str, str]:
        """
        Make a board: its edit id, its owner key and its internal key.
        Nothing but the record is stored until someone draws.
        """
        for _ in range(5):
            edit, owner_key, board = new_link_id(), new_owner_key(), new_board_key()
            if await self.store.create_board(
                board, edit, owner_digest(owner_key), self.clock()
            ):
                return edit, owner_key, board
        # 128 random bits do not collide; a store that says they do is broken.
        raise RuntimeError("the store refused five fresh board ids in a row")

    def check_owner(self, access: Access, owner_key: Optional[str]) -> None:
        """
        @raise OwnerRefused: unless C{owner_key} is the board's owner key
            and the link is its edit link.
        """
        if access.kind != "edit" or access.owner is None:
            raise OwnerRefused(404, "Only boards made with New board have an owner.")
        given = owner_digest(owner_key or "")
        if not owner_key or not hmac.compare_digest(given, access.owner):
            raise OwnerRefused(403, "That is not this board's owner key.")

    async def make_view(self, access: Access, expires_in: Optional[float]) -> ViewLink:
        """
        Give the board a new view link, lasting C{expires_in} seconds or for
        good.

        @raise ValueError: for a duration that is not positive or is longer
            than a year.
        """
        if expires_in is not None and not 0 < expires_in <= MAX_VIEW_SECONDS:
            raise ValueError(
                "expires_in must be a number of seconds from 1 to %d, or null"
                % (MAX_VIEW_SECONDS,)
            )
        now = self.clock()
        expires = None if expires_in is None else now + expires_in
        for _ in range(5):
            view = new_link_id()
            if await self.store.add_view(access.board, view, expires, now):
                return ViewLink(view, expires, now)
        raise RuntimeError("the store refused five fresh view ids in a row")

    async def rotate(self, access: Access) -> str:
        """
        Give the board a new edit id; every earlier link stops working.

        @return: the new edit id.
        """
        for _ in range(5):
            edit = new_link_id()
            if await self.store.rotate(access.board, edit):
                return edit
        raise RuntimeError("the store refused five fresh edit ids in a row")


def view_link_json(view: ViewLink) -> dict[str, Any]:
    """
    A view link as the owner's API shows it.
    """
    return {
        "id": view.id,
        "url": "/v/" + view.id,
        "expires": view.expires,
        "created": view.created,
    }
