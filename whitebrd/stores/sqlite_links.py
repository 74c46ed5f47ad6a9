# -*- test-case-name: tests.test_stores -*-
"""
Links, owners, locks and moderation records in the SQLite file: the access
half of L{whitebrd.stores.sqlite.SQLiteStore}.

Four tables beside the drawing's::

    links   (id, kind, target)   kind e (edit) or v (view) with target the
                                 board; kind x (gone) with target the reason
    access  (board, edit, owner, created, locked, active, indexed)
    views   (board, id, expires, created)
    times   (board, seq, at)     checkpoints: the seq before an op, and when

Each method is one transaction in the store's database thread; access
listeners are told after it commits, in this process only (one daemon per
file).
"""

from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from whitebrd.stores._links import (
    CHECKPOINTS_KEPT,
    VIEW_GRACE_SECONDS,
    check_link,
    check_link_and_board,
    seq_from_checkpoints,
)
from whitebrd.stores._shared import check_board
from whitebrd.stores.interface import AccessListener, BoardInfo, LinkTarget, ViewLink

__all__ = ["LINKS_SCHEMA", "SQLiteLinks"]

LINKS_SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS access (
    board TEXT PRIMARY KEY,
    edit TEXT,
    owner TEXT,
    created REAL,
    locked INTEGER NOT NULL DEFAULT 0,
    active REAL,
    indexed REAL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS views (
    board TEXT NOT NULL,
    id TEXT NOT NULL,
    expires REAL,
    created REAL NOT NULL,
    PRIMARY KEY (board, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS times (
    board TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (board, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS times_at ON times (board, at);
"""


class SQLiteLinks:
    """
    The access methods of L{IStore} for L{whitebrd.stores.sqlite.SQLiteStore},
    which provides C{_run}.
    """

    log: Logger
    _run: Callable[..., "Deferred[Any]"]

    def _access_listeners(self) -> list[AccessListener]:
        listeners: Optional[list[AccessListener]] = self.__dict__.get("_access")
        if listeners is None:
            listeners = self.__dict__["_access"] = []
        return listeners

    def _told(self, board: str, deleted: bool = False) -> Callable[[Any], Any]:
        """
        A callback that tells the access listeners about C{board} when the
        transaction changed something, and passes its result on.
        """

        def tell(result: Any) -> Any:
            if result is False:
                return result
            for listener in list(self._access_listeners()):
                try:
                    listener(board, deleted)
                except Exception:
                    self.log.failure(
                        "An access listener failed on board {board}", board=board
                    )
            return result

        return tell

    def create_board(
        self, board: str, edit: str, owner: str, now: float
    ) -> "Deferred[bool]":
        check_link_and_board(edit, board)
        return self._run("create a board", _create, board, edit, owner, now)

    def resolve(self, link: str) -> "Deferred[LinkTarget]":
        check_link(link)
        return self._run("resolve a link", _resolve, link)

    def add_view(
        self, board: str, view: str, expires: Optional[float], now: float
    ) -> "Deferred[bool]":
        check_link_and_board(view, board)
        d = self._run(
            "add a view link to board %s" % (board,),
            _add_view,
            board,
            view,
            expires,
            now,
        )
        return d.addCallback(self._told(board))

    def remove_view(self, board: str, view: str) -> "Deferred[bool]":
        check_link_and_board(view, board)
        d = self._run(
            "revoke a view link of board %s" % (board,), _remove_view, board, view
        )
        return d.addCallback(self._told(board))

    def views(self, board: str) -> "Deferred[list[ViewLink]]":
        check_board(board)
        return self._run("list the view links of board %s" % (board,), _views, board)

    def rotate(self, board: str, edit: str) -> "Deferred[bool]":
        check_link_and_board(edit, board)
        d = self._run(
            "rotate the edit link of board %s" % (board,), _rotate, board, edit
        )
        return d.addCallback(self._told(board))

    def set_locked(self, board: str, locked: bool, now: float) -> "Deferred[None]":
        check_board(board)
        d = self._run("lock board %s" % (board,), _lock, board, locked, now)
        return d.addCallback(self._told(board))

    def delete(self, board: str) -> "Deferred[None]":
        check_board(board)
        d = self._run("delete board %s" % (board,), _delete, board)
        return d.addCallback(self._told(board, deleted=True))

    def touch(self, board: str, now: float, seq: int) -> "Deferred[None]":
        check_board(board)
        return self._run(
            "note activity on board %s" % (board,), _touch, board, now, seq
        )

    def seq_at(self, board: str, when: float, grain_seconds: float) -> "Deferred[int]":
        check_board(board)
        return self._run(
            "find where to revert board %s from" % (board,),
            _seq_at,
            board,
            when,
            grain_seconds,
        )

    def boards(self, limit: int) -> "Deferred[list[BoardInfo]]":
        return self._run("list boards", _boards, max(1, int(limit)))

    def board_info(self, board: str) -> "Deferred[Optional[BoardInfo]]":
        check_board(board)
        return self._run("describe board %s" % (board,), _board_info, board)

    def watch_access(self, listener: AccessListener) -> "Deferred[None]":
        self._access_listeners().append(listener)
        return succeed(None)


# The interactions below run in the database thread, each in a transaction.


def _create(txn: Any, board: str, edit: str, owner: str, now: float) -> bool:
    txn.execute("BEGIN IMMEDIATE")
    txn.execute(
        "SELECT (SELECT COUNT(*) FROM links WHERE id = ?1)"
        " + (SELECT COUNT(*) FROM access WHERE board IN (?1, ?2))"
        " + (SELECT COUNT(*) FROM boards WHERE board = ?1)",
        (edit, board),
    )
    if txn.fetchone()[0]:
        return False
    txn.execute(
        "INSERT INTO links (id, kind, target) VALUES (?, 'e', ?)", (edit, board)
    )
    txn.execute(
        "INSERT INTO access (board, edit, owner, created) VALUES (?, ?, ?, ?)",
        (board, edit, owner, now),
    )
    return True


def _resolve(txn: Any, link: str) -> LinkTarget:
    txn.execute("BEGIN")
    txn.execute("SELECT kind, target FROM links WHERE id = ?", (link,))
    row = txn.fetchone()
    if row is None:
        txn.execute("SELECT locked FROM access WHERE board = ?", (link,))
        record = txn.fetchone()
        return LinkTarget("named", link, locked=bool(record and record[0]))
    kind, target = row
    if kind == "x":
        return LinkTarget("gone", reason=target)
    txn.execute("SELECT edit, locked, owner FROM access WHERE board = ?", (target,))
    edit, locked, owner = txn.fetchone() or (None, 0, None)
    if kind == "e":
        if edit != link:
            return LinkTarget("gone", reason="replaced")
        return LinkTarget("edit", target, bool(locked), owner)
    txn.execute("SELECT expires FROM views WHERE board = ? AND id = ?", (target, link))
    view = txn.fetchone()
    if view is None:
        return LinkTarget("gone", reason="revoked")
    return LinkTarget("view", target, bool(locked), owner, view[0])


def _add_view(
    txn: Any, board: str, view: str, expires: Optional[float], now: float
) -> bool:
    txn.execute("BEGIN IMMEDIATE")
    txn.execute("SELECT edit FROM access WHERE board = ?", (board,))
    record = txn.fetchone()
    if record is None or record[0] is None:
        return False
    txn.execute("SELECT 1 FROM links WHERE id = ?", (view,))
    if txn.fetchone() is not None:
        return False
    old_before = now - VIEW_GRACE_SECONDS
    txn.execute(
        "DELETE FROM links WHERE id IN (SELECT id FROM views WHERE board = ?"
        " AND expires IS NOT NULL AND expires < ?)",
        (board, old_before),
    )
    txn.execute(
        "DELETE FROM views WHERE board = ? AND expires IS NOT NULL AND expires < ?",
        (board, old_before),
    )
    txn.execute(
        "INSERT INTO views (board, id, expires, created) VALUES (?, ?, ?, ?)",
        (board, view, expires, now),
    )
    txn.execute(
        "INSERT INTO links (id, kind, target) VALUES (?, 'v', ?)", (view, board)
    )
    return True


def _remove_view(txn: Any, board: str, view: str) -> bool:
    txn.execute("BEGIN IMMEDIATE")
    txn.execute("DELETE FROM views WHERE board = ? AND id = ?", (board, view))
    if txn.rowcount != 1:
        return False
    txn.execute("UPDATE links SET kind = 'x', target = 'revoked' WHERE id = ?", (view,))
    return True


def _views(txn: Any, board: str) -> list[ViewLink]:
    txn.execute("BEGIN")
    txn.execute(
        "SELECT id, expires, created FROM views WHERE board = ? ORDER BY created, id",
        (board,),
    )
    return [
        ViewLink(view, expires, created) for view, expires, created in txn.fetchall()
    ]


def _rotate(txn: Any, board: str, edit: str) -> bool:
    txn.execute("BEGIN IMMEDIATE")
    txn.execute("SELECT edit FROM access WHERE board = ?", (board,))
    record = txn.fetchone()
    if record is None or record[0] is None:
        return False
    txn.execute(
        "SELECT (SELECT COUNT(*) FROM links WHERE id = ?1)"
        " + (SELECT COUNT(*) FROM access WHERE board = ?1)"
        " + (SELECT COUNT(*) FROM boards WHERE board = ?1)",
        (edit,),
    )
    if txn.fetchone()[0]:
        return False
    txn.execute(
        "UPDATE links SET kind = 'x', target = 'replaced' WHERE id = ?", (record[0],)
    )
    txn.execute(
        "UPDATE links SET kind = 'x', target = 'revoked'"
        " WHERE id IN (SELECT id FROM views WHERE board = ?)",
        (board,),
    )
    txn.execute("DELETE FROM views WHERE board = ?", (board,))
    txn.execute(
        "INSERT INTO links (id, kind, target) VALUES (?, 'e', ?)", (edit, board)
    )
    txn.execute("UPDATE access SET edit = ? WHERE board = ?", (edit, board))
    return True


def _lock(txn: Any, board: str, locked: bool, now: float) -> None:
    txn.execute("BEGIN IMMEDIATE")
    txn.execute(
        "INSERT INTO access (board, locked, indexed) VALUES (?, ?, ?)"
        " ON CONFLICT (board) DO UPDATE SET locked = excluded.locked,"
        " indexed = coalesce(indexed, excluded.indexed)",
        (board, int(locked), now),
    )


def _delete(txn: Any, board: str) -> None:
    txn.execute("BEGIN IMMEDIATE")
    txn.execute(
        "UPDATE links SET kind = 'x', target = 'deleted' WHERE kind IN ('e', 'v')"
        " AND target = ?",
        (board,),
    )
    for table in (
        "boards",
        "log",
        "items",
        "cids",
        "runs",
        "archive",
        "access",
        "views",
        "times",
    ):
        txn.execute("DELETE FROM %s WHERE board = ?" % (table,), (board,))


def _touch(txn: Any, board: str, now: float, seq: int) -> None:
    txn.execute("BEGIN IMMEDIATE")
    txn.execute(
        "INSERT INTO access (board, active) VALUES (?, ?)"
        " ON CONFLICT (board) DO UPDATE SET active = excluded.active",
        (board, now),
    )
    txn.execute(
        "INSERT OR REPLACE INTO times (board, seq, at) VALUES (?, ?, ?)",
        (board, seq, now),
    )
    txn.execute(
        "DELETE FROM times WHERE board = ?1 AND seq < (SELECT seq FROM times"
        " WHERE board = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
        (board, CHECKPOINTS_KEPT - 1),
    )


def _seq_at(txn: Any, board: str, when: float, grain_seconds: float) -> int:
    txn.execute("BEGIN")
    txn.execute(
        "SELECT at, seq FROM times WHERE board = ? AND at <= ? ORDER BY at DESC LIMIT 1",
        (board, when),
    )
    before = txn.fetchone()
    txn.execute(
        "SELECT at, seq FROM times WHERE board = ? AND at > ? ORDER BY at LIMIT 1",
        (board, when),
    )
    after = txn.fetchone()
    txn.execute("SELECT seq FROM boards WHERE board = ?", (board,))
    current = txn.fetchone()
    return seq_from_checkpoints(
        tuple(before) if before else None,
        tuple(after) if after else None,
        when,
        grain_seconds,
        current[0] if current else 0,
    )


_INFO_QUERY = """
SELECT a.board, coalesce(b.seq, 0), coalesce(b.items, 0),
       coalesce(length(b.snapshot), 0)
       + coalesce((SELECT sum(length(text)) FROM log WHERE log.board = a.board), 0)
       + coalesce((SELECT sum(length(chunk)) FROM archive WHERE archive.board = a.board), 0),
       a.edit IS NULL, a.created, a.active, a.locked
FROM access AS a LEFT JOIN boards AS b ON b.board = a.board
"""


def _row_info(row: tuple[Any, ...]) -> BoardInfo:
    board, seq, items, size, named, created, active, locked = row
    return BoardInfo(
        board, bool(named), seq, items, size, created, active, bool(locked)
    )


def _boards(txn: Any, limit: int) -> list[BoardInfo]:
    txn.execute("BEGIN")
    txn.execute(
        _INFO_QUERY + " ORDER BY max(coalesce(a.active, 0), coalesce(a.created, 0),"
        " coalesce(a.indexed, 0)) DESC LIMIT ?",
        (limit,),
    )
    return [_row_info(row) for row in txn.fetchall()]


def _board_info(txn: Any, board: str) -> Optional[BoardInfo]:
    txn.execute("BEGIN")
    txn.execute(_INFO_QUERY + " WHERE a.board = ?", (board,))
    row = txn.fetchone()
    if row is not None:
        return _row_info(row)
    txn.execute("SELECT seq, items FROM boards WHERE board = ?", (board,))
    drawn = txn.fetchone()
    if drawn is None:
        return None
    return BoardInfo(board, True, drawn[0], drawn[1], 0, None, None, False)
