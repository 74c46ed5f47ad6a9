"""
whitebrd: a self-hosted, real-time shared whiteboard.

Anyone with a board's link draws on the same canvas; every stroke reaches
every other screen as it is drawn, is stored before it is acknowledged, and
survives restarts.  The daemon is C{twistd whitebrd}; boards live in Redis
(shared by several daemons through pub/sub) or, with no Redis, in an embedded
SQLite file.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
