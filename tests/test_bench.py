# -*- test-case-name: tests.test_bench -*-
"""
The benchmark harness runs: a tiny, bounded fan-out against a real daemon
and the floor.  Nothing here is timed; the figures are for
C{docs/performance.md}, not for tests.
"""

from twisted.trial.unittest import TestCase

from bench.fanout import Servers
from bench.loadgen import FanoutSpec, run_fanout


class FanoutHarnessTests(TestCase):
    """
    What the fan-out figures rest on: every op a drawer sends is counted
    once at every other client, on whitebrd and on the floor alike.
    """

    def test_every_delivery_is_counted_on_both_servers(self) -> None:
        """
        Three clients on one board, one drawing: each op reaches the two
        others, and the harness counts exactly that many deliveries.
        """
        servers = Servers()
        self.addCleanup(servers.stop)
        spec = FanoutSpec(boards=1, clients=3, drawers=1, rate=20, seconds=1.0)

        results = {
            name: run_fanout(spec, port, "tb%s" % (name[0],), pids, wait_state)
            for name, port, pids, wait_state in servers.targets()
        }

        for name, result in results.items():
            self.assertGreater(result["ops_sent"], 0, name)
            self.assertEqual(result["deliveries_expected"], 2 * result["ops_sent"], name)
            self.assertEqual(result["deliveries_received"], result["deliveries_expected"], name)
            self.assertEqual(result["errors"], 0, name)
        self.assertEqual(results["whitebrd"]["acks"], results["whitebrd"]["ops_sent"])
