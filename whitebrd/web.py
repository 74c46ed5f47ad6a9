# -*- test-case-name: tests.test_web -*-
"""
The HTTP side of the daemon: pages, static files, the board's JSON and the
WebSocket, all on one port.

Board ids are matched on the raw request path, never on a decoded one, so a
percent-encoded byte, a C{../} or a NUL in an id is simply not an id and the
answer is 404; no request path ever becomes a file path except through the
static pattern, which admits plain names only.
"""

import json
import re
import secrets
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

from whitebrd.frames import dumps
from whitebrd.protocol import BoardFactory
from whitebrd.scene import Scene
from whitebrd.stores import IStore, StoreUnavailable
from whitebrd.svg import render_svg

__all__ = ["WhitebrdApp", "static_root"]

# Ops in one page of C{/b/<id>/history}: by default, and at most.
HISTORY_PAGE_OPS = 1000
MAX_HISTORY_PAGE_OPS = 5000

# Boards whose snapshot is longer than this (in characters) are drawn as SVG
# in a worker thread, so that the reactor keeps serving meanwhile.
_SVG_IN_THREAD_CHARS = 256 * 1024

_BOARD_PATH = re.compile(rb"/b/([A-Za-z0-9_-]{1,64})(\.json|\.svg|/ws|/history)?")
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
        b" object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
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


def new_board_id() -> str:
    """
    A fresh board id: 128 random bits as 22 characters of URL-safe base64.
    """
    return secrets.token_urlsafe(16)


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
        reactor: Any = None,
    ) -> None:
        """
        @param reactor: provides the thread pool large exports are drawn
            in; the global reactor by default.
        """
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        self.store = store
        self.factory = factory
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
    def create_board(self, request: IRequest) -> bytes:
        """
        Make a board: 303 to its page.  Nothing is stored until someone
        draws; the id is the edit capability.
        """
        board_id = new_board_id()
        request.setResponseCode(303)
        request.setHeader(b"Location", b"/b/" + board_id.encode("ascii"))
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        return b"See /b/" + board_id.encode("ascii") + b"\n"

    @app.route("/b/", branch=True, methods=["GET", "HEAD"])
    def board(self, request: IRequest) -> Any:
        """
        The board page, its JSON and its WebSocket, told apart on the raw
        path.
        """
        match = _BOARD_PATH.fullmatch(request.path)
        if match is None:
            return NoResource()
        board_id = match.group(1).decode("ascii")
        suffix = match.group(2)
        if suffix == b"/ws":
            return self._websocket
        if suffix == b".json":
            return self._board_json(request, board_id)
        if suffix == b".svg":
            return self._board_svg(request, board_id)
        if suffix == b"/history":
            return self._history(request, board_id)
        return self._file(request, "board.html")

    def _scene(self, board_id: str) -> "Deferred[Scene]":
        """
        The board now: from memory when someone is on it here, else from
        the store.
        """
        live = self.factory.boards.get(board_id)
        if live is not None:
            return succeed(live.scene)
        return self.store.load(board_id)

    def _board_json(self, request: IRequest, board_id: str) -> Any:
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        d = self._scene(board_id)
        d.addCallback(lambda scene: _board_body(board_id, scene))
        d.addErrback(_unavailable, request)
        return d

    def _board_svg(self, request: IRequest, board_id: str) -> Any:
        """
        The board drawn as SVG on the server, to download or embed.
        """
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"X-Content-Type-Options", b"nosniff")

        def draw(scene: Scene) -> "Deferred[bytes]":
            # The snapshot's text is a copy that later ops do not change, so
            # a large board is drawn in a worker thread.
            snapshot = scene.snapshot_text()
            if len(snapshot) < _SVG_IN_THREAD_CHARS:
                return succeed(_svg_body(board_id, snapshot))
            return deferToThreadPool(
                self._reactor, self._reactor.getThreadPool(), _svg_body, board_id, snapshot
            )

        def drawn(body: bytes) -> bytes:
            request.setHeader(b"Content-Type", b"image/svg+xml; charset=utf-8")
            request.setHeader(b"Content-Security-Policy", _SVG_POLICY)
            request.setHeader(
                b"Content-Disposition",
                b'inline; filename="%s.svg"' % (board_id.encode("ascii"),),
            )
            return body

        d = self._scene(board_id)
        d.addCallback(draw)
        d.addCallback(drawn)
        d.addErrback(_unavailable, request)
        return d

    def _history(self, request: IRequest, board_id: str) -> Any:
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
            request.setResponseCode(400)
            return dumps({"error": "bad_request", "message": str(e)}).encode("utf-8")
        if limit < 1:
            request.setResponseCode(400)
            return b'{"error":"bad_request","message":"limit must be 1 or more"}'

        def page(texts: list[str]) -> bytes:
            more = len(texts) > limit
            return (
                '{"board":"%s","after":%d,"more":%s,"ops":[%s]}'
                % (board_id, after, "true" if more else "false", ",".join(texts[:limit]))
            ).encode("utf-8")

        d: Deferred[Any] = self.store.history(board_id, after, limit + 1)
        d.addCallback(page)
        d.addErrback(_unavailable, request)
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


def _unavailable(failure: Failure, request: IRequest) -> bytes:
    failure.trap(StoreUnavailable)
    request.setResponseCode(503)
    request.setHeader(b"Content-Type", b"application/json")
    return b'{"error":"storage_unavailable","message":"the store did not answer"}'


def _board_body(board_id: str, scene: Scene) -> bytes:
    return ('{"board":"%s",%s' % (board_id, scene.snapshot_text()[1:])).encode("utf-8")


def _set_security_headers(request: IRequest) -> None:
    for name, value in _SECURITY_HEADERS.items():
        request.setHeader(name, value)

