# -*- test-case-name: tests.test_admin -*-
"""
The operator's pages: every board with its size, items, last activity and
people online; lock and unlock, delete, and revert one person's last
minutes.

C{/admin} exists only when the daemon was given an admin token (by file or
environment, never on the command line, where C{ps} shows it); otherwise it
is a 404 like any unknown address.  A request carries the token as
C{Authorization: Bearer <token>} (scripts) or as the password of HTTP Basic
authentication (a browser), whose user name is recorded as who acted.
Tokens are compared in constant time.  A browser sends Basic credentials by
itself, so a form post authenticated that way must also carry a field
derived from the token (C{csrf}), which another site's page cannot know.

    GET  /admin                          the boards, as a page
    GET  /admin/b/<board>                one board: who drew, their texts
    GET  /admin/find?link=<url or id>    the board a link leads to
    GET  /admin/api/boards               the boards, as JSON
    GET  /admin/api/b/<board>            one board, as JSON
    POST /admin/b/<board>/lock           read-only for everyone
    POST /admin/b/<board>/unlock
    POST /admin/b/<board>/delete
    POST /admin/b/<board>/revert         client=<client id>&minutes=<N>

A POST answers JSON when the request accepts it, else 303 back to a page.
Every action is logged with who, from where, and what.  Every text a user
chose (board names, client ids, text items) is escaped: the page shows it,
never runs it.
"""

import base64
import hashlib
import hmac
import html
import json
import re
import time
from typing import Any, Optional
from urllib.parse import quote, urlsplit

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import NoResource

from whitebrd.counters import Counters
from whitebrd.frames import BOARD_ID, BOARD_KEY, CLIENT_ID
from whitebrd.limits import Limits
from whitebrd.links import LinkRefused
from whitebrd.moderation import authors, revert
from whitebrd.stores import BoardInfo, IStore, StoreUnavailable

__all__ = ["Admin", "MIN_TOKEN_CHARS"]

# Shorter tokens are refused at startup.
MIN_TOKEN_CHARS = 16

# At most this many boards are listed, most recently active first.
LIST_LIMIT = 500

# A revert looks back at most a week.
MAX_REVERT_MINUTES = 7 * 24 * 60

_KEY = BOARD_KEY.pattern
_BOARD_PAGE = re.compile(rb"/admin/b/(%s)" % (_KEY.encode(),))
_BOARD_API = re.compile(rb"/admin/api/b/(%s)" % (_KEY.encode(),))
_ACTION = re.compile(rb"/admin/b/(%s)/(lock|unlock|delete|revert)" % (_KEY.encode(),))
_LINK_IN_TEXT = re.compile(r"(?:/([bv])/)?([A-Za-z0-9_-]{1,64})/?$")

