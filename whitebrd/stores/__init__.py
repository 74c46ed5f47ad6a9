"""
Where boards are kept: L{IStore} and its two implementations, Redis for
several daemons and SQLite for one.
"""

from whitebrd.stores.interface import (
    AccessListener,
    Appended,
    BoardInfo,
    IStore,
    LinkTarget,
    OpListener,
    StoreUnavailable,
    ViewLink,
)

__all__ = [
    "AccessListener",
    "Appended",
    "BoardInfo",
    "IStore",
    "LinkTarget",
    "OpListener",
    "StoreUnavailable",
    "ViewLink",
]
