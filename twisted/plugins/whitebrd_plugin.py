"""
The C{twistd whitebrd} command; C{whitebrd.tap} is imported only when it
runs.
"""

from twisted.application.service import ServiceMaker

whitebrd = ServiceMaker(
    "whitebrd",
    "whitebrd.tap",
    "A real-time shared whiteboard, stored in Redis or an embedded SQLite file.",
    "whitebrd",
)