_SECURITY_HEADERS = {
    b"Content-Security-Policy": (
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        b" base-uri 'none'; frame-ancestors 'none'"
    ),
    b"X-Content-Type-Options": b"nosniff",
    b"Referrer-Policy": b"no-referrer",
    b"X-Frame-Options": b"DENY",
    b"Cache-Control": b"no-store",
}


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _when(seconds: Optional[float], missing: str = "never") -> str:
    if seconds is None:
        return missing
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if count < 1024:
            return "%d %s" % (count, unit)
        count //= 1024
    return "%d GiB" % (count,)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Admin:
    """
    The admin pages of one daemon.
    """

    log = Logger()

    def __init__(
        self,
        token: str,
        store: IStore,
        factory: Any,
        counters: Counters,
        limits: Limits,
        clock: IReactorTime,
    ) -> None:
        """
        @param token: the admin token, at least L{MIN_TOKEN_CHARS} long.
        @param factory: the WebSocket factory, for the boards live here.
        @raise ValueError: for a short token.
        """
        if len(token) < MIN_TOKEN_CHARS:
            raise ValueError(
                "the admin token must be at least %d characters" % (MIN_TOKEN_CHARS,)
            )
        self._token = _digest(token)
        self._csrf = hmac.new(
            token.encode("utf-8"), b"whitebrd admin form", "sha256"
        ).hexdigest()
        self.store = store
        self.factory = factory
        self.counters = counters
        self.limits = limits
        self._clock = clock

    # Who is asking

    def _who(self, request: IRequest) -> tuple[Optional[str], bool]:
        """
        The name of the admin making C{request}, and whether they used HTTP
        Basic authentication; C{None} without the right token.
        """
        header = (request.getHeader(b"authorization") or b"").decode("latin-1").strip()
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return ("bearer" if self._matches(value) else None), False
        if scheme.lower() == "basic" and value:
            try:
                user, _, password = (
                    base64.b64decode(value, validate=True)
                    .decode("utf-8")
                    .partition(":")
                )
            except (ValueError, UnicodeDecodeError):
                return None, True
            if self._matches(password):
                return (
                    user
                    if CLIENT_ID.fullmatch(user or "") or BOARD_ID.fullmatch(user or "")
                    else "admin"
                ), True
        return None, True

    def _matches(self, given: str) -> bool:
        return hmac.compare_digest(_digest(given), self._token)

    def _address(self, request: IRequest) -> str:
        return str(self.factory.quotas.address_of_request(request))

    # Dispatch

    def render(self, request: IRequest) -> Any:
        """
        Answer a request under C{/admin}.
        """
        who, basic = self._who(request)
        if who is None:
            self.log.warn(
                "Admin request refused from {address}: no or wrong token",
                address=self._address(request),
            )
            request.setResponseCode(401)
            request.setHeader(
                b"WWW-Authenticate", b'Basic realm="whitebrd admin", charset="UTF-8"'
            )
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            for name, value in _SECURITY_HEADERS.items():
                request.setHeader(name, value)
            return b"The admin pages need the admin token.\n"
        for name, value in _SECURITY_HEADERS.items():
            request.setHeader(name, value)
        return Deferred.fromCoroutine(self._render(request, who, basic))

    async def _render(self, request: IRequest, who: str, basic: bool) -> Any:
        path, method = request.path, request.method
        try:
            if method == b"POST":
                action = _ACTION.fullmatch(path)
                if action is None:
                    return NoResource()
                return await self._act(
                    request,
                    who,
                    basic,
                    action.group(1).decode(),
                    action.group(2).decode(),
                )
            if path in (b"/admin", b"/admin/"):
                return await self._list_page(request)
            if path == b"/admin/api/boards":
                return _json(request, 200, {"boards": await self._boards()})
            if path == b"/admin/find":
                return await self._find(request)
            page = _BOARD_PAGE.fullmatch(path)
            if page is not None:
                return await self._board_page(request, page.group(1).decode())
            api = _BOARD_API.fullmatch(path)
            if api is not None:
                detail = await self._detail(api.group(1).decode())
                if detail is None:
                    return _json(
                        request, 404, {"error": "not_found", "message": "no such board"}
                    )
                return _json(request, 200, detail)
            return NoResource()
        except StoreUnavailable as e:
            self.log.warn(
                "Admin page failed, the store is unavailable: {error}", error=e
            )
            return _text(request, 503, "The store did not answer; try again.")
        except _Refused as e:
            if _wants_json(request):
                return _json(
                    request, e.status, {"error": "refused", "message": e.message}
                )
            return _text(request, e.status, e.message)

    # Reading

    async def _online(self) -> dict[str, int]:
        here = {b.board_id: len(b.subscribers) for b in self.factory.boards.all()}
        try:
            await self.counters.report_online(here)
            return await self.counters.online()
        except StoreUnavailable:
            return here

    async def _boards(self) -> list[dict[str, Any]]:
        infos = await self.store.boards(LIST_LIMIT)
        online = await self._online()
        return [_info_json(info, online.get(info.board, 0)) for info in infos]

    async def _detail(self, board: str) -> Optional[dict[str, Any]]:
        info = await self.store.board_info(board)
        if info is None:
            return None
        online = await self._online()
        texts = await self.store.history(board)
        return dict(_info_json(info, online.get(board, 0)), authors=authors(texts))

    async def _find(self, request: IRequest) -> Any:
        wanted = (
            (request.args.get(b"link") or [b""])[0].decode("utf-8", "replace").strip()
        )
        match = _LINK_IN_TEXT.search(urlsplit(wanted).path or wanted)
        if match is None:
            raise _Refused(404, "That is not a board link or name.")
        view = match.group(1) == "v"
        try:
            access = await self.factory.gate.links.open(match.group(2), view)
        except LinkRefused as e:
            raise _Refused(404, e.message)
        return _redirect(request, "/admin/b/" + quote(access.board))

    # Pages

    async def _list_page(self, request: IRequest) -> bytes:
        boards = await self._boards()
        rows = []
        for board in boards:
            key = board["board"]
            rows.append(
                '<tr><td><a href="/admin/b/%s">%s</a></td><td>%s</td><td>%d</td>'
                "<td>%d</td><td>%s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td></tr>"
                % (
                    _e(quote(key)),
                    _e(key),
                    "named" if board["named"] else "New board",
                    board["items"],
                    board["seq"],
                    _e(_size(board["bytes"])),
                    _e(_when(board["active"])),
                    board["online"],
                    "locked" if board["locked"] else "",
                    self._lock_form(key, board["locked"]),
                )
            )
        body = (
            "<h1>Boards</h1>"
            '<form class="find" method="get" action="/admin/find">'
            '<label>Find the board of a link or name <input name="link" required'
            ' autocomplete="off"></label> <button>Find</button></form>'
            "<table><thead><tr><th>board</th><th>kind</th><th>items</th><th>ops</th>"
            "<th>size</th><th>last activity</th><th>online</th><th></th><th></th></tr>"
            "</thead><tbody>%s</tbody></table>" % ("".join(rows),)
        )
        return _page(request, "Boards", body)

    async def _board_page(self, request: IRequest, board: str) -> bytes:
        detail = await self._detail(board)
        if detail is None:
            raise _Refused(404, "No such board.")
        key = detail["board"]
        notice = (request.args.get(b"done") or [b""])[0].decode("utf-8", "replace")
        people = []
        for person in detail["authors"]:
            texts = "".join(
                '<li class="text">%s</li>' % (_e(text[:500]),)
                for text in person["texts"][:50]
            )
            people.append(
                '<tr><td class="client">%s</td><td>%d</td><td>%d</td><td><ul>%s</ul></td>'
                "<td>%s</td></tr>"
                % (
                    _e(person["client"]),
                    person["ops"],
                    person["items"],
                    texts,
                    self._revert_form(key, person["client"]),
                )
            )
        body = (
            '<p><a href="/admin">All boards</a></p><h1>Board %s</h1>%s'
            "<dl><dt>kind</dt><dd>%s</dd><dt>items</dt><dd>%d</dd><dt>ops</dt><dd>%d</dd>"
            "<dt>size</dt><dd>%s</dd><dt>created</dt><dd>%s</dd><dt>last activity</dt>"
            "<dd>%s</dd><dt>online</dt><dd>%d</dd><dt>locked</dt><dd>%s</dd></dl>"
            '<div class="actions">%s%s</div>'
            "<h2>Who drew here</h2><table><thead><tr><th>client id</th><th>ops</th>"
            "<th>visible items</th><th>their texts</th><th>revert</th></tr></thead>"
            "<tbody>%s</tbody></table>"
            % (
                _e(key),
                '<p class="notice">%s</p>' % (_e(notice),) if notice else "",
                "named board" if detail["named"] else "made with New board",
                detail["items"],
                detail["seq"],
                _e(_size(detail["bytes"])),
                _e(_when(detail["created"], "-")),
                _e(_when(detail["active"])),
                detail["online"],
                "yes" if detail["locked"] else "no",
                self._lock_form(key, detail["locked"]),
                self._delete_form(key),
                "".join(people),
            )
        )
        return _page(request, "Board " + key, body)

    def _form(
        self, key: str, action: str, fields: str, label: str, css: str = ""
    ) -> str:
        return (
            '<form method="post" action="/admin/b/%s/%s"%s>'
            '<input type="hidden" name="csrf" value="%s">%s<button>%s</button></form>'
            % (
                _e(quote(key)),
                action,
                ' class="%s"' % (css,) if css else "",
                self._csrf,
                fields,
                label,
            )
        )

    def _lock_form(self, key: str, locked: bool) -> str:
        if locked:
            return self._form(key, "unlock", "", "Unlock")
        return self._form(key, "lock", "", "Lock")

    def _delete_form(self, key: str) -> str:
        return self._form(
            key,
            "delete",
            '<label><input type="checkbox" name="confirm" value="yes" required>'
            " delete for good</label> ",
            "Delete",
            "danger",
        )

    def _revert_form(self, key: str, client: str) -> str:
        return self._form(
            key,
            "revert",
            '<input type="hidden" name="client" value="%s">'
            '<label>last <input name="minutes" type="number" min="1" max="%d" value="60"'
            " required> minutes</label> " % (_e(client), MAX_REVERT_MINUTES),
            "Revert",
        )

    # Acting

    def _fields(self, request: IRequest) -> dict[str, str]:
        content_type = request.getHeader(b"content-type") or b""
        if content_type.startswith(b"application/json"):
            raw = request.content.read(65536) if request.content else b""
            try:
                value = json.loads(raw or b"{}")
            except ValueError:
                raise _Refused(400, "The body is not JSON.")
            if not isinstance(value, dict):
                raise _Refused(400, "The body must be a JSON object.")
            return {str(k): str(v) for k, v in value.items()}
        return {
            k.decode("utf-8", "replace"): v[0].decode("utf-8", "replace")
            for k, v in request.args.items()
            if v
        }

    async def _act(
        self, request: IRequest, who: str, basic: bool, board: str, action: str
    ) -> Any:
        fields = self._fields(request)
        if basic and not hmac.compare_digest(fields.get("csrf", ""), self._csrf):
            raise _Refused(
                403, "The form is stale or came from another site; reload the page."
            )
        address = self._address(request)
        now = self._clock.seconds()
        result: dict[str, Any] = {"board": board, "action": action}
        if action in ("lock", "unlock"):
            await self.store.set_locked(board, action == "lock", now)
            detail = ""
        elif action == "delete":
            if not _wants_json(request) and fields.get("confirm") != "yes":
                raise _Refused(400, "Tick the box to confirm the deletion.")
            await self.store.delete(board)
            detail = ""
        else:
            client = fields.get("client", "")
            if not CLIENT_ID.fullmatch(client):
                raise _Refused(
                    400, "client must be a client id: 8 to 40 of A-Z a-z 0-9 _ -"
                )
            try:
                minutes = float(fields.get("minutes", ""))
            except ValueError:
                minutes = 0.0
            if not 0 < minutes <= MAX_REVERT_MINUTES:
                raise _Refused(
                    400, "minutes must be a number from 1 to %d" % (MAX_REVERT_MINUTES,)
                )
            since = now - 60.0 * minutes
            result.update(await revert(self.store, self.limits, board, client, since))
            result.update(client=client, minutes=minutes)
            detail = (
                " by client %s over the last %g minutes: %d erased, %d restored"
                % (
                    client,
                    minutes,
                    result["erased"],
                    result["restored"],
                )
            )
        self.log.info(
            "Admin {who} from {address}: {action} board {board}{detail}",
            who=who,
            address=address,
            action=action,
            board=board,
            detail=detail,
        )
        if _wants_json(request):
            return _json(request, 200, result)
        if action == "delete":
            return _redirect(request, "/admin")
        done = "%s done%s" % (action, detail)
        return _redirect(request, "/admin/b/%s?done=%s" % (quote(board), quote(done)))


def _info_json(info: BoardInfo, online: int) -> dict[str, Any]:
    return {
        "board": info.board,
        "named": info.named,
        "seq": info.seq,
        "items": info.items,
        "bytes": info.bytes,
        "created": info.created,
        "active": info.active,
        "locked": info.locked,
        "online": online,
    }


def _wants_json(request: IRequest) -> bool:
    return b"application/json" in (request.getHeader(b"accept") or b"")


def _json(request: IRequest, status: int, value: Any) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps(value).encode("utf-8")


def _text(request: IRequest, status: int, message: str) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    return message.encode("utf-8") + b"\n"


def _redirect(request: IRequest, location: str) -> bytes:
    request.setResponseCode(303)
    request.setHeader(b"Location", location.encode("ascii"))
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    return b"See " + location.encode("ascii") + b"\n"


def _page(request: IRequest, title: str, body: str) -> bytes:
    request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>%s · whitebrd admin</title>"
        '<link rel="stylesheet" href="/static/css/admin.css"></head>'
        "<body><main>%s</main></body></html>" % (_e(title), body)
    ).encode("utf-8")
