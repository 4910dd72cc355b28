"""Sending messages: ``message_send`` records and queues; delivery claims, sends, records."""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from careos.actors import Actor
from careos.errors import DomainError
from careos.queueing import enqueue_or_log
from engagement.channels.base import (
    Outbound,
    PermanentProviderError,
    ProviderResult,
    TransientProviderError,
    get_transport,
)
from engagement.models import (
    Campaign,
    Channel,
    Message,
    MessageAttempt,
    MessageStatus,
    PushSubscription,
)
from engagement.models.messages import FINAL_STATUSES, recipient_blind_index
from engagement.services.caps import cap_reason, recipients_reserve
from engagement.services.optouts import address_for, opted_out_indexes, unsubscribe_token
from engagement.services.quiet_hours import quiet_hours_release_at
from engagement.services.templates import Rendered, template_render
from rbac.models import Clinic, User
from rbac.services import audit_record

logger = logging.getLogger("engagement.messages")


class NoAddressError(DomainError):
    code = "recipient_has_no_address"
    status = 400
    title = "The recipient has no address on this channel"


def _actor_ref(actor: Actor | User) -> str:
    return actor.public_id if isinstance(actor, User) else actor.ref


def _timezone_of(user: User | None, clinic: Clinic | None) -> str:
    if user is not None and user.timezone:
        return user.timezone
    return clinic.timezone if clinic is not None else "UTC"


def _dedupe_lookup(*, purpose: str, index: str, dedupe_key: str) -> Message | None:
    return Message.objects.filter(
        purpose=purpose, recipient_index=index, dedupe_key=dedupe_key
    ).first()


@transaction.atomic
def message_send(
    *,
    channel: str,
    recipient: User | str,
    purpose: str,
    template_key: str,
    context: dict[str, object],
    language: str | None = None,
    dedupe_key: str,
    urgent: bool = False,
    actor: Actor | User,
    clinic: Clinic | None = None,
) -> Message:
    """Record a message to ``recipient`` (a user, or a phone/email address) and queue it.

    Idempotent per (purpose, recipient address, dedupe_key): a repeat — sequential or
    concurrent — returns the first message and sends nothing. An opted-out recipient gets a
    ``suppressed`` message that is never sent, and so does a recipient over the daily cap
    (``engagement.services.caps``; the reason in ``last_error``); a non-urgent message inside
    the recipient's quiet hours is ``deferred`` until they end. Delivery runs in Celery after
    commit.
    Raises ``NoAddressError``, ``TemplateError`` (undeclared or non-scalar context values) and
    ``TemplateMissingError``.
    """
    if channel not in Channel.values:
        raise DomainError(f"Unknown channel {channel!r}.", code="channel_invalid")
    if not dedupe_key:
        raise DomainError("dedupe_key is required.", code="dedupe_key_required")
    user = recipient if isinstance(recipient, User) else None
    if user is None and channel == Channel.PUSH:
        raise NoAddressError("Web push needs a user recipient.")
    address = address_for(channel=channel, user=user) if user is not None else str(recipient)
    if not address.strip():
        raise NoAddressError()
    index = recipient_blind_index(address)
    existing = _dedupe_lookup(purpose=purpose, index=index, dedupe_key=dedupe_key)
    if existing is not None:
        return existing

    language = language or (user.preferred_language if user is not None else "en")
    rendered = template_render(key=template_key, language=language, context=context)
    now = timezone.now()
    status, send_after = MessageStatus.QUEUED, None
    if opted_out_indexes(channel=channel, indexes=[index]):
        status = MessageStatus.SUPPRESSED
    elif not urgent:
        send_after = quiet_hours_release_at(timezone_name=_timezone_of(user, clinic), now=now)
        if send_after is not None:
            status = MessageStatus.DEFERRED
    message = Message(
        channel=channel,
        purpose=purpose,
        template_key=template_key,
        language=rendered.language,
        recipient=user,
        to_address=address,
        recipient_index=index,
        clinic=clinic,
        subject=rendered.subject,
        body=rendered.body,
        html_body=rendered.html_body,
        dedupe_key=dedupe_key,
        urgent=urgent,
        status=status,
        send_after=send_after,
        created_by=_actor_ref(actor),
    )
    try:
        with transaction.atomic():  # a duplicate gives back the cap's slot too
            if status != MessageStatus.SUPPRESSED and not recipients_reserve(
                indexes=[index], now=now
            ):
                message.status, message.send_after, message.last_error = (
                    MessageStatus.SUPPRESSED,
                    None,
                    cap_reason(),
                )
            message.save()
    except IntegrityError:
        # A concurrent send with the same key committed first: its message is the answer.
        found = _dedupe_lookup(purpose=purpose, index=index, dedupe_key=dedupe_key)
        if found is None:
            raise
        return found
    audit_record(
        actor=actor,
        action="engagement.message.created",
        target_type="engagement.message",
        target_ref=message.public_id,
        patient=user,
        clinic=clinic,
        metadata={"channel": channel, "purpose": purpose, "status": message.status},
    )
    if message.status == MessageStatus.QUEUED:
        _enqueue_after_commit([message.pk])
    return message


