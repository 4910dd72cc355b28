"""Stripe webhook events: stored on receipt (one row per Stripe event id), processed once in
Celery. Handlers are idempotent and tolerate any order of arrival."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from careos.actors import Actor, system_actor
from careos.queueing import enqueue_or_log
from payments.models import Payment, StripeEvent
from payments.services.bookings import payment_mark_failed, payment_mark_succeeded
from payments.services.payouts import transfer_mark_reversed
from payments.services.refunds import refunds_sync_from_charge
from rbac.services import audit_record

logger = logging.getLogger(__name__)

ACTOR = system_actor("payments.stripe_webhook")


def stripe_event_record(*, event: dict[str, Any]) -> tuple[StripeEvent, bool]:
    """Store a verified event; (row, created). A redelivered event id returns the first row."""
    existing = StripeEvent.objects.filter(stripe_id=event["id"]).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            row = StripeEvent.objects.create(
                stripe_id=event["id"],
                event_type=str(event.get("type", ""))[:100],
                livemode=bool(event.get("livemode", False)),
                stripe_created=datetime.fromtimestamp(int(event.get("created", 0)), tz=UTC),
                payload=event,
            )
            transaction.on_commit(lambda: _enqueue(row.pk))
    except IntegrityError:
        return StripeEvent.objects.get(stripe_id=event["id"]), False
    return row, True


def _enqueue(event_pk: int) -> bool:
    """Queue processing of a stored event; never raises (an event not queued stays
    ``received`` for ``stripe_events_requeue_stale``)."""
    from payments.tasks import process_stripe_event

    return enqueue_or_log(
        lambda: process_stripe_event.delay(event_pk=event_pk),
        what=f"processing of Stripe event row {event_pk}",
    )


def _obj(event: StripeEvent) -> dict[str, Any]:
    return event.payload.get("data", {}).get("object", {}) or {}


def _on_intent_succeeded(event: StripeEvent) -> bool:
    intent = _obj(event)
    latest = intent.get("latest_charge")
    charge_id = latest.get("id", "") if isinstance(latest, dict) else (latest or "")
    return (
        payment_mark_succeeded(
            intent_id=intent["id"],
            charge_id=charge_id,
            amount_received=int(intent.get("amount_received") or intent.get("amount") or 0),
            actor=ACTOR,
        )
        is not None
    )


def _on_intent_failed(event: StripeEvent) -> bool:
    intent = _obj(event)
    error = intent.get("last_payment_error") or {}
    return (
        payment_mark_failed(
            intent_id=intent["id"],
            failure_code=str(error.get("decline_code") or error.get("code") or "failed"),
            failure_message=str(error.get("message") or ""),
            actor=ACTOR,
        )
        is not None
    )


def _on_charge_refunded(event: StripeEvent) -> bool:
    charge = _obj(event)
    refunds = (charge.get("refunds") or {}).get("data") or []
    return (
        refunds_sync_from_charge(
            intent_id=str(charge.get("payment_intent") or ""),
            amount_refunded=int(charge.get("amount_refunded") or 0),
            refund_ids=[r["id"] for r in refunds if isinstance(r, dict) and "id" in r],
            actor=ACTOR,
        )
        is not None
    )


@transaction.atomic
def _on_dispute_created(event: StripeEvent) -> bool:
    dispute = _obj(event)
    intent_id = dispute.get("payment_intent") or ""
    charge_id = dispute.get("charge") or ""
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("booking__clinic")
        .filter(Q(stripe_payment_intent_id=intent_id) | Q(stripe_charge_id=charge_id))
        .exclude(stripe_payment_intent_id__isnull=True, stripe_charge_id="")
        .first()
        if intent_id or charge_id
        else None
    )
    if payment is None:
        return False
    if payment.disputed_at is None:
        payment.disputed_at = timezone.now()
        payment.save(update_fields=["disputed_at", "updated_at"])
        audit_record(
            actor=ACTOR,
            action="payments.payment.disputed",
            target_type="payments.payment",
            target_ref=payment.public_id,
            clinic=payment.booking.clinic,
            metadata={
                "dispute": str(dispute.get("id", "")),
                "reason": str(dispute.get("reason", "")),
            },
        )
    return True


def _on_transfer_reversed(event: StripeEvent) -> bool:
    return transfer_mark_reversed(transfer_id=str(_obj(event).get("id", "")), actor=ACTOR)


def _recorded_only(event: StripeEvent) -> bool:
    # transfer.created/updated and the connected accounts' payout.* only confirm what we did
    # (or happen on the account's side); they are kept for the record.
    return True


HANDLERS: dict[str, Callable[[StripeEvent], bool]] = {
    "payment_intent.succeeded": _on_intent_succeeded,
    "payment_intent.payment_failed": _on_intent_failed,
    "charge.refunded": _on_charge_refunded,
    "charge.dispute.created": _on_dispute_created,
    "transfer.reversed": _on_transfer_reversed,
}


def _handler_for(event_type: str) -> Callable[[StripeEvent], bool] | None:
    handler = HANDLERS.get(event_type)
    if handler is None and event_type.startswith(("transfer.", "payout.")):
        return _recorded_only
    return handler


def stripe_event_process(*, event_pk: int, actor: Actor = ACTOR) -> str:
    """Process one stored event at most once (claimed with a conditional UPDATE); returns the
    final status. A handler error leaves it ``failed`` for the task's retry."""
    claimed = StripeEvent.objects.filter(
        pk=event_pk, status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.FAILED]
    ).update(status=StripeEvent.Status.PROCESSING, attempts=F("attempts") + 1)
    if not claimed:
        return StripeEvent.objects.values_list("status", flat=True).get(pk=event_pk)
    event = StripeEvent.objects.get(pk=event_pk)
    handler = _handler_for(event.event_type)
    try:
        handled = handler(event) if handler is not None else False
    except Exception as exc:
        StripeEvent.objects.filter(pk=event_pk).update(
            status=StripeEvent.Status.FAILED, last_error=type(exc).__name__
        )
        raise
    status = StripeEvent.Status.PROCESSED if handled else StripeEvent.Status.IGNORED
    StripeEvent.objects.filter(pk=event_pk).update(
        status=status, processed_at=timezone.now(), last_error=""
    )
    return status


def stripe_events_requeue_stale(*, older_than_seconds: int = 600) -> int:
    """Events left ``received``/``failed`` (broker down at receipt, retries exhausted) are
    queued again by the beat sweep; returns how many were queued. Never raises."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pks = list(
        StripeEvent.objects.filter(
            status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.FAILED],
            received_at__lt=cutoff,
            attempts__lt=10,
        ).values_list("pk", flat=True)[:500]
    )
    queued = 0
    for pk in pks:
        if not _enqueue(pk):
            break  # the broker is down: the next sweep tries again
        queued += 1
    return queued
