# -*- test-case-name: tests.test_stores -*-
"""
Boards in an embedded SQLite file, for one daemon with no Redis.

The file holds six tables for drawings (and four for links, see
L{whitebrd.stores.sqlite_links})::

    boards   (board, seq, base, items, points,    a row per board drawn on
              bytes, tail, snapshot_bytes,
              erased, snapshot)
    log      (board, seq, text)                   ops base+1 .. seq
    items    (board, id, points, bytes)           visible items, for checks
    cids     (board, cid, seq, at, whole)         cids of the ops in the log
                                                  (whole 0), and of the window
                                                  when not <prefix>-<counter>
    runs     (board, prefix, window, ranges)      counters applied per prefix
                                                  in each dedup window
    archive  (board, first, last, chunk, at)      zlib chunks of merged ops

Each append is one transaction doing the checks the Redis script does, so
both stores accept, refuse and number ops alike.  The database runs in WAL
mode with C{synchronous=NORMAL}: a committed op survives the daemon being
killed (C{kill -9}); a power cut or an operating system crash may lose the
last few commits, never corrupt the file.

All database work runs in one thread (C{adbapi} with one connection), in the
order it was asked for, so appends are applied in the order they were issued
and the reactor never waits on the disk.  Listeners are in this process
only: one daemon per file.
"""

import os
import sqlite3
import time
from typing import Any, Callable, Optional, TypeVar

from twisted.enterprise import adbapi
from twisted.internet import defer
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from whitebrd.frames import Op, stored_text
from whitebrd.limits import Limits
from whitebrd.scene import Scene
from whitebrd.stores._shared import (
    MAX_RUNS_PER_PREFIX,
    Compactor,
    Held,
    check_append,
    check_board,
    compaction,
    counted_cid,
    drawn_bytes,
    fold,
    folded,
    refusal,
    runs_hold,
    runs_with,
    seq_of,
    unpack_chunk,
)
from whitebrd.stores.interface import Appended, IStore, OpListener, StoreUnavailable
from whitebrd.stores.sqlite_links import LINKS_SCHEMA, SQLiteLinks

