"""
Tests for L{whitebrd.ratelimit}: a person drawing is never held back, a
flood is refused and, if it goes on, cut off.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from whitebrd.ratelimit import TokenBucket, Verdict


class TokenBucketTests(SynchronousTestCase):
    """
    The bucket holds a burst, refills at a rate, and tells a sender that
    pauses when refused from one that keeps going.
    """

    def test_burst_then_rate(self) -> None:
        """
        A full bucket lets a burst through at once (an outbox resent after a
        reconnect); then frames pass at the refill rate.
        """
        clock = Clock()
        bucket = TokenBucket(clock, rate=10, burst=5)

        first = [bucket.take() for _ in range(5)]
        sixth = bucket.take()
        clock.advance(0.1)
        after_a_tenth = bucket.take()

        self.assertEqual(first, [Verdict.ALLOWED] * 5)
        self.assertEqual(sixth, Verdict.REFUSED)
        self.assertEqual(after_a_tenth, Verdict.REFUSED)
        clock.advance(0.2)
        self.assertEqual(bucket.take(), Verdict.ALLOWED)

    def test_steady_drawing_is_never_refused(self) -> None:
        """
        A sender below the rate is never refused, however long it goes on.
        """
        clock = Clock()
        bucket = TokenBucket(clock, rate=100, burst=10)

        verdicts = set()
        for _ in range(10_000):
            verdicts.add(bucket.take())
            clock.advance(1 / 60)

        self.assertEqual(verdicts, {Verdict.ALLOWED})

    def test_sender_that_pauses_recovers(self) -> None:
        """
        Refused takes cost tokens, so a sender that stops when refused is
        back in credit after a while, and never reaches abuse.
        """
        clock = Clock()
        bucket = TokenBucket(clock, rate=10, burst=5)
        for _ in range(8):
            bucket.take()

        clock.advance(1.0)

        self.assertEqual(bucket.take(), Verdict.ALLOWED)

    def test_flood_becomes_abuse_after_a_burst_of_debt(self) -> None:
        """
        A sender that keeps going while refused reaches abuse once its debt
        passes one burst.
        """
        clock = Clock()
        bucket = TokenBucket(clock, rate=10, burst=5)

        verdicts = [bucket.take() for _ in range(11)]

        self.assertEqual(verdicts[:5], [Verdict.ALLOWED] * 5)
        self.assertEqual(verdicts[5:10], [Verdict.REFUSED] * 5)
        self.assertEqual(verdicts[10], Verdict.ABUSE)

    def test_batch_takes_one_token_per_op(self) -> None:
        """
        A batch costs as many tokens as it holds ops.
        """
        bucket = TokenBucket(Clock(), rate=1, burst=10)

        self.assertEqual(bucket.take(10), Verdict.ALLOWED)
        self.assertEqual(bucket.take(1), Verdict.REFUSED)

    def test_bad_settings(self) -> None:
        """
        A rate of 0 or a burst under 1 is refused.
        """
        self.assertRaises(ValueError, TokenBucket, Clock(), 0, 5)
        self.assertRaises(ValueError, TokenBucket, Clock(), 5, 0)