def _enqueue_after_commit(message_ids: list[int]) -> None:
    """Queue delivery of ``message_ids`` once the transaction commits. Never raises: a message
    whose publish failed stays ``queued`` for ``messages_requeue_stuck``."""
    if message_ids:
        transaction.on_commit(lambda: _enqueue_now(message_ids))


def _enqueue_now(message_ids: list[int]) -> int:
    """Queue delivery of each message; returns how many were queued. Stops at the first failed
    publish (the broker is down: the rest would fail too, each after its own timeout)."""
    from engagement.tasks import deliver_message

    for queued, message_id in enumerate(message_ids):
        left = len(message_ids) - queued - 1
        if not enqueue_or_log(
            lambda message_id=message_id: deliver_message.delay(message_id=message_id),
            what=f"delivery of engagement message {message_id}"
            + (f" (and {left} more)" if left else ""),
        ):
            return queued
    return len(message_ids)


def rendered_for_message(message: Message) -> Rendered:
    return Rendered(
        template_key=message.template_key,
        language=message.language,
        subject=message.subject,
        body=message.body,
        html_body=message.html_body,
    )


def status_callback_url() -> str:
    base = settings.ENGAGEMENT_PUBLIC_BASE_URL
    return f"{base.rstrip('/')}{reverse('engagement-twilio-status')}" if base else ""


def _outbound(message: Message, *, callback: str) -> Outbound:
    body, html, headers = message.body, message.html_body, {}
    if message.channel == Channel.EMAIL and settings.ENGAGEMENT_PUBLIC_BASE_URL:
        token = unsubscribe_token(channel=Channel.EMAIL, address=message.to_address)
        link = settings.ENGAGEMENT_PUBLIC_BASE_URL.rstrip("/") + reverse(
            "engagement-unsubscribe", kwargs={"token": token}
        )
        body = f"{body}\n\n{link}"
        if html:
            html = f'{html}<p><a href="{link}">Unsubscribe</a></p>'
        headers = {
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    return Outbound(
        message_ref=message.public_id,
        to=message.to_address,
        body=body,
        subject=message.subject,
        html_body=html,
        status_callback=callback if message.channel == Channel.SMS else "",
        headers=headers,
    )


def _send_push(message: Message, outbound: Outbound) -> ProviderResult:
    subscriptions = list(
        PushSubscription.objects.filter(user_id=message.recipient_id, is_active=True)
    )
    if not subscriptions:
        raise PermanentProviderError("no active push subscription", undeliverable=True)
    transport = get_transport(Channel.PUSH)
    results: list[ProviderResult] = []
    transient: TransientProviderError | None = None
    permanent: PermanentProviderError | None = None
    for subscription in subscriptions:
        info = {
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        }
        try:
            results.append(
                transport.send(
                    Outbound(
                        message_ref=outbound.message_ref,
                        to=json.dumps(info),
                        body=outbound.body,
                        subject=outbound.subject,
                    )
                )
            )
        except TransientProviderError as exc:
            transient = exc
        except PermanentProviderError as exc:
            permanent = exc
            if exc.undeliverable:
                PushSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
    if results:
        return results[0]
    if transient is not None:
        raise transient
    assert permanent is not None
    raise permanent


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    retry_ids: list[int] | None = None


def deliver_claimed(messages: list[Message], *, now: datetime | None = None) -> DeliveryReport:
    """Send messages already claimed (status ``sending``); record attempts and outcomes.

    Constant queries for the whole list: one opt-out lookup, one bulk update, one bulk insert.
    Transient failures go back to ``queued`` (the caller schedules the retry) until
    ``ENGAGEMENT_MAX_ATTEMPTS``, then fail.
    """
    now = now or timezone.now()
    report = DeliveryReport(retry_ids=[])
    if not messages:
        return report
    callback = status_callback_url()
    opted_out: set[str] = set()
    for channel in {m.channel for m in messages}:
        opted_out |= opted_out_indexes(
            channel=channel, indexes=[m.recipient_index for m in messages if m.channel == channel]
        )
    attempts: list[MessageAttempt] = []
    for message in messages:
        if message.recipient_index in opted_out:
            message.status = MessageStatus.SUPPRESSED
            message.last_error = "opted out"
            report.suppressed += 1
            continue
        outbound = _outbound(message, callback=callback)
        attempt = MessageAttempt(message=message, number=message.attempts, attempted_at=now)
        try:
            if message.channel == Channel.PUSH:
                result = _send_push(message, outbound)
            else:
                result = get_transport(message.channel).send(outbound)
        except TransientProviderError as exc:
            attempt.outcome, attempt.error = MessageAttempt.Outcome.TRANSIENT, exc.reason[:500]
            message.last_error = exc.reason[:500]
            if message.attempts >= settings.ENGAGEMENT_MAX_ATTEMPTS:
                message.status, message.failed_at = MessageStatus.FAILED, now
                report.failed += 1
            else:
                message.status = MessageStatus.QUEUED
                report.retry_ids.append(message.pk)
        except PermanentProviderError as exc:
            attempt.outcome, attempt.error = MessageAttempt.Outcome.PERMANENT, exc.reason[:500]
            message.last_error = exc.reason[:500]
            message.status = (
                MessageStatus.UNDELIVERABLE if exc.undeliverable else MessageStatus.FAILED
            )
            message.failed_at = now
            report.failed += 1
        else:
            attempt.outcome = MessageAttempt.Outcome.SENT
            attempt.provider_message_id = result.provider_message_id
            message.status, message.sent_at = MessageStatus.SENT, now
            message.provider = result.provider
            message.provider_message_id = result.provider_message_id
            message.last_error = ""
            report.sent += 1
        attempts.append(attempt)
    with transaction.atomic():
        _save_outcomes(messages, now=now)
        MessageAttempt.objects.bulk_create(attempts)
    if report.failed:
        logger.info("engagement: %d message(s) failed", report.failed)
    return report


_OUTCOME_SQL = (
    "UPDATE engagement_message SET status = %s, provider = %s, provider_message_id = %s, "
    "last_error = %s, sent_at = %s, failed_at = %s, updated_at = %s WHERE id = %s"
)


def _save_outcomes(messages: list[Message], *, now: datetime) -> None:
    """One parameterised UPDATE run for every row (``executemany``: pipelined on psycopg 3);
    ``bulk_update`` builds a CASE expression per field and row, which costs far more CPU."""
    rows = [
        (
            m.status,
            m.provider,
            m.provider_message_id,
            m.last_error,
            m.sent_at,
            m.failed_at,
            now,
            m.pk,
        )
        for m in messages
    ]
    for message in messages:
        message.updated_at = now
    with connection.cursor() as cursor:
        cursor.executemany(_OUTCOME_SQL, rows)


def _backoff_seconds(attempt: int) -> int:
    return min(settings.ENGAGEMENT_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), 3600)


