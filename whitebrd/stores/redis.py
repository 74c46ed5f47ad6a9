# -*- test-case-name: tests.test_stores -*-
"""
Boards in Redis, shared by every daemon that points at the same server.

Each board's keys carry the board id as a hash tag, so that a board lives on
one shard however keys are spread::

    wb:{<board>}:meta      hash: seq (newest op), base (seq of the snapshot),
                           points and bytes (of the visible items), tail,
                           snap and erased (bytes of the log, the snapshot
                           and what was erased since it was made)
    wb:{<board>}:log       list: op texts with seqs base+1 .. seq
    wb:{<board>}:snap      string: the snapshot (Scene.snapshot_text)
    wb:{<board>}:items     hash: visible item id -> its point count
    wb:{<board>}:sizes     hash: visible item id -> bytes of its ops
    wb:{<board>}:recent    hash: cid -> seq, for the ops in the log
    wb:{<board>}:runs:<n>  hash: cid prefix -> the counters applied in the
                           n-th dedup window, as ranges
    wb:{<board>}:cids:<n>  hash: cid -> seq, in the n-th dedup window, for
                           cids that are not <prefix>-<counter>
    wb:{<board>}:archive   list: zlib chunks of the ops merged out of the log
    wb:{<board>}:archived  list: when each archive chunk was written
    wb:{<board>}:ops       pub/sub channel: every op text, as it is appended

An append is one round trip: a Lua script checks the op against the dedup
window and the board, assigns its seq, stores it and publishes it, all
atomically, so every daemon sees every board in one order.  The script
joins strings; it never decodes the JSON a client drew (Lua's JSON library
rounds floats and cannot tell C{[]} from C{{}}).

Pages name their ops C{<client id>.<page id>-<counter>} with a counter that
only grows, so the cids of a dedup window fold into a few ranges per page:
what a board holds to recognise a resent op follows its log and how many
pages drew on it, not every op of the day.

Redis must keep what it is given: run it with C{maxmemory-policy noeviction}
(an evicted C{:log} or C{:items} key corrupts a board) and, where a
restart must not lose acknowledged ops, with C{appendonly yes}.
"""

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import unquote, urlsplit

import txredisapi
from twisted.internet import defer
from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from whitebrd.frames import Op, stored_text
from whitebrd.limits import Limits
from whitebrd.scene import Scene
from whitebrd.stores._shared import (
    MAX_RUNS_PER_PREFIX,
    Compactor,
    Held,
    check_append,
    check_board,
    compaction,
    counted_cid,
    drawn_bytes,
    fold,
    folded,
    refusal,
    seq_of,
    unpack_chunk,
)
from whitebrd.stores._links import ACCESS_CHANNEL
from whitebrd.stores.interface import Appended, IStore, OpListener, StoreUnavailable
from whitebrd.stores.redis_links import RedisLinks

__all__ = ["RedisAddress", "RedisStore", "SubscriberFactory", "parse_redis_url"]

_T = TypeVar("_T")

# How long a listened board whose missing ops could not be read waits
# before it tries again (a new message or subscription also tries again).
_CATCH_UP_RETRY_SECONDS = 1.0

