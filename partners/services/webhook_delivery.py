"""WebhookService, delivery half: claim due messages in batches, sign, send, record attempts,
schedule retries, dead-letter, and disable endpoints that keep failing.

One Celery task sends a batch of due messages of ONE endpoint with a pooled HTTP client, so a
task costs milliseconds per batch rather than per message. The claim is per endpoint, not per
message: a worker sends to an endpoint only while it holds the endpoint's lease, taken with a
conditional UPDATE (free or expired) and renewed only by its holder, so two workers never send
the same attempt and the throttle is exact. Messages stay ``pending`` while they are sent; the
attempts and the new message states are written per batch (one INSERT, one UPDATE per kind of
outcome), each message UPDATE conditional on the state that was read, so an attempt is recorded
at most once. A killed worker writes nothing: its messages are still due, and once its lease
expires the sweep queues the endpoint again (at least once; the ``webhook-id`` is stable).
"""

import email.utils
import json
import logging
import os
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from djangorestframework_camel_case.util import camelize

from careos import __version__
from careos.actors import system_actor
from careos.http import safe_client
from partners.models import PlatformEvent, WebhookAttempt, WebhookEndpoint, WebhookMessage
from partners.services.events import (
    EXHAUSTED_EVENT_TYPE,
    publish_event,
    queue_once,
    request_fan_out,
)
from partners.services.webhook_alerts import partner_alert
from partners.webhooks.signing import signed_headers
from rbac.services import audit_record

logger = logging.getLogger(__name__)

_DELIVERY_FLAG = "partners:webhooks:deliver-queued:{}"
# Retries due sooner than this are queued with a countdown; later ones are found by the sweep.
_COUNTDOWN_MAX_SECONDS = 60
_SWEEP_ACTOR = system_actor("webhooks.delivery")
# Receivers can tell our deliveries (and which release sent them) from other traffic.
USER_AGENT = f"CareOS-Webhooks/{__version__}"


def relaxed_durability() -> None:
    """Inside a transaction of delivery bookkeeping on PostgreSQL: commit without waiting for
    the WAL flush. A crash can lose the last fraction of a second of such commits, which at
    worst sends a message again (delivery is at least once; the webhook-id is stable)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _lease_seconds() -> float:
    # A holder starts no request after its budget, and each request ends within the timeout.
    return (
        settings.WEBHOOK_TASK_BUDGET_SECONDS
        + settings.WEBHOOK_TIMEOUT_SECONDS
        + settings.WEBHOOK_LEASE_MARGIN_SECONDS
    )


# --- the HTTP client: one pooled client per worker process ---

_client: httpx.Client | None = None
_client_pid: int | None = None


def delivery_client() -> httpx.Client:
    """The process's pooled client (rebuilt after a fork: pools must not cross processes)."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client = safe_client(timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
        _client_pid = os.getpid()
    return _client


# --- queueing ---


def request_delivery(*, endpoint_id: int, countdown: float | None = None) -> None:
    """Queue a delivery task for the endpoint unless one is already queued. Never raises: due
    messages not picked up now are found by the sweep."""
    from partners import tasks

    def send() -> None:
        tasks.webhooks_deliver.apply_async(
            kwargs={"endpoint_id": endpoint_id}, countdown=countdown, retry=False
        )

    if countdown is None:
        flag = _DELIVERY_FLAG.format(endpoint_id)
        queue_once(flag=flag, seconds=_lease_seconds(), send=send, what="delivery task")
        return
    try:
        send()
    except Exception:
        logger.warning("delivery task could not be queued; the sweep will retry it")


# --- the delivery loop ---


@dataclass
class _Outcome:
    message: WebhookMessage
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    body: str = ""
    error: str = ""
    retry_after: float | None = None

    @property
    def success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class DeliveryReport:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    exhausted: int = 0
    released: int = 0
    endpoint_disabled: bool = False
    retry_in: list[float] = field(default_factory=list)


