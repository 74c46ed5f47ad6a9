# -*- test-case-name: tests.test_web -*-
"""
The HTTP side of the daemon: pages, static files, the board's JSON and the
WebSocket, all on one port.

Board ids are matched on the raw request path, never on a decoded one, so a
percent-encoded byte, a C{../} or a NUL in an id is simply not an id and the
answer is 404; no request path ever becomes a file path except through the
static pattern, which admits plain names only.

Every board route goes through the board's link (L{whitebrd.links}): an edit
id or a name under C{/b/}, a view id under C{/v/}; a link that stopped
working is a page saying why (410), and what a view link serves never holds
the edit id.  The owner's API is L{whitebrd.sharing}; the admin pages are
L{whitebrd.admin}, present only when the daemon has an admin token.
"""

import html
import json
import re
from pathlib import Path
from typing import Any, Optional

from autobahn.twisted.resource import WebSocketResource
from klein import Klein
from twisted.internet.defer import Deferred, succeed
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, NoResource

from whitebrd.links import Access, LinkRefused, Links
from whitebrd.protocol import BoardFactory
from whitebrd.quotas import Quotas
from whitebrd.scene import Scene
from whitebrd.sharing import OwnerAPI
from whitebrd.stores import IStore, StoreUnavailable
from whitebrd.svg import render_svg

__all__ = ["WhitebrdApp", "static_root"]

# Ops in one page of C{/b/<id>/history}: by default, and at most.
HISTORY_PAGE_OPS = 1000
MAX_HISTORY_PAGE_OPS = 5000

# Boards whose snapshot is longer than this (in characters) are drawn as SVG
# in a worker thread, so that the reactor keeps serving meanwhile.
_SVG_IN_THREAD_CHARS = 256 * 1024

_BOARD_PATH = re.compile(rb"/([bv])/([A-Za-z0-9_-]{1,64})(\.json|\.svg|/ws|/history)?")
_OWNER_PATH = re.compile(rb"/b/([A-Za-z0-9_-]{1,64})/(links|rotate)(?:/([A-Za-z0-9_-]{1,64}))?")
_STATIC_PATH = re.compile(rb"/static/((?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*)")
_CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".ico": "image/x-icon",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
}
# An exported drawing runs nothing and loads nothing, even opened on its own.
_SVG_POLICY = b"default-src 'none'; style-src 'unsafe-inline'"
_SECURITY_HEADERS = {
    b"Content-Security-Policy": (
        b"default-src 'self'; script-src 'self'; style-src 'self';"
        b" img-src 'self' data: blob:; connect-src 'self' ws: wss:;"
        b" object-src 'none'; base-uri 'none'; form-action 'self';"
        b" frame-ancestors 'none'"
    ),
    b"X-Content-Type-Options": b"nosniff",
    b"Referrer-Policy": b"no-referrer",
    b"X-Frame-Options": b"DENY",
}


def static_root() -> Path:
    """
    Where the browser client's files are: inside the installed package, or
    beside it in a checkout.
    """
    here = Path(__file__).resolve().parent
    installed = here / "static"
    return installed if installed.is_dir() else here.parent / "static"


_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>%(title)s · whitebrd</title>
  <link rel="icon" href="/static/img/icon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/css/landing.css">
</head>
<body>
  <main class="landing">
    <h1>%(title)s</h1>
    <p class="lead" id="message">%(message)s</p>
    <p><a href="/">whitebrd home</a></p>
  </main>
