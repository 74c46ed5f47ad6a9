"""
Drawing boards through the daemon, as fast as it stores ops: what the
late-join, idle and storage scenarios start from.
"""

import asyncio
from typing import Any, Iterable

import orjson

from bench.wsclient import connect

__all__ = ["draw"]

# Ops per frame, and ops sent but not yet acknowledged at most: well under
# the daemon's limits on ops per frame and ops queued per connection.
BATCH = 1000
IN_FLIGHT = 2000


async def draw(port: int, board: str, client: str, ops: Iterable[dict[str, Any]]) -> int:
    """
    Send C{ops} on C{board} as C{client}, a thousand to a frame, and wait
    until the daemon has stored every one.

    @return: how many ops were stored.
    @raise RuntimeError: when the daemon refused one.
    """
    acked = 0
    errors: list[Any] = []
    progress = asyncio.Event()

    def on_text(payload: bytes) -> None:
        nonlocal acked
        frame = orjson.loads(payload)
        kind = frame.get("t")
        if kind == "ops":
            acked += sum(1 for op in frame["ops"] if op.get("by") == client)
            progress.set()
        elif kind in ("error", "ack"):
            if kind == "error":
                errors.append(frame)
            else:
                acked += 1
            progress.set()

    async def wait_until(done: Any) -> None:
        while not done() and not errors:
            progress.clear()
            await asyncio.wait_for(progress.wait(), 300)
        if errors:
            raise RuntimeError("drawing on %s: %s" % (board, errors[0]))

    connection = await connect(port, "/b/%s/ws?client=%s" % (board, client), on_text)
    sent = 0
    batch: list[Any] = []

    def send() -> None:
        nonlocal sent, batch
        connection.send_text(orjson.dumps({"t": "ops", "ops": batch}))
        sent += len(batch)
        batch = []

    for op in ops:
        batch.append(op)
        if len(batch) == BATCH:
            await wait_until(lambda: sent - acked <= IN_FLIGHT)
            send()
    if batch:
        send()
    await wait_until(lambda: acked >= sent)
    connection.close()
    return sent
