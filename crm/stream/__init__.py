"""The live stream: every new event, encoded once, to every open inbox of this process.

``Tailer`` reads new events from the log (after local commits, and by polling for
other processes' commits), ``Hub`` fans the encoded frames out through bounded
per-stream queues, ``follow`` is one stream's catch-up-then-live loop, ``LiveStream``
ties them to the app's lifetime. Imports only ``crm.events``.
"""

from crm.stream.follow import follow
from crm.stream.frames import HEARTBEAT, RETRY, encode, read_frames
from crm.stream.hub import Hub, Subscription
from crm.stream.live import LiveStream
from crm.stream.tailer import Tailer
from crm.stream.viewers import Mark, Viewer

__all__ = [
    "HEARTBEAT",
    "RETRY",
    "Hub",
    "LiveStream",
    "Mark",
    "Subscription",
    "Tailer",
    "Viewer",
    "encode",
    "follow",
    "read_frames",
]
