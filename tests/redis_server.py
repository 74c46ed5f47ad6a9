"""
Private C{redis-server} processes for the tests.

Tests never touch the machine's Redis on port 6379: each server here binds
127.0.0.1 on a free port, writes its pid file, log and data in a folder of
its own and saves nothing unless asked to (C{appendonly=True} turns on an
append-only file fsynced on every write, for durability tests).  A server
can be stopped, killed and started again on the same port and folder, so a
test can take Redis away from a running store and give it back.

Most tests share one server, L{shared_redis}, started on first use and
stopped when the interpreter exits; they keep apart by using board ids of
their own rather than by flushing it.

Starting blocks the calling thread until the server answers C{PING}, polling
every few milliseconds; tests call it from setUp or between steps, where
that is what they want.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Any, BinaryIO, Optional
from unittest import SkipTest

__all__ = ["RedisServer", "shared_redis"]

_POLL_SECONDS = 0.005


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """
    One C{redis-server} process on 127.0.0.1.

    @ivar port: the TCP port, kept across restarts.
    @ivar directory: the absolute folder holding its pid file, log and data.
    """

    def __init__(
        self,
        directory: Optional[str] = None,
        appendonly: bool = False,
        port: Optional[int] = None,
    ) -> None:
        """
        @param directory: where the server keeps its files; a new temporary
            folder (removed by L{cleanup}) when C{None}.
        @param appendonly: keep an append-only file fsynced on every write,
            so that what Redis acknowledged survives C{kill()}.
        """
        self._own_directory = directory is None
        if directory is None:
            directory = tempfile.mkdtemp(prefix="whitebrd-redis-")
        self.directory = os.path.abspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.appendonly = appendonly
        self.port = port if port is not None else _free_port()
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        """
        The C{redis://} URL of database 0.
        """
        return "redis://127.0.0.1:%d/0" % (self.port,)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _command(self) -> list[str]:
        command = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--pidfile",
            os.path.join(self.directory, "redis.pid"),
            "--dir",
            self.directory,
            "--logfile",
            os.path.join(self.directory, "redis.log"),
            "--daemonize",
            "no",
            "--save",
            "",
        ]
        if self.appendonly:
            command += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            command += ["--appendonly", "no"]
        return command

    def start(self, timeout_seconds: float = 10.0) -> None:
        """
        Start the server and return once it answers C{PING}.

        @raise SkipTest: when C{redis-server} is not installed.
        @raise RuntimeError: when it exits or does not answer in time; the
            message carries the end of its log.
        """
        if self.running:
            return
        if shutil.which("redis-server") is None:
            raise SkipTest(
                "redis-server is not installed (Debian: apt-get install redis-server)"
            )
        self.process = subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "redis-server on port %d exited with %d:\n%s"
                    % (self.port, self.process.returncode, self._log_tail())
                )
            if self.answers():
                return
            time.sleep(_POLL_SECONDS)
        self.kill()
        raise RuntimeError(
            "redis-server on port %d did not answer PING within %g s:\n%s"
            % (self.port, timeout_seconds, self._log_tail())
        )

    def answers(self) -> bool:
        """
        Whether the server answers C{PING} with C{PONG} now (a server still
        loading its data answers C{-LOADING}, which is not yet).
        """
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args: "str | bytes | int") -> Any:
        """
        Run one command and return its reply, blocking: for tests that look
        at what a store wrote without going through the client under test.

        Bulk strings come back as C{bytes}, arrays as lists, errors raise
        L{RuntimeError}.
        """
        parts = [a if isinstance(a, bytes) else str(a).encode("utf-8") for a in args]
        request = b"*%d\r\n" % (len(parts),) + b"".join(
            b"$%d\r\n%s\r\n" % (len(p), p) for p in parts
        )
        with socket.create_connection(("127.0.0.1", self.port), timeout=5.0) as s:
            s.sendall(request)
            return _read_reply(s.makefile("rb"))

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """
        Stop the server as an operator would (SIGTERM) and wait for it.
        """
        self._end(signal.SIGTERM, timeout_seconds)

    def kill(self, timeout_seconds: float = 10.0) -> None:
        """
        Kill the server (SIGKILL), as a crash would, and wait for it.
        """
        self._end(signal.SIGKILL, timeout_seconds)

    def _end(self, how: signal.Signals, timeout_seconds: float) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(how)
            try:
                self.process.wait(timeout_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cleanup(self) -> None:
        """
        Kill the server and remove its folder if this object made it.
        """
        self.kill()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            with open(os.path.join(self.directory, "redis.log")) as f:
                return "".join(f.readlines()[-20:])
        except OSError:
            return "(no log)"


def _read_reply(stream: BinaryIO) -> Any:
    line = stream.readline()[:-2]
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else stream.read(size + 2)[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read_reply(stream) for _ in range(count)]
    raise RuntimeError("unexpected reply from Redis: %r" % (line,))


_shared: Optional[RedisServer] = None


def shared_redis() -> RedisServer:
    """
    The Redis server the whole test run shares, started on first use and
    stopped when the interpreter exits.  Tests must not stop it, flush it or
    rely on what other tests stored in it.
    """
    global _shared
    if _shared is None or not _shared.running:
        server = RedisServer()
        server.start()
        atexit.register(server.cleanup)
        _shared = server
    return _shared
