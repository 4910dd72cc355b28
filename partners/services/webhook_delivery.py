"""WebhookService, delivery half: claim due messages in batches, sign, send, record attempts,
schedule retries, dead-letter, and disable endpoints that keep failing.

One Celery task sends a batch of due messages of ONE endpoint with a pooled HTTP client, so a
task costs milliseconds per batch rather than per message. Only one worker sends to an
endpoint at a time (an endpoint lease taken with a conditional UPDATE), which keeps its
throttle exact; each message is also claimed (``pending`` → ``sending`` with a lease), so a
killed worker's messages are put back by the sweep when the lease expires: at least once.
"""

import email.utils
import json
import logging
import os
import random
import secrets
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

from careos.actors import system_actor
from careos.http import safe_client
from partners.models import PlatformEvent, WebhookAttempt, WebhookEndpoint, WebhookMessage
from partners.services.events import EXHAUSTED_EVENT_TYPE, publish_event, request_fan_out
from partners.services.webhook_alerts import partner_alert
from partners.webhooks.signing import signed_headers
from rbac.services import audit_record

logger = logging.getLogger(__name__)

_DELIVERY_FLAG = "partners:webhooks:deliver-queued:{}"
# Retries due sooner than this are queued with a countdown; later ones are found by the sweep.
_COUNTDOWN_MAX_SECONDS = 60
_SWEEP_ACTOR = system_actor("webhooks.delivery")


