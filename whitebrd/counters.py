# -*- test-case-name: tests.test_quotas -*-
"""
Counts that every daemon sharing a store sees: in Redis, with expiries, when
Redis is the store; in this process's memory with the embedded store, which
serves one daemon.

Three kinds, each used by L{whitebrd.quotas} or the admin page:

  - windowed counters (C{add}): a number that only grows and disappears
    after its window, for "so many per second / per minute";
  - claims (C{claim}, C{release}, C{refresh}): members of a group, at most
    so many at once, each forgotten unless its daemon refreshes it, so that
    a daemon that dies does not hold its connections' places for good;
  - presence (C{report_online}, C{online}): how many people each daemon has
    on each board, summed over the daemons that reported lately.

Keys in Redis::

    wb:quota:{<name>}       string: a windowed counter, expiring
    wb:claims:{<group>}     sorted set: member -> time last refreshed
    wb:online:<daemon>      hash: board -> people, expiring
    wb:daemons              set: daemons that reported presence
"""

import secrets
from typing import Any, Optional

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime

__all__ = ["Counters", "LocalCounters", "RedisCounters", "counters_for"]

# A claim not refreshed for this long belongs to a daemon that is gone.
CLAIM_STALE_SECONDS = 180.0
# Presence reports expire unless renewed within this time.
ONLINE_TTL_SECONDS = 45

_ADD_SCRIPT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return n
"""

_CLAIM_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

# KEYS: groups; ARGV: now, ttl, then "<index of the group in KEYS> <member>".
_REFRESH_SCRIPT = """
for i = 3, #ARGV do
  local index, member = string.match(ARGV[i], '^(%d+) (.*)$')
  local key = KEYS[tonumber(index)]
  redis.call('ZADD', key, ARGV[1], member)
  redis.call('EXPIRE', key, ARGV[2])
end
return 1
"""

_REPORT_SCRIPT = """
redis.call('DEL', KEYS[1])
if #ARGV > 2 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 3))
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""

_ONLINE_SCRIPT = """
local out = {}
for _, daemon in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local counts = redis.call('HGETALL', 'wb:online:' .. daemon)
  if #counts == 0 then
    redis.call('SREM', KEYS[1], daemon)
  end
  for i = 1, #counts do out[#out + 1] = counts[i] end
end
return out
"""


class Counters:
    """
    What L{whitebrd.quotas} and the admin page need from shared counts; see
    the module docstring.  Each call returns a Deferred.

    @ivar daemon: this daemon's name among those sharing the counts.
    """

    daemon: str

    def add(self, name: str, amount: int, ttl_seconds: int) -> "Deferred[int]":
        """
        Add C{amount} to the counter C{name}, which disappears
        C{ttl_seconds} after it was first added to.

        @return: the counter's value after the addition.
        """
        raise NotImplementedError()

    def claim(self, group: str, member: str, limit: int) -> "Deferred[bool]":
        """
        Make C{member} one of C{group}'s, unless the group holds C{limit}
        members already.

        @return: whether C{member} is in the group now.
        """
        raise NotImplementedError()

    def release(self, group: str, member: str) -> "Deferred[None]":
        """
        Take C{member} out of C{group}.
        """
        raise NotImplementedError()

    def refresh(self, claims: dict[str, list[str]]) -> "Deferred[None]":
        """
        Say again that this daemon's claims (group -> members) are alive.
        """
        raise NotImplementedError()

    def report_online(self, counts: dict[str, int]) -> "Deferred[None]":
        """
        Replace this daemon's presence report: board -> people on it.
        """
        raise NotImplementedError()

    def online(self) -> "Deferred[dict[str, int]]":
        """
        People per board, summed over every daemon that reported lately.
        """
        raise NotImplementedError()


