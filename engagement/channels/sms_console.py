import logging
from collections import deque

from engagement.channels.base import Outbound, ProviderResult, RecordingTransport

logger = logging.getLogger("engagement.sms")


class ConsoleSMSTransport(RecordingTransport):
    """Records SMS in ``outbox`` (last 1,000) and logs the message id, never the content."""

    provider = "console"
    outbox: deque[Outbound] = deque(maxlen=1000)

    def send(self, outbound: Outbound) -> ProviderResult:
        logger.debug("console sms %s", outbound.message_ref)
        return super().send(outbound)
