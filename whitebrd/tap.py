# -*- test-case-name: tests.test_tap -*-
"""
The C{twistd whitebrd} command line and the service it builds.

Run C{twistd -n whitebrd --help} for the options.  Every limit of
L{whitebrd.limits.Limits} and L{whitebrd.quotas.QuotaLimits} is an option,
so that tests and benchmarks, whose clients share one address, can set
them, and operators can tighten them.

The admin token is read from a file (C{--admin-token-file}) or from the
environment (C{WHITEBRD_ADMIN_TOKEN}), never from the command line, where
C{ps} would show it to every user of the machine.
"""

import os
from dataclasses import fields
from pathlib import Path
from typing import Any, Optional

import txaio
from twisted.application.service import IService
from twisted.internet.endpoints import serverFromString
from twisted.python import usage

from whitebrd.admin import MIN_TOKEN_CHARS
from whitebrd.limits import Limits
from whitebrd.quotas import QuotaLimits, parse_network
from whitebrd.service import WhitebrdService
from whitebrd.stores import IStore

__all__ = ["ADMIN_TOKEN_VARIABLE", "Options", "makeService"]

ADMIN_TOKEN_VARIABLE = "WHITEBRD_ADMIN_TOKEN"

DEFAULT_LISTEN = "tcp:8080:interface=127.0.0.1"
DEFAULT_DATA = "whitebrd.sqlite3"


