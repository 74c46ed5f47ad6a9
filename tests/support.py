"""
What the black-box tests share: a real C{twistd whitebrd} in a subprocess, a
plain WebSocket client, and the real drawings in C{../shared/scenes}.

These tests talk to the daemon only as a person's browser would, over HTTP
and WebSockets on loopback, so they hold whatever the code inside does.
"""

import itertools
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any, Iterator, Optional

from twisted.trial.unittest import TestCase
from websockets.sync.client import ClientConnection, connect

from tests.rawws import PRESENCE_KINDS

REPO = Path(__file__).resolve().parent.parent
SCENES = Path(os.environ.get("WHITEBRD_SCENES", str(REPO.parent / "shared" / "scenes")))
ARTIFACTS = REPO / "test-artifacts"

# The limits of a daemon whose test streams whole drawings from one client as
# fast as it can, far past what a person drawing sends; see
# whitebrd.quotas.QuotaLimits for the defaults.
STREAMING_LIMITS = (
    "--ops-per-second-per-connection",
    "1000000",
    "--ops-per-second-per-address",
    "1000000",
)

# The same for tests whose many clients share one address.
UNLIMITED = STREAMING_LIMITS + ("--connections-per-address", "1000")


def new_board() -> str:
    """
    A board name no other test uses.
    """
    return secrets.token_urlsafe(16)


