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


async def draw(port: int, board: str, client: str, ops: Iterable[dict[str, Any]]) -> dict[str, int]:
    """
    Send C{ops} on C{board} as C{client}, a thousand to a frame, and wait
    until the daemon has stored every one.  An op the daemon could not
    store in time (C{storage_unavailable}) is sent again, as the browser
    client does; the C{cid} makes that harmless.

    @return: how many ops were stored, and how many were sent again.
    @raise RuntimeError: when the daemon refused an op.
    """
    pending: dict[str, Any] = {}
    retry: list[Any] = []
    errors: list[Any] = []
    retried = 0
    progress = asyncio.Event()

    def on_text(payload: bytes) -> None:
        nonlocal retried
        frame = orjson.loads(payload)
        kind = frame.get("t")
        if kind == "ops":
            for op in frame["ops"]:
                if op.get("by") == client:
                    pending.pop(op["cid"], None)
        elif kind == "ack":
            pending.pop(frame["cid"], None)
        elif kind == "error":
            if frame.get("code") == "storage_unavailable" and frame.get("cid") in pending:
                retry.append(pending[frame["cid"]])
                retried += 1
            else:
                errors.append(frame)
        else:
            return
        progress.set()

    async def wait_until(done: Any) -> None:
        while not done() and not errors:
            if retry:
                resend()
                continue
            progress.clear()
            await asyncio.wait_for(progress.wait(), 300)
        if errors:
            raise RuntimeError("drawing on %s: %s" % (board, errors[0]))

    connection = await connect(port, "/b/%s/ws?client=%s" % (board, client), on_text)

    def send(batch: list[Any]) -> None:
        for op in batch:
            pending[op["cid"]] = op
        connection.send_text(orjson.dumps({"t": "ops", "ops": batch}))

    def resend() -> None:
        batch = retry[:BATCH]
        del retry[:BATCH]
        send(batch)

    sent = 0
    batch: list[Any] = []
    for op in ops:
        batch.append(op)
        if len(batch) == BATCH:
            await wait_until(lambda: len(pending) <= IN_FLIGHT)
            send(batch)
            sent += len(batch)
            batch = []
    if batch:
        send(batch)
        sent += len(batch)
    await wait_until(lambda: not pending and not retry)
    connection.close()
    return {"stored": sent, "sent_again": retried}
