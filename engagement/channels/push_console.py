from collections import deque

from engagement.channels.base import Outbound, RecordingTransport


class ConsolePushTransport(RecordingTransport):
    """Records web pushes in ``outbox`` (last 1,000) instead of sending them."""

    provider = "console"
    outbox: deque[Outbound] = deque(maxlen=1000)
