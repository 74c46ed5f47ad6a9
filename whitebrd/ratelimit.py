# -*- test-case-name: tests.test_ratelimit -*-
"""
How fast one connection may send: a token bucket.

A person drawing sends a few dozen ops a second and, after a reconnect, its
whole outbox at once; a runaway or hostile client sends thousands a second
for as long as it is let.  The bucket tells them apart: it holds C{burst}
tokens, refills at C{rate} a second, and every frame or op takes one.  With
the bucket empty a frame is refused (the client keeps its op and sends it
again later); a client that goes on sending while refused runs into debt,
and one whole burst of debt is abuse: the connection is closed.

This bucket is per connection and self-contained; limits shared across the
connections of one address or across daemons are built elsewhere.
"""

from enum import Enum

from twisted.internet.interfaces import IReactorTime

__all__ = ["TokenBucket", "Verdict"]


class Verdict(Enum):
    """
    What L{TokenBucket.take} decided.

    @cvar ALLOWED: go ahead.
    @cvar REFUSED: refuse this one; the sender may try again later.
    @cvar ABUSE: the sender kept going while refused; close the connection.
    """

    ALLOWED = "allowed"
    REFUSED = "refused"
    ABUSE = "abuse"


class TokenBucket:
    """
    C{burst} tokens, refilled at C{rate} tokens a second.

    Refused takes still cost their tokens, down to a debt of C{burst}: a
    sender that pauses when refused is soon back in credit, one that keeps
    sending at full speed reaches the debt limit after a further burst.
    """

    def __init__(self, clock: IReactorTime, rate: float, burst: int) -> None:
        """
        @param clock: what tells the time, in seconds.
        @param rate: tokens added a second; more than 0.
        @param burst: the most tokens held, and the most debt allowed; 1 or
            more.
        @raise ValueError: for a rate or burst out of range.
        """
        if not rate > 0:
            raise ValueError("rate must be more than 0, got %r" % (rate,))
        if burst < 1:
            raise ValueError("burst must be 1 or more, got %r" % (burst,))
        self._clock = clock
        self.rate = float(rate)
        self.burst = burst
        self._tokens = float(burst)
        self._at = clock.seconds()

    @property
    def tokens(self) -> float:
        """
        The tokens held now (negative while in debt).
        """
        self._refill()
        return self._tokens

    def _refill(self) -> None:
        now = self._clock.seconds()
        if now > self._at:
            self._tokens = min(
                float(self.burst), self._tokens + (now - self._at) * self.rate
            )
        self._at = now

    def take(self, count: int = 1) -> Verdict:
        """
        Spend C{count} tokens on a frame or op.

        @return: L{Verdict.ALLOWED} when the bucket held them,
            L{Verdict.REFUSED} when it did not, L{Verdict.ABUSE} when this
            take brings the debt past one burst.
        """
        self._refill()
        if self._tokens >= count:
            self._tokens -= count
            return Verdict.ALLOWED
        self._tokens -= count
        if self._tokens < -self.burst:
            return Verdict.ABUSE
        return Verdict.REFUSED
