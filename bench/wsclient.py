"""
A WebSocket client cheap enough to load a server on the same two cores.

The load generator shares the machine with the daemon and Redis, so every
microsecond it spends per frame is taken from the server it measures.  This
client is an C{asyncio.Protocol} that does the RFC 6455 handshake and then
reads frames straight out of the byte stream: no per-frame objects, no
extension negotiation, no UTF-8 check (the payload goes to C{orjson}, which
checks it anyway).  It masks what it sends, as the RFC asks of clients.

It speaks only to loopback servers the benchmark started.
"""

import asyncio
import base64
import os
from typing import Callable, Optional

__all__ = ["WSClient", "connect"]

TextHandler = Callable[[bytes], None]


def _mask(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    pad = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(pad, "little")).to_bytes(
        n, "little"
    )


class WSClient(asyncio.Protocol):
    """
    One client connection.

    @ivar bytes_received: everything read from the socket after the
        handshake, frame headers included.
    @ivar frames: text frames received.
    @ivar on_text: called with each text frame's payload.
    """

    def __init__(self, host: str, port: int, path: str, on_text: TextHandler) -> None:
        self.host = host
        self.port = port
        self.path = path
        self.on_text = on_text
        self.bytes_received = 0
        self.frames = 0
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[Optional[int]] = (
            asyncio.get_running_loop().create_future()
        )
        self._transport: Optional[asyncio.Transport] = None
        self._buffer = bytearray()
        self._upgraded = False
        self._key = os.urandom(4)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % (self.path, self.host, self.port, key)
        )
        transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            if b" 101 " not in status:
                if not self.opened.done():
                    self.opened.set_exception(
                        ConnectionError("handshake refused: %r" % (status,))
                    )
                self._transport.close()  # type: ignore[union-attr]
                return
            self._upgraded = True
            del buf[: end + 4]
            self.bytes_received += len(buf)
            self.opened.set_result(None)
        else:
            self.bytes_received += len(data)

        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            end = pos + head + length
            if end > size:
                break
            opcode = b0 & 0x0F
            if opcode == 1:
                self.frames += 1
                self.on_text(bytes(buf[pos + head : end]))
            elif opcode == 9:
                self._send(0x8A, bytes(buf[pos + head : end]))
            elif opcode == 8:
                code = int.from_bytes(buf[pos + head : pos + head + 2], "big") if length >= 2 else None
                if not self.closed.done():
                    self.closed.set_result(code)
                self._transport.close()  # type: ignore[union-attr]
            pos = end
        if pos:
            del buf[:pos]

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def _send(self, b0: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            head = bytes((b0, 0x80 | n))
        elif n < 65536:
            head = bytes((b0, 0x80 | 126)) + n.to_bytes(2, "big")
        else:
            head = bytes((b0, 0x80 | 127)) + n.to_bytes(8, "big")
        assert self._transport is not None
        self._transport.write(head + self._key + _mask(payload, self._key))

    def send_text(self, payload: bytes) -> None:
        """
        Send one text frame (UTF-8 bytes).
        """
        if self._transport is not None and not self._transport.is_closing():
            self._send(0x81, payload)

    def close(self) -> None:
        """
        Close the connection without waiting for the server's close frame.
        """
        if self._transport is not None and not self._transport.is_closing():
            self._send(0x88, (1000).to_bytes(2, "big"))
            self._transport.close()


async def connect(
    port: int, path: str, on_text: TextHandler, host: str = "127.0.0.1"
) -> WSClient:
    """
    Open a connection and complete the handshake.
    """
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: WSClient(host, port, path, on_text), host, port
    )
    await client.opened
    return client
