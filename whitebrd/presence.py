# -*- test-case-name: tests.test_presence -*-
"""
Who is on each board: names, cursors and views, relayed and never stored.

A person is a client id (see C{docs/protocol.md}, "Identity"); one person
may have several connections (two tabs).  Each daemon keeps, per board it
serves, the people connected to it and those it hears of from other
daemons through a L{PresenceBus} (Redis pub/sub, one small channel per
board), so that everyone sees everyone whichever daemon they reached.
Nothing here touches the store: presence is gone when the people are.

What connections receive:

  - C{people}: once, right after the board's state, everyone else present;
  - C{join} and C{leave}: a person arrived, or their last connection went
    (at once, so no cursor lingers after a reload);
  - C{presence}: a person's new name or view;
  - C{cursor}: where a person points.

Across daemons, each one announces its people on a board (C{here}) when it
starts serving the board, when another daemon asks (C{who}), and every
C{heartbeat_seconds}; people a daemon stops announcing (it crashed) are
dropped after C{expiry_seconds}.  A person's last connection leaving a
daemon is announced at once (C{gone}).
"""

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from whitebrd.frames import CLIENT_ID, CursorFrame, PresenceFrame, dumps
from whitebrd.frames import MAX_COORDINATE, MAX_NAME_CHARS

__all__ = ["Presence", "PresenceBus", "Present"]


class Present(Protocol):
    """
    What presence needs of a connection on a board.
    """

    client_id: str

    def send_text(self, text: str) -> None:
        """
        Send one frame to this connection alone.
        """

    def send_prepared(self, prepared: Any) -> None:
        """
        Send a frame prepared once for several connections.
        """


class PresenceBus(Protocol):
    """
    Carries presence messages between the daemons serving a board; nothing
    it carries is kept.
    """

    def subscribe(self, board: str, receive: Callable[[str], None]) -> None:
        """
        Call C{receive} with each message published on C{board}'s channel,
        by any daemon (this one included), from now on.
        """

    def unsubscribe(self, board: str) -> None:
        """
        Stop receiving C{board}'s messages.
        """

    def publish(self, board: str, text: str) -> None:
        """
        Send C{text} to every daemon subscribed to C{board}; a message that
        cannot be sent is dropped.
        """


@dataclass
class _Person:
    name: Optional[str] = None
    view: Optional[list[float]] = None
    local: int = 0
    # Daemon id -> when its last word about this person expires.
    remote: dict[str, float] = field(default_factory=dict)

    def present(self) -> bool:
        return self.local > 0 or bool(self.remote)

    def shown(self, client_id: str) -> dict[str, Any]:
        person: dict[str, Any] = {"by": client_id, "name": self.name}
        if self.view is not None:
            person["view"] = self.view
        return person


@dataclass
class _Roster:
    people: dict[str, _Person] = field(default_factory=dict)
    connections: set[Present] = field(default_factory=set)


