"""
Tests for L{whitebrd.tap}: the C{twistd whitebrd} command line, and the
packaging that makes C{twistd} find it.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.support import REPO
from whitebrd.limits import Limits
from whitebrd.tap import DEFAULT_LISTEN, Options


def parsed(*args: str) -> Options:
    options = Options()
    options.parseOptions(list(args))
    return options


class OptionsTests(SynchronousTestCase):
    """
    The options an operator types are read, checked and defaulted.
    """

    def test_defaults(self) -> None:
        """
        With no options the daemon serves on loopback port 8080 with the
        embedded store in the working directory and the default limits.
        """
        options = parsed()

        self.assertEqual(options["listen"], [DEFAULT_LISTEN])
        self.assertIsNone(options["redis"])
        self.assertEqual(options["data"], "whitebrd.sqlite3")
        self.assertEqual(options["limits"], Limits())

    def test_listen_repeats(self) -> None:
        """
        C{--listen} may be given several times.
        """
        options = parsed("--listen", "tcp:8081", "--listen", "unix:/tmp/whitebrd.sock")

        self.assertEqual(options["listen"], ["tcp:8081", "unix:/tmp/whitebrd.sock"])

    def test_bad_listen(self) -> None:
        """
        A C{--listen} that is no endpoint is a usage error naming it.
        """
        with self.assertRaises(usage.UsageError) as caught:
            parsed("--listen", "carrier-pigeon:8080")
        self.assertIn("carrier-pigeon", str(caught.exception))

    def test_redis_url(self) -> None:
        """
        A Redis URL is taken; one that is not is a usage error.
        """
        self.assertEqual(parsed("--redis", "redis://127.0.0.1:6390/2")["redis"], "redis://127.0.0.1:6390/2")
        with self.assertRaises(usage.UsageError):
            parsed("--redis", "http://example/")

    def test_limits_are_options(self) -> None:
        """
        Every limit can be set on the command line, and must be positive.
        """
        options = parsed("--max-items-per-board", "7", "--max-message-bytes", "4096")

        self.assertEqual(options["limits"].max_items_per_board, 7)
        self.assertEqual(options["limits"].max_message_bytes, 4096)
        with self.assertRaises(usage.UsageError):
            parsed("--max-items-per-board", "0")

    def test_durations(self) -> None:
        """
        The ping interval counts whole seconds, so it is at least one; the
        archive retention is in days, 0 keeping history for good.
        """
        options = parsed("--ping-interval", "2.5", "--archive-retention-days", "30")

        self.assertEqual(options["ping-interval"], 2.5)
        self.assertEqual(options["archive-retention-days"], 30.0)
        self.assertEqual(parsed()["archive-retention-days"], 0.0)
        for bad in (["--ping-interval", "0.5"], ["--archive-retention-days", "-1"]):
            with self.assertRaises(usage.UsageError):
                parsed(*bad)


class PackagingTests(TestCase):
    """
    C{pip install .} (not only an editable install) gives a twistd that
    knows C{whitebrd} and an installed package that holds the client.
    """

    def test_installed_plugin_and_static_files(self) -> None:
        """
        After installing the package into a fresh folder, C{twistd --help}
        lists C{whitebrd} and the installed package finds its static files.
        """
        target = Path(tempfile.mkdtemp(dir=os.getcwd())) / "site"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
             "--target", str(target), str(REPO)],
            check=True,
            cwd=tempfile.gettempdir(),
            env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"),
        )
        # Run from elsewhere, with only the installed copy on the path.
        env = dict(os.environ, PYTHONPATH=str(target))
        help_text = subprocess.run(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "--help"],
            check=True, capture_output=True, text=True, env=env, cwd=str(target.parent),
        ).stdout
        where = subprocess.run(
            [sys.executable, "-c", "import whitebrd.web as w; print(w.static_root()); print(w.__file__)"],
            check=True, capture_output=True, text=True, env=env, cwd=str(target.parent),
        ).stdout.split()

        self.assertIn("whitebrd", help_text)
        self.assertTrue(where[1].startswith(str(target)), where)
        self.assertTrue((Path(where[0]) / "board.html").is_file(), where)
        self.assertTrue((Path(where[0]) / "js").is_dir(), where)