def webhooks_deliver_endpoint(*, endpoint_id: int) -> DeliveryReport:
    """Send the endpoint's due messages until none are due or the time budget is spent."""
    report = DeliveryReport()
    lease = _endpoint_lease_take(endpoint_id)
    if lease is None:
        return report
    deadline = time.monotonic() + settings.WEBHOOK_TASK_BUDGET_SECONDS
    try:
        while time.monotonic() < deadline:
            endpoint = WebhookEndpoint.objects.select_related("partner").get(pk=endpoint_id)
            if not endpoint.enabled:
                _fail_pending_of_disabled(endpoint)
                break
            read_at = timezone.now()
            messages = _due_batch(endpoint, read_at=read_at)
            if not messages:
                break
            _send_batch(endpoint, messages, read_at, deadline, report)
            if report.endpoint_disabled:
                break
            lease = _endpoint_lease_take(endpoint_id, held=lease)
            if lease is None:
                logger.warning("endpoint lease lost mid-delivery; stopping")
                break
    except WebhookEndpoint.DoesNotExist:
        return report
    finally:
        if lease is not None:
            WebhookEndpoint.objects.filter(pk=endpoint_id, delivery_lease_until=lease).update(
                delivery_lease_until=None
            )
        cache.delete(_DELIVERY_FLAG.format(endpoint_id))
    soon = [delay for delay in report.retry_in if delay <= _COUNTDOWN_MAX_SECONDS]
    if soon:
        request_delivery(endpoint_id=endpoint_id, countdown=max(min(soon), 0.5))
    if _has_due(endpoint_id):
        request_delivery(endpoint_id=endpoint_id)
    return report


def _endpoint_lease_take(endpoint_id: int, *, held: datetime | None = None) -> datetime | None:
    """Take the endpoint's lease if it is free or expired, or renew the one ``held``; the
    lease's expiry is its fencing token. ``None``: another worker has it."""
    now = timezone.now()
    until = now + timedelta(seconds=_lease_seconds())
    queryset = WebhookEndpoint.objects.filter(pk=endpoint_id)
    if held is not None:
        queryset = queryset.filter(delivery_lease_until=held)
    else:
        queryset = queryset.filter(
            Q(delivery_lease_until__isnull=True) | Q(delivery_lease_until__lt=now)
        )
    return until if queryset.update(delivery_lease_until=until) == 1 else None


def _has_due(endpoint_id: int) -> bool:
    return WebhookMessage.objects.filter(
        endpoint_id=endpoint_id,
        status=WebhookMessage.Status.PENDING,
        next_attempt_at__lte=timezone.now(),
        endpoint__enabled=True,
    ).exists()


def _due_batch(endpoint: WebhookEndpoint, *, read_at: datetime) -> list[WebhookMessage]:
    """Up to a batch of the endpoint's due messages (the caller holds the endpoint's lease)."""
    limit = settings.WEBHOOK_BATCH_SIZE
    if endpoint.rate_limit_per_second:
        limit = min(
            limit,
            max(1, int(endpoint.rate_limit_per_second * settings.WEBHOOK_TASK_BUDGET_SECONDS)),
        )
    return list(
        WebhookMessage.objects.filter(
            endpoint=endpoint,
            status=WebhookMessage.Status.PENDING,
            next_attempt_at__lte=read_at,
        )
        .select_related("event__event_type")
        .order_by("next_attempt_at", "pk")[:limit]
    )


def event_body(event: PlatformEvent) -> bytes:
    """The JSON body sent for an event (Standard Webhooks shape: type, timestamp, data)."""
    document = {
        "type": event.event_type.name,
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "eventId": event.public_id,
        "data": camelize(event.payload),
    }
    return json.dumps(document, separators=(",", ":"), default=str).encode()


def endpoint_signing_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    signing = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        signing.append(endpoint.previous_secret)
    return signing