def free_port() -> int:
    """
    A TCP port on loopback that nothing listens on now.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scene_path(name: str) -> Path:
    """
    A file of the scene corpus; the test stops with a clear error when the
    corpus is not where C{WHITEBRD_SCENES} says.
    """
    path = SCENES / name
    if not path.is_file():
        raise FileNotFoundError(
            "scene %s not found; set WHITEBRD_SCENES to the shared/scenes folder" % (path,)
        )
    return path


def _twistd() -> list[str]:
    script = Path(sys.executable).parent / "twistd"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


class Daemon:
    """
    One C{twistd -n whitebrd} subprocess on a free loopback port.

    @ivar port: the TCP port it serves on, kept across restarts.
    @ivar url: C{http://127.0.0.1:PORT}.
    """

    def __init__(
        self, args: list[str], workdir: Path, port: Optional[int] = None, tac: bool = False
    ) -> None:
        self.args = list(args)
        self.tac = tac
        self.workdir = workdir
        self.port = port or free_port()
        self.url = "http://127.0.0.1:%d" % (self.port,)
        self.logfile = workdir / ("twistd-%d.log" % (self.port,))
        self.process: Optional[subprocess.Popen[bytes]] = None

    def start(self, timeout: float = 30.0) -> "Daemon":
        """
        Start the daemon and wait until it answers C{/healthz}.
        """
        env = dict(os.environ, PYTHONPATH=str(REPO))
        command = _twistd() + ["--nodaemon", "--pidfile=", "--logfile=%s" % (self.logfile,)]
        options = ["--listen", "tcp:%d:interface=127.0.0.1" % (self.port,)] + self.args
        if self.tac:
            command += ["--python", str(REPO / "whitebrd.tac")]
            env["WHITEBRD_OPTIONS"] = " ".join(shlex.quote(o) for o in options)
        else:
            command += ["whitebrd"] + options
        self.process = subprocess.Popen(command, cwd=str(self.workdir), env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "twistd whitebrd exited with %s:\n%s" % (self.process.returncode, self.log())
                )
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError("twistd whitebrd did not answer in %ss:\n%s" % (timeout, self.log()))

    def log(self) -> str:
        """
        What the daemon logged so far.
        """
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return "(no log)"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        """
        Stop the daemon with C{sig} and wait for it to exit.
        """
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """
        Kill the daemon with SIGKILL: no shutdown, no flushing.
        """
        self.stop(signal.SIGKILL)

    def restart(self) -> "Daemon":
        """
        Stop the daemon and start it again on the same port.
        """
        self.stop()
        return self.start()

    def get(self, path: str) -> tuple[int, bytes, Any]:
        """
        GET C{path}: the status, the body and the headers.
        """
        request = urllib.request.Request(self.url + path)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def board_json(self, board: str) -> Any:
        """
        C{GET /b/<board>.json}, decoded.
        """
        status, body, _ = self.get("/b/%s.json" % (board,))
        assert status == 200, (status, body)
        return json.loads(body)

    def connect(
        self, board: str, compression: Optional[str] = "deflate", **params: Any
    ) -> "Client":
        """
        A WebSocket client on C{board}, e.g. C{client="abcdefgh"}; with
        C{compression=None}, one that offers no permessage-deflate.
        """
        query = "&".join("%s=%s" % (k, v) for k, v in params.items() if v is not None)
        url = "ws://127.0.0.1:%d/b/%s/ws%s" % (self.port, board, "?" + query if query else "")
        return Client(
            connect(url, max_size=None, open_timeout=10, compression=compression)
        )


def start_daemon(test: TestCase, *args: str) -> Daemon:
    """
    Start a daemon for C{test} (stopped when the test ends); with no
    C{--redis}, its SQLite file lives in the test's own folder.
    """
    workdir = Path(tempfile.mkdtemp(prefix="whitebrd-", dir=os.getcwd()))
    if "--redis" not in args and "--data" not in args:
        args = args + ("--data", str(workdir / "boards.sqlite3"))
    daemon = Daemon(list(args), workdir)
    test.addCleanup(daemon.stop)
    return daemon.start()


class Client:
    """
    A blocking WebSocket client that speaks the board protocol, for tests.

    @ivar hello: the C{hello} frame, once L{join} read it.
    @ivar items: the board as this client holds it, by id, in drawing order.
    @ivar seq: the seq this client holds.
    @ivar presence: the presence frames received (who is on the board).
    @ivar other: every other frame that is not a board frame.
    """

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.hello: dict[str, Any] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.seq = 0
        self.ops: list[dict[str, Any]] = []
        self.other: list[dict[str, Any]] = []
        self.presence: list[dict[str, Any]] = []

    def send(self, frame: Any) -> None:
        """
        Send a frame: a dict is encoded as JSON, text and bytes go as they are.
        """
        if isinstance(frame, (dict, list)):
            frame = json.dumps(frame)
        self.connection.send(frame)

    def receive(self, timeout: float = 10.0) -> dict[str, Any]:
        """
        The next frame, decoded, folded into L{items} when it is a board frame.
        """
        frame: dict[str, Any] = json.loads(self.connection.recv(timeout))
        kind = frame.get("t")
        if kind == "hello":
            self.hello = frame
        elif kind == "state":
            self._fold_state(frame)
        elif kind == "ops":
            for op in frame["ops"]:
                self._fold_op(op)
        elif kind in PRESENCE_KINDS:
            self.presence.append(frame)
        else:
            self.other.append(frame)
        return frame

    _in_state = False

    def _fold_state(self, frame: dict[str, Any]) -> None:
        if not self._in_state:
            self.items = {}
        for item in frame["items"]:
            self.items[item["id"]] = item
        self.seq = frame["seq"]
        self._in_state = bool(frame.get("more"))

    def _fold_op(self, op: dict[str, Any]) -> None:
        assert op["seq"] == self.seq + 1, "seq %s after %s" % (op["seq"], self.seq)
        self.seq = op["seq"]
        self.ops.append(op)
        kind = op["op"]
        if kind == "add":
            self.items.pop(op["item"]["id"], None)
            self.items[op["item"]["id"]] = json.loads(json.dumps(op["item"]))
        elif kind == "extend":
            self.items[op["id"]]["pts"].extend(op["pts"])
        elif kind == "erase":
            for item_id in op["ids"]:
                self.items.pop(item_id, None)
        elif kind == "clear":
            self.items = {}

    def join(self) -> "Client":
        """
        Read frames until this client holds the board as of its C{hello}.
        """
        while not self.hello or self.seq < self.hello["seq"] or self._in_state:
            self.receive()
        return self

    def until(self, condition: Any, timeout: float = 30.0) -> None:
        """
        Read frames until C{condition(self)} holds.
        """
        deadline = time.monotonic() + timeout
        while not condition(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("condition not met in %ss; seq %s" % (timeout, self.seq))
            self.receive(left)

    def until_seq(self, seq: int, timeout: float = 30.0) -> None:
        """
        Read frames until this client holds seq C{seq}.
        """
        self.until(lambda c: c.seq >= seq, timeout)

    def frames_until(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """
        Read frames until one of type C{kind} arrives, and return it.
        """
        deadline = time.monotonic() + timeout
        while True:
            frame = self.receive(max(0.01, deadline - time.monotonic()))
            if frame.get("t") == kind:
                return frame

    def close(self) -> None:
        """
        Close the connection.
        """
        self.connection.close()


def excalidraw_items(name: str) -> Iterator[dict[str, Any]]:
    """
    The live elements of an Excalidraw scene as whitebrd items, in drawing
    order: freehand strokes as paths, shapes as their kinds, text as text.
    """
    scene = json.loads(scene_path(name).read_text(encoding="utf-8"))
    for n, element in enumerate(scene.get("elements", [])):
        if element.get("isDeleted"):
            continue
        item = _excalidraw_item(element, n)
        if item is not None:
            yield item


def _excalidraw_item(element: dict[str, Any], n: int) -> Optional[dict[str, Any]]:
    kind = element.get("type")
    x, y = float(element.get("x", 0)), float(element.get("y", 0))
    w, h = float(element.get("width", 0)), float(element.get("height", 0))
    color = element.get("strokeColor", "#000000")
    if not (isinstance(color, str) and len(color) == 7 and color.startswith("#")):
        color = "#000000"
    element_id = element.get("id")
    if not (isinstance(element_id, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", element_id)):
        element_id = "e%d" % (n,)
    base = {
        "id": element_id,
        "color": color.lower(),
        "width": max(0.5, min(200.0, float(element.get("strokeWidth", 1) or 1))),
        "opacity": max(0.0, min(1.0, float(element.get("opacity", 100)) / 100)),
    }
    if kind in ("freedraw", "line", "arrow"):
        pts: list[float] = []
        for px, py in element.get("points", []):
            pts += [round(x + px, 2), round(y + py, 2)]
        if not pts:
            return None
        return dict(base, kind="path", pts=pts)
    if kind in ("rectangle", "diamond", "ellipse"):
        return dict(
            base,
            kind="ellipse" if kind == "ellipse" else "rect",
            pts=[round(x, 2), round(y, 2), round(x + w, 2), round(y + h, 2)],
        )
    if kind == "text" and isinstance(element.get("text"), str) and element["text"]:
        return dict(
            base,
            kind="text",
            pts=[round(x, 2), round(y, 2)],
            text=element["text"][:2000],
            size=max(1.0, min(1000.0, float(element.get("fontSize", 20)))),
        )
    return None


def stroke_ops(item: dict[str, Any], cid_prefix: str, counter: Iterator[int], chunk_points: int = 8) -> Iterator[dict[str, Any]]:
    """
    The ops a browser sends to draw C{item}: a path as an C{add} with its
    first point, then C{extend}s of a few points each, as a person drawing
    streams it; any other item as one C{add}.
    """
    if item["kind"] != "path" or len(item["pts"]) <= 2:
        yield {"cid": "%s-%d" % (cid_prefix, next(counter)), "op": "add", "item": item}
        return
    pts = item["pts"]
    yield {
        "cid": "%s-%d" % (cid_prefix, next(counter)),
        "op": "add",
        "item": dict(item, pts=pts[:2]),
    }
    for start in range(2, len(pts), 2 * chunk_points):
        yield {
            "cid": "%s-%d" % (cid_prefix, next(counter)),
            "op": "extend",
            "id": item["id"],
            "pts": pts[start : start + 2 * chunk_points],
        }


def tagged_items(name: str, tag: str) -> list[dict[str, Any]]:
    """
    The items of scene C{name} with C{tag} before each id, so that two
    scenes drawn on one board never share an id.
    """
    return [
        dict(item, id=(tag + item["id"])[:40]) for item in excalidraw_items(name)
    ]


def drawing_ops(items: list[dict[str, Any]], client_id: str) -> list[dict[str, Any]]:
    """
    Every op a browser sends to draw C{items}, with cids made from
    C{client_id} and a counter, as the browser makes them.
    """
    counter = itertools.count(1)
    return [op for item in items for op in stroke_ops(item, client_id, counter)]


def redis_history(server: Any, board: str) -> list[dict[str, Any]]:
    """
    Every op Redis holds for C{board}, archived or in the log, oldest first,
    read straight from the keys (not through the store under test).
    """
    tag = "wb:{%s}:" % (board,)
    texts: list[str] = []
    for chunk in server.command("LRANGE", tag + "archive", 0, -1):
        data = zlib.decompress(chunk).decode("utf-8")
        texts.extend(data.split("\n") if data else [])
    texts.extend(t.decode("utf-8") for t in server.command("LRANGE", tag + "log", 0, -1))
    return [json.loads(text) for text in texts]
