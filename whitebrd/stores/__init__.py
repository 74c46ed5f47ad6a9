"""
Where boards are kept: L{IStore} and its two implementations, Redis for
several daemons and SQLite for one.
"""

from whitebrd.stores.interface import Appended, IStore, OpListener, StoreUnavailable

__all__ = ["Appended", "IStore", "OpListener", "StoreUnavailable"]
