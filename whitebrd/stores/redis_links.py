# -*- test-case-name: tests.test_stores -*-
"""
Links, owners, locks and moderation records in Redis: the access half of
L{whitebrd.stores.redis.RedisStore}, kept apart from the drawing half.

Keys, besides a board's drawing keys (see L{whitebrd.stores.redis})::

    wb:link:{<id>}          string: "e <board>" (an edit link), "v <board>"
                            (a view link) or "x <reason>" (gone: replaced,
                            revoked, deleted); no key: a named board
    wb:{<board>}:access     hash: edit (the current edit id), owner (the
                            owner key's SHA-256), created, locked, active
    wb:{<board>}:views      hash: view id -> "<expires or -> <created>"
    wb:{<board>}:times      sorted set: seq before an op, scored by time
    wb:boards               sorted set: board, scored by its last activity
    wb:access               pub/sub channel: "a <board>" when links or a
                            lock changed, "d <board>" when it was deleted

A link key is tagged by the link id, not the board: it is found from the id
alone.  A script that follows a link to its board reads keys it was not
given (Redis Cluster would refuse that; whitebrd shards by board in front of
Redis instead, and keeps links, the index and the channel on the first
server).  The board's own record is the authority: a link key that a failed
write left behind is checked against it on every resolve.
"""

from typing import Any, Callable, Optional

from twisted.internet import defer
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from whitebrd.stores._links import (
    ACCESS_CHANNEL,
    CHECKPOINTS_KEPT,
    VIEW_GRACE_SECONDS,
    check_link,
    check_link_and_board,
    seq_from_checkpoints,
)
from whitebrd.stores._shared import check_board
from whitebrd.stores.interface import (
    AccessListener,
    BoardInfo,
    LinkTarget,
    StoreUnavailable,
    ViewLink,
)

__all__ = ["RedisLinks"]

_CREATE_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
local named = 'wb:{' .. ARGV[1] .. '}:'
if redis.call('EXISTS', named .. 'meta') == 1
   or redis.call('EXISTS', named .. 'access') == 1 then
  return 0
end
redis.call('SET', KEYS[1], 'e ' .. ARGV[2])
redis.call('HSET', KEYS[2], 'edit', ARGV[1], 'owner', ARGV[3], 'created', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
return 1
"""

_RESOLVE_SCRIPT = """
local pointer = redis.call('GET', KEYS[1])
if not pointer then
  return {'n', ARGV[1], redis.call('HGET', 'wb:{' .. ARGV[1] .. '}:access', 'locked') or ''}
end
local kind, rest = string.sub(pointer, 1, 1), string.sub(pointer, 3)
if kind == 'x' then return {'x', rest} end
local record = redis.call('HMGET', 'wb:{' .. rest .. '}:access', 'edit', 'locked', 'owner')
if kind == 'e' then
  if record[1] ~= ARGV[1] then return {'x', 'replaced'} end
  return {'e', rest, record[2] or '', record[3] or ''}
end
local view = redis.call('HGET', 'wb:{' .. rest .. '}:views', ARGV[1])
if not view then return {'x', 'revoked'} end
return {'v', rest, record[2] or '', record[3] or '', view}
"""

_ADD_VIEW_SCRIPT = """
if not redis.call('HGET', KEYS[1], 'edit') then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local ends = string.match(all[i + 1], '^(%S+)')
  if ends ~= '-' and tonumber(ends) + tonumber(ARGV[5]) < tonumber(ARGV[4]) then
    redis.call('HDEL', KEYS[2], all[i])
    redis.call('DEL', 'wb:link:{' .. all[i] .. '}')
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3] .. ' ' .. ARGV[4])
redis.call('SET', KEYS[3], 'v ' .. ARGV[2])
redis.call('PUBLISH', ARGV[6], 'a ' .. ARGV[2])
return 1
"""

_REMOVE_VIEW_SCRIPT = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], 'x revoked')
redis.call('PUBLISH', ARGV[3], 'a ' .. ARGV[2])
return 1
"""