__all__ = ["SQLiteStore"]

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS boards (
    board TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    base INTEGER NOT NULL DEFAULT 0,
    items INTEGER NOT NULL DEFAULT 0,
    points INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    tail INTEGER NOT NULL DEFAULT 0,
    snapshot_bytes INTEGER NOT NULL DEFAULT 0,
    erased INTEGER NOT NULL DEFAULT 0,
    snapshot TEXT
);
CREATE TABLE IF NOT EXISTS log (
    board TEXT NOT NULL,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (board, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (
    board TEXT NOT NULL,
    id TEXT NOT NULL,
    points INTEGER NOT NULL,
    bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (board, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cids (
    board TEXT NOT NULL,
    cid TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    whole INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (board, cid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cids_at ON cids (at);
CREATE TABLE IF NOT EXISTS runs (
    board TEXT NOT NULL,
    prefix TEXT NOT NULL,
    window INTEGER NOT NULL,
    ranges TEXT NOT NULL,
    PRIMARY KEY (board, prefix, window)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS archive (
    board TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    chunk BLOB NOT NULL,
    at REAL,
    PRIMARY KEY (board, first)
);
"""

# Columns added since the first release, for files made before them: the
# totals start at 0 (so an old board's limits count from now), old archive
# chunks are kept a retention period from when the file is first opened.
_ADDED_COLUMNS = [
    ("boards", "points", "INTEGER NOT NULL DEFAULT 0"),
    ("boards", "bytes", "INTEGER NOT NULL DEFAULT 0"),
    ("boards", "tail", "INTEGER NOT NULL DEFAULT 0"),
    ("boards", "snapshot_bytes", "INTEGER NOT NULL DEFAULT 0"),
    ("boards", "erased", "INTEGER NOT NULL DEFAULT 0"),
    ("cids", "whole", "INTEGER NOT NULL DEFAULT 1"),
    ("items", "bytes", "INTEGER NOT NULL DEFAULT 0"),
    ("archive", "at", "REAL"),
]

# SQLite caps the parameters of one statement (32766 since 3.32, 999
# before); erase names up to Limits.max_ids_per_erase ids.
_IDS_PER_STATEMENT = 500

# How long the database waits for a lock another process holds (a backup,
# the sqlite3 shell) before an operation fails.
_BUSY_TIMEOUT_MS = 5000


def _configure(connection: sqlite3.Connection) -> None:
    """
    Set up each connection: transactions are begun explicitly (C{BEGIN
    IMMEDIATE} for writes, so a check and the write it allows see the same
    board), WAL with C{synchronous=NORMAL}.
    """
    connection.isolation_level = None
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=%d" % (_BUSY_TIMEOUT_MS,))


def _add_columns(connection: sqlite3.Connection) -> None:
    for table, column, kind in _ADDED_COLUMNS:
        names = {row[1] for row in connection.execute("PRAGMA table_info(%s)" % (table,))}
        if column not in names:
            connection.execute("ALTER TABLE %s ADD COLUMN %s %s" % (table, column, kind))
    connection.execute("UPDATE archive SET at = ? WHERE at IS NULL", (time.time(),))


def _prepare(path: str) -> None:
    """
    Create the file, its folder and its tables if missing, once, at
    startup, so that a path that cannot be used fails there and then.

    @raise ValueError: naming the path and the reason.
    """
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise ValueError(
            "cannot create the folder of the SQLite store %s: %s" % (path, e)
        )
    if os.path.isdir(path):
        raise ValueError("the SQLite store %s is a folder, not a file" % (path,))
    try:
        connection = sqlite3.connect(path, check_same_thread=False)
        try:
            _configure(connection)
            connection.executescript(_SCHEMA)
            connection.executescript(LINKS_SCHEMA)
            _add_columns(connection)
        finally:
            connection.close()
    except sqlite3.Error as e:
        raise ValueError("cannot open the SQLite store %s: %s" % (path, e))


@implementer(IStore)
class SQLiteStore(SQLiteLinks):
    """
    Boards in one SQLite file (see the module docstring for the tables).

    The file, its folder and its tables are made at construction; the
    database thread starts on first use.
    """

    name = "sqlite"
    log = Logger()

    def __init__(
        self,
        reactor: Any,
        path: str,
        limits: Limits,
        dedup_window_seconds: int = 86400,
        compact_after_ops: int = 1000,
        compact_after_bytes: int = 8 * 1024,
        archive_retention_seconds: float = 0.0,
        log: Optional[Logger] = None,
    ) -> None:
        """
        @param reactor: provides time and runs the database thread.
        @param path: the database file; it and its folder are created when
            missing.  C{:memory:} is refused (each thread would see its own
            empty database).
        @param limits: the board limits each append enforces.
        @param dedup_window_seconds: how long a C{cid} is remembered, at
            least.
        @param compact_after_ops: fold a board's log into its snapshot when
            this many ops follow the snapshot (and after every C{clear}).
        @param compact_after_bytes: fold it too, once it holds this many
            bytes, when its log outgrows half its snapshot or erased strokes
            swell the snapshot (see L{Compactor}).
        @param archive_retention_seconds: how long archive chunks are kept
            for replay, at least; older ones are dropped when the board is
            next compacted.  0 keeps them for good.
        @raise ValueError: when the file cannot be created or opened as an
            SQLite database, or for a non-positive setting.
        """
        if path == ":memory:" or path.startswith("file:"):
            raise ValueError("the SQLite store needs a file path, got %r" % (path,))
        if dedup_window_seconds < 1:
            raise ValueError(
                "dedup_window_seconds must be at least 1, got %r"
                % (dedup_window_seconds,)
            )
        self.path = os.path.abspath(path)
        _prepare(self.path)
        if log is not None:
            self.log = log
        self._reactor = reactor
        self._limits = limits
        self._window = float(dedup_window_seconds)
        self._retention = max(0.0, float(archive_retention_seconds))
        # Old cids are deleted in the append that comes due, at most this
        # often, so the table holds about one window and a bit.
        self._prune_every = min(self._window, 3600.0)
        self._next_prune = 0.0
        self._compactor = Compactor(
            reactor,
            compact_after_ops,
            self._compact,
            lambda: "SQLite at %s" % (self.path,),
            compact_after_bytes,
        )
        self._pool: Optional[adbapi.ConnectionPool] = None
        self._listeners: dict[str, list[OpListener]] = {}
        self._in_flight: set[Deferred[Any]] = set()
        self._failing = False
        self._closed = False

    def __repr__(self) -> str:
        return "<SQLiteStore %s>" % (self.path,)

    def _run(
        self, what: str, interaction: Callable[..., _T], *args: Any
    ) -> "Deferred[_T]":
        """
        Run C{interaction} in the database thread, in one transaction.

        @param what: what it is for, for log messages.
        @return: its result; L{StoreUnavailable} when SQLite fails (a full
            disk, a lock held too long, a file gone).
        """
        if self._closed:
            return defer.fail(
                StoreUnavailable("the SQLite store %s is closed" % (self.path,))
            )
        if self._pool is None:
            self._pool = adbapi.ConnectionPool(
                "sqlite3",
                self.path,
                check_same_thread=False,
                cp_min=1,
                cp_max=1,
                cp_openfun=_configure,
                cp_reactor=self._reactor,
            )
        d: Deferred[_T] = self._pool.runInteraction(interaction, *args)
        self._in_flight.add(d)

        def done(result: Any) -> Any:
            self._in_flight.discard(d)
            if not isinstance(result, Failure):
                if self._failing:
                    self._failing = False
                    self.log.info("SQLite store {path} works again", path=self.path)
                return result
            if not result.check(sqlite3.Error):
                return result
            if not self._failing:
                self._failing = True
                self.log.error(
                    "SQLite store {path} failed ({what}): {why}; ops are not stored "
                    "until it works",
                    path=self.path,
                    what=what,
                    why=result.getErrorMessage(),
                )
            return Failure(
                StoreUnavailable(
                    "SQLite store %s: %s (%s)"
                    % (self.path, result.getErrorMessage(), what)
                )
            )

        return d.addBoth(done)

    # IStore

    def append(self, board: str, by: str, op: Op) -> "Deferred[Appended]":
        """
        Store C{op} in one transaction, then tell the board's listeners.
        """
        check_append(board, by, op)
        now = self._reactor.seconds()
        prune = now >= self._next_prune
        if prune:
            self._next_prune = now + self._prune_every
        d = self._run(
            "append to board %s" % (board,),
            _append,
            board,
            by,
            op,
            self._limits,
            now,
            self._window,
            prune,
        )

        def answered(result: tuple[Any, ...]) -> Appended:
            if result[0] == "duplicate":
                return Appended(result[1], None, duplicate=True)
            if result[0] == "refused":
                raise refusal(op, result[1], self._limits)
            _, seq, text, tail, held = result
            for listener in list(self._listeners.get(board, ())):
                try:
                    listener(seq, text)
                except Exception:
                    self.log.failure(
                        "A listener of board {board} failed on op {seq}",
                        board=board,
                        seq=seq,
                    )
            self._compactor.after_append(board, op.kind, tail, held)
            return Appended(seq, text)

        return d.addCallback(answered)

    def load(self, board: str) -> "Deferred[Scene]":
        """
        The snapshot and the log tail, read in one transaction and folded
        (in a worker thread when the board is large).
        """
        check_board(board)
        d = self._run("load board %s" % (board,), _read_board, board)

        def read(row: tuple[int, int, Optional[str], list[str]]) -> "Deferred[Scene]":
            _, _, snapshot, texts = row
            return folded(self._reactor, snapshot, texts, fold)

        return d.addCallback(read)

    def ops_since(self, board: str, since: int) -> "Deferred[Optional[list[str]]]":
        check_board(board)
        return self._run(
            "read board %s since %d" % (board, since), _ops_since, board, since
        )

    def history(
        self, board: str, after: int = 0, limit: Optional[int] = None
    ) -> "Deferred[list[str]]":
        """
        The ops after seq C{after}, archived or not, oldest first, at most
        C{limit} of them (all without one): what a replay reads.
        """
        check_board(board)
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1, got %r" % (limit,))
        return self._run(
            "read the history of board %s after %d" % (board, after),
            _history,
            board,
            after,
            limit,
        )

    def listen(self, board: str, listener: OpListener) -> "Deferred[None]":
        """
        Register C{listener}; it is called after each commit to C{board} by
        this store, in seq order.
        """
        check_board(board)
        if self._closed:
            return defer.fail(
                StoreUnavailable("the SQLite store %s is closed" % (self.path,))
            )
        self._listeners.setdefault(board, []).append(listener)
        return succeed(None)

    def unlisten(self, board: str, listener: OpListener) -> None:
        listeners = self._listeners.get(board)
        if listeners and listener in listeners:
            listeners.remove(listener)
            if not listeners:
                del self._listeners[board]

    def ping(self) -> "Deferred[None]":
        return self._run("ping", _ping)

    def idle(self) -> "Deferred[None]":
        """
        Fires once no compaction started by this store is running.
        """
        return self._compactor.idle()

    def close(self) -> "Deferred[None]":
        """
        Let the database work already asked for finish, then stop the
        database thread and close the file.
        """
        if self._closed:
            return succeed(None)
        self._closed = True
        self._compactor.close()
        self._listeners.clear()
        pending = defer.gatherResults([_when_done(d) for d in self._in_flight])

        def stop(_: object) -> None:
            if self._pool is not None:
                self._pool.close()

        return pending.addCallback(stop)

    # Compaction

    def _compact(self, board: str) -> "Deferred[None]":
        """
        Read the board, fold it outside the database thread (so that the
        appends of other boards do not wait for a large one), and write the
        result unless the board was compacted meanwhile.
        """
        d = self._run("read board %s to compact it" % (board,), _read_board, board)

        def read(
            row: tuple[int, int, Optional[str], list[str]],
        ) -> "Optional[Deferred[None]]":
            _, base, snapshot, texts = row
            if not texts:
                return None
            made = folded(self._reactor, snapshot, texts, compaction)
            return made.addCallback(write, base)

        def write(made: tuple[int, str, bytes], base: int) -> "Deferred[None]":
            seq, snapshot, chunk = made
            now = self._reactor.seconds()
            return self._run(
                "compact board %s" % (board,),
                _compact,
                board,
                base,
                seq,
                snapshot,
                chunk,
                now,
                now - self._retention if self._retention > 0 else None,
            )

        return d.addCallback(read)


def _when_done(d: "Deferred[Any]") -> "Deferred[None]":
    """
    A Deferred that fires when C{d} does, leaving C{d}'s result to whoever
    waits on it.
    """
    done: Deferred[None] = Deferred()

    def passed(result: Any) -> Any:
        done.callback(None)
        return result

    d.addBoth(passed)
    return done


# The interactions below run in the database thread, each in a transaction
# adbapi commits when it returns and rolls back when it raises.


def _append(
    txn: Any,
    board: str,
    by: str,
    op: Op,
    limits: Limits,
    now: float,
    window: float,
    prune: bool,
) -> tuple[Any, ...]:
    txn.execute("BEGIN IMMEDIATE")
    txn.execute(
        "SELECT seq FROM cids WHERE board = ? AND cid = ? AND (whole = 0 OR at >= ?)",
        (board, op.cid, now - window),
    )
    earlier = txn.fetchone()
    if earlier is not None:
        return ("duplicate", earlier[0])

    txn.execute(
        "SELECT seq, base, items, points, bytes, tail, snapshot_bytes, erased "
        "FROM boards WHERE board = ?",
        (board,),
    )
    row = txn.fetchone()
    seq, base, count, points, size, tail, snapshot, erased = row or (0,) * 8
    prefix, counter = counted_cid(op.cid)
    bucket = int(now // window)
    runs: dict[int, str] = {}
    if counter:
        txn.execute(
            "SELECT window, ranges FROM runs WHERE board = ? AND prefix = ? "
            "AND window IN (?, ?)",
            (board, prefix, bucket, bucket - 1),
        )
        runs = dict(txn.fetchall())
        if any(runs_hold(held, counter) for held in runs.values()):
            # Folded since: the snapshot's seq is at or after its own.
            return ("duplicate", base)
    refused = _check(txn, board, op, limits, count)
    if refused is None and op.kind in ("add", "extend"):
        if points + op.points > limits.max_points_per_board:
            refused = "board_full:points"
        elif size + drawn_bytes(op) > limits.max_bytes_per_board:
            refused = "board_full:bytes"
    if refused is not None:
        return ("refused", refused)

    seq += 1
    text = stored_text(op.body, seq, by)
    txn.execute(
        "INSERT INTO log (board, seq, text) VALUES (?, ?, ?)", (board, seq, text)
    )
    tail += len(text.encode("utf-8"))
    if op.kind == "add":
        txn.execute(
            "INSERT INTO items (board, id, points, bytes) VALUES (?, ?, ?, ?)",
            (board, op.item_ids[0], op.points, drawn_bytes(op)),
        )
        count += 1
        points += op.points
        size += drawn_bytes(op)
    elif op.kind == "extend":
        txn.execute(
            "UPDATE items SET points = points + ?, bytes = bytes + ? "
            "WHERE board = ? AND id = ?",
            (op.points, drawn_bytes(op), board, op.item_ids[0]),
        )
        points += op.points
        size += drawn_bytes(op)
    elif op.kind == "erase":
        for ids in _slices(op.item_ids):
            where = "board = ? AND id IN (%s)" % (_marks(ids),)
            txn.execute(
                "SELECT count(*), total(points), total(bytes) FROM items WHERE "
                + where,
                (board, *ids),
            )
            gone, gone_points, gone_bytes = txn.fetchone()
            txn.execute("DELETE FROM items WHERE " + where, (board, *ids))
            count -= gone
            points = max(0, points - int(gone_points))
            size = max(0, size - int(gone_bytes))
            erased += int(gone_bytes)
    elif op.kind == "clear":
        txn.execute("DELETE FROM items WHERE board = ?", (board,))
        count = points = size = 0
    txn.execute(
        "INSERT INTO boards (board, seq, items, points, bytes, tail, erased) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (board) DO UPDATE SET seq = excluded.seq, items = excluded.items, "
        "points = excluded.points, bytes = excluded.bytes, tail = excluded.tail, "
        "erased = excluded.erased",
        (board, seq, count, points, size, tail, erased),
    )
    whole = True
    if counter:
        widened, run_count = runs_with(runs.get(bucket), counter)
        if run_count <= MAX_RUNS_PER_PREFIX:
            txn.execute(
                "INSERT OR REPLACE INTO runs (board, prefix, window, ranges) "
                "VALUES (?, ?, ?, ?)",
                (board, prefix, bucket, widened),
            )
            whole = False
    txn.execute(
        "INSERT OR REPLACE INTO cids (board, cid, seq, at, whole) VALUES (?, ?, ?, ?, ?)",
        (board, op.cid, seq, now, int(whole)),
    )
    if prune:
        txn.execute("DELETE FROM cids WHERE whole = 1 AND at < ?", (now - window,))
        txn.execute("DELETE FROM runs WHERE window < ?", (bucket - 1,))
    return ("appended", seq, text, seq - base, Held(tail, snapshot, size, erased))


def _check(txn: Any, board: str, op: Op, limits: Limits, count: int) -> Optional[str]:
    """
    The code of the refusal C{op} meets on the board, or C{None}; the same
    checks, in the same order, as the Redis append script.
    """
    if op.kind == "add":
        txn.execute(
            "SELECT 1 FROM items WHERE board = ? AND id = ?", (board, op.item_ids[0])
        )
        if txn.fetchone() is not None:
            return "duplicate_id"
        if count >= limits.max_items_per_board:
            return "board_full"
        if op.points > limits.max_points_per_item:
            return "too_many_points"
    elif op.kind in ("extend", "update"):
        txn.execute(
            "SELECT points FROM items WHERE board = ? AND id = ?",
            (board, op.item_ids[0]),
        )
        held = txn.fetchone()
        if held is None:
            return "unknown_item"
        if held[0] + op.points > limits.max_points_per_item:
            return "too_many_points"
    elif op.kind in ("erase", "move"):
        for ids in _slices(op.item_ids):
            txn.execute(
                "SELECT 1 FROM items WHERE board = ? AND id IN (%s) LIMIT 1"
                % (_marks(ids),),
                (board, *ids),
            )
            if txn.fetchone() is not None:
                return None
        return "unknown_item"
    return None


def _slices(ids: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [
        ids[n : n + _IDS_PER_STATEMENT] for n in range(0, len(ids), _IDS_PER_STATEMENT)
    ]


def _marks(ids: tuple[str, ...]) -> str:
    return ",".join("?" * len(ids))


def _read(txn: Any, board: str) -> tuple[int, int, Optional[str], list[str]]:
    txn.execute("SELECT seq, base, snapshot FROM boards WHERE board = ?", (board,))
    row = txn.fetchone()
    if row is None:
        return 0, 0, None, []
    seq, base, snapshot = row
    txn.execute(
        "SELECT text FROM log WHERE board = ? AND seq > ? ORDER BY seq", (board, base)
    )
    return seq, base, snapshot, [text for (text,) in txn.fetchall()]


def _read_board(txn: Any, board: str) -> tuple[int, int, Optional[str], list[str]]:
    txn.execute("BEGIN")
    return _read(txn, board)


def _ops_since(txn: Any, board: str, since: int) -> Optional[list[str]]:
    txn.execute("BEGIN")
    txn.execute("SELECT seq, base FROM boards WHERE board = ?", (board,))
    seq, base = txn.fetchone() or (0, 0)
    if since < base or since > seq:
        return None
    txn.execute(
        "SELECT text FROM log WHERE board = ? AND seq > ? ORDER BY seq", (board, since)
    )
    return [text for (text,) in txn.fetchall()]


def _history(txn: Any, board: str, after: int, limit: Optional[int]) -> list[str]:
    """
    Archive chunks that reach past C{after}, one at a time until the page
    is full, then the log.
    """
    txn.execute("BEGIN")
    wanted = limit if limit is not None else float("inf")
    texts: list[str] = []
    txn.execute(
        "SELECT chunk FROM archive WHERE board = ? AND last > ? ORDER BY first",
        (board, after),
    )
    while len(texts) < wanted:
        row = txn.fetchone()
        if row is None:
            break
        texts.extend(text for text in unpack_chunk(row[0]) if seq_of(text) > after)
    if len(texts) < wanted:
        last = seq_of(texts[-1]) if texts else after
        txn.execute(
            "SELECT text FROM log WHERE board = ? AND seq > ? ORDER BY seq LIMIT ?",
            (board, last, -1 if limit is None else limit - len(texts)),
        )
        texts.extend(text for (text,) in txn.fetchall())
    return texts if limit is None else texts[:limit]


def _compact(
    txn: Any,
    board: str,
    base: int,
    seq: int,
    snapshot: str,
    chunk: bytes,
    now: float,
    cutoff: Optional[float],
) -> None:
    """
    Move the ops up to C{seq} into C{snapshot} and an archive chunk, unless
    the board's base moved since it was read; drop the board's archive
    chunks written before C{cutoff}, if one is given.
    """
    txn.execute("BEGIN IMMEDIATE")
    txn.execute(
        "UPDATE boards SET snapshot = ?, snapshot_bytes = ?, erased = 0, base = ? "
        "WHERE board = ? AND base = ?",
        (snapshot, len(snapshot.encode("utf-8")), seq, board, base),
    )
    if txn.rowcount != 1:
        return
    txn.execute(
        "INSERT INTO archive (board, first, last, chunk, at) VALUES (?, ?, ?, ?, ?)",
        (board, base + 1, seq, chunk, now),
    )
    txn.execute(
        "SELECT total(length(CAST(text AS BLOB))) FROM log WHERE board = ? AND seq <= ?",
        (board, seq),
    )
    (gone,) = txn.fetchone()
    txn.execute(
        "UPDATE boards SET tail = max(0, tail - ?) WHERE board = ?", (int(gone), board)
    )
    txn.execute("DELETE FROM log WHERE board = ? AND seq <= ?", (board, seq))
    txn.execute("DELETE FROM cids WHERE board = ? AND whole = 0 AND seq <= ?", (board, seq))
    if cutoff is not None:
        txn.execute("DELETE FROM archive WHERE board = ? AND at < ?", (board, cutoff))


def _ping(txn: Any) -> None:
    txn.execute("SELECT 1")
    txn.fetchone()