def message_deliver(*, message_id: int) -> DeliveryReport:
    """Claim one queued message (queued → sending) and send it; a lost claim does nothing."""
    now = timezone.now()
    claimed = Message.objects.filter(pk=message_id, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SENDING, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        return DeliveryReport(retry_ids=[])
    message = Message.objects.get(pk=message_id)
    return deliver_claimed([message], now=now)


def retry_countdown(message_id: int) -> int:
    attempts = Message.objects.filter(pk=message_id).values_list("attempts", flat=True).first()
    return _backoff_seconds(attempts or 1)


def messages_release_deferred(*, limit: int = 500, now: datetime | None = None) -> int:
    """Deliver deferred messages whose quiet hours are over; claims so workers never overlap."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.DEFERRED, send_after__lte=now)
            .order_by("send_after")
            .values_list("pk", flat=True)[:limit]
        )
        Message.objects.filter(pk__in=ids, status=MessageStatus.DEFERRED).update(
            status=MessageStatus.SENDING, attempts=F("attempts") + 1, updated_at=now
        )
    messages = list(Message.objects.filter(pk__in=ids, status=MessageStatus.SENDING))
    report = deliver_claimed(messages, now=now)
    for message_id in report.retry_ids or []:
        _schedule_retry(message_id)
    return len(messages)


def messages_recover_stale_claims(*, limit: int = 500, now: datetime | None = None) -> int:
    """Give back messages claimed (``sending``) longer than ``ENGAGEMENT_SENDING_LEASE_SECONDS``
    ago: the worker that claimed them died or crashed before recording an outcome.

    Set-based: re-queued (and enqueued after commit) while attempts remain, failed once they
    are spent, cancelled when their campaign was cancelled meanwhile. Delivery is at least once:
    a worker killed between the provider's acceptance and our UPDATE may be sent again, which
    the lease (far longer than any batch) makes rare and which beats a message lost forever.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ENGAGEMENT_SENDING_LEASE_SECONDS)
    reason = "delivery claim expired"
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.SENDING, updated_at__lt=cutoff)
            .order_by("updated_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return 0
        stale = Message.objects.filter(pk__in=ids, status=MessageStatus.SENDING)
        stale.filter(campaign__status=Campaign.Status.CANCELLED).update(
            status=MessageStatus.CANCELLED, last_error=reason, updated_at=now
        )
        stale.filter(attempts__gte=settings.ENGAGEMENT_MAX_ATTEMPTS).update(
            status=MessageStatus.FAILED, failed_at=now, last_error=reason, updated_at=now
        )
        requeue = list(stale.values_list("pk", flat=True))
        Message.objects.filter(pk__in=requeue).update(
            status=MessageStatus.QUEUED, last_error=f"{reason}; re-queued", updated_at=now
        )
        _enqueue_after_commit(requeue)
    if len(requeue) < len(ids):
        logger.warning("engagement: %d stale message claim(s) failed", len(ids) - len(requeue))
    return len(ids)


def _schedule_retry(message_id: int) -> None:
    """Queue the retry of a message left ``queued`` by a transient failure. Never raises: a
    retry that cannot be queued is picked up by ``messages_requeue_stuck`` once overdue."""
    from engagement.tasks import deliver_message

    enqueue_or_log(
        lambda: deliver_message.apply_async(
            kwargs={"message_id": message_id}, countdown=retry_countdown(message_id)
        ),
        what=f"retry of engagement message {message_id}",
    )


def _queued_overdue(now: datetime) -> Q:
    """Queued messages whose delivery task should have run by now: queued (or last touched)
    more than ``ENGAGEMENT_QUEUED_REQUEUE_SECONDS`` ago, plus, for a message waiting to be
    retried, the backoff its retry was scheduled with."""
    grace = settings.ENGAGEMENT_QUEUED_REQUEUE_SECONDS
    overdue = Q(attempts=0, updated_at__lt=now - timedelta(seconds=grace))
    for attempts in range(1, settings.ENGAGEMENT_MAX_ATTEMPTS + 1):
        wait = grace + _backoff_seconds(attempts)
        overdue |= Q(attempts=attempts, updated_at__lt=now - timedelta(seconds=wait))
    longest = grace + _backoff_seconds(settings.ENGAGEMENT_MAX_ATTEMPTS + 1)
    return overdue | Q(
        attempts__gt=settings.ENGAGEMENT_MAX_ATTEMPTS,
        updated_at__lt=now - timedelta(seconds=longest),
    )


def messages_requeue_stuck(*, limit: int = 500, now: datetime | None = None) -> int:
    """Queue delivery again for messages left ``queued`` with no task to send them (the publish
    after commit failed while the broker was down, or a retry could not be scheduled).

    Never sends twice: delivery claims a message (queued → sending) with a conditional UPDATE,
    so if the original task was only late, whichever task claims first sends it and the other
    does nothing. A re-queued message is touched (``updated_at``), so it is queued again at most
    once per grace period while the broker is still down. Returns how many were re-queued.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.QUEUED)
            .filter(_queued_overdue(now))
            .order_by("updated_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return 0
        Message.objects.filter(pk__in=ids, status=MessageStatus.QUEUED).update(updated_at=now)
        _enqueue_after_commit(ids)
    logger.info("engagement: %d stuck queued message(s) re-queued", len(ids))
    return len(ids)


_PROVIDER_STATUS = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERABLE,
    "failed": MessageStatus.FAILED,
}


@transaction.atomic
def message_provider_status(
    *, provider_message_id: str, provider_status: str, error_code: str = ""
) -> Message | None:
    """Apply a provider's delivery report; never moves a message backwards or out of a final
    status, so replays and out-of-order callbacks are harmless."""
    new_status = _PROVIDER_STATUS.get(provider_status.lower())
    if new_status is None or not provider_message_id:
        return None
    message = (
        Message.objects.select_for_update().filter(provider_message_id=provider_message_id).first()
    )
    if message is None or message.status in FINAL_STATUSES or message.status == new_status:
        return message
    if new_status == MessageStatus.SENT and message.status != MessageStatus.SENDING:
        return message
    now = timezone.now()
    message.status = new_status
    if new_status == MessageStatus.DELIVERED:
        message.delivered_at = now
    elif new_status in (MessageStatus.FAILED, MessageStatus.UNDELIVERABLE):
        message.failed_at = now
        message.last_error = f"provider reported {provider_status} {error_code}".strip()
    message.save(update_fields=["status", "delivered_at", "failed_at", "last_error", "updated_at"])
    return message