_ROTATE_SCRIPT = """
local old = redis.call('HGET', KEYS[1], 'edit')
if not old then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local named = 'wb:{' .. ARGV[1] .. '}:'
if redis.call('EXISTS', named .. 'meta') == 1
   or redis.call('EXISTS', named .. 'access') == 1 then
  return 0
end
redis.call('SET', 'wb:link:{' .. old .. '}', 'x replaced')
for _, view in ipairs(redis.call('HKEYS', KEYS[2])) do
  redis.call('SET', 'wb:link:{' .. view .. '}', 'x revoked')
end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[3], 'e ' .. ARGV[2])
redis.call('HSET', KEYS[1], 'edit', ARGV[1])
redis.call('PUBLISH', ARGV[3], 'a ' .. ARGV[2])
return 1
"""

_LOCK_SCRIPT = """
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'locked', '1')
else
  redis.call('HDEL', KEYS[1], 'locked')
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[1])
redis.call('PUBLISH', ARGV[4], 'a ' .. ARGV[1])
return 1
"""

# ARGV: board, the channel, then the names of the board's keys to delete.
_DELETE_SCRIPT = """
local tag = 'wb:{' .. ARGV[1] .. '}:'
local edit = redis.call('HGET', tag .. 'access', 'edit')
if edit then redis.call('SET', 'wb:link:{' .. edit .. '}', 'x deleted') end
for _, view in ipairs(redis.call('HKEYS', tag .. 'views')) do
  redis.call('SET', 'wb:link:{' .. view .. '}', 'x deleted')
end
for i = 3, #ARGV do redis.call('DEL', tag .. ARGV[i]) end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], 'd ' .. ARGV[1])
return 1
"""

_TOUCH_SCRIPT = """
redis.call('HSET', KEYS[1], 'active', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -tonumber(ARGV[4]) - 1)
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
"""

_SEQ_AT_SCRIPT = """
return {
  redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'WITHSCORES', 'LIMIT', 0, 1),
  redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
  redis.call('HGET', KEYS[2], 'seq') or '0'
}
"""

# One board's line in the admin list; ARGV[1] 'list' with ARGV[2] a limit,
# or 'one' with ARGV[2] a board.
_INFO_SCRIPT = """
local function info(board)
  local tag = 'wb:{' .. board .. '}:'
  local seq = redis.call('HGET', tag .. 'meta', 'seq')
  local a = redis.call('HMGET', tag .. 'access', 'edit', 'locked', 'created', 'active')
  if not seq and not a[1] and not a[2] and not a[3] and not a[4] then return nil end
  local size = 0
  for _, name in ipairs({'snap', 'log', 'archive'}) do
    size = size + (redis.call('MEMORY', 'USAGE', tag .. name) or 0)
  end
  return {board, seq or '0', redis.call('HLEN', tag .. 'items'), size,
          a[1] and '1' or '', a[2] or '', a[3] or '', a[4] or ''}
end
if ARGV[1] == 'one' then
  local found = info(ARGV[2])
  if found then return {found} end
  return {}
end
local out = {}
for _, board in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  local found = info(board)
  if found then out[#out + 1] = found end
end
return out
"""

_BOARDS_KEY = "wb:boards"


def _link_key(link: str) -> str:
    return "wb:link:{%s}" % (link,)


def _board_key(board: str, name: str) -> str:
    return "wb:{%s}:%s" % (board, name)


def _number(text: Any) -> Optional[float]:
    if text is None or text in ("", b""):
        return None
    return float(text)


class _AccessWatch:
    """
    Who listens to access changes in this process, and whether the channel
    is subscribed.
    """

    def __init__(self) -> None:
        self.listeners: list[AccessListener] = []
        self.waiting: list[Deferred[None]] = []
        self.subscribed = False
        self.late = False