class LocalCounters(Counters):
    """
    The counts in this process, for a daemon on the embedded store.
    """

    def __init__(self, clock: IReactorTime) -> None:
        self.daemon = "local"
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}
        self._claims: dict[str, set[str]] = {}
        self._online: dict[str, int] = {}
        self._next_sweep = 0.0

    def add(self, name: str, amount: int, ttl_seconds: int) -> "Deferred[int]":
        now = self._clock.seconds()
        if now >= self._next_sweep:
            # Expired counters go at most once a second, so memory stays
            # bounded by what one window holds.
            self._next_sweep = now + 1.0
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        value, expires = self._counts.get(name, (0, now + ttl_seconds))
        if expires <= now:
            value, expires = 0, now + ttl_seconds
        value += amount
        self._counts[name] = (value, expires)
        return succeed(value)

    def claim(self, group: str, member: str, limit: int) -> "Deferred[bool]":
        members = self._claims.setdefault(group, set())
        if member not in members and len(members) >= limit:
            return succeed(False)
        members.add(member)
        return succeed(True)

    def release(self, group: str, member: str) -> "Deferred[None]":
        members = self._claims.get(group)
        if members is not None:
            members.discard(member)
            if not members:
                del self._claims[group]
        return succeed(None)

    def refresh(self, claims: dict[str, list[str]]) -> "Deferred[None]":
        return succeed(None)

    def report_online(self, counts: dict[str, int]) -> "Deferred[None]":
        self._online = dict(counts)
        return succeed(None)

    def online(self) -> "Deferred[dict[str, int]]":
        return succeed(dict(self._online))


class RedisCounters(Counters):
    """
    The counts in Redis, through the store's connection (see
    L{whitebrd.stores.redis_links.RedisLinks.script}), so they share its
    timeout and reconnection.
    """

    def __init__(
        self, store: Any, clock: IReactorTime, daemon: Optional[str] = None
    ) -> None:
        self.daemon = daemon or secrets.token_hex(8)
        self._store = store
        self._clock = clock

    def add(self, name: str, amount: int, ttl_seconds: int) -> "Deferred[int]":
        d: "Deferred[Any]" = self._store.script(
            "count %s" % (name.split(":")[0],),
            _ADD_SCRIPT,
            ["wb:quota:{%s}" % (name,)],
            [int(amount), int(ttl_seconds)],
        )
        return d.addCallback(int)

    def claim(self, group: str, member: str, limit: int) -> "Deferred[bool]":
        now = self._clock.seconds()
        d: "Deferred[Any]" = self._store.script(
            "claim a place",
            _CLAIM_SCRIPT,
            ["wb:claims:{%s}" % (group,)],
            [
                repr(now),
                repr(now - CLAIM_STALE_SECONDS),
                int(limit),
                member,
                int(CLAIM_STALE_SECONDS),
            ],
        )
        return d.addCallback(lambda reply: bool(int(reply)))

    def release(self, group: str, member: str) -> "Deferred[None]":
        d: "Deferred[Any]" = self._store.script(
            "release a place",
            "return redis.call('ZREM', KEYS[1], ARGV[1])",
            ["wb:claims:{%s}" % (group,)],
            [member],
        )
        return d.addCallback(lambda _: None)

    def refresh(self, claims: dict[str, list[str]]) -> "Deferred[None]":
        groups = sorted(group for group, members in claims.items() if members)
        if not groups:
            return succeed(None)
        args: list[Any] = [repr(self._clock.seconds()), int(CLAIM_STALE_SECONDS)]
        for index, group in enumerate(groups, 1):
            args.extend("%d %s" % (index, member) for member in claims[group])
        d: "Deferred[Any]" = self._store.script(
            "refresh places",
            _REFRESH_SCRIPT,
            ["wb:claims:{%s}" % (group,) for group in groups],
            args,
        )
        return d.addCallback(lambda _: None)

    def report_online(self, counts: dict[str, int]) -> "Deferred[None]":
        args: list[Any] = [self.daemon, ONLINE_TTL_SECONDS]
        for board, people in sorted(counts.items()):
            args.extend([board, int(people)])
        d: "Deferred[Any]" = self._store.script(
            "report who is online",
            _REPORT_SCRIPT,
            ["wb:online:%s" % (self.daemon,), "wb:daemons"],
            args,
        )
        return d.addCallback(lambda _: None)

    def online(self) -> "Deferred[dict[str, int]]":
        d: "Deferred[Any]" = self._store.script(
            "read who is online", _ONLINE_SCRIPT, ["wb:daemons"], []
        )

        def summed(reply: list[Any]) -> dict[str, int]:
            totals: dict[str, int] = {}
            for n in range(0, len(reply), 2):
                totals[reply[n]] = totals.get(reply[n], 0) + int(reply[n + 1])
            return totals

        return d.addCallback(summed)


def counters_for(store: Any, clock: IReactorTime) -> Counters:
    """
    Shared counts that live where the store does: Redis when the store is
    Redis, this process otherwise.
    """
    if getattr(store, "name", None) == "redis":
        return RedisCounters(store, clock)
    return LocalCounters(clock)
