# -*- test-case-name: tests.test_sharing -*-
"""
The owner's JSON API: view links and rotation, for whoever holds a board's
edit link and its owner key.

    GET    /b/<edit id>/links              the board's view links
    POST   /b/<edit id>/links              a new view link, body
                                           {"expires_in": seconds | null}
    DELETE /b/<edit id>/links/<view id>    revoke one
    POST   /b/<edit id>/rotate             a new edit id; every earlier
                                           edit and view link stops working

The owner key goes in C{Authorization: Bearer <owner key>}.  A browser
never sends that header by itself, and another site's page cannot make it
send one (it would need a CORS preflight, which is never granted), so the
API needs no protection against cross-site requests.
"""

import json
from typing import Any, Optional

from twisted.logger import Logger
from twisted.web.iweb import IRequest

from whitebrd.links import (
    Access,
    LinkRefused,
    Links,
    OwnerRefused,
    view_link_json,
)
from whitebrd.stores import StoreUnavailable

__all__ = ["OwnerAPI"]

# The largest request body the API reads.
_MAX_BODY = 4096


def _json(request: IRequest, status: int, value: Any) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    request.setHeader(b"Cache-Control", b"no-store")
    request.setHeader(b"X-Content-Type-Options", b"nosniff")
    return json.dumps(value).encode("utf-8")


def _error(request: IRequest, status: int, code: str, message: str) -> bytes:
    return _json(request, status, {"error": code, "message": message})


def bearer(request: IRequest) -> Optional[str]:
    """
    The token of an C{Authorization: Bearer} header, if any.
    """
    header = request.getHeader(b"authorization")
    if header is None:
        return None
    scheme, _, token = header.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return str(token.strip())


class OwnerAPI:
    """
    The owner's requests on one daemon.
    """

    log = Logger()

    def __init__(self, links: Links) -> None:
        self.links = links

    async def handle(
        self, request: IRequest, edit: str, action: str, view: Optional[str]
    ) -> bytes:
        """
        Answer one request of the API.

        @param action: C{links} or C{rotate}.
        @param view: the view id of a C{DELETE}.
        """
        method = request.method
        try:
            access = await self.links.open(edit, view=False)
            self.links.check_owner(access, bearer(request))
            if action == "rotate" and method == b"POST":
                return await self._rotate(request, access)
            if action == "links" and view is None and method in (b"GET", b"HEAD"):
                return await self._list(request, access)
            if action == "links" and view is None and method == b"POST":
                return await self._make(request, access)
            if action == "links" and view is not None and method == b"DELETE":
                return await self._revoke(request, access, view)
            return _error(request, 405, "bad_method", "not a method of this address")
        except LinkRefused as e:
            return _error(request, e.status, "no_board", e.message)
        except OwnerRefused as e:
            return _error(request, e.status, "not_owner", e.message)
        except StoreUnavailable:
            return _error(
                request,
                503,
                "storage_unavailable",
                "the store did not answer; try again",
            )

    async def _list(self, request: IRequest, access: Access) -> bytes:
        views = await self.links.store.views(access.board)
        now = self.links.clock()
        return _json(
            request,
            200,
            {
                "edit": "/b/" + access.link,
                "views": [
                    dict(
                        view_link_json(v),
                        expired=v.expires is not None and v.expires <= now,
                    )
                    for v in views
                ],
            },
        )

    async def _make(self, request: IRequest, access: Access) -> bytes:
        body = request.content.read(_MAX_BODY + 1) if request.content else b""
        if len(body) > _MAX_BODY:
            return _error(request, 413, "too_large", "the request body is too large")
        try:
            value = json.loads(body or b"{}")
            expires_in = value.get("expires_in") if isinstance(value, dict) else 0
            if expires_in is not None and (
                isinstance(expires_in, bool) or not isinstance(expires_in, (int, float))
            ):
                raise ValueError("expires_in must be a number of seconds or null")
            view = await self.links.make_view(access, expires_in)
        except ValueError as e:
            return _error(request, 400, "bad_request", str(e))
        self.log.info(
            "Owner of board {board} made a view link, expiring {expires}",
            board=access.board,
            expires=view.expires or "never",
        )
        return _json(request, 201, view_link_json(view))

    async def _revoke(self, request: IRequest, access: Access, view: str) -> bytes:
        if not await self.links.store.remove_view(access.board, view):
            return _error(request, 404, "no_link", "the board has no such view link")
        self.log.info("Owner of board {board} revoked a view link", board=access.board)
        return _json(request, 200, {"revoked": view})

    async def _rotate(self, request: IRequest, access: Access) -> bytes:
        edit = await self.links.rotate(access)
        self.log.info(
            "Owner of board {board} rotated its links: the old edit link and every"
            " view link stopped working",
            board=access.board,
        )
        return _json(request, 200, {"edit": "/b/" + edit, "board": edit})
