"""WebhookService, management half: endpoints, secrets, test sends, retry, recover, replay.

The delivery engine (claiming, sending, retries, dead letters) is in ``webhook_delivery``.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from careos.actors import Actor
from careos.errors import ConflictError, DomainError
from careos.http import UnsafeURLError, validate_public_url
from partners.models import (
    EventType,
    Partner,
    PlatformEvent,
    WebhookEndpoint,
    WebhookMessage,
)
from partners.services.events import TEST_EVENT_TYPE, event_type_get
from partners.services.webhook_delivery import request_delivery
from partners.webhooks.signing import new_secret
from rbac.models import User
from rbac.services import audit_record

ActorLike = Actor | User

_UNSET: Any = object()


class InvalidWebhookURLError(DomainError):
    code = "invalid_webhook_url"
    status = 400
    title = "The webhook URL is not allowed"


class InvalidEventTypesError(DomainError):
    code = "unknown_event_type"
    status = 400
    title = "Unknown event type"


def _audit(
    *,
    actor: ActorLike,
    action: str,
    endpoint: WebhookEndpoint,
    request: HttpRequest | None = None,
    reason: str = "",
    metadata: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="webhook_endpoint",
        target_ref=endpoint.public_id,
        request=request,
        reason=reason,
        metadata={"partner": endpoint.partner.public_id, **(metadata or {})},
    )


def _clean_url(url: str) -> str:
    try:
        validate_public_url(url)
    except UnsafeURLError as exc:
        raise InvalidWebhookURLError(
            exc.reason,
            extra={"errors": [{"field": "url", "code": "unsafe_url", "message": exc.reason}]},
        ) from None
    return url


class PlannedEventTypesError(DomainError):
    code = "event_type_planned"
    status = 400
    title = "Planned event types cannot be subscribed to yet"


def _field_errors(code: str, names: list[str]) -> dict[str, Any]:
    return {"errors": [{"field": "eventTypes", "code": code, "message": name} for name in names]}


def _clean_event_types(names: Iterable[str]) -> list[str]:
    """The names, sorted and unique, if every one is in the catalog and not ``planned``."""
    wanted = sorted(set(names))
    planned_by_name = dict(EventType.objects.filter(name__in=wanted).values_list("name", "planned"))
    unknown = [name for name in wanted if name not in planned_by_name]
    if unknown:
        raise InvalidEventTypesError(
            f"Not in the event catalog: {', '.join(unknown)}.",
            extra=_field_errors("unknown_event_type", unknown),
        )
    planned = [name for name in wanted if planned_by_name[name]]
    if planned:
        raise PlannedEventTypesError(
            f"Planned, not published yet (see GET /api/v1/event-types): {', '.join(planned)}.",
            extra=_field_errors("event_type_planned", planned),
        )
    return wanted


@transaction.atomic
def webhook_endpoint_create(
    *,
    partner: Partner,
    url: str,
    actor: ActorLike,
    description: str = "",
    event_types: Iterable[str] = (),
    rate_limit_per_second: int | None = None,
    request: HttpRequest | None = None,
) -> WebhookEndpoint:
    """Register an endpoint. Its ``secret`` attribute holds the new ``whsec_…`` secret: show it
    to the caller once; it is stored encrypted and never returned again."""
    endpoint = WebhookEndpoint.objects.create(
        partner=partner,
        url=_clean_url(url),
        description=description,
        event_types=_clean_event_types(event_types),
        rate_limit_per_second=rate_limit_per_second,
        secret=new_secret(),
    )
    _audit(actor=actor, action="webhook_endpoint.created", endpoint=endpoint, request=request)
    return endpoint


@transaction.atomic
def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor: ActorLike,
    url: str = _UNSET,
    description: str = _UNSET,
    event_types: Iterable[str] = _UNSET,
    rate_limit_per_second: int | None = _UNSET,
    request: HttpRequest | None = None,
) -> WebhookEndpoint:
    changed: list[str] = []
    if url is not _UNSET and url != endpoint.url:
        endpoint.url = _clean_url(url)
        changed.append("url")
    if description is not _UNSET:
        endpoint.description = description
        changed.append("description")
    if event_types is not _UNSET:
        endpoint.event_types = _clean_event_types(event_types)
        changed.append("event_types")
    if rate_limit_per_second is not _UNSET:
        endpoint.rate_limit_per_second = rate_limit_per_second
        changed.append("rate_limit_per_second")
    if changed:
        endpoint.save(update_fields=[*changed, "updated_at"])
        _audit(
            actor=actor,
            action="webhook_endpoint.updated",
            endpoint=endpoint,
            request=request,
            metadata={"fields": changed},
        )
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(
    *, endpoint: WebhookEndpoint, actor: ActorLike, request: HttpRequest | None = None
) -> None:
    _audit(actor=actor, action="webhook_endpoint.deleted", endpoint=endpoint, request=request)
    endpoint.delete()


@transaction.atomic
def webhook_endpoint_disable(
    *,
    endpoint: WebhookEndpoint,
    actor: ActorLike,
    reason: str,
    request: HttpRequest | None = None,
) -> WebhookEndpoint:
    if endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_reason = reason[:300]
        endpoint.disabled_at = timezone.now()
        endpoint.save(update_fields=["enabled", "disabled_reason", "disabled_at", "updated_at"])
        _audit(
            actor=actor,
            action="webhook_endpoint.disabled",
            endpoint=endpoint,
            request=request,
            reason=reason,
        )
    return endpoint


@transaction.atomic
def webhook_endpoint_enable(
    *, endpoint: WebhookEndpoint, actor: ActorLike, request: HttpRequest | None = None
) -> WebhookEndpoint:
    if not endpoint.enabled:
        endpoint.enabled = True
        endpoint.disabled_reason = ""
        endpoint.disabled_at = None
        endpoint.failing_since = None
        endpoint.save(
            update_fields=[
                "enabled",
                "disabled_reason",
                "disabled_at",
                "failing_since",
                "updated_at",
            ]
        )
        _audit(actor=actor, action="webhook_endpoint.enabled", endpoint=endpoint, request=request)
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *,
    endpoint: WebhookEndpoint,
    actor: ActorLike,
    grace: timedelta | None = None,
    request: HttpRequest | None = None,
) -> str:
    """Replace the secret; returns the new one (show it once). Until the grace period ends,
    every message is signed with both the old and the new secret."""
    if grace is None:
        grace = timedelta(hours=settings.WEBHOOK_SECRET_ROTATION_GRACE_HOURS)
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + grace
    endpoint.secret = secret
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    _audit(
        actor=actor,
        action="webhook_endpoint.secret_rotated",
        endpoint=endpoint,
        request=request,
        metadata={"grace_seconds": int(grace.total_seconds())},
    )
    return secret


@transaction.atomic
def webhook_endpoint_send_test(
    *,
    endpoint: WebhookEndpoint,
    actor: ActorLike,
    request: HttpRequest | None = None,
) -> WebhookMessage:
    """Send a ``webhook.test`` event to this endpoint only (whatever it subscribes to)."""
    if not endpoint.enabled:
        raise ConflictError("The endpoint is disabled; enable it first.", code="endpoint_disabled")
    now = timezone.now()
    event = PlatformEvent.objects.create(
        event_type=event_type_get(name=TEST_EVENT_TYPE),
        owner=endpoint.partner,
        payload={"endpointId": endpoint.public_id, "message": "This is a test event."},
        occurred_at=now,
        fanned_out_at=now,
    )
    message = WebhookMessage.for_delivery(event=event, endpoint=endpoint, next_attempt_at=now)
    message.save(force_insert=True)
    _audit(
        actor=actor,
        action="webhook_endpoint.test_sent",
        endpoint=endpoint,
        request=request,
        metadata={"message": message.public_id},
    )
    transaction.on_commit(lambda: request_delivery(endpoint_id=endpoint.pk))
    return message


def _requeue(queryset: Any) -> int:
    return queryset.update(
        status=WebhookMessage.Status.PENDING,
        next_attempt_at=timezone.now(),
        schedule_position=0,
        failed_at=None,
    )


@transaction.atomic
def webhook_message_retry(
    *, message: WebhookMessage, actor: ActorLike, request: HttpRequest | None = None
) -> WebhookMessage:
    """Send a message again now, with a fresh retry cycle (same ``webhook-id``)."""
    if not message.endpoint.enabled:
        raise ConflictError("The endpoint is disabled; enable it first.", code="endpoint_disabled")
    _requeue(WebhookMessage.objects.filter(pk=message.pk))
    _audit(
        actor=actor,
        action="webhook_message.retried",
        endpoint=message.endpoint,
        request=request,
        metadata={"message": message.public_id},
    )
    transaction.on_commit(lambda: request_delivery(endpoint_id=message.endpoint_id))
    message.refresh_from_db()
    return message


@transaction.atomic
def webhook_endpoint_recover(
    *,
    endpoint: WebhookEndpoint,
    since: datetime,
    actor: ActorLike,
    request: HttpRequest | None = None,
) -> int:
    """Re-send every dead-lettered message of the endpoint created since ``since``."""
    if not endpoint.enabled:
        raise ConflictError("The endpoint is disabled; enable it first.", code="endpoint_disabled")
    count = _requeue(
        WebhookMessage.objects.filter(
            endpoint=endpoint, status=WebhookMessage.Status.FAILED, created_at__gte=since
        )
    )
    _audit(
        actor=actor,
        action="webhook_endpoint.recovered",
        endpoint=endpoint,
        request=request,
        metadata={"since": since.isoformat(), "messages": count},
    )
    transaction.on_commit(lambda: request_delivery(endpoint_id=endpoint.pk))
    return count


@transaction.atomic
def webhook_endpoint_replay(
    *,
    endpoint: WebhookEndpoint,
    since: datetime,
    actor: ActorLike,
    event_types: Iterable[str] = (),
    request: HttpRequest | None = None,
) -> int:
    """Send the partner's events since ``since`` (of ``event_types``, or all) to the endpoint
    again, including events it never received. Returns how many messages were queued."""
    if not endpoint.enabled:
        raise ConflictError("The endpoint is disabled; enable it first.", code="endpoint_disabled")
    types = _clean_event_types(event_types)
    events = PlatformEvent.objects.filter(owner=endpoint.partner, created_at__gte=since).exclude(
        event_type__name=TEST_EVENT_TYPE
    )
    if types:
        events = events.filter(event_type__name__in=types)
    replayed = list(events.only("pk", "public_id"))
    event_ids = [event.pk for event in replayed]
    now = timezone.now()
    # An event the endpoint already has a message of keeps that message (and its webhook-id).
    WebhookMessage.objects.bulk_create(
        [
            WebhookMessage.for_delivery(event=event, endpoint=endpoint, next_attempt_at=now)
            for event in replayed
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    count = _requeue(WebhookMessage.objects.filter(endpoint=endpoint, event_id__in=event_ids))
    _audit(
        actor=actor,
        action="webhook_endpoint.replayed",
        endpoint=endpoint,
        request=request,
        metadata={"since": since.isoformat(), "event_types": types, "messages": count},
    )
    transaction.on_commit(lambda: request_delivery(endpoint_id=endpoint.pk))
    return count


__all__ = [
    "InvalidEventTypesError",
    "InvalidWebhookURLError",
    "PlannedEventTypesError",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_disable",
    "webhook_endpoint_enable",
    "webhook_endpoint_recover",
    "webhook_endpoint_replay",
    "webhook_endpoint_rotate_secret",
    "webhook_endpoint_send_test",
    "webhook_endpoint_update",
    "webhook_message_retry",
]
