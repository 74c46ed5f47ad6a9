"""
The processes a benchmark measures, and what it reads of them from C{/proc}.

Every server here listens on 127.0.0.1 on a free port and is stopped by the
run that started it: a private C{redis-server} (the tests' harness, never the
machine's Redis on 6379), a C{twistd whitebrd} daemon on it, and the floor
(L{bench.floor}).  CPU and memory are read from C{/proc/<pid>}, so the
figures are the servers' own, not the load generator's, which shares the
machine's two cores with them.
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

from tests.redis_server import RedisServer

__all__ = [
    "Daemon",
    "Floor",
    "Redis",
    "Sampler",
    "cpu_seconds",
    "free_port",
    "rss_bytes",
]

REPO = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """
    A TCP port on loopback that nothing listens on now.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """
    User plus system CPU time the process has used so far, its threads
    included, from C{/proc/<pid>/stat}.
    """
    with open("/proc/%d/stat" % (pid,)) as f:
        # NB: the command name (field 2) may hold spaces; count from the
        # closing parenthesis.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """
    Resident memory of the process (C{VmRSS}) or its peak (C{VmHWM}).
    """
    with open("/proc/%d/status" % (pid,)) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise ValueError("no %s in /proc/%d/status" % (field, pid))


class Sampler:
    """
    Samples the resident memory of some processes every C{interval}
    seconds in a thread, keeping the peak of each.
    """

    def __init__(self, pids: dict[str, int], interval: float = 0.05) -> None:
        self.pids = pids
        self.peak = {name: 0 for name in pids}
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self) -> None:
        for name, pid in self.pids.items():
            try:
                self.peak[name] = max(self.peak[name], rss_bytes(pid))
            except (OSError, ValueError):
                pass

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()


class Redis:
    """
    A private C{redis-server} for one benchmark run, with the settings the
    operations guide asks for (C{noeviction}) and no persistence, so that
    disk speed is not what is measured.
    """

    def __init__(self) -> None:
        self.server = RedisServer()
        self.server.start()

    @property
    def pid(self) -> int:
        assert self.server.process is not None
        return self.server.process.pid

    @property
    def url(self) -> str:
        return self.server.url

    def command(self, *args: Any) -> Any:
        return self.server.command(*args)

    def used_memory(self) -> int:
        """
        Bytes Redis's allocator holds for data (C{INFO memory}).
        """
        info = self.command("INFO", "memory").decode()
        for line in info.splitlines():
            if line.startswith("used_memory:"):
                return int(line.split(":")[1])
        raise ValueError("no used_memory in INFO")

    def stop(self) -> None:
        self.server.cleanup()


def _wait_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                "%s exited with %s:\n%s"
                % (what, process.returncode, log.read_text(errors="replace")[-3000:])
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not listen on %d in 30 s" % (what, port))


class _Server:
    """
    A server subprocess on a free loopback port, logging to a file.
    """

    name = "server"

    def __init__(self, command: list[str], port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.log = workdir / ("%s-%d.log" % (self.name, port))
        env = dict(os.environ, PYTHONPATH=str(REPO))
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                command,
                cwd=str(workdir),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_port(port, self.process, self.name, self.log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# The benchmark's clients all come from 127.0.0.1: the per-address limits,
# meant for abuse, would otherwise stop the load long before the daemon.
RAISED_LIMITS = (
    "--connections-per-address",
    "1000000",
    "--boards-per-minute-per-address",
    "1000000",
    "--ops-per-second-per-address",
    "10000000",
    "--ops-per-second-per-connection",
    "10000000",
)


class Daemon(_Server):
    """
    C{twistd -n whitebrd} on a private Redis (or an SQLite file), with the
    limits raised that a benchmark's clients, all on one address, would
    otherwise meet.
    """

    name = "whitebrd"

    def __init__(
        self,
        workdir: Path,
        redis_url: Optional[str] = None,
        data: Optional[Path] = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        port = free_port()
        store = ["--redis", redis_url] if redis_url else ["--data", str(data)]
        command = [
            sys.executable,
            "-c",
            "from twisted.scripts.twistd import run; run()",
            "--nodaemon",
            "--pidfile=",
            "--logfile=%s" % (workdir / ("twistd-%d.log" % (port,)),),
            "whitebrd",
            "--listen",
            "tcp:%d:interface=127.0.0.1:backlog=4096" % (port,),
            "--ping-interval",
            "600",
            *RAISED_LIMITS,
            *store,
            *extra,
        ]
        super().__init__(command, port, workdir)
        self._healthy()

    def _healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError("whitebrd did not answer /healthz in 30 s")

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % (self.port,)

    def get_json(self, path: str) -> Any:
        import json

        with urllib.request.urlopen(self.url + path, timeout=60) as answer:
            return json.loads(answer.read())


class Floor(_Server):
    """
    The floor: L{bench.floor} in its own process.
    """

    name = "floor"

    def __init__(self, workdir: Path, state: Optional[Path] = None) -> None:
        port = free_port()
        command = [sys.executable, "-m", "bench.floor", "--port", str(port)]
        if state is not None:
            command += ["--state", str(state)]
        super().__init__(command, port, workdir)


def workdir() -> Path:
    """
    A fresh folder for one run's logs and files.
    """
    return Path(tempfile.mkdtemp(prefix="whitebrd-bench-"))