# Erase and move ops name up to Limits.max_ids_per_erase ids and need one
# of them visible, an update needs its item visible; an erase looks each id
# up for the points and bytes it gives back.  The board's totals live in
# :meta, an item's in :items (points) and :sizes (bytes); moving and
# restyling change neither.  :meta's tail, snap and erased count bytes for
# the compaction rule (see Compactor).
#
# A cid seen before is found in :recent (ops still in the log, with their
# seq), in a window's :cids (cids that are not <prefix>-<counter>) or in a
# window's :runs (the counters applied per prefix, as ranges
# "lo-hi,lo-hi" in ascending order, as _shared.runs_with makes them).  A counter found only in :runs was
# folded into the snapshot, so the snapshot's seq is at or after its own.
# A prefix whose ranges would pass ARGV[15] in number (counters far out of
# order: only a client misbehaving on purpose) has its further cids kept
# in :cids instead.
_APPEND_SCRIPT = """
local meta, log, items, cids, old_cids = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sizes, recent, runs, old_runs = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local cid, kind, by, rest = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local points, bytes = tonumber(ARGV[5]), tonumber(ARGV[6])
local max_items, max_item_points = tonumber(ARGV[7]), tonumber(ARGV[8])
local max_points, max_bytes = tonumber(ARGV[9]), tonumber(ARGV[10])
local ttl, channel = tonumber(ARGV[11]), ARGV[12]
local prefix, counter, max_runs = ARGV[13], tonumber(ARGV[14]), tonumber(ARGV[15])
local first = 16
local id = ARGV[first]

local function in_runs(held, n)
  if not held then return false end
  for lo, hi in string.gmatch(held, '(%d+)-(%d+)') do
    if n < tonumber(lo) then return false end
    if n <= tonumber(hi) then return true end
  end
  return false
end

local function with_run(held, n)
  local out, low, high, placed = {}, nil, nil, false
  local function take(lo, hi)
    if high and lo <= high + 1 then
      if hi > high then high = hi end
    else
      if low then out[#out + 1] = string.format('%d-%d', low, high) end
      low, high = lo, hi
    end
  end
  for lo, hi in string.gmatch(held or '', '(%d+)-(%d+)') do
    lo, hi = tonumber(lo), tonumber(hi)
    if not placed and n < lo then take(n, n); placed = true end
    take(lo, hi)
  end
  if not placed then take(n, n) end
  out[#out + 1] = string.format('%d-%d', low, high)
  return table.concat(out, ','), #out
end

local earlier = redis.call('HGET', recent, cid) or redis.call('HGET', cids, cid)
  or redis.call('HGET', old_cids, cid)
if earlier then return {1, tonumber(earlier)} end
if counter > 0 and (in_runs(redis.call('HGET', runs, prefix), counter)
    or in_runs(redis.call('HGET', old_runs, prefix), counter)) then
  return {1, tonumber(redis.call('HGET', meta, 'base') or '0')}
end

if kind == 'add' then
  if redis.call('HEXISTS', items, id) == 1 then return {2, 'duplicate_id'} end
  if redis.call('HLEN', items) >= max_items then return {2, 'board_full'} end
  if points > max_item_points then return {2, 'too_many_points'} end
elseif kind == 'extend' then
  local held = redis.call('HGET', items, id)
  if not held then return {2, 'unknown_item'} end
  if tonumber(held) + points > max_item_points then return {2, 'too_many_points'} end
elseif kind == 'update' then
  if redis.call('HEXISTS', items, id) == 0 then return {2, 'unknown_item'} end
elseif kind == 'erase' or kind == 'move' then
  local shown = 0
  for i = first, #ARGV do
    shown = shown + redis.call('HEXISTS', items, ARGV[i])
    if shown > 0 then break end
  end
  if shown == 0 then return {2, 'unknown_item'} end
end
local total_points = tonumber(redis.call('HGET', meta, 'points') or '0')
local total_bytes = tonumber(redis.call('HGET', meta, 'bytes') or '0')
if kind == 'add' or kind == 'extend' then
  if total_points + points > max_points then return {2, 'board_full:points'} end
  if total_bytes + bytes > max_bytes then return {2, 'board_full:bytes'} end
end

local seq = redis.call('HINCRBY', meta, 'seq', 1)
local base = tonumber(redis.call('HGET', meta, 'base') or '0')
local text = '{"seq":' .. string.format('%d', seq) .. ',"by":"' .. by .. '",' .. rest
redis.call('RPUSH', log, text)

if kind == 'add' then
  redis.call('HSET', items, id, points)
  redis.call('HSET', sizes, id, bytes)
  total_points, total_bytes = total_points + points, total_bytes + bytes
elseif kind == 'extend' then
  redis.call('HINCRBY', items, id, points)
  redis.call('HINCRBY', sizes, id, bytes)
  total_points, total_bytes = total_points + points, total_bytes + bytes
elseif kind == 'erase' then
  local erased = 0
  for i = first, #ARGV do
    local held = redis.call('HGET', items, ARGV[i])
    if held then
      total_points = total_points - tonumber(held)
      erased = erased + tonumber(redis.call('HGET', sizes, ARGV[i]) or '0')
      redis.call('HDEL', items, ARGV[i])
      redis.call('HDEL', sizes, ARGV[i])
    end
  end
  total_bytes = total_bytes - erased
  redis.call('HINCRBY', meta, 'erased', erased)
elseif kind == 'clear' then
  redis.call('DEL', items, sizes)
  total_points, total_bytes = 0, 0
end
redis.call('HSET', meta, 'points', math.max(0, total_points), 'bytes', math.max(0, total_bytes))

local tail = redis.call('HINCRBY', meta, 'tail', #text)

local widened, count = nil, 0
if counter > 0 then widened, count = with_run(redis.call('HGET', runs, prefix), counter) end
if widened and count <= max_runs then
  redis.call('HSET', recent, cid, seq)
  redis.call('HSET', runs, prefix, widened)
  redis.call('EXPIRE', runs, ttl)
else
  redis.call('HSET', cids, cid, seq)
  redis.call('EXPIRE', cids, ttl)
end
redis.call('PUBLISH', channel, text)
local snapshot = tonumber(redis.call('HGET', meta, 'snap') or '0')
local erased = tonumber(redis.call('HGET', meta, 'erased') or '0')
return {0, seq, seq - base, tail, snapshot, math.max(0, total_bytes), erased}
"""

# The board as stored: base, snapshot (or nil) and the whole log tail.
_READ_SCRIPT = """
local base = tonumber(redis.call('HGET', KEYS[1], 'base') or '0')
return {base, redis.call('GET', KEYS[3]), redis.call('LRANGE', KEYS[2], 0, -1)}
"""

# The ops after ARGV[1].  {0, texts} from the log; {-1, seq} when since is
# not a seq of the board, {-1} (with ARGV[2] = 0) when some were merged away;
# otherwise {1, whole log, the newest ARGV[2] archive chunks, chunk count}.
_TAIL_SCRIPT = """
local since = tonumber(ARGV[1])
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local base = tonumber(redis.call('HGET', KEYS[1], 'base') or '0')
if since < 0 or since > seq then return {-1, seq} end
if since >= base then return {0, redis.call('LRANGE', KEYS[2], since - base, -1)} end
local chunks = tonumber(ARGV[2])
if chunks == 0 then return {-1} end
return {1, redis.call('LRANGE', KEYS[2], 0, -1),
        redis.call('LRANGE', KEYS[3], -chunks, -1), redis.call('LLEN', KEYS[3])}
"""