def _send_batch(
    endpoint: WebhookEndpoint,
    messages: list[WebhookMessage],
    read_at: datetime,
    deadline: float,
    report: DeliveryReport,
) -> None:
    client = delivery_client()
    signing = endpoint_signing_secrets(endpoint, now=timezone.now())
    interval = 1.0 / endpoint.rate_limit_per_second if endpoint.rate_limit_per_second else 0.0
    next_slot = time.monotonic()
    bodies: dict[int, bytes] = {}
    outcomes: list[_Outcome] = []
    unsent: list[WebhookMessage] = []
    for message in messages:
        if time.monotonic() >= deadline or (outcomes and outcomes[-1].status_code == 410):
            unsent.append(message)
            continue
        if interval:
            wait = next_slot - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            next_slot = max(next_slot, time.monotonic()) + interval
        body = bodies.get(message.event_id)
        if body is None:
            body = bodies[message.event_id] = event_body(message.event)
        outcomes.append(_post(client, endpoint.url, message, signing, body))
    _record(endpoint, outcomes, unsent, read_at, report)


def _post(
    client: httpx.Client,
    url: str,
    message: WebhookMessage,
    signing: list[str],
    body: bytes,
) -> _Outcome:
    started_at = timezone.now()
    start = time.monotonic()
    headers = signed_headers(
        secrets_=signing, msg_id=message.public_id, timestamp=int(time.time()), body=body
    )
    headers["user-agent"] = USER_AGENT
    outcome = _Outcome(message=message, started_at=started_at, duration_ms=0)
    limit = settings.WEBHOOK_RESPONSE_BODY_LIMIT
    try:
        with client.stream("POST", url, content=body, headers=headers) as response:
            outcome.status_code = response.status_code
            received = b""
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= limit:
                    break
            outcome.body = received[:limit].decode("utf-8", "replace")
            if response.status_code in (429, 503):
                outcome.retry_after = _retry_after(response.headers.get("retry-after"))
    except httpx.HTTPError as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"[:300]
    outcome.duration_ms = int((time.monotonic() - start) * 1000)
    return outcome


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def retry_delay(*, position: int, retry_after: float | None = None) -> float | None:
    """Seconds until the next attempt after ``position`` attempts of this cycle failed, or
    ``None`` when the schedule is exhausted. Jitter spreads retries of a recovering receiver;
    a receiver's ``Retry-After`` (429/503) is honoured, capped."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if position >= len(schedule):
        return None
    jitter = settings.WEBHOOK_RETRY_JITTER
    delay = schedule[position] * (1 + random.uniform(-jitter, jitter))
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.WEBHOOK_MAX_RETRY_AFTER_SECONDS))
    return delay


def _as_read(*, attempt_count: int, read_at: datetime) -> Q:
    """A message still in the state this worker read: not recorded by anyone since (same
    attempt count, still pending) and not re-queued since (a retry or replay moves
    ``next_attempt_at`` to its own later "now")."""
    return Q(
        status=WebhookMessage.Status.PENDING,
        attempt_count=attempt_count,
        next_attempt_at__lte=read_at,
    )


def _update_as_read(
    messages: list[WebhookMessage], read_at: datetime, **fields: object
) -> set[int]:
    """Update ``messages`` still as read; the pks updated. One UPDATE per attempt count in the
    batch (usually one), and a SELECT more only when another writer got in between."""
    groups: dict[int, list[int]] = defaultdict(list)
    for message in messages:
        groups[message.attempt_count].append(message.pk)
    updated: set[int] = set()
    for attempt_count, ids in groups.items():
        queryset = WebhookMessage.objects.filter(
            _as_read(attempt_count=attempt_count, read_at=read_at), pk__in=ids
        )
        if queryset.update(**fields) == len(ids):
            updated.update(ids)
            continue
        # Some were re-queued or recorded meanwhile: find the ones this UPDATE took.
        updated.update(
            WebhookMessage.objects.filter(
                pk__in=ids,
                attempt_count=attempt_count + 1,
                **{k: v for k, v in fields.items() if k in ("status", "last_status_code")},
            ).values_list("pk", flat=True)
        )
    return updated


def _record(
    endpoint: WebhookEndpoint,
    outcomes: list[_Outcome],
    unsent: list[WebhookMessage],
    read_at: datetime,
    report: DeliveryReport,
) -> None:
    now = timezone.now()
    exhausted: list[tuple[WebhookMessage, _Outcome]] = []
    recorded: list[_Outcome] = []
    with transaction.atomic():
        relaxed_durability()
        delivered_by_code: dict[int, list[_Outcome]] = defaultdict(list)
        for o in outcomes:
            if o.success:
                delivered_by_code[o.status_code or 200].append(o)
                continue
            position = o.message.schedule_position + 1
            delay = (
                None
                if o.status_code == 410
                else retry_delay(position=position, retry_after=o.retry_after)
            )
            reason = o.error or f"HTTP {o.status_code}"
            fields: dict[str, object] = {
                "attempt_count": F("attempt_count") + 1,
                "schedule_position": position,
                "last_status_code": o.status_code,
                "last_error": reason[:300],
            }
            if delay is None:
                fields.update(status=WebhookMessage.Status.FAILED, failed_at=now)
            else:
                fields.update(next_attempt_at=now + timedelta(seconds=delay))
            as_read = _as_read(attempt_count=o.message.attempt_count, read_at=read_at)
            if not WebhookMessage.objects.filter(as_read, pk=o.message.pk).update(**fields):
                continue
            recorded.append(o)
            if delay is None:
                exhausted.append((o.message, o))
            else:
                report.retry_in.append(delay)
        for status_code, delivered in delivered_by_code.items():
            taken = _update_as_read(
                [o.message for o in delivered],
                read_at,
                status=WebhookMessage.Status.DELIVERED,
                delivered_at=now,
                attempt_count=F("attempt_count") + 1,
                schedule_position=F("schedule_position") + 1,
                last_status_code=status_code,
                last_error="",
            )
            recorded.extend(o for o in delivered if o.message.pk in taken)
        # Only attempts whose message UPDATE went through: an attempt is recorded once.
        WebhookAttempt.objects.bulk_create(
            [
                WebhookAttempt(
                    message=o.message,
                    number=o.message.attempt_count + 1,
                    trigger=(
                        WebhookAttempt.Trigger.MANUAL
                        if o.message.schedule_position == 0 and o.message.attempt_count
                        else WebhookAttempt.Trigger.SCHEDULED
                    ),
                    started_at=o.started_at,
                    duration_ms=o.duration_ms,
                    success=o.success,
                    status_code=o.status_code,
                    response_body=o.body,
                    error=o.error,
                )
                for o in recorded
            ]
        )
        failures = [o for o in outcomes if not o.success]
        _endpoint_health(endpoint, outcomes, failures, now, report)
        for message, outcome in exhausted:
            _dead_letter(endpoint, message, outcome)
    report.sent += len(outcomes)
    report.delivered += sum(1 for o in recorded if o.success)
    report.failed += len(failures)
    report.exhausted += len(exhausted)
    # Claimed but not tried (budget spent, or the endpoint answered 410): still pending.
    report.released += len(unsent)
    if exhausted:
        partner_alert(
            partner=endpoint.partner,
            subject=f"Webhook messages to {endpoint.url} could not be delivered",
            lines=[
                f"{len(exhausted)} message(s) to endpoint {endpoint.public_id} ({endpoint.url}) "
                "failed on every attempt and were moved to the dead-letter list.",
                *(f"- {m.public_id} ({m.event.event_type.name})" for m, _ in exhausted[:20]),
                "You can recover them from the API or your dashboard once the endpoint works.",
            ],
        )


def _endpoint_health(
    endpoint: WebhookEndpoint,
    outcomes: list[_Outcome],
    failures: list[_Outcome],
    now: datetime,
    report: DeliveryReport,
) -> None:
    updates: dict[str, object] = {}
    if len(failures) < len(outcomes):
        updates["last_success_at"] = now
    if failures:
        last = failures[-1]
        updates["last_failure_at"] = now
        updates["last_failure_reason"] = (last.error or f"HTTP {last.status_code}")[:300]
    if failures and not updates.get("last_success_at"):
        failing_since = endpoint.failing_since or failures[0].started_at
        updates["failing_since"] = failing_since
    elif updates.get("last_success_at"):
        updates["failing_since"] = None
    if updates:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**updates)
        for name, value in updates.items():
            setattr(endpoint, name, value)
    reason = ""
    if any(o.status_code == 410 for o in outcomes):
        reason = "The receiver answered 410 Gone."
    elif endpoint.failing_since and now - endpoint.failing_since >= timedelta(
        days=settings.WEBHOOK_DISABLE_AFTER_FAILING_DAYS
    ):
        reason = f"Every delivery failed for {settings.WEBHOOK_DISABLE_AFTER_FAILING_DAYS:g} days."
    if reason:
        _disable(endpoint, reason=reason)
        report.endpoint_disabled = True


def _disable(endpoint: WebhookEndpoint, *, reason: str) -> None:
    now = timezone.now()
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason, disabled_at=now
    )
    endpoint.enabled = False
    if not changed:
        return
    audit_record(
        actor=_SWEEP_ACTOR,
        action="webhook_endpoint.disabled",
        target_type="webhook_endpoint",
        target_ref=endpoint.public_id,
        reason=reason,
        metadata={"partner": endpoint.partner.public_id},
    )
    _fail_pending_of_disabled(endpoint)
    partner = endpoint.partner
    transaction.on_commit(
        lambda: partner_alert(
            partner=partner,
            subject=f"Webhook endpoint {endpoint.url} was disabled",
            lines=[
                f"We disabled webhook endpoint {endpoint.public_id} ({endpoint.url}).",
                f"Reason: {reason}",
                "Fix the receiver, enable the endpoint again, then recover the failed messages.",
            ],
        )
    )


def _fail_pending_of_disabled(endpoint: WebhookEndpoint) -> int:
    """Messages waiting for a disabled endpoint are dead-lettered without an attempt; the
    partner recovers them after enabling it again."""
    return WebhookMessage.objects.filter(
        endpoint=endpoint, status=WebhookMessage.Status.PENDING
    ).update(
        status=WebhookMessage.Status.FAILED,
        failed_at=timezone.now(),
        last_error="endpoint disabled",
    )


def _dead_letter(endpoint: WebhookEndpoint, message: WebhookMessage, outcome: _Outcome) -> None:
    # Telling other endpoints about an exhausted notification would loop; stop there.
    if message.event.event_type.name == EXHAUSTED_EVENT_TYPE:
        return
    publish_event(
        event_type=EXHAUSTED_EVENT_TYPE,
        owner=endpoint.partner,
        payload={
            "endpointId": endpoint.public_id,
            "messageId": message.public_id,
            "eventId": message.event.public_id,
            "eventType": message.event.event_type.name,
            "attempts": message.attempt_count + 1,
            "lastStatusCode": outcome.status_code,
            "lastError": outcome.error,
        },
    )


# --- the sweep (beat) ---


@dataclass
class SweepReport:
    leases_expired: int = 0
    unfanned_events: int = 0
    endpoints_kicked: int = 0


def webhooks_sweep() -> SweepReport:
    """Catch what a crash or a broker outage left behind: endpoints whose delivering worker
    died (lease expired; its messages are still pending) are freed, events never fanned out
    are fanned out, and every endpoint with due messages gets a delivery task (retries due
    later than a countdown)."""
    now = timezone.now()
    report = SweepReport()
    expired = list(
        WebhookEndpoint.objects.filter(delivery_lease_until__lt=now).values_list("pk", flat=True)
    )
    if expired:
        report.leases_expired = WebhookEndpoint.objects.filter(
            pk__in=expired, delivery_lease_until__lt=now
        ).update(delivery_lease_until=None)
        # The dead worker's "already queued" flag would hold back the new task until it expires.
        cache.delete_many([_DELIVERY_FLAG.format(pk) for pk in expired])
    report.unfanned_events = PlatformEvent.objects.filter(fanned_out_at__isnull=True).count()
    if report.unfanned_events:
        request_fan_out()
    endpoint_ids = set(
        WebhookMessage.objects.filter(
            status=WebhookMessage.Status.PENDING,
            next_attempt_at__lte=now,
        )
        .order_by()
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    for endpoint_id in endpoint_ids:
        request_delivery(endpoint_id=endpoint_id)
    report.endpoints_kicked = len(endpoint_ids)
    return report