class RedisLinks:
    """
    The access methods of L{IStore} for L{whitebrd.stores.redis.RedisStore},
    which provides C{_call}, C{_subscriptions}, C{_reactor}, C{_timeout} and
    C{_window}.
    """

    log: Logger
    _reactor: Any
    _timeout: float
    _window: int
    _call: Callable[..., "Deferred[Any]"]
    _subscriptions: Callable[[], Any]

    def script(
        self, what: str, source: str, keys: list[str], args: list[Any]
    ) -> "Deferred[Any]":
        """
        Run a Lua script on the store's connection, bounded by its timeout:
        for other modules that keep short-lived counters beside the boards
        (L{whitebrd.counters}).

        @param what: what it is for, for log messages.
        @return: the script's reply; L{StoreUnavailable} when Redis does not
            answer.
        """
        return self._call(what, lambda redis: redis.eval(source, keys, args))

    def create_board(
        self, board: str, edit: str, owner: str, now: float
    ) -> "Deferred[bool]":
        check_link_and_board(edit, board)
        d = self.script(
            "create a board",
            _CREATE_SCRIPT,
            [_link_key(edit), _board_key(board, "access"), _BOARDS_KEY],
            [edit, board, owner, repr(now)],
        )
        return d.addCallback(lambda reply: bool(int(reply)))

    def resolve(self, link: str) -> "Deferred[LinkTarget]":
        check_link(link)
        d = self.script("resolve a link", _RESOLVE_SCRIPT, [_link_key(link)], [link])
        return d.addCallback(_target)

    def add_view(
        self, board: str, view: str, expires: Optional[float], now: float
    ) -> "Deferred[bool]":
        check_link_and_board(view, board)
        d = self.script(
            "add a view link to board %s" % (board,),
            _ADD_VIEW_SCRIPT,
            [_board_key(board, "access"), _board_key(board, "views"), _link_key(view)],
            [
                view,
                board,
                "-" if expires is None else repr(expires),
                repr(now),
                repr(VIEW_GRACE_SECONDS),
                ACCESS_CHANNEL,
            ],
        )
        return d.addCallback(lambda reply: bool(int(reply)))

    def remove_view(self, board: str, view: str) -> "Deferred[bool]":
        check_link_and_board(view, board)
        d = self.script(
            "revoke a view link of board %s" % (board,),
            _REMOVE_VIEW_SCRIPT,
            [_board_key(board, "views"), _link_key(view)],
            [view, board, ACCESS_CHANNEL],
        )
        return d.addCallback(lambda reply: bool(int(reply)))

    def views(self, board: str) -> "Deferred[list[ViewLink]]":
        check_board(board)
        d = self._call(
            "list the view links of board %s" % (board,),
            lambda redis: redis.hgetall(_board_key(board, "views")),
        )

        def read(found: dict[str, str]) -> list[ViewLink]:
            links = []
            for view, value in found.items():
                ends, made = value.split(" ")
                links.append(
                    ViewLink(view, None if ends == "-" else float(ends), float(made))
                )
            return sorted(links, key=lambda link: (link.created, link.id))

        return d.addCallback(read)

    def rotate(self, board: str, edit: str) -> "Deferred[bool]":
        check_link_and_board(edit, board)
        d = self.script(
            "rotate the edit link of board %s" % (board,),
            _ROTATE_SCRIPT,
            [_board_key(board, "access"), _board_key(board, "views"), _link_key(edit)],
            [edit, board, ACCESS_CHANNEL],
        )
        return d.addCallback(lambda reply: bool(int(reply)))

    def set_locked(self, board: str, locked: bool, now: float) -> "Deferred[None]":
        check_board(board)
        d = self.script(
            "lock board %s" % (board,),
            _LOCK_SCRIPT,
            [_board_key(board, "access"), _BOARDS_KEY],
            [board, "1" if locked else "0", repr(now), ACCESS_CHANNEL],
        )
        return d.addCallback(lambda _: None)

    def _dedup_names(self) -> list[str]:
        """
        The names, after a board's key tag, of its dedup keys for this
        window and the one before, which it remembers cids in: C{cids}
        and C{runs}, each for this window then the last.
        """
        bucket = int(self._reactor.seconds()) // self._window
        return [
            "%s:%d" % (name, window)
            for name in ("cids", "runs")
            for window in (bucket, bucket - 1)
        ]

    def delete(self, board: str) -> "Deferred[None]":
        check_board(board)
        names = ["meta", "log", "snap", "items", "sizes", "recent", "archive", "archived"]
        names += ["access", "views", "times"] + self._dedup_names()
        d = self.script(
            "delete board %s" % (board,),
            _DELETE_SCRIPT,
            [_BOARDS_KEY],
            [board, ACCESS_CHANNEL] + names,
        )
        return d.addCallback(lambda _: None)

    def touch(self, board: str, now: float, seq: int) -> "Deferred[None]":
        check_board(board)
        d = self.script(
            "note activity on board %s" % (board,),
            _TOUCH_SCRIPT,
            [_board_key(board, "access"), _board_key(board, "times"), _BOARDS_KEY],
            [board, repr(now), int(seq), CHECKPOINTS_KEPT],
        )
        return d.addCallback(lambda _: None)

    def seq_at(self, board: str, when: float, grain_seconds: float) -> "Deferred[int]":
        check_board(board)
        d = self.script(
            "find where to revert board %s from" % (board,),
            _SEQ_AT_SCRIPT,
            [_board_key(board, "times"), _board_key(board, "meta")],
            [repr(when)],
        )

        def read(reply: list[Any]) -> int:
            before = (float(reply[0][1]), int(reply[0][0])) if reply[0] else None
            after = (float(reply[1][1]), int(reply[1][0])) if reply[1] else None
            return seq_from_checkpoints(
                before, after, when, grain_seconds, int(reply[2])
            )

        return d.addCallback(read)

    def boards(self, limit: int) -> "Deferred[list[BoardInfo]]":
        d = self.script(
            "list boards", _INFO_SCRIPT, [_BOARDS_KEY], ["list", max(1, int(limit))]
        )
        return d.addCallback(lambda reply: [_info(row) for row in reply])

    def board_info(self, board: str) -> "Deferred[Optional[BoardInfo]]":
        check_board(board)
        d = self.script(
            "describe board %s" % (board,), _INFO_SCRIPT, [_BOARDS_KEY], ["one", board]
        )
        return d.addCallback(lambda reply: _info(reply[0]) if reply else None)

    # Access notifications

    def _access_watch(self) -> _AccessWatch:
        watch: Optional[_AccessWatch] = self.__dict__.get("_access")
        if watch is None:
            watch = self.__dict__["_access"] = _AccessWatch()
        return watch

    def watch_access(self, listener: AccessListener) -> "Deferred[None]":
        watch = self._access_watch()
        watch.listeners.append(listener)
        if watch.subscribed:
            return succeed(None)
        ready: Deferred[None] = Deferred()
        watch.waiting.append(ready)
        ready.addTimeout(self._timeout, self._reactor)

        def failed(failure: Any) -> Any:
            # NB: the listener stays: it hears changes once Redis confirms
            # the subscription, told first that it may have missed some.
            if ready in watch.waiting:
                watch.waiting.remove(ready)
            watch.late = True
            failure.trap(defer.TimeoutError)
            raise StoreUnavailable(
                "Redis did not confirm the subscription to %s in time"
                % (ACCESS_CHANNEL,)
            )

        ready.addErrback(failed)
        self._subscriptions().want(ACCESS_CHANNEL)
        return ready

    def _access_subscribed(self) -> None:
        """
        Redis confirmed the access channel: the first time, listening has
        begun; after a reconnect, changes may have been missed meanwhile.
        """
        watch = self._access_watch()
        again = watch.subscribed or watch.late
        watch.subscribed, watch.late = True, False
        waiting, watch.waiting = watch.waiting, []
        for ready in waiting:
            ready.callback(None)
        if again:
            self._tell_access(None, False)

    def _access_message(self, text: str) -> None:
        kind, _, board = text.partition(" ")
        if kind not in ("a", "d") or not board:
            self.log.warn(
                "Ignored a message on {channel}: {text}",
                channel=ACCESS_CHANNEL,
                text=text[:80],
            )
            return
        self._tell_access(board, kind == "d")

    def _tell_access(self, board: Optional[str], deleted: bool) -> None:
        for listener in list(self._access_watch().listeners):
            try:
                listener(board, deleted)
            except Exception:
                self.log.failure(
                    "An access listener failed on board {board}", board=board
                )


def _target(reply: list[Any]) -> LinkTarget:
    kind = reply[0]
    if kind == "x":
        return LinkTarget("gone", reason=reply[1])
    board, locked = reply[1], reply[2] == "1"
    if kind == "n":
        return LinkTarget("named", board, locked=locked)
    owner = reply[3] or None
    if kind == "e":
        return LinkTarget("edit", board, locked, owner)
    ends = reply[4].split(" ")[0]
    return LinkTarget(
        "view", board, locked, owner, None if ends == "-" else float(ends)
    )


def _info(row: list[Any]) -> BoardInfo:
    return BoardInfo(
        board=row[0],
        named=row[4] != "1",
        seq=int(row[1]),
        items=int(row[2]),
        bytes=int(row[3]),
        created=_number(row[6]),
        active=_number(row[7]),
        locked=row[5] == "1",
    )