# Moves the ops up to seq ARGV[2] into a snapshot and an archive chunk,
# unless another process compacted the board since it was read (its base
# moved): the log only grows at its end, so the first ARGV[2] - ARGV[1]
# entries are exactly the ops that were folded.  Their cids leave :recent
# (KEYS[6]; the window's :runs still knows them) and their bytes leave the
# tail's count.  Every stored text starts {"seq":N,"by":"B","cid":"C", and
# neither B nor C needs escaping.  :archived holds when each chunk was
# written (ARGV[5]); chunks older than ARGV[6] are dropped (none when it is
# negative).  Chunks written before times were kept count from now.
_COMPACT_SCRIPT = """
if tonumber(redis.call('HGET', KEYS[1], 'base') or '0') ~= tonumber(ARGV[1]) then
  return 0
end
local folded = tonumber(ARGV[2]) - tonumber(ARGV[1])
local gone = 0
for _, text in ipairs(redis.call('LRANGE', KEYS[2], 0, folded - 1)) do
  gone = gone + #text
  local cid = string.match(text, '^{"seq":%d+,"by":"[^"]*","cid":"([^"]*)"')
  if cid then redis.call('HDEL', KEYS[6], cid) end
end
if redis.call('HINCRBY', KEYS[1], 'tail', -gone) < 0 then
  redis.call('HSET', KEYS[1], 'tail', 0)
end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('HSET', KEYS[1], 'snap', #ARGV[3], 'erased', 0)
redis.call('LTRIM', KEYS[2], folded, -1)
for i = 1, redis.call('LLEN', KEYS[4]) - redis.call('LLEN', KEYS[5]) do
  redis.call('LPUSH', KEYS[5], ARGV[5])
end
redis.call('RPUSH', KEYS[4], ARGV[4])
redis.call('RPUSH', KEYS[5], ARGV[5])
redis.call('HSET', KEYS[1], 'base', ARGV[2])
local cutoff = tonumber(ARGV[6])
if cutoff >= 0 then
  while true do
    local at = redis.call('LINDEX', KEYS[5], 0)
    if not at or tonumber(at) >= cutoff then break end
    redis.call('LPOP', KEYS[5])
    redis.call('LPOP', KEYS[4])
  end
end
return 1
"""

_HISTORY_SCRIPT = """
return {redis.call('LRANGE', KEYS[2], 0, -1), redis.call('LRANGE', KEYS[1], 0, -1)}
"""

# A page of history after seq ARGV[1], at most ARGV[2] ops: {0, texts} when
# the log holds them all, else {1, number of archive chunks}.
_HISTORY_PAGE_SCRIPT = """
local after, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local base = tonumber(redis.call('HGET', KEYS[1], 'base') or '0')
if after >= base then
  return {0, redis.call('LRANGE', KEYS[2], after - base, after - base + limit - 1)}
end
return {1, redis.call('LLEN', KEYS[3])}
"""

# ARGV[2] archive chunks from index ARGV[1], the number of chunks, and, when
# those reach the last chunk, the first ARGV[3] ops of the log, read in the
# same step so that a compaction cannot fall in between.
_HISTORY_CHUNKS_SCRIPT = """
local first, count, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local total = redis.call('LLEN', KEYS[3])
local chunks = redis.call('LRANGE', KEYS[3], first, first + count - 1)
local log = {}
if first + count >= total then log = redis.call('LRANGE', KEYS[2], 0, limit - 1) end
return {chunks, total, log}
"""

# Archive chunks read per round trip while paging through history.
_HISTORY_CHUNKS_PER_READ = 4


@dataclass(frozen=True)
class RedisAddress:
    """
    Where a Redis server is and how to log in, from a C{redis://} URL.

    @ivar db: the database number (C{SELECT}).  NB: pub/sub channels are
        shared by all databases of a server, so two deployments on one
        server must not use the same board ids.
    """

    host: str
    port: int
    db: int = 0
    password: Optional[str] = None
    username: Optional[str] = None

    def __str__(self) -> str:
        """
        The address for log messages; never the password.
        """
        host = "[%s]" % (self.host,) if ":" in self.host else self.host
        return "%s:%d/%d" % (host, self.port, self.db)


