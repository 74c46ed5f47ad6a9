"""
A WebSocket client on a bare socket, for the tests that break things on
purpose.

Library clients are polite: they read in a background thread, answer pings,
refuse to send invalid UTF-8 and never leave a frame half-sent.  This one
does only what the test says: it can stop reading altogether (with a tiny
receive buffer, so that the daemon's data piles up on its side), send
binary, oversized, invalid or hand-compressed frames, and cut its connection
with a TCP reset, as a network drop would.  It speaks RFC 6455 and, when
asked, permessage-deflate without context takeover.
"""

import base64
import json
import os
import select
import socket
import struct
import time
import zlib
from typing import Any, Optional

__all__ = ["Closed", "RawWebSocket", "deflate"]

TEXT, BINARY, CLOSE, PING, PONG = 1, 2, 8, 9, 10


class Closed(Exception):
    """
    The connection ended.

    @ivar code: the close code the daemon sent, or C{None} when the
        connection ended without a close frame (reset, end of stream).
    @ivar reason: the close reason it sent.
    """

    def __init__(self, code: Optional[int], reason: str) -> None:
        super().__init__("closed: %s %s" % (code, reason))
        self.code = code
        self.reason = reason


class HandshakeRefused(Exception):
    """
    The daemon answered the upgrade with an HTTP status other than 101.
    """

    def __init__(self, status: int) -> None:
        super().__init__("handshake refused with HTTP %d" % (status,))
        self.status = status


def deflate(data: bytes) -> bytes:
    """
    C{data} as one permessage-deflate message body: raw deflate with the
    trailing empty block taken off, with a 512-byte window (the daemon asks
    clients for the smallest) and no context from earlier messages.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -9)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


# Who is on the board (docs/protocol.md, "Presence"): frames that come and
# go with other connections, which tests of the board's own frames skip.
PRESENCE_KINDS = frozenset({"people", "join", "leave", "presence", "cursor"})


class RawWebSocket:
    """
    One WebSocket connection on a blocking socket.

    @ivar deflate: whether permessage-deflate was agreed.
    @ivar skip_presence: whether L{receive} passes over presence frames
        (L{PRESENCE_KINDS}), as it does unless a test turns it off.
    """

    skip_presence = True

    def __init__(
        self,
        port: int,
        path: str,
        receive_buffer: Optional[int] = None,
        compress: bool = False,
        timeout: float = 10.0,
    ) -> None:
        """
        Connect and complete the opening handshake.

        @param receive_buffer: SO_RCVBUF in bytes, set before connecting, to
            play a peer that takes data slowly or not at all.
        @param compress: offer permessage-deflate.
        @raise HandshakeRefused: when the answer is not 101.
        """
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            "GET %s HTTP/1.1" % (path,),
            "Host: 127.0.0.1:%d" % (port,),
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: %s" % (key,),
            "Sec-WebSocket-Version: 13",
        ]
        if compress:
            lines.append(
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"
            )
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._buffer = b""
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise HandshakeRefused(0)
            self._buffer += chunk
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        if status != 101:
            raise HandshakeRefused(status)
        self.response = head.decode("latin-1")
        self.deflate = "permessage-deflate" in self.response.lower()
        self.closed: Optional[Closed] = None
        self.messages_received = 0
        self.bytes_received = 0

    # Sending

    def send_frame(
        self, opcode: int, payload: bytes, fin: bool = True, rsv1: bool = False
    ) -> None:
        """
        Send one masked frame exactly as given.
        """
        first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", first, 0x80 | size)
        elif size < 1 << 16:
            header = struct.pack("!BBH", first, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", first, 0x80 | 127, size)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_text(self, text: "str | bytes") -> None:
        """
        Send a text frame; bytes go as they are, valid UTF-8 or not.
        """
        self.send_frame(TEXT, text.encode() if isinstance(text, str) else text)

    def send_json(self, value: Any) -> None:
        self.send_text(json.dumps(value))

    # Receiving

    def _read(self, count: int, deadline: float) -> bytes:
        while len(self._buffer) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame within the timeout")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                raise self._ended(None, "connection reset")
            if not chunk:
                raise self._ended(None, "end of stream")
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _ended(self, code: Optional[int], reason: str) -> Closed:
        self.closed = Closed(code, reason)
        return self.closed

    def receive_frame(self, timeout: float = 10.0) -> tuple[int, bool, bool, bytes]:
        """
        The next frame: its opcode, whether it ends its message (FIN),
        whether RSV1 (compressed) is set, and its payload.
        """
        deadline = time.monotonic() + timeout
        first, second = self._read(2, deadline)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", self._read(2, deadline))
        elif size == 127:
            (size,) = struct.unpack("!Q", self._read(8, deadline))
        payload = self._read(size, deadline)
        return first & 0x0F, bool(first & 0x80), bool(first & 0x40), payload

    def receive(self, timeout: float = 10.0, answer_pings: bool = True) -> Any:
        """
        The next message, decoded from JSON; pings are answered on the way.

        @raise Closed: when the daemon closed the connection.
        @raise TimeoutError: when nothing came in time.
        """
        if self.closed is not None:
            raise self.closed
        deadline = time.monotonic() + timeout
        parts: list[bytes] = []
        compressed = False
        while True:
            left = max(0.0, deadline - time.monotonic())
            opcode, fin, rsv1, payload = self.receive_frame(left)
            if opcode == PING:
                if answer_pings:
                    self.send_frame(PONG, payload)
                continue
            if opcode == PONG:
                continue
            if opcode == CLOSE:
                code = (
                    struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                )
                raise self._ended(code, payload[2:].decode("utf-8", "replace"))
            if opcode in (TEXT, BINARY):
                parts, compressed = [], rsv1
            parts.append(payload)
            if fin:
                break
        data = b"".join(parts)
        self.messages_received += 1
        self.bytes_received += len(data)
        if compressed:
            data = zlib.decompressobj(-15).decompress(data + b"\x00\x00\xff\xff")
        message = json.loads(data)
        if (
            self.skip_presence
            and isinstance(message, dict)
            and message.get("t") in PRESENCE_KINDS
        ):
            return self.receive(max(0.0, deadline - time.monotonic()), answer_pings)
        return message

    def pending(self) -> bool:
        """
        Whether data waits to be read (without blocking).
        """
        if self._buffer:
            return True
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def until_closed(self, timeout: float = 30.0) -> Closed:
        """
        Read and drop everything until the connection ends, answering no
        ping, and say how it ended.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.receive(max(0.01, deadline - time.monotonic()), answer_pings=False)
            except Closed as closed:
                return closed

    # Ending

    def cut(self) -> None:
        """
        Drop the connection with a TCP reset, as a network failure would:
        no close frame, nothing more read or written.
        """
        self.sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        self.sock.close()
        self.closed = Closed(None, "cut")

    def close(self) -> None:
        """
        Close the socket without ceremony.
        """
        try:
            self.sock.close()
        except OSError:
            pass
