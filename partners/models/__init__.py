from partners.models.events import EventType, PlatformEvent
from partners.models.partner import Partner
from partners.models.webhooks import WebhookAttempt, WebhookEndpoint, WebhookMessage

__all__ = [
    "EventType",
    "Partner",
    "PlatformEvent",
    "WebhookAttempt",
    "WebhookEndpoint",
    "WebhookMessage",
]
