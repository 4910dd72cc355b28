"""EventService: publish platform events (an outbox row in the caller's transaction) and fan
them out to the owner's webhook endpoints after commit.

Other apps call ``publish_event``; nothing else here is part of the public surface.
"""

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from careos.errors import DomainError
from partners.models import EventType, Partner, PlatformEvent, WebhookEndpoint, WebhookMessage

logger = logging.getLogger(__name__)

EXHAUSTED_EVENT_TYPE = "message.attempt.exhausted"
TEST_EVENT_TYPE = "webhook.test"
_FAN_OUT_FLAG = "partners:events:fan-out-queued"
_FLAG_SECONDS = 60


class UnknownEventTypeError(DomainError):
    code = "unknown_event_type"
    status = 400
    title = "Unknown event type"


class PlannedEventTypeError(DomainError):
    code = "event_type_planned"
    status = 400
    title = "The event type is planned, not available yet"


def event_type_get(*, name: str) -> EventType:
    """The catalog's type ``name``, to publish. Raises ``UnknownEventTypeError``, or
    ``PlannedEventTypeError`` for a type whose feature is not built yet (shipping the feature
    clears its ``planned`` flag in a migration)."""
    try:
        event_type = EventType.objects.get(name=name)
    except EventType.DoesNotExist:
        raise UnknownEventTypeError(f"{name!r} is not in the event catalog.") from None
    if event_type.planned:
        raise PlannedEventTypeError(f"{name!r} is planned: nothing publishes it yet.")
    return event_type


# The catalog only grows (types are deprecated, never deleted) and a type leaves ``planned``
# only in a migration, so a name's row id can be remembered for the life of the process:
# publishing is then a single INSERT.
_event_type_ids: dict[str, int] = {}


def _event_type_id(name: str) -> int:
    pk = _event_type_ids.get(name)
    if pk is None:
        pk = _event_type_ids[name] = event_type_get(name=name).pk
    return pk