def relaxed_durability() -> None:
    """Inside a transaction of delivery bookkeeping on PostgreSQL: commit without waiting for
    the WAL flush. A crash can lose the last fraction of a second of such commits, which at
    worst sends a message again (delivery is at least once; the webhook-id is stable)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _lease_seconds() -> float:
    return settings.WEBHOOK_TASK_BUDGET_SECONDS + settings.WEBHOOK_TIMEOUT_SECONDS + 30


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

    flag = _DELIVERY_FLAG.format(endpoint_id)
    if countdown is None and not cache.add(flag, 1, timeout=_lease_seconds()):
        return
    try:
        tasks.webhooks_deliver.apply_async(
            kwargs={"endpoint_id": endpoint_id}, countdown=countdown, retry=False
        )
    except Exception:
        if countdown is None:
            cache.delete(flag)
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
    if not _endpoint_lease_take(endpoint_id):
        return report
    deadline = time.monotonic() + settings.WEBHOOK_TASK_BUDGET_SECONDS
    try:
        while time.monotonic() < deadline:
            endpoint = WebhookEndpoint.objects.select_related("partner").get(pk=endpoint_id)
            if not endpoint.enabled:
                _fail_pending_of_disabled(endpoint)
                break
            messages = _claim(endpoint)
            if not messages:
                break
            _send_batch(endpoint, messages, deadline, report)
            if report.endpoint_disabled:
                break
            _endpoint_lease_take(endpoint_id, renew=True)
    except WebhookEndpoint.DoesNotExist:
        return report
    finally:
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(delivery_lease_until=None)
        cache.delete(_DELIVERY_FLAG.format(endpoint_id))
    soon = [delay for delay in report.retry_in if delay <= _COUNTDOWN_MAX_SECONDS]
    if soon:
        request_delivery(endpoint_id=endpoint_id, countdown=max(min(soon), 0.5))
    if _has_due(endpoint_id):
        request_delivery(endpoint_id=endpoint_id)
    return report


def _endpoint_lease_take(endpoint_id: int, *, renew: bool = False) -> bool:
    now = timezone.now()
    until = now + timedelta(seconds=_lease_seconds())
    queryset = WebhookEndpoint.objects.filter(pk=endpoint_id)
    if not renew:
        queryset = queryset.filter(
            Q(delivery_lease_until__isnull=True) | Q(delivery_lease_until__lt=now)
        )
    return queryset.update(delivery_lease_until=until) == 1


def _has_due(endpoint_id: int) -> bool:
    return WebhookMessage.objects.filter(
        endpoint_id=endpoint_id,
        status=WebhookMessage.Status.PENDING,
        next_attempt_at__lte=timezone.now(),
        endpoint__enabled=True,
    ).exists()


def _claim(endpoint: WebhookEndpoint) -> list[WebhookMessage]:
    """Move up to a batch of due messages from ``pending`` to ``sending`` with a lease."""
    limit = settings.WEBHOOK_BATCH_SIZE
    if endpoint.rate_limit_per_second:
        limit = min(
            limit,
            max(1, int(endpoint.rate_limit_per_second * settings.WEBHOOK_TASK_BUDGET_SECONDS)),
        )
    now = timezone.now()
    token = secrets.token_hex(16)
    with transaction.atomic():
        relaxed_durability()
        ids = list(
            WebhookMessage.objects.select_for_update(skip_locked=True)
            .filter(
                endpoint=endpoint,
                status=WebhookMessage.Status.PENDING,
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        # The status condition makes the claim safe even where SKIP LOCKED is not available.
        WebhookMessage.objects.filter(pk__in=ids, status=WebhookMessage.Status.PENDING).update(
            status=WebhookMessage.Status.SENDING,
            claim_token=token,
            lease_expires_at=now + timedelta(seconds=_lease_seconds()),
        )
    return list(
        WebhookMessage.objects.filter(
            pk__in=ids, claim_token=token, status=WebhookMessage.Status.SENDING
        )
        .select_related("event__event_type")
        .order_by("next_attempt_at", "pk")
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
    _record(endpoint, outcomes, unsent, report)


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


def _record(
    endpoint: WebhookEndpoint,
    outcomes: list[_Outcome],
    unsent: list[WebhookMessage],
    report: DeliveryReport,
) -> None:
    now = timezone.now()
    exhausted: list[tuple[WebhookMessage, _Outcome]] = []
    with transaction.atomic():
        relaxed_durability()
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
                for o in outcomes
            ]
        )
        delivered_by_code: dict[int, list[int]] = defaultdict(list)
        for o in outcomes:
            if o.success:
                delivered_by_code[o.status_code or 200].append(o.message.pk)
                continue
            position = o.message.schedule_position + 1
            delay = (
                None
                if o.status_code == 410
                else retry_delay(position=position, retry_after=o.retry_after)
            )
            reason = o.error or f"HTTP {o.status_code}"
            fields = {
                "attempt_count": F("attempt_count") + 1,
                "schedule_position": position,
                "last_status_code": o.status_code,
                "last_error": reason[:300],
                "claim_token": "",
                "lease_expires_at": None,
            }
            if delay is None:
                exhausted.append((o.message, o))
                fields.update(status=WebhookMessage.Status.FAILED, failed_at=now)
            else:
                report.retry_in.append(delay)
                fields.update(
                    status=WebhookMessage.Status.PENDING,
                    next_attempt_at=now + timedelta(seconds=delay),
                )
            WebhookMessage.objects.filter(pk=o.message.pk).update(**fields)
        for status_code, ids in delivered_by_code.items():
            WebhookMessage.objects.filter(pk__in=ids).update(
                status=WebhookMessage.Status.DELIVERED,
                delivered_at=now,
                attempt_count=F("attempt_count") + 1,
                schedule_position=F("schedule_position") + 1,
                last_status_code=status_code,
                last_error="",
                claim_token="",
                lease_expires_at=None,
            )
        if unsent:
            # Claimed but not tried (budget spent, or the endpoint answered 410): put back.
            WebhookMessage.objects.filter(pk__in=[m.pk for m in unsent]).update(
                status=WebhookMessage.Status.PENDING, claim_token="", lease_expires_at=None
            )
        failures = [o for o in outcomes if not o.success]
        _endpoint_health(endpoint, outcomes, failures, now, report)
        for message, outcome in exhausted:
            _dead_letter(endpoint, message, outcome)
    report.sent += len(outcomes)
    report.delivered += sum(len(ids) for ids in delivered_by_code.values())
    report.failed += len(failures)
    report.exhausted += len(exhausted)
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
        claim_token="",
        lease_expires_at=None,
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
    """Catch what a crash or a broker outage left behind: messages whose sending worker died
    (lease expired) go back to pending, events never fanned out are fanned out, and every
    endpoint with due messages gets a delivery task (retries due later than a countdown)."""
    now = timezone.now()
    report = SweepReport()
    report.leases_expired = WebhookMessage.objects.filter(
        status=WebhookMessage.Status.SENDING, lease_expires_at__lt=now
    ).update(
        status=WebhookMessage.Status.PENDING,
        next_attempt_at=now,
        claim_token="",
        lease_expires_at=None,
    )
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