def parse_redis_url(url: str) -> RedisAddress:
    """
    Read C{redis://[[user]:password@]host[:port][/db]}.

    The port defaults to 6379 and the database to 0; an IPv6 host goes in
    brackets.

    @raise ValueError: naming what is wrong with C{url}.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise ValueError("Redis URL %r is not valid: %s" % (url, e))
    if parts.scheme != "redis":
        raise ValueError(
            "Redis URL must start with redis:// (TLS is not supported), got %r" % (url,)
        )
    if not parts.hostname:
        raise ValueError("Redis URL %r names no host" % (url,))
    if parts.query or parts.fragment:
        raise ValueError(
            "Redis URL %r has a query or fragment; none is understood" % (url,)
        )
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ValueError(
            "Redis URL %r: the path must be a database number, got %r" % (url, path)
        )
    return RedisAddress(
        host=parts.hostname,
        port=6379 if port is None else port,
        db=int(path) if path else 0,
        password=unquote(parts.password) if parts.password is not None else None,
        username=unquote(parts.username) if parts.username else None,
    )


def _first_seq(chunk: "bytes | str") -> int:
    """
    The seq of the first op of an archive chunk, inflating only its start.
    """
    if isinstance(chunk, str):
        chunk = chunk.encode("utf-8")
    head = zlib.decompressobj().decompress(chunk, 48).decode("utf-8", "replace")
    return seq_of(head)


def _keys(board: str) -> dict[str, str]:
    tag = "wb:{%s}:" % (board,)
    return {
        name: tag + name
        for name in (
            "meta",
            "log",
            "snap",
            "items",
            "sizes",
            "recent",
            "archive",
            "archived",
            "ops",
        )
    }


class _Subscriber(txredisapi.SubscriberProtocol):  # type: ignore[misc]
    """
    The process's pub/sub connection.  Each reconnect builds a new one,
    which subscribes again to every channel the store wants.
    """

    factory: "_SubscriberFactory"

    def connectionMade(self) -> "Deferred[None]":
        d: Deferred[Any] = super().connectionMade()

        # NB: the base class logs in and selects first; it drops the
        # connection itself when that fails, and leaves _ready false.
        def ready(_: object) -> None:
            if self._ready:
                self.factory.connected(self)

        return d.addCallback(ready)

    def connectionLost(self, reason: Failure) -> None:
        super().connectionLost(reason)
        self.factory.lost(self)

    def messageReceived(
        self, pattern: Optional[str], channel: str, message: str
    ) -> None:
        self.factory.on_message(channel, message)

    def subscribe_one(self, channel: str) -> None:
        """
        Subscribe to one channel per command: txredisapi pairs each
        confirmation with one waiting command, so several channels in one
        command would confirm someone else's.
        """

        def confirmed(_: object) -> None:
            if self.factory.current is self and channel in self.factory.wanted:
                self.factory.on_subscribed(channel)

        def failed(failure: Failure) -> None:
            # The connection went away; the next one subscribes again.
            failure.trap(txredisapi.ConnectionError, CancelledError)

        try:
            d = self.subscribe(channel)
        except txredisapi.ConnectionError:
            return
        d.addCallbacks(confirmed, failed)

    def unsubscribe_one(self, channel: str) -> None:
        try:
            d = self.unsubscribe(channel)
        except txredisapi.ConnectionError:
            return
        d.addErrback(lambda f: f.trap(txredisapi.ConnectionError, CancelledError))


class _SubscriberFactory(txredisapi.SubscriberFactory):  # type: ignore[misc]
    """
    Keeps the channels the store wants in L{wanted}, so that a reconnect
    subscribes to them again.

    @ivar current: the live connection, once it has logged in.
    """

    protocol = _Subscriber

    def __init__(
        self,
        address: RedisAddress,
        on_message: Callable[[str, str], None],
        on_subscribed: Callable[[str], None],
    ) -> None:
        super().__init__(isLazy=True)
        self.password = address.password
        self.username = address.username
        self.convertNumbers = False
        self.on_message = on_message
        self.on_subscribed = on_subscribed
        self.wanted: set[str] = set()
        self.current: Optional[_Subscriber] = None

    def want(self, channel: str) -> None:
        if channel in self.wanted:
            return
        self.wanted.add(channel)
        if self.current is not None:
            self.current.subscribe_one(channel)

    def unwant(self, channel: str) -> None:
        if channel not in self.wanted:
            return
        self.wanted.discard(channel)
        if self.current is not None:
            self.current.unsubscribe_one(channel)

    def connected(self, protocol: _Subscriber) -> None:
        self.current = protocol
        for channel in sorted(self.wanted):
            protocol.subscribe_one(channel)

    def lost(self, protocol: _Subscriber) -> None:
        if self.current is protocol:
            self.current = None


# The subscriber, for other users of Redis pub/sub (whitebrd.bus).
SubscriberFactory = _SubscriberFactory


class _WentBack(Exception):
    """
    A board's seq in Redis is below one this store saw: Redis lost data.
    """

    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq


class _Channel:
    """
    One board this store listens to.

    @ivar delivered: the seq of the newest op passed to the listeners, or
        C{None} until the board's seq at subscription time is known.
    @ivar early: ops received that cannot be passed on yet, by seq: before
        C{delivered} is known, or after a gap being filled.
    """

    def __init__(self, board: str) -> None:
        self.board = board
        self.listeners: list[OpListener] = []
        self.joining: list[tuple[OpListener, "Deferred[None]"]] = []
        self.delivered: Optional[int] = None
        self.early: dict[int, str] = {}
        self.reading_baseline = False
        self.catching_up = False
        self.retry: Optional[IDelayedCall] = None


def command_factory(address: RedisAddress) -> Any:
    """
    A lazy txredisapi connection for commands to C{address}: it answers
    strings and leaves numbers as Redis sent them.
    """
    return txredisapi.RedisFactory(
        str(address),
        address.db or None,
        1,
        isLazy=True,
        handler=txredisapi.ConnectionHandler,
        charset="utf-8",
        password=address.password,
        convertNumbers=False,
        username=address.username,
    )


def start_connecting(
    factory: Any,
    reactor: Any,
    address: RedisAddress,
    timeout_seconds: float,
    max_delay_seconds: float,
) -> None:
    """
    Connect C{factory} to C{address}, and again whenever the connection is
    lost, a tenth of a second later at first and never more than
    C{max_delay_seconds} apart, so that a Redis that comes back is used
    again within that time.
    """
    factory.initialDelay = min(0.1, max_delay_seconds)
    factory.maxDelay = max_delay_seconds
    factory.startConnecting(
        HostnameEndpoint(reactor, address.host, address.port, timeout=timeout_seconds)
    )


@implementer(IStore)
class RedisStore(RedisLinks):
    """
    Boards in Redis (see the module docstring for the keys), shared with
    every daemon using the same server.

    No connection is made until the store is first used.  Appends go
    through one connection on purpose: Redis runs one command at a time
    anyway, and one connection keeps the appends this process issues in the
    order it issued them (an C{extend} never overtakes the C{add} it
    extends).  Whole boards (loading, compacting, history) travel on a
    second one, so that a big board's megabytes never sit in front of the
    appends' small answers, and a third carries pub/sub.  All reconnect by
    themselves, at most C{reconnect_max_delay_seconds} apart.

    Every call is bounded by C{timeout_seconds}; a timeout or a connection
    error becomes L{StoreUnavailable}.  Listeners get every op in seq order:
    a gap (pub/sub drops what is published while it reconnects) is filled
    from the board's log, or from its archive when the log was compacted
    meanwhile.
    """

    name = "redis"
    log = Logger()

    def __init__(
        self,
        reactor: Any,
        url: str,
        limits: Limits,
        timeout_seconds: float = 5.0,
        dedup_window_seconds: int = 86400,
        compact_after_ops: int = 1000,
        compact_after_bytes: int = 8 * 1024,
        reconnect_max_delay_seconds: float = 1.0,
        archive_retention_seconds: float = 0.0,
        log: Optional[Logger] = None,
    ) -> None:
        """
        @param reactor: provides time, TCP and a thread pool.
        @param url: C{redis://[[user]:password@]host[:port][/db]}.
        @param limits: the board limits the append script enforces.
        @param timeout_seconds: how long any Redis call may take.
        @param dedup_window_seconds: how long a C{cid} is remembered, at
            least; a cid is kept for one to two windows.
        @param compact_after_ops: fold a board's log into its snapshot when
            this many ops follow the snapshot (and after every C{clear}).
        @param compact_after_bytes: fold it too, once it holds this many
            bytes, when its log outgrows half its snapshot or erased strokes
            swell the snapshot (see L{Compactor}).
        @param reconnect_max_delay_seconds: the longest wait between two
            attempts to reach Redis after losing it.
        @param archive_retention_seconds: how long archive chunks are kept
            for replay, at least; older ones are dropped when the board is
            next compacted.  0 keeps them for good.
        @raise ValueError: for a bad URL or a non-positive setting.
        """
        if timeout_seconds <= 0:
            raise ValueError(
                "timeout_seconds must be positive, got %r" % (timeout_seconds,)
            )
        if dedup_window_seconds < 1:
            raise ValueError(
                "dedup_window_seconds must be at least 1, got %r"
                % (dedup_window_seconds,)
            )
        self.address = parse_redis_url(url)
        if log is not None:
            self.log = log
        self._reactor = reactor
        self._limits = limits
        self._timeout = timeout_seconds
        self._window = int(dedup_window_seconds)
        self._max_delay = reconnect_max_delay_seconds
        self._retention = max(0.0, float(archive_retention_seconds))
        self._compactor = Compactor(
            reactor,
            compact_after_ops,
            self._compact,
            lambda: "Redis at %s" % (self.address,),
            compact_after_bytes,
        )
        self._pool_factory: Any = None
        self._redis: Any = None
        self._bulk_factory: Any = None
        self._bulk: Any = None
        self._subscriber: Optional[_SubscriberFactory] = None
        self._channels: dict[str, _Channel] = {}
        self._in_flight: set[Deferred[Any]] = set()
        self._down_since: Optional[float] = None
        self._closed = False

    def __repr__(self) -> str:
        return "<RedisStore %s>" % (self.address,)

    # Connections

    def _start(self, factory: Any) -> None:
        start_connecting(factory, self._reactor, self.address, self._timeout, self._max_delay)

    def _connection(self, bulk: bool = False) -> Any:
        """
        The command connection, or with C{bulk} the one for whole boards,
        each started on first use.
        """
        if self._closed:
            raise StoreUnavailable("the Redis store at %s is closed" % (self.address,))
        if bulk:
            if self._bulk is None:
                self._bulk_factory, self._bulk = self._connect()
            return self._bulk
        if self._redis is None:
            self._pool_factory, self._redis = self._connect()
        return self._redis

    def _connect(self) -> tuple[Any, Any]:
        factory = command_factory(self.address)
        self._start(factory)
        return factory, factory.handler

    def _subscriptions(self) -> _SubscriberFactory:
        if self._subscriber is None:
            factory = _SubscriberFactory(
                self.address, self._message_received, self._subscribed
            )
            self._start(factory)
            self._subscriber = factory
        return self._subscriber

    def _call(
        self, what: str, command: Callable[[Any], "Deferred[_T]"], bulk: bool = False
    ) -> "Deferred[_T]":
        """
        Run one Redis command, bounded by the timeout.

        @param what: what the command is for, for log messages.
        @param command: issues the command on the connection it is given.
        @param bulk: run it on the connection for whole boards, so that
            megabytes of a big board's snapshot and log, read or written,
            do not hold up the small answers to appends queued behind them.
        @return: the command's Deferred; it fails with L{StoreUnavailable}
            when Redis does not answer in time, is unreachable or refuses to
            run commands (loading, out of memory, read-only).
        """
        try:
            d = command(self._connection(bulk))
        except Exception:
            return defer.fail()
        self._in_flight.add(d)
        d.addTimeout(self._timeout, self._reactor)

        def done(result: Any) -> Any:
            self._in_flight.discard(d)
            if isinstance(result, Failure):
                return self._unavailable(result, what)
            self._answered()
            return result

        return d.addBoth(done)

    def _unavailable(self, failure: Failure, what: str) -> Failure:
        state = "unreachable"
        if failure.check(defer.TimeoutError):
            why = "no answer within %g s" % (self._timeout,)
        elif failure.check(CancelledError):
            why = "the store was closed" if self._closed else "the call was cancelled"
        elif failure.check(txredisapi.ResponseError):
            # LOADING after a restart, OOM past maxmemory, READONLY on a
            # replica: Redis is there but will not do the work.
            state = "refusing commands"
            why = failure.getErrorMessage()
        elif failure.check(txredisapi.ConnectionError, ConnectionError):
            why = "connection lost: %s" % (failure.getErrorMessage(),)
        else:
            return failure
        if not self._closed:
            if self._down_since is None:
                self._down_since = self._reactor.seconds()
                self.log.warn(
                    "Redis at {address} {state} ({what}: {why}); ops are not "
                    "stored until it answers",
                    address=self.address,
                    state=state,
                    what=what,
                    why=why,
                )
            else:
                self.log.debug(
                    "Redis at {address} still unreachable ({what}: {why})",
                    address=self.address,
                    what=what,
                    why=why,
                )
        return Failure(
            StoreUnavailable("Redis at %s: %s (%s)" % (self.address, why, what))
        )

    def _answered(self) -> None:
        if self._down_since is not None:
            self.log.info(
                "Redis at {address} answers again after {seconds:.1f} s",
                address=self.address,
                seconds=self._reactor.seconds() - self._down_since,
            )
            self._down_since = None

    # IStore

    def append(self, board: str, by: str, op: Op) -> "Deferred[Appended]":
        """
        Store C{op} in one round trip (see the module docstring).

        Appends issued by this store without waiting for each other are
        applied in the order they were issued.
        """
        check_append(board, by, op)
        keys = _keys(board)
        cids, old_cids, runs, old_runs = (
            "wb:{%s}:%s" % (board, name) for name in self._dedup_names()
        )
        prefix, counter = counted_cid(op.cid)
        limits = self._limits
        args = [
            op.cid,
            op.kind,
            by,
            op.body[1:],
            op.points,
            drawn_bytes(op),
            limits.max_items_per_board,
            limits.max_points_per_item,
            limits.max_points_per_board,
            limits.max_bytes_per_board,
            2 * self._window,
            keys["ops"],
            prefix,
            counter,
            MAX_RUNS_PER_PREFIX,
            *op.item_ids,
        ]
        script_keys = [
            keys["meta"],
            keys["log"],
            keys["items"],
            cids,
            old_cids,
            keys["sizes"],
            keys["recent"],
            runs,
            old_runs,
        ]
        d = self._call(
            "append to board %s" % (board,),
            lambda redis: redis.eval(_APPEND_SCRIPT, script_keys, args),
        )

        def answered(reply: list[Any]) -> Appended:
            status = int(reply[0])
            if status == 1:
                return Appended(int(reply[1]), None, duplicate=True)
            if status == 2:
                raise refusal(op, str(reply[1]), self._limits)
            seq, tail = int(reply[1]), int(reply[2])
            held = Held(*(int(n) for n in reply[3:7]))
            self._compactor.after_append(board, op.kind, tail, held)
            return Appended(seq, stored_text(op.body, seq, by))

        return d.addCallback(answered)

    def load(self, board: str) -> "Deferred[Scene]":
        """
        The snapshot and the log tail, read in one round trip and folded.
        """
        check_board(board)
        keys = _keys(board)
        d = self._call(
            "load board %s" % (board,),
            lambda redis: redis.eval(
                _READ_SCRIPT, [keys["meta"], keys["log"], keys["snap"]], []
            ),
            bulk=True,
        )

        def read(reply: list[Any]) -> "Deferred[Scene]":
            snapshot, texts = reply[1], list(reply[2])
            return folded(self._reactor, snapshot, texts, fold)

        return d.addCallback(read)

    def ops_since(self, board: str, since: int) -> "Deferred[Optional[list[str]]]":
        """
        The log after C{since}, or C{None} once those ops were compacted or
        when C{since} is past the board's newest seq.
        """
        check_board(board)
        keys = _keys(board)
        d = self._call(
            "read board %s since %d" % (board, since),
            lambda redis: redis.eval(
                _TAIL_SCRIPT,
                [keys["meta"], keys["log"], keys["archive"]],
                [int(since), 0],
            ),
        )
        return d.addCallback(
            lambda reply: list(reply[1]) if int(reply[0]) == 0 else None
        )

    def history(
        self, board: str, after: int = 0, limit: Optional[int] = None
    ) -> "Deferred[list[str]]":
        """
        The ops after seq C{after}, archived or not, oldest first, at most
        C{limit} of them (all without one): what a replay reads, a page at
        a time.

        A page starts in the log when it can; otherwise the archive chunk
        holding seq C{after + 1} is found by a binary search over the
        chunks' first seqs (a chunk's first line is all that is inflated),
        and chunks are read from there.
        """
        check_board(board)
        keys = _keys(board)
        if limit is None:
            d = self._call(
                "read the history of board %s" % (board,),
                lambda redis: redis.eval(
                    _HISTORY_SCRIPT, [keys["log"], keys["archive"]], []
                ),
                bulk=True,
            )

            def unpacked(reply: list[Any]) -> list[str]:
                texts: list[str] = []
                for chunk in reply[0]:
                    texts.extend(unpack_chunk(chunk))
                texts.extend(reply[1])
                return [text for text in texts if seq_of(text) > after]

            return d.addCallback(unpacked)
        if limit < 1:
            raise ValueError("limit must be at least 1, got %r" % (limit,))
        return Deferred.fromCoroutine(self._history_page(board, max(0, after), limit))

    async def _history_page(self, board: str, after: int, limit: int) -> list[str]:
        keys = _keys(board)
        what = "read the history of board %s after %d" % (board, after)
        for _ in range(3):
            reply = await self._call(
                what,
                lambda redis: redis.eval(
                    _HISTORY_PAGE_SCRIPT,
                    [keys["meta"], keys["log"], keys["archive"]],
                    [after, limit],
                ),
            )
            if int(reply[0]) == 0:
                return list(reply[1])
            index = await self._chunk_holding(board, after + 1, int(reply[1]))
            texts = await self._read_from_chunk(board, index, after, limit)
            if texts is not None:
                return texts
        raise StoreUnavailable(
            "Redis at %s: the history of board %s kept changing while it was read"
            % (self.address, board)
        )

    async def _chunk_holding(self, board: str, seq: int, count: int) -> int:
        """
        The index of the last archive chunk whose first op is at or before
        C{seq} (0 when even the first starts later).
        """
        key = _keys(board)["archive"]
        low, high = 0, count - 1
        while low < high:
            middle = (low + high + 1) // 2
            chunk = await self._call(
                "read an archive chunk of board %s" % (board,),
                lambda redis: redis.lindex(key, middle),
            )
            if chunk is None or _first_seq(chunk) > seq:
                high = middle - 1
            else:
                low = middle
        return low

    async def _read_from_chunk(
        self, board: str, index: int, after: int, limit: int
    ) -> Optional[list[str]]:
        """
        Up to C{limit} ops after C{after}, from archive chunk C{index} on
        and then the log; C{None} when what was read does not follow on
        from C{after} without a gap (a compaction moved things meanwhile).
        """
        keys = _keys(board)
        texts: list[str] = []
        last = after
        while True:
            first = index
            reply = await self._call(
                "read the history of board %s" % (board,),
                lambda redis: redis.eval(
                    _HISTORY_CHUNKS_SCRIPT,
                    [keys["meta"], keys["log"], keys["archive"]],
                    [first, _HISTORY_CHUNKS_PER_READ, limit],
                ),
                bulk=True,
            )
            chunks, total, log = reply[0], int(reply[1]), reply[2]
            read = [text for chunk in chunks for text in unpack_chunk(chunk)]
            for text in read + list(log):
                seq = seq_of(text)
                if seq <= last:
                    continue
                # Archive retention may have dropped the oldest ops: a page
                # from the first chunk may start later than asked.
                if seq != last + 1 and not (index == 0 and last == after and not texts):
                    return None
                texts.append(text)
                last = seq
            index += _HISTORY_CHUNKS_PER_READ
            if len(texts) >= limit or index >= total:
                return texts[:limit]

    def listen(self, board: str, listener: OpListener) -> "Deferred[None]":
        """
        Subscribe to the board's channel (once per board in this process)
        and fire once Redis has confirmed it and the board's seq at that
        point is known: every op after that seq reaches C{listener}.
        """
        check_board(board)
        if self._closed:
            return defer.fail(
                StoreUnavailable("the Redis store at %s is closed" % (self.address,))
            )
        channel = self._channels.get(board)
        if channel is None:
            channel = self._channels[board] = _Channel(board)
            self._subscriptions().want(_keys(board)["ops"])
        elif channel.delivered is not None and not channel.reading_baseline:
            channel.listeners.append(listener)
            return succeed(None)

        joined: Deferred[None] = Deferred()
        entry = (listener, joined)
        channel.joining.append(entry)
        joined.addTimeout(self._timeout, self._reactor)

        def failed(failure: Failure) -> Failure:
            if entry in channel.joining:
                channel.joining.remove(entry)
            self._forget_if_unused(channel)
            if failure.check(defer.TimeoutError):
                return self._unavailable(failure, "subscribe to board %s" % (board,))
            return failure

        return joined.addErrback(failed)

    def unlisten(self, board: str, listener: OpListener) -> None:
        channel = self._channels.get(board)
        if channel is None:
            return
        if listener in channel.listeners:
            channel.listeners.remove(listener)
        else:
            for entry in channel.joining:
                if entry[0] is listener:
                    channel.joining.remove(entry)
                    entry[1].cancel()
                    break
        self._forget_if_unused(channel)

    def ping(self) -> "Deferred[None]":
        d = self._call("ping", lambda redis: redis.ping())
        return d.addCallback(lambda _: None)

    def idle(self) -> "Deferred[None]":
        """
        Fires once no compaction started by this store is running: for
        tests, and for a shutdown that would rather not interrupt one (an
        interrupted compaction loses nothing either way).
        """
        return self._compactor.idle()

    def close(self) -> "Deferred[None]":
        """
        Stop compacting, fail what is still waiting for Redis with
        L{StoreUnavailable}, and disconnect.
        """
        if self._closed:
            return succeed(None)
        self._closed = True
        self._compactor.close()
        for channel in list(self._channels.values()):
            if channel.retry is not None:
                channel.retry.cancel()
                channel.retry = None
            for _, joined in channel.joining:
                joined.cancel()
        self._channels.clear()
        for d in list(self._in_flight):
            d.cancel()
        closing = [
            factory.disconnect()
            for factory in (self._pool_factory, self._bulk_factory, self._subscriber)
            if factory is not None
        ]
        done = defer.gatherResults(closing, consumeErrors=True)

        # NB: txredisapi hands a new connection to its pool one reactor turn
        # after it logs in; give that turn so that nothing is left behind.
        def settled(_: object) -> "Deferred[None]":
            return deferLater(self._reactor, 0, lambda: None)

        return done.addCallback(settled)

    # Listening

    def _forget_if_unused(self, channel: _Channel) -> None:
        if channel.listeners or channel.joining:
            return
        if self._channels.get(channel.board) is channel:
            del self._channels[channel.board]
            if channel.retry is not None:
                channel.retry.cancel()
                channel.retry = None
            if self._subscriber is not None:
                self._subscriber.unwant(_keys(channel.board)["ops"])

    def _subscribed(self, name: str) -> None:
        """
        Redis confirmed a subscription: learn the board's seq the first
        time, read what pub/sub may have dropped on later ones.
        """
        if name == ACCESS_CHANNEL:
            self._access_subscribed()
            return
        channel = self._channels.get(name[len("wb:{") : -len("}:ops")])
        if channel is None:
            return
        if channel.delivered is None:
            self._read_baseline(channel)
        else:
            self._catch_up(channel)

    def _read_baseline(self, channel: _Channel) -> None:
        if channel.reading_baseline:
            return
        channel.reading_baseline = True
        board = channel.board
        d = self._call(
            "subscribe to board %s" % (board,),
            lambda redis: redis.hget(_keys(board)["meta"], "seq"),
        )

        def known(seq: Optional[str]) -> None:
            channel.reading_baseline = False
            if self._channels.get(board) is not channel:
                return
            channel.delivered = int(seq or 0)
            joining, channel.joining = channel.joining, []
            for listener, joined in joining:
                channel.listeners.append(listener)
                joined.callback(None)
            self._drain(channel)

        def failed(failure: Failure) -> None:
            channel.reading_baseline = False
            failure.trap(StoreUnavailable)
            joining, channel.joining = channel.joining, []
            for _, joined in joining:
                if not joined.called:
                    joined.errback(failure)
            self._forget_if_unused(channel)

        d.addCallbacks(known, failed)

    def _message_received(self, name: str, text: str) -> None:
        if name == ACCESS_CHANNEL:
            self._access_message(text)
            return
        channel = self._channels.get(name[len("wb:{") : -len("}:ops")])
        if channel is None:
            return
        try:
            seq = seq_of(text)
        except ValueError:
            self.log.warn(
                "Ignored a message on {channel} that is not a stored op: {text}",
                channel=name,
                text=text[:80],
            )
            return
        if channel.delivered is None or seq > channel.delivered:
            channel.early[seq] = text
        self._drain(channel)

    def _drain(self, channel: _Channel) -> None:
        """
        Pass on the early ops that follow the last one delivered, and fill
        a gap from Redis when one shows.
        """
        if channel.delivered is None or channel.catching_up:
            return
        for seq in [seq for seq in channel.early if seq <= channel.delivered]:
            del channel.early[seq]
        while channel.delivered + 1 in channel.early:
            channel.delivered += 1
            text = channel.early.pop(channel.delivered)
            for listener in list(channel.listeners):
                try:
                    listener(channel.delivered, text)
                except Exception:
                    self.log.failure(
                        "A listener of board {board} failed on op {seq}",
                        board=channel.board,
                        seq=channel.delivered,
                    )
        if channel.early:
            self._catch_up(channel)

    def _catch_up(self, channel: _Channel) -> None:
        if channel.catching_up or channel.delivered is None:
            return
        channel.catching_up = True
        start = channel.delivered
        d = self._ops_after(channel.board, start)

        def read(texts: Optional[list[str]]) -> None:
            channel.catching_up = False
            if self._channels.get(channel.board) is not channel:
                return
            for text in texts or ():
                seq = seq_of(text)
                if seq > channel.delivered:  # type: ignore[operator]
                    channel.early[seq] = text
            if channel.early and start + 1 not in channel.early:
                # Neither the log nor the archive has the missing ops: pass
                # on what there is rather than stall the board for good.
                first = min(channel.early)
                self.log.error(
                    "Ops {start} to {end} of board {board} are missing from Redis "
                    "at {address}; listeners skip them",
                    start=start + 1,
                    end=first - 1,
                    board=channel.board,
                    address=self.address,
                )
                channel.delivered = first - 1
            self._drain(channel)

        def failed(failure: Failure) -> None:
            channel.catching_up = False
            if (
                failure.check(_WentBack)
                and self._channels.get(channel.board) is channel
            ):
                # Redis lost the board's newest ops (restarted without its
                # append-only file, or failed over to a lagging replica).
                # Listen from where Redis is, or nothing would pass again.
                seq = failure.value.seq
                self.log.error(
                    "Board {board} went back from seq {seen} to {seq} in Redis "
                    "at {address}: Redis lost data (was it restarted without "
                    "appendonly?); its newest ops are gone",
                    board=channel.board,
                    seen=start,
                    seq=seq,
                    address=self.address,
                )
                channel.delivered = seq
                channel.early = {s: t for s, t in channel.early.items() if s > seq}
                self._drain(channel)
                return
            failure.trap(StoreUnavailable)
            if self._channels.get(channel.board) is channel and channel.retry is None:
                channel.retry = self._reactor.callLater(_CATCH_UP_RETRY_SECONDS, retry)

        def retry() -> None:
            channel.retry = None
            if self._channels.get(channel.board) is channel:
                self._catch_up(channel)

        d.addCallbacks(read, failed)

    def _ops_after(
        self, board: str, since: int, chunks: int = 1
    ) -> "Deferred[Optional[list[str]]]":
        """
        The ops after C{since}, from the log or, when it was compacted past
        C{since}, from the newest archive chunks as well.
        """
        keys = _keys(board)
        d = self._call(
            "catch up on board %s" % (board,),
            lambda redis: redis.eval(
                _TAIL_SCRIPT,
                [keys["meta"], keys["log"], keys["archive"]],
                [since, chunks],
            ),
        )

        def read(
            reply: list[Any],
        ) -> "Optional[list[str]] | Deferred[Optional[list[str]]]":
            status = int(reply[0])
            if status == 0:
                return list(reply[1])
            if status == -1:
                if len(reply) > 1 and since > int(reply[1]):
                    raise _WentBack(int(reply[1]))
                return None
            texts: list[str] = []
            for chunk in reply[2]:
                texts.extend(unpack_chunk(chunk))
            texts.extend(reply[1])
            if texts and seq_of(texts[0]) > since + 1 and len(reply[2]) < int(reply[3]):
                return self._ops_after(board, since, chunks * 2)
            return [text for text in texts if seq_of(text) > since]

        return d.addCallback(read)

    # Compaction

    def _compact(self, board: str) -> "Deferred[None]":
        keys = _keys(board)
        d = self._call(
            "read board %s to compact it" % (board,),
            lambda redis: redis.eval(
                _READ_SCRIPT, [keys["meta"], keys["log"], keys["snap"]], []
            ),
            bulk=True,
        )

        def read(reply: list[Any]) -> "Optional[Deferred[None]]":
            base, snapshot, texts = int(reply[0]), reply[1], list(reply[2])
            if not texts:
                return None
            made = folded(self._reactor, snapshot, texts, compaction)
            return made.addCallback(write, base, len(texts))

        def write(
            made: tuple[int, str, bytes], base: int, count: int
        ) -> "Deferred[None]":
            seq, snapshot, chunk = made
            now = self._reactor.seconds()
            cutoff = now - self._retention if self._retention > 0 else -1
            written = self._call(
                "compact board %s" % (board,),
                lambda redis: redis.eval(
                    _COMPACT_SCRIPT,
                    [
                        keys["meta"],
                        keys["log"],
                        keys["snap"],
                        keys["archive"],
                        keys["archived"],
                        keys["recent"],
                    ],
                    [base, seq, snapshot, chunk, "%.3f" % (now,), "%.3f" % (cutoff,)],
                ),
                bulk=True,
            )

            def logged(moved: int) -> None:
                if int(moved):
                    self.log.debug(
                        "Board {board}: {count} ops folded into the snapshot at "
                        "seq {seq}",
                        board=board,
                        count=count,
                        seq=seq,
                    )

            return written.addCallback(logged)

        return d.addCallback(read)
