# -*- test-case-name: tests.test_boards -*-
"""
Whether the store is taking ops now, as this daemon last found, so that
every page can say "not saving" while it is not, and learns at once when it
is again.

Appends find out first: one failing with L{StoreUnavailable} marks the
store down.  From then on L{StoreHealth} pings the store until it answers,
while the connections hold their ops and try them again.  A ping that
answers asks the connections holding ops to try them now; the store is up
again when one of those appends succeeds (a Redis that answers pings may
still refuse writes, out of memory), or at once when nobody holds any.
Each change is announced once, to whoever the daemon tells (its
connections).
"""

from typing import Callable, Optional

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from whitebrd.stores import IStore, StoreUnavailable

__all__ = ["StoreHealth"]


class StoreHealth:
    """
    The store's state as the daemon's connections see it.

    @ivar saving: C{False} from a failed append until the store answers
        again.
    """

    log = Logger()

    def __init__(
        self,
        store: IStore,
        clock: IReactorTime,
        changed: Callable[[bool], None],
        retry: Callable[[], bool],
        probe_seconds: float = 0.5,
    ) -> None:
        """
        @param changed: called with the new value of L{saving} when it
            changes.
        @param retry: asks the connections holding ops to try them now;
            returns whether any held one.
        @param probe_seconds: how long to wait between two pings while the
            store is down (each ping is bounded by the store's own timeout).
        """
        self._store = store
        self._clock = clock
        self._changed = changed
        self._retry = retry
        self._probe_seconds = probe_seconds
        self._probe: Optional[IDelayedCall] = None
        self._probing = False
        self._stopped = False
        self.saving = True

    def failed(self, failure: Failure) -> None:
        """
        A store call failed with L{StoreUnavailable}: ops are not saved
        until it answers again.
        """
        if self.saving:
            self.saving = False
            self.log.warn(
                "The {store} store does not take ops ({error}); connections hold"
                " theirs and pages say they are not saved",
                store=self._store.name,
                error=failure.getErrorMessage(),
            )
            self._changed(False)
        self._schedule()

    def answered(self) -> None:
        """
        A store call succeeded: ops are saved again.
        """
        if self._probe is not None and self._probe.active():
            self._probe.cancel()
        self._probe = None
        if not self.saving:
            self.saving = True
            self.log.info("The {store} store takes ops again", store=self._store.name)
            self._changed(True)

    def _schedule(self) -> None:
        if self._stopped or self._probing:
            return
        if self._probe is None or not self._probe.active():
            self._probe = self._clock.callLater(self._probe_seconds, self._ping)

    def _ping(self) -> None:
        self._probe = None
        if self.saving or self._stopped:
            return
        self._probing = True

        def down(failure: Failure) -> None:
            failure.trap(StoreUnavailable)
            self._schedule()

        def done(result: object) -> object:
            self._probing = False
            return result

        def up(_: object) -> None:
            if self.saving or self._stopped:
                return
            if not self._retry():
                self.answered()
            else:
                # The retried appends decide; if they fail, they schedule
                # the next ping.
                self._schedule()

        d = self._store.ping()
        d.addBoth(done)
        d.addCallbacks(up, down)
        d.addErrback(lambda f: self.log.failure("Pinging the store failed", f))

    def stop(self) -> None:
        """
        Ping no more: the daemon is shutting down.
        """
        self._stopped = True
        if self._probe is not None and self._probe.active():
            self._probe.cancel()
        self._probe = None