def _number(kind: type, name: str, minimum: float, doc: str, *, above: bool = False) -> Any:
    """
    A coercion for option C{--name}: a number of C{kind} of at least
    C{minimum} (or above it, with C{above}), with an error that names the
    option and what was given.
    """

    def coerce(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            raise ValueError("--%s takes a number, got %r" % (name, value))
        if above and not number > minimum:
            raise ValueError("--%s must be more than %s, got %s" % (name, minimum, value))
        if not above and not number >= minimum:
            raise ValueError("--%s must be %s or more, got %s" % (name, minimum, value))
        return number

    coerce.coerceDoc = doc  # type: ignore[attr-defined]
    return coerce


def _positive(kind: type, name: str) -> Any:
    """
    A coercion for option C{--name}: a whole number of 1 or more, or a
    number of seconds above 0.
    """
    if kind is int:
        return _number(int, name, 1, "A whole number, 1 or more.")
    return _number(float, name, 0, "A number of seconds, more than 0.", above=True)


def _tick_seconds(name: str) -> Any:
    at_least_zero = _number(float, name, 0, "")

    def coerce(value: str) -> float:
        number: float = at_least_zero(value)
        if number > 1:
            raise ValueError("--%s must be 1 or less, got %s" % (name, value))
        return number

    coerce.coerceDoc = "A number of seconds, from 0 to 1."  # type: ignore[attr-defined]
    return coerce


def _ping_seconds(name: str) -> Any:
    # NB: Autobahn's ping timers (txaio's batched timers) count whole
    # seconds: below one, the pong timeout fires as the ping leaves.
    return _number(float, name, 1, "A number of seconds, 1 or more (whole seconds count).")


def _days(name: str) -> Any:
    return _number(float, name, 0, "A number of days, 0 or more; 0 keeps it for good.")


def _limit_rows() -> list[list[Any]]:
    """
    One option per field of L{Limits} and L{QuotaLimits}, named like it
    with dashes.
    """
    return [
        [
            f.name.replace("_", "-"),
            None,
            f.default,
            "Limit: " + f.name.replace("_", " ") + ".",
            _positive(int, f.name.replace("_", "-")),
        ]
        for f in fields(Limits) + fields(QuotaLimits)
    ]


def read_admin_token(path: Optional[str], environ: "dict[str, str]") -> Optional[str]:
    """
    The admin token from C{path} or from the environment, or C{None} when
    neither gives one (the daemon then has no admin pages).

    @raise usage.UsageError: when both give one, the file cannot be read,
        or the token is shorter than L{MIN_TOKEN_CHARS}.
    """
    from_environment = environ.get(ADMIN_TOKEN_VARIABLE, "").strip()
    if path is not None:
        if from_environment:
            raise usage.UsageError(
                "the admin token is given both by --admin-token-file and by %s;"
                " give one" % (ADMIN_TOKEN_VARIABLE,)
            )
        try:
            with open(path, encoding="utf-8") as f:
                token = f.read().strip()
        except (OSError, UnicodeDecodeError) as e:
            raise usage.UsageError("--admin-token-file %s cannot be read: %s" % (path, e))
    else:
        token = from_environment
    if not token:
        if path is not None:
            raise usage.UsageError("--admin-token-file %s is empty" % (path,))
        return None
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise usage.UsageError(
            "the admin token must be at least %d characters with no spaces"
            " (make one with: python3 -c 'import secrets;"
            " print(secrets.token_urlsafe(32))')" % (MIN_TOKEN_CHARS,)
        )
    return token


class Options(usage.Options):
    """
    The command line of C{twistd whitebrd}.
    """

    synopsis = "[--listen ENDPOINT]... [--redis URL | --data PATH] [limits]"
    longdesc = (
        "A real-time shared whiteboard.  Without --redis, boards are kept in an"
        " embedded SQLite file (--data); with it, in Redis, which several"
        " whitebrd daemons can share."
    )

    optParameters = [
        ["redis", None, None, "Redis URL, redis://[:password@]host:port/db; Redis is then the store and the bus."],
        ["data", None, None, "The SQLite file for the embedded store, used without --redis [default: %s]." % (DEFAULT_DATA,)],
        ["store-timeout", None, 5.0, "Seconds a store call may take before it counts as failed.", _positive(float, "store-timeout")],
        ["ping-interval", None, 30.0, "Seconds between WebSocket pings that find dead peers (1 or more); a peer that does not answer within as long again is dropped.", _ping_seconds("ping-interval")],
        ["drain-seconds", None, 10.0, "On SIGTERM, how long ops already received may take to be stored before every connection is closed (1001).", _positive(float, "drain-seconds")],
        ["archive-retention-days", None, 0.0, "How long a board's history (archive chunks, for replay) is kept; 0 keeps it for good.", _days("archive-retention-days")],
        ["fanout-tick", None, 0.01, "Seconds a busy board gathers ops into one frame, up to 1 (0: every reactor turn).", _tick_seconds("fanout-tick")],
        [
            "admin-token-file",
            None,
            None,
            "A file holding the admin token, which turns on /admin (or set "
            + ADMIN_TOKEN_VARIABLE
            + "); never give the token itself on the command line.",
        ],
    ] + _limit_rows()

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []
        self["allowed-origins"] = []
        self["trusted-proxies"] = []

    def opt_allowed_origin(self, origin: str) -> None:
        """
        A page origin (scheme://host[:port]) allowed to open board
        WebSockets, e.g. https://draw.example.org; repeatable.  Default: the
        page's own host only.
        """
        origin = origin.strip().rstrip("/")
        if origin != "*" and not (
            origin.startswith(("http://", "https://")) and "/" not in origin.split("://", 1)[1]
        ):
            raise usage.UsageError(
                "--allowed-origin %s is not an origin like https://draw.example.org" % (origin,)
            )
        self["allowed-origins"].append(origin)

    def opt_trusted_proxy(self, network: str) -> None:
        """
        An address or network of a proxy whose X-Forwarded-For header tells
        the client's address, e.g. 127.0.0.1 or 10.0.0.0/8; repeatable.
        """
        try:
            self["trusted-proxies"].append(parse_network(network))
        except ValueError as e:
            raise usage.UsageError("--trusted-proxy: %s" % (e,))

    def opt_listen(self, description: str) -> None:
        """
        A Twisted endpoint to serve on, e.g. tcp:8080:interface=127.0.0.1 or
        unix:/run/whitebrd.sock; repeatable.
        """
        try:
            from twisted.internet import reactor

            serverFromString(reactor, description)
        except (ValueError, TypeError, KeyError) as e:
            raise usage.UsageError("--listen %s is not an endpoint: %s" % (description, e))
        self["listen"].append(description)

    def postOptions(self) -> None:
        """
        Fill in defaults and check what depends on several options.
        """
        if not self["listen"]:
            self["listen"] = [DEFAULT_LISTEN]
        if self["redis"] is not None and self["data"] is not None:
            raise usage.UsageError(
                "give --redis or --data, not both: with --redis the boards live in Redis"
            )
        if self["redis"] is None and self["data"] is None:
            self["data"] = DEFAULT_DATA
        if self["redis"] is not None:
            from whitebrd.stores.redis import parse_redis_url

            try:
                parse_redis_url(self["redis"])
            except ValueError as e:
                raise usage.UsageError("--redis: %s" % (e,))
        self["limits"] = Limits(**{f.name: self[f.name.replace("_", "-")] for f in fields(Limits)})
        self["quotas"] = QuotaLimits(
            **{f.name: self[f.name.replace("_", "-")] for f in fields(QuotaLimits)}
        )
        self["admin-token"] = read_admin_token(self["admin-token-file"], dict(os.environ))


def makeService(options: Options) -> IService:
    """
    The daemon for C{options}; twistd starts it, runs the reactor and sets
    up logging.
    """
    from twisted.internet import reactor

    # Autobahn logs every frame sent at debug level through txaio; an
    # operator's log wants connections and problems, not bytes.
    txaio.set_global_log_level("info")
    limits: Limits = options["limits"]
    timeout: float = options["store-timeout"]
    retention = options["archive-retention-days"] * 86400.0

    def make_store(reactor: Any) -> IStore:
        if options["redis"] is not None:
            from whitebrd.stores.redis import RedisStore

            return RedisStore(
                reactor,
                options["redis"],
                limits,
                timeout_seconds=timeout,
                archive_retention_seconds=retention,
            )
        from whitebrd.stores.sqlite import SQLiteStore

        return SQLiteStore(
            reactor,
            str(Path(options["data"]).resolve()),
            limits,
            archive_retention_seconds=retention,
        )

    def make_bus(reactor: Any) -> Any:
        from whitebrd.bus import RedisBus

        return RedisBus(reactor, options["redis"], timeout_seconds=timeout)

    return WhitebrdService(
        reactor,
        options["listen"],
        make_store,
        limits,
        ping_interval_seconds=options["ping-interval"],
        make_bus=make_bus if options["redis"] is not None else None,
        tick_seconds=options["fanout-tick"],
        drain_seconds=options["drain-seconds"],
        quotas=options["quotas"],
        allowed_origins=options["allowed-origins"],
        trusted_proxies=options["trusted-proxies"],
        admin_token=options["admin-token"],
    )