class Presence:
    """
    The people on every board this daemon serves.

    @ivar daemon_id: this daemon's name on the bus, random per process.
    """

    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        prepare: Callable[[str], Any],
        bus: Optional[PresenceBus] = None,
        heartbeat_seconds: float = 10.0,
        expiry_seconds: float = 35.0,
    ) -> None:
        """
        @param prepare: frames a text once for many connections.
        @param bus: reaches the other daemons; C{None} when this daemon is
            the only one (the embedded store).
        """
        self.daemon_id = secrets.token_urlsafe(9)
        self._clock = clock
        self._prepare = prepare
        self._bus = bus
        self._heartbeat_seconds = heartbeat_seconds
        self._expiry_seconds = expiry_seconds
        self._boards: dict[str, _Roster] = {}
        self._heartbeat: Optional[IDelayedCall] = None

    def count(self, board: str) -> int:
        """
        How many people (client ids) are on C{board}, as far as this daemon
        knows.
        """
        roster = self._boards.get(board)
        return len(roster.people) if roster is not None else 0

    # Local connections

    def joined(self, board: str, connection: Present) -> None:
        """
        C{connection} is on C{board} and has the board's state: tell it who
        else is here, and tell the others it arrived.
        """
        roster = self._boards.get(board)
        if roster is None:
            roster = self._boards[board] = _Roster()
            if self._bus is not None:
                self._bus.subscribe(board, lambda text: self._heard(board, text))
                self._publish(board, {"k": "who"})
                self._start_heartbeat()
        others = [
            person.shown(client_id)
            for client_id, person in roster.people.items()
            if client_id != connection.client_id
        ]
        connection.send_text(dumps({"t": "people", "people": others}))
        roster.connections.add(connection)
        person = roster.people.get(connection.client_id)
        arrived = person is None
        if person is None:
            person = roster.people[connection.client_id] = _Person()
        person.local += 1
        if arrived:
            self._tell(roster, dumps(dict(person.shown(connection.client_id), t="join")), connection.client_id)
            self._announce(board, roster)

    def left(self, board: str, connection: Present) -> None:
        """
        C{connection} closed: when it was its person's last one, everyone
        hears at once that they left.
        """
        roster = self._boards.get(board)
        if roster is None or connection not in roster.connections:
            return
        roster.connections.discard(connection)
        client_id = connection.client_id
        person = roster.people.get(client_id)
        if person is not None:
            person.local -= 1
            if person.local == 0:
                self._publish(board, {"k": "gone", "by": client_id})
                self._forget_if_absent(roster, client_id, person)
        if not roster.connections:
            del self._boards[board]
            if self._bus is not None:
                self._bus.unsubscribe(board)

    def updated(self, board: str, connection: Present, frame: PresenceFrame) -> None:
        """
        A connection gave its person's name or view: the others hear it.
        """
        roster = self._boards.get(board)
        if roster is None:
            return
        person = roster.people.get(connection.client_id)
        if person is None:
            return
        change: dict[str, Any] = {"t": "presence", "by": connection.client_id}
        if frame.name is not None:
            person.name = change["name"] = frame.name
        if frame.view is not None:
            person.view = change["view"] = list(frame.view)
        self._tell(roster, dumps(change), connection.client_id)
        self._publish(board, dict(change, k="presence"))

    def cursor(self, board: str, connection: Present, frame: CursorFrame) -> None:
        """
        Relay where C{connection}'s person points to every other connection
        on the board, here and on other daemons.
        """
        roster = self._boards.get(board)
        if roster is None:
            return
        text = dumps({"t": "cursor", "by": connection.client_id, "x": frame.x, "y": frame.y})
        self._tell(roster, text, None, skip=connection)
        if self._bus is not None:
            self._publish(board, {"k": "cursor", "by": connection.client_id, "x": frame.x, "y": frame.y})

    # Other daemons

    def _publish(self, board: str, message: dict[str, Any]) -> None:
        if self._bus is not None:
            message["d"] = self.daemon_id
            self._bus.publish(board, dumps(message))

    def _announce(self, board: str, roster: _Roster) -> None:
        """
        Tell the other daemons who is connected here.
        """
        if self._bus is None:
            return
        here = [
            person.shown(client_id)
            for client_id, person in roster.people.items()
            if person.local > 0
        ]
        self._publish(board, {"k": "here", "people": here})

    def _heard(self, board: str, text: str) -> None:
        """
        A message from the bus; those from this daemon, and any that is not
        well formed, are ignored.
        """
        roster = self._boards.get(board)
        if roster is None:
            return
        try:
            message = json.loads(text)
            daemon = message["d"]
            kind = message["k"]
        except (ValueError, KeyError, TypeError):
            self.log.warn("Ignored a presence message that is not one: {text}", text=text[:80])
            return
        if daemon == self.daemon_id or not isinstance(daemon, str):
            return
        try:
            if kind == "who":
                self._announce(board, roster)
            elif kind == "here":
                self._remote_roster(roster, daemon, message["people"])
            elif kind == "gone":
                self._remote_gone(roster, daemon, _client(message["by"]))
            elif kind == "presence":
                self._remote_update(roster, daemon, message)
            elif kind == "cursor":
                self._remote_cursor(roster, daemon, message)
        except (KeyError, TypeError, ValueError) as e:
            self.log.warn(
                "Ignored a malformed {kind} message on board {board}: {error}",
                kind=kind,
                board=board,
                error=str(e),
            )

    def _remote_person(self, roster: _Roster, daemon: str, client_id: str) -> _Person:
        person = roster.people.get(client_id)
        arrived = person is None or not person.present()
        if person is None:
            person = roster.people[client_id] = _Person()
        person.remote[daemon] = self._clock.seconds() + self._expiry_seconds
        if arrived:
            self._tell(roster, dumps(dict(person.shown(client_id), t="join")), client_id)
        return person

    def _remote_roster(self, roster: _Roster, daemon: str, people: list[Any]) -> None:
        listed = set()
        for entry in people:
            client_id = _client(entry["by"])
            listed.add(client_id)
            person = self._remote_person(roster, daemon, client_id)
            self._remote_style(roster, client_id, person, entry)
        for client_id, person in list(roster.people.items()):
            if daemon in person.remote and client_id not in listed:
                del person.remote[daemon]
                self._forget_if_absent(roster, client_id, person)

    def _remote_gone(self, roster: _Roster, daemon: str, client_id: str) -> None:
        person = roster.people.get(client_id)
        if person is not None and daemon in person.remote:
            del person.remote[daemon]
            self._forget_if_absent(roster, client_id, person)

    def _remote_update(self, roster: _Roster, daemon: str, message: dict[str, Any]) -> None:
        client_id = _client(message["by"])
        person = self._remote_person(roster, daemon, client_id)
        self._remote_style(roster, client_id, person, message)

    def _remote_style(
        self, roster: _Roster, client_id: str, person: _Person, entry: dict[str, Any]
    ) -> None:
        change: dict[str, Any] = {"t": "presence", "by": client_id}
        name = entry.get("name")
        if name is not None and name != person.name:
            person.name = change["name"] = _name(name)
        view = entry.get("view")
        if view is not None and view != person.view:
            person.view = change["view"] = _view(view)
        if len(change) > 2:
            self._tell(roster, dumps(change), client_id)

    def _remote_cursor(self, roster: _Roster, daemon: str, message: dict[str, Any]) -> None:
        client_id = _client(message["by"])
        x, y = _coordinate(message["x"]), _coordinate(message["y"])
        person = roster.people.get(client_id)
        if person is None or daemon not in person.remote:
            self._remote_person(roster, daemon, client_id)
        self._tell(roster, dumps({"t": "cursor", "by": client_id, "x": x, "y": y}), None)

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = self._clock.callLater(self._heartbeat_seconds, self._beat)

    def _beat(self) -> None:
        """
        Announce our people on every board, and drop remote people whose
        daemon has not spoken of them in time.
        """
        self._heartbeat = None
        now = self._clock.seconds()
        for board, roster in list(self._boards.items()):
            self._announce(board, roster)
            for client_id, person in list(roster.people.items()):
                expired = [d for d, until in person.remote.items() if until < now]
                for daemon in expired:
                    del person.remote[daemon]
                if expired:
                    self._forget_if_absent(roster, client_id, person)
        if self._boards:
            self._start_heartbeat()

    def stop(self) -> None:
        """
        Stop the heartbeat; the daemon is shutting down.
        """
        if self._heartbeat is not None and self._heartbeat.active():
            self._heartbeat.cancel()
        self._heartbeat = None

    # Telling local connections

    def _forget_if_absent(self, roster: _Roster, client_id: str, person: _Person) -> None:
        if not person.present():
            del roster.people[client_id]
            self._tell(roster, dumps({"t": "leave", "by": client_id}), client_id)

    def _tell(
        self,
        roster: _Roster,
        text: str,
        about: Optional[str],
        skip: Optional[Present] = None,
    ) -> None:
        """
        Send C{text} to the board's connections here, but not to those of
        the person it is C{about} nor to C{skip}.
        """
        prepared = None
        for connection in list(roster.connections):
            if connection is skip or connection.client_id == about:
                continue
            if prepared is None:
                prepared = self._prepare(text)
            connection.send_prepared(prepared)


def _client(value: Any) -> str:
    if not isinstance(value, str) or not CLIENT_ID.fullmatch(value):
        raise ValueError("not a client id: %r" % (value,))
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_NAME_CHARS:
        raise ValueError("not a name: %r" % (value,))
    return value


def _coordinate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a coordinate: %r" % (value,))
    if not -MAX_COORDINATE <= value <= MAX_COORDINATE:
        raise ValueError("not a coordinate: %r" % (value,))
    return float(value)


def _view(value: Any) -> list[float]:
    if not isinstance(value, list) or len(value) != 4:
        raise ValueError("not a view: %r" % (value,))
    return [_coordinate(v) for v in value]