</body>
</html>
"""


def message_page(request: IRequest, status: int, title: str, message: str) -> bytes:
    """
    A small HTML page saying C{message}, with the page headers; every text
    in it is escaped.
    """
    request.setResponseCode(status)
    _set_security_headers(request)
    request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
    request.setHeader(b"Cache-Control", b"no-store")
    page = _PAGE % {"title": html.escape(title), "message": html.escape(message)}
    return page.encode("utf-8")


class WhitebrdApp:
    """
    The Klein application: every HTTP route of the daemon.

    @ivar factory: the WebSocket factory, which keeps the live boards.
    """

    app = Klein()
    log = Logger()

    def __init__(
        self,
        store: IStore,
        factory: BoardFactory,
        static: Optional[Path] = None,
        admin: Optional[Any] = None,
        reactor: Any = None,
    ) -> None:
        """
        @param admin: the admin pages (L{whitebrd.admin.Admin}), or C{None}
            for a daemon without an admin token, whose C{/admin} is 404.
        @param reactor: provides the thread pool large exports are drawn
            in; the global reactor by default.
        """
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        self.store = store
        self.factory = factory
        self.links: Links = factory.gate.links
        self.quotas: Quotas = factory.quotas
        self.owners = OwnerAPI(self.links)
        self.admin = admin
        self._static = static or static_root()
        self._websocket = WebSocketResource(factory)
        self._files: dict[Path, tuple[int, bytes]] = {}

    def resource(self) -> IResource:
        """
        The root resource to serve.
        """
        return self.app.resource()  # type: ignore[no-any-return]

    def _file(self, request: IRequest, relative: str) -> Any:
        """
        One of the client's files, from memory after its first read: they
        are small, few and change only with a new release, so serving them
        costs no disk read and never blocks the reactor for long.
        """
        path = self._static / relative
        try:
            stat = path.stat()
        except OSError:
            return NoResource()
        if not path.is_file():
            return NoResource()
        cached = self._files.get(path)
        if cached is None or cached[0] != stat.st_mtime_ns:
            cached = self._files[path] = (stat.st_mtime_ns, path.read_bytes())
        _set_security_headers(request)
        content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        request.setHeader(b"Content-Type", content_type.encode("ascii"))
        request.setHeader(b"Cache-Control", b"no-cache")
        return cached[1]

    @app.route("/", methods=["GET", "HEAD"])
    def landing(self, request: IRequest) -> Any:
        """
        The landing page, with a button that makes a board.
        """
        return self._file(request, "index.html")

    @app.route("/boards", methods=["POST"])
    def create_board(self, request: IRequest) -> Deferred[bytes]:
        """
        Make a board.  A plain form post gets 303 to its page; a request
        that accepts JSON gets 201 with the edit link and the owner key,
        which is shown this once and kept by the creator's browser.  Only
        the board's record is stored until someone draws.
        """
        return Deferred.fromCoroutine(self._create_board(request))

    async def _create_board(self, request: IRequest) -> bytes:
        address = self.quotas.address_of_request(request)
        if not await self.quotas.boards.take(address):
            request.setHeader(b"Retry-After", b"60")
            return _json_error(
                request,
                429,
                "rate_limited",
                "too many new boards from your address; try again in a minute",
            )
        try:
            edit, owner_key, _ = await self.links.create()
        except StoreUnavailable:
            return _json_error(
                request, 503, "storage_unavailable", "the store did not answer; try again"
            )
        location = b"/b/" + edit.encode("ascii")
        request.setHeader(b"Location", location)
        request.setHeader(b"Cache-Control", b"no-store")
        accept = request.getHeader(b"accept") or b""
        if b"application/json" in accept:
            request.setResponseCode(201)
            request.setHeader(b"Content-Type", b"application/json")
            request.setHeader(b"X-Content-Type-Options", b"nosniff")
            body = {"board": edit, "edit": location.decode("ascii"), "owner_key": owner_key}
            return json.dumps(body).encode("ascii")
        request.setResponseCode(303)
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        return b"See " + location + b"\n"

    @app.route("/b/", branch=True, methods=["GET", "HEAD"])
    def board(self, request: IRequest) -> Any:
        """
        The board page, its JSON and its WebSocket through an edit link or
        a name, and the owner's list of view links, told apart on the raw
        path.
        """
        owner = _OWNER_PATH.fullmatch(request.path)
        if owner is not None:
            return self._owner(request, owner)
        return self._through_link(request)

    @app.route("/b/", branch=True, methods=["POST", "DELETE"])
    def board_owner(self, request: IRequest) -> Any:
        """
        The owner's API (L{whitebrd.sharing}).
        """
        owner = _OWNER_PATH.fullmatch(request.path)
        if owner is None:
            return NoResource()
        return self._owner(request, owner)

    @app.route("/v/", branch=True, methods=["GET", "HEAD"])
    def view(self, request: IRequest) -> Any:
        """
        The board page, its JSON and its WebSocket through a view link: all
        read-only, none holding the edit id.
        """
        return self._through_link(request)

    def _owner(self, request: IRequest, match: "re.Match[bytes]") -> Deferred[bytes]:
        edit, action = match.group(1).decode("ascii"), match.group(2).decode("ascii")
        view = match.group(3).decode("ascii") if match.group(3) else None
        return Deferred.fromCoroutine(self.owners.handle(request, edit, action, view))

    def _through_link(self, request: IRequest) -> Any:
        match = _BOARD_PATH.fullmatch(request.path)
        if match is None:
            return NoResource()
        view = match.group(1) == b"v"
        link = match.group(2).decode("ascii")
        suffix = match.group(3)
        if suffix == b"/ws":
            # NB: the WebSocket checks its link (and origin, and places) in
            # its handshake, see whitebrd.gate.
            return self._websocket
        d = self.links.open(link, view)
        if suffix == b".json":
            d.addCallback(lambda access: self._board_json(request, access))
        elif suffix == b".svg":
            d.addCallback(lambda access: self._board_svg(request, access))
        elif suffix == b"/history":
            d.addCallback(lambda access: self._history(request, access))
        else:
            d.addCallback(lambda access: self._page(request, access))
        d.addErrback(self._link_refused, request, suffix is not None)
        return d

    def _page(self, request: IRequest, access: Access) -> Any:
        return self._file(request, "board.html")

    def _link_refused(self, failure: Failure, request: IRequest, as_json: bool) -> bytes:
        if failure.check(StoreUnavailable):
            status, code, message = 503, "storage_unavailable", "the store did not answer"
        else:
            failure.trap(LinkRefused)
            refused = failure.value
            assert isinstance(refused, LinkRefused)
            status, message = refused.status, refused.message
            code = "gone" if status == 410 else "not_found"
        if as_json:
            return _json_error(request, status, code, message)
        title = {404: "No such board", 410: "Link no longer works"}.get(status, "Try again")
        return message_page(request, status, title, message)

    def _scene(self, board_id: str) -> "Deferred[Scene]":
        """
        The board now: from memory when someone is on it here, else from
        the store.
        """
        live = self.factory.boards.get(board_id)
        if live is not None:
            return succeed(live.scene)
        return self.store.load(board_id)

    def _board_json(self, request: IRequest, access: Access) -> Any:
        """
        The board's items; under its link's id, never the edit id of a
        board seen through a view link.
        """
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        d = self._scene(access.board)
        d.addCallback(lambda scene: _board_body(access.link, scene))
        return d

    def _board_svg(self, request: IRequest, access: Access) -> Any:
        """
        The board drawn as SVG on the server, to download or embed.
        """
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        name = access.link

        def draw(scene: Scene) -> "Deferred[bytes]":
            # The snapshot's text is a copy that later ops do not change, so
            # a large board is drawn in a worker thread.
            snapshot = scene.snapshot_text()
            if len(snapshot) < _SVG_IN_THREAD_CHARS:
                return succeed(_svg_body(name, snapshot))
            return deferToThreadPool(
                self._reactor, self._reactor.getThreadPool(), _svg_body, name, snapshot
            )

        def drawn(body: bytes) -> bytes:
            request.setHeader(b"Content-Type", b"image/svg+xml; charset=utf-8")
            request.setHeader(b"Content-Security-Policy", _SVG_POLICY)
            request.setHeader(
                b"Content-Disposition",
                b'inline; filename="%s.svg"' % (name.encode("ascii"),),
            )
            return body

        d = self._scene(access.board)
        d.addCallback(draw)
        d.addCallback(drawn)
        return d

    def _history(self, request: IRequest, access: Access) -> Any:
        """
        One page of the board's ops, oldest first, for replay:
        C{?after=<seq>&limit=<n>} gives the ops after that seq, at most
        C{n} (L{HISTORY_PAGE_OPS} by default, L{MAX_HISTORY_PAGE_OPS} at
        most); C{more} says whether another page follows.
        """
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        try:
            after = _whole_number(request, b"after", 0, 2**53)
            limit = _whole_number(request, b"limit", HISTORY_PAGE_OPS, MAX_HISTORY_PAGE_OPS)
        except ValueError as e:
            return _json_error(request, 400, "bad_request", str(e))
        if limit < 1:
            return _json_error(request, 400, "bad_request", "limit must be 1 or more")

        def page(texts: list[str]) -> bytes:
            more = len(texts) > limit
            return (
                '{"board":"%s","after":%d,"more":%s,"ops":[%s]}'
                % (access.link, after, "true" if more else "false", ",".join(texts[:limit]))
            ).encode("utf-8")

        d: Deferred[Any] = self.store.history(access.board, after, limit + 1)
        d.addCallback(page)
        return d

    @app.route("/static/", branch=True, methods=["GET", "HEAD"])
    def static(self, request: IRequest) -> Any:
        """
        The client's files, by plain names only.
        """
        match = _STATIC_PATH.fullmatch(request.path)
        if match is None:
            return NoResource()
        return self._file(request, match.group(1).decode("ascii"))

    @app.route("/admin", branch=True, methods=["GET", "HEAD", "POST"])
    def admin_pages(self, request: IRequest) -> Any:
        """
        The admin pages: 404 unless the daemon was given an admin token.
        """
        if self.admin is None:
            return NoResource()
        return self.admin.render(request)

    @app.route("/healthz", methods=["GET", "HEAD"])
    def healthz(self, request: IRequest) -> Deferred[bytes]:
        """
        200 when the store answers, 503 when it does not.
        """
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")

        def ok(_: object) -> bytes:
            return b'{"status":"ok","store":"%s"}' % (self.store.name.encode("ascii"),)

        def down(failure: Failure) -> bytes:
            self.log.warn(
                "Health check: the {store} store does not answer: {error}",
                store=self.store.name,
                error=failure.getErrorMessage(),
            )
            request.setResponseCode(503)
            return b'{"status":"unavailable","store":"%s"}' % (
                self.store.name.encode("ascii"),
            )

        d: Deferred[Any] = self.store.ping()
        d.addCallbacks(ok, down)
        return d

    @app.handle_errors
    def _error(self, request: IRequest, failure: Failure) -> bytes:
        """
        Anything unexpected is a logged 500 with no traceback in the page.
        """
        from werkzeug.exceptions import HTTPException

        if failure.check(HTTPException):
            code = failure.value.code
            request.setResponseCode(code)
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            return failure.value.name.encode("ascii") + b"\n"
        self.log.failure("Request {method} {path} failed", failure,
                         method=request.method, path=request.path)
        request.setResponseCode(500)
        return b"Internal error\n"


def _whole_number(request: IRequest, name: bytes, default: int, highest: int) -> int:
    """
    A query argument that is a whole number from 0 to C{highest}.

    @raise ValueError: naming the argument and what arrived.
    """
    values = request.args.get(name) if request.args else None
    if not values:
        return default
    value = values[-1]
    if not value.isdigit() or len(value) > 16 or int(value) > highest:
        raise ValueError(
            "%s must be a whole number from 0 to %d, got %r"
            % (name.decode("ascii"), highest, value[:20].decode("ascii", "replace"))
        )
    return int(value)


def _svg_body(board_id: str, snapshot: str) -> bytes:
    items = json.loads(snapshot)["items"]
    return render_svg(board_id, items).encode("utf-8")


def _json_error(request: IRequest, status: int, code: str, message: str) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    request.setHeader(b"Cache-Control", b"no-store")
    request.setHeader(b"X-Content-Type-Options", b"nosniff")
    return json.dumps({"error": code, "message": message}).encode("utf-8")


def _board_body(board_id: str, scene: Scene) -> bytes:
    return ('{"board":"%s",%s' % (board_id, scene.snapshot_text()[1:])).encode("utf-8")


def set_security_headers(request: IRequest) -> None:
    """
    Give a page's answer the headers that keep it from running foreign
    script, being framed, sniffed, or leaking its address in a referrer.
    """
    _set_security_headers(request)


def _set_security_headers(request: IRequest) -> None:
    for name, value in _SECURITY_HEADERS.items():
        request.setHeader(name, value)

