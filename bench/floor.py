"""
The floor: the smallest Autobahn server that does a board's fan-out.

Every text message a connection sends is framed once (Autobahn's prepared
messages) and written to every connection on the same path, the sender
included, as whitebrd does; nothing is checked, stored or ordered.  With
C{--state FILE} each newcomer first gets C{FILE}'s text as one prepared
frame, the cheapest possible late join.  whitebrd's figures are reported as
ratios to this server's, measured side by side in the same run, because
absolute times on a shared machine drift and ratios hold.

Run by the benchmarks as C{python -m bench.floor --port P [--state FILE]}.
"""

import argparse
import json
from typing import Any, Optional

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionRequest

__all__ = ["FloorFactory", "FloorProtocol", "main"]


class FloorProtocol(WebSocketServerProtocol):
    """
    One connection: joins the set of its path, relays what it sends.
    """

    factory: "FloorFactory"
    path = ""

    def onConnect(self, request: ConnectionRequest) -> None:
        self.path = request.path

    def onOpen(self) -> None:
        self.factory.rooms.setdefault(self.path, set()).add(self)
        for prepared in self.factory.joined:
            self.sendPreparedMessage(prepared)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        prepared = self.factory.prepareMessage(payload, isBinary)
        for other in self.factory.rooms[self.path]:
            other.sendPreparedMessage(prepared)

    def onClose(self, wasClean: bool, code: Optional[int], reason: Optional[str]) -> None:
        room = self.factory.rooms.get(self.path)
        if room is not None:
            room.discard(self)
            if not room:
                del self.factory.rooms[self.path]


class FloorFactory(WebSocketServerFactory):
    """
    The rooms, by path, and the frames every newcomer gets.
    """

    protocol = FloorProtocol

    def __init__(self, state: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rooms: dict[str, set[FloorProtocol]] = {}
        self.joined: list[Any] = []
        if state is not None:
            seq = json.loads(state).get("seq", 0)
            hello = json.dumps({"t": "hello", "board": "floor", "you": "x", "seq": seq})
            self.joined = [
                self.prepareMessage(hello.encode()),
                self.prepareMessage(state.encode()),
            ]
        self.setProtocolOptions(
            maxMessagePayloadSize=64 * 1024 * 1024,
            maxFramePayloadSize=64 * 1024 * 1024,
        )


def main(argv: Optional[list[str]] = None) -> None:
    """
    Listen on 127.0.0.1 and serve until killed.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", help="a state frame every newcomer gets")
    args = parser.parse_args(argv)

    from twisted.internet import reactor

    state = None
    if args.state:
        with open(args.state, encoding="utf-8") as f:
            state = f.read()
    factory = FloorFactory(state=state)
    reactor.listenTCP(args.port, factory, backlog=4096, interface="127.0.0.1")  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
