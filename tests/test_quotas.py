"""
Tests for L{whitebrd.quotas} and L{whitebrd.counters}: the address a client
is counted by, and limits that hold when several daemons share the counts,
in memory and on a real Redis.
"""


from twisted.internet import reactor
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.redis_server import shared_redis
from whitebrd.counters import LocalCounters, RedisCounters
from whitebrd.limits import Limits
from whitebrd.quotas import (
    ConnectionPlaces,
    SharedRate,
    TokenBucket,
    client_address,
    parse_network,
)
from whitebrd.stores.redis import RedisStore

PROXIES = [parse_network("127.0.0.1"), parse_network("10.0.0.0/8")]


class AddressTests(SynchronousTestCase):
    """
    A client is counted by its own address, which only a trusted proxy may
    tell.
    """

    def test_forwarded_for_counts_only_from_trusted_proxies(self) -> None:
        """
        X-Forwarded-For is read from the right, through trusted proxies
        only; from anyone else it is ignored, so a client cannot pick the
        address it is counted by.
        """
        cases = [
            ("203.0.113.9", None, "203.0.113.9"),
            ("203.0.113.9", "198.51.100.1", "203.0.113.9"),
            ("127.0.0.1", "198.51.100.1", "198.51.100.1"),
            ("127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),
            ("127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1"),
            ("127.0.0.1", "not-an-address", "127.0.0.1"),
            ("127.0.0.1", "6.6.6.6, junk, 10.1.2.3", "10.1.2.3"),
        ]
        for peer, forwarded, expected in cases:
            self.assertEqual(
                client_address(peer, forwarded, PROXIES), expected, (peer, forwarded)
            )

    def test_ipv6_counts_per_64(self) -> None:
        """
        IPv6 addresses of one /64 count as one client; an IPv4-mapped
        address as its IPv4 address.
        """
        one = client_address("2001:db8:1:2::5", None, [])
        other = client_address("2001:db8:1:2:ffff::9", None, [])

        self.assertEqual(one, "2001:db8:1:2::/64")
        self.assertEqual(one, other)
        self.assertEqual(client_address("::ffff:192.0.2.7", None, []), "192.0.2.7")
        self.assertEqual(client_address("unix", None, []), "unix")


class LocalLimitTests(SynchronousTestCase):
    """
    The limits in one process, on a fake clock.
    """

    def test_bucket_allows_its_rate_per_second(self) -> None:
        """
        A connection may send its rate's worth at once, then its rate per
        second.
        """
        clock = MemoryReactorClock()
        bucket = TokenBucket(10, clock)

        first = sum(bucket.take() for _ in range(50))
        clock.advance(0.5)
        later = sum(bucket.take() for _ in range(50))

        self.assertEqual((first, later), (10, 5))

    def test_shared_rate_holds_over_daemons_and_resets_each_window(self) -> None:
        """
        Two daemons counting into the same counts admit the limit between
        them in a window, however the events are spread, and again in the
        next window.
        """
        clock = MemoryReactorClock()
        counts = LocalCounters(clock)
        a = SharedRate(counts, 100, clock, "ops")
        b = SharedRate(counts, 100, clock, "ops")

        admitted = [
            self.successResultOf((a if n % 3 else b).take("192.0.2.1"))
            for n in range(400)
        ]
        other = self.successResultOf(a.take("192.0.2.2"))
        clock.advance(1.0)
        next_window = sum(self.successResultOf(b.take("192.0.2.1")) for _ in range(150))

        self.assertLessEqual(sum(admitted), 100)
        self.assertGreaterEqual(sum(admitted), 100 - 2 * 5)
        self.assertTrue(other)
        self.assertEqual(next_window, 100)

    def test_places_per_address(self) -> None:
        """
        An address holds at most its places; one given back is free again.
        """
        counts = LocalCounters(MemoryReactorClock())
        places = ConnectionPlaces(counts, 2)

        first = self.successResultOf(places.claim("192.0.2.1"))
        second = self.successResultOf(places.claim("192.0.2.1"))
        third = self.successResultOf(places.claim("192.0.2.1"))
        elsewhere = self.successResultOf(places.claim("192.0.2.2"))
        places.release("192.0.2.1", first)  # type: ignore[arg-type]
        again = self.successResultOf(places.claim("192.0.2.1"))

        self.assertIsNotNone(second)
        self.assertIsNone(third)
        self.assertIsNotNone(elsewhere)
        self.assertIsNotNone(again)


class RedisCounterTests(TestCase):
    """
    The shared counts on a real Redis, as two daemons hold them.
    """

    def setUp(self) -> None:
        self.redis = shared_redis()
        self.daemons = [self.counters(), self.counters()]

    def counters(self) -> RedisCounters:
        store = RedisStore(reactor, self.redis.url, Limits(), timeout_seconds=5.0)
        self.addCleanup(store.close)
        return RedisCounters(store, reactor)

    async def test_rate_is_shared_through_redis_and_expires(self) -> None:
        """
        Two daemons admit at most the limit for an address between them;
        the count in Redis carries an expiry.
        """
        address = "198.51.100.%d" % (id(self) % 250,)
        rates = [
            SharedRate(c, 40, reactor, "test-ops-%d" % (id(self),), 60)
            for c in self.daemons
        ]

        admitted = 0
        for n in range(200):
            admitted += await rates[n % 2].take(address)

        self.assertLessEqual(admitted, 40)
        self.assertGreaterEqual(admitted, 40 - 2 * 2)
        keys = self.redis.command("KEYS", "wb:quota:{test-ops-%d:*" % (id(self),))
        self.assertEqual(len(keys), 1)
        ttl = int(self.redis.command("TTL", keys[0]))
        self.assertTrue(0 < ttl <= 180, ttl)

    async def test_places_are_shared_and_stale_ones_lapse(self) -> None:
        """
        Places of one address are counted over both daemons; a place whose
        daemon stopped refreshing it is free again.
        """
        address = "192.0.2.%d" % (id(self) % 250,)
        group = "conns:" + address
        a, b = self.daemons

        self.assertTrue(await a.claim(group, "a:1", 2))
        self.assertTrue(await b.claim(group, "b:1", 2))
        self.assertFalse(await a.claim(group, "a:2", 2))
        # A daemon that died long ago: its place has not been refreshed.
        self.redis.command("ZADD", "wb:claims:{%s}" % (group,), "1", "b:1")
        self.assertTrue(await a.claim(group, "a:2", 2))
        await a.release(group, "a:1")
        await a.refresh({group: ["a:2"]})
        self.assertTrue(await b.claim(group, "b:2", 2))
        self.assertFalse(await b.claim(group, "b:3", 2))

    async def test_people_online_are_summed_over_daemons(self) -> None:
        """
        Each daemon's report of people per board adds up.
        """
        a, b = self.daemons
        board = "online-%d" % (id(self),)

        await a.report_online({board: 2, "other-" + board: 1})
        await b.report_online({board: 3})
        both = await a.online()
        await b.report_online({})
        one = await b.online()

        self.assertEqual(both[board], 5)
        self.assertEqual(one[board], 2)