# Not wrapped in atomic on purpose: the only write is one INSERT, which joins the caller's
# transaction (or commits alone in autocommit), and a savepoint would double its cost.
def publish_event(
    *,
    event_type: str,
    owner: Partner | None,
    payload: dict[str, Any],
    occurred_at: datetime | None = None,
    idempotency_key: str = "",
) -> PlatformEvent:
    """Record ``event_type`` for ``owner`` in the caller's transaction; after commit it is sent
    to the owner's subscribed webhook endpoints. ``owner=None`` records a platform-only event
    (kept for audit and replay, sent nowhere). With ``idempotency_key``, publishing the same key
    for the same owner again returns the first event. Raises ``UnknownEventTypeError`` and
    ``PlannedEventTypeError``.
    """
    event_type_id = _event_type_id(event_type)
    if idempotency_key:
        existing = PlatformEvent.objects.filter(
            owner=owner, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing
    now = timezone.now()
    event = PlatformEvent.objects.create(
        event_type_id=event_type_id,
        owner=owner,
        payload=payload,
        occurred_at=occurred_at or now,
        idempotency_key=idempotency_key,
        fanned_out_at=now if owner is None else None,
    )
    if owner is not None:
        on_commit_once(request_fan_out)
    return event


class _OnceCallback:
    def __init__(self, func: Callable[[], None]) -> None:
        self.func = func
        self.done = False

    def __call__(self) -> None:
        self.done = True
        self.func()


def on_commit_once(func: Callable[[], None]) -> None:
    """``transaction.on_commit(func)`` unless ``func`` is already due to run when this
    transaction commits: a transaction publishing many events queues one fan-out, not one per
    event.

    A callback registered under savepoints that are all still open survives exactly as long
    as anything written now does (Django drops it only with a savepoint rolled back around
    both), so skipping the duplicate loses nothing.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        open_savepoints = set(connection.savepoint_ids)
        for savepoint_ids, registered, _robust in connection.run_on_commit:
            if (
                isinstance(registered, _OnceCallback)
                and registered.func is func
                and not registered.done
                and set(savepoint_ids) <= open_savepoints
            ):
                return
    transaction.on_commit(_OnceCallback(func))


def queue_once(*, flag: str, seconds: float, send: Callable[[], object], what: str) -> None:
    """Call ``send`` (which queues a task) unless ``flag`` says that task is already queued.

    Never raises: the work stays in the database for a beat sweep. With the broker down the
    publish fails fast (the Celery settings bound its retries) and is logged; with the cache
    down the task is queued without the flag (a duplicate task finds its work already claimed).
    """
    try:
        if not cache.add(flag, 1, timeout=seconds):
            return
    except Exception:
        logger.warning("%s: the cache is unreachable; queueing without the once-flag", what)
    try:
        send()
    except Exception:
        logger.warning("%s could not be queued; the sweep will pick the work up", what)
        with contextlib.suppress(Exception):  # the flag expires on its own
            cache.delete(flag)


def request_fan_out() -> None:
    """Queue the fan-out task unless one is already queued. Never raises: if the broker is
    down the event stays in the outbox and the sweep fans it out later."""
    from partners import tasks

    queue_once(
        flag=_FAN_OUT_FLAG,
        seconds=_FLAG_SECONDS,
        send=lambda: tasks.events_fan_out.apply_async(retry=False),
        what="fan-out task",
    )


def events_fan_out_pending() -> int:
    """Create the webhook messages of every event not yet fanned out; returns how many events.

    Safe to run concurrently: events are claimed with SKIP LOCKED where the database has it
    and messages are unique per (event, endpoint).
    """
    from partners.services.webhooks import request_delivery

    total = 0
    batch_size = settings.WEBHOOK_FANOUT_BATCH_SIZE
    while True:
        count, endpoint_ids = _fan_out_batch(limit=batch_size)
        total += count
        for endpoint_id in endpoint_ids:
            request_delivery(endpoint_id=endpoint_id)
        if count < batch_size:
            break
    cache.delete(_FAN_OUT_FLAG)
    # An event committed while the flag was still set did not queue a task: look once more.
    if PlatformEvent.objects.filter(fanned_out_at__isnull=True).exists():
        request_fan_out()
    return total


@transaction.atomic
def _fan_out_batch(*, limit: int) -> tuple[int, set[int]]:
    from partners.services.webhook_delivery import relaxed_durability

    # Losing this commit in a crash only means the sweep fans the events out again.
    relaxed_durability()
    events = list(
        PlatformEvent.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(fanned_out_at__isnull=True)
        .select_related("event_type")
        .order_by("created_at", "pk")[:limit]
    )
    if not events:
        return 0, set()
    endpoints_by_owner: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in WebhookEndpoint.objects.filter(
        partner_id__in={event.owner_id for event in events}, enabled=True
    ):
        endpoints_by_owner.setdefault(endpoint.partner_id, []).append(endpoint)
    messages = [
        message
        for event in events
        for message in _messages_for(event, endpoints_by_owner.get(event.owner_id, []))
    ]
    WebhookMessage.objects.bulk_create(messages, ignore_conflicts=True, batch_size=1000)
    PlatformEvent.objects.filter(pk__in=[event.pk for event in events]).update(
        fanned_out_at=timezone.now()
    )
    return len(events), {message.endpoint_id for message in messages}


def _messages_for(event: PlatformEvent, endpoints: list[WebhookEndpoint]) -> list[WebhookMessage]:
    now = timezone.now()
    name = event.event_type.name
    messages = []
    for endpoint in endpoints:
        if not endpoint.subscribes_to(name):
            continue
        # An endpoint is never told about its own exhausted messages (it is the one failing).
        if name == EXHAUSTED_EVENT_TYPE and event.payload.get("endpointId") == endpoint.public_id:
            continue
        messages.append(
            WebhookMessage.for_delivery(event=event, endpoint=endpoint, next_attempt_at=now)
        )
    return messages


def events_prune(*, now: datetime | None = None) -> int:
    """Delete events (and their messages and attempts) older than ``EVENT_RETENTION_DAYS``."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENT_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(
            PlatformEvent.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:1000]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            PlatformEvent.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
