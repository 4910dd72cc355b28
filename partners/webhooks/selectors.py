"""Reads of events and webhooks, always scoped to the owning partner (another partner's id is
simply not found)."""

from datetime import datetime

from django.db.models import QuerySet

from careos.errors import NotFoundError
from partners.models import (
    EventType,
    Partner,
    PlatformEvent,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)


def event_types_list() -> QuerySet[EventType]:
    return EventType.objects.order_by("name")


def partner_webhook_endpoints(*, partner: Partner) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(partner=partner).select_related("partner")


def partner_webhook_endpoint(*, partner: Partner, public_id: str) -> WebhookEndpoint:
    endpoint = partner_webhook_endpoints(partner=partner).filter(public_id=public_id).first()
    if endpoint is None:
        raise NotFoundError("No webhook endpoint with this id.")
    return endpoint


def partner_webhook_messages(
    *,
    partner: Partner,
    status: str | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    endpoint_id: str | None = None,
) -> QuerySet[WebhookMessage]:
    messages = WebhookMessage.objects.filter(endpoint__partner=partner).select_related(
        "endpoint__partner", "event__event_type"
    )
    if status:
        messages = messages.filter(status=status)
    if event_type:
        messages = messages.filter(event__event_type__name=event_type)
    if since:
        messages = messages.filter(created_at__gte=since)
    if endpoint_id:
        messages = messages.filter(endpoint__public_id=endpoint_id)
    return messages


def partner_webhook_message(*, partner: Partner, public_id: str) -> WebhookMessage:
    message = partner_webhook_messages(partner=partner).filter(public_id=public_id).first()
    if message is None:
        raise NotFoundError("No webhook message with this id.")
    return message


def webhook_message_attempts(*, message: WebhookMessage) -> QuerySet[WebhookAttempt]:
    return WebhookAttempt.objects.filter(message=message)


def partner_events(
    *, partner: Partner, event_type: str | None = None, since: datetime | None = None
) -> QuerySet[PlatformEvent]:
    events = PlatformEvent.objects.filter(owner=partner).select_related("event_type")
    if event_type:
        events = events.filter(event_type__name=event_type)
    if since:
        events = events.filter(created_at__gte=since)
    return events


def partner_event(*, partner: Partner, public_id: str) -> PlatformEvent:
    event = partner_events(partner=partner).filter(public_id=public_id).first()
    if event is None:
        raise NotFoundError("No event with this id.")
    return event
