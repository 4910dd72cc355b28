"""Refunds: full or partial, never more than what remains refundable."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from careos.actors import Actor, system_actor
from careos.errors import ConflictError, DomainError, PermissionDeniedError
from payments.models import Payment, Refund
from payments.providers.stripe_gateway import PaymentProviderError, stripe_gateway
from payments.services.bookings import payment_event_payload
from payments.services.common import InvalidAmountError, actor_label, event_publish
from payments.services.invoices import credit_note_issue
from rbac.models import User
from rbac.selectors import user_can
from rbac.services import audit_record

logger = logging.getLogger(__name__)

REFUND_PERMISSION = "payments.refund_payment"


class OverRefundError(ConflictError):
    code = "refund_exceeds_refundable"
    title = "The refund is larger than what remains refundable"


def _check_permission(actor: Actor | User, payment: Payment) -> None:
    if isinstance(actor, User) and not user_can(actor, REFUND_PERMISSION, payment.booking):
        raise PermissionDeniedError("Refunds need the billing role in this clinic.")


def refund_idempotency_key(refund: Refund) -> str:
    return f"careos:refund:{refund.public_id}:refund.create"


def refund_create(
    *,
    payment: Payment,
    amount: int | None,
    reason: str,
    actor: Actor | User,
    note: str = "",
) -> Refund:
    """Refund ``amount`` (None: everything still refundable) of ``payment`` through Stripe.

    The amount is reserved on the locked payment row before Stripe is called, so concurrent
    refunds can never exceed the payment; a refund Stripe refuses releases its reservation.
    Raises ``OverRefundError``, ``InvalidAmountError``, ``PermissionDeniedError``.
    """
    if reason not in Refund.Reason.values:
        raise DomainError(
            f"Unknown refund reason {reason!r}.", code="invalid_reason", extra={"field": "reason"}
        )
    with transaction.atomic():
        locked = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("booking")
            .get(pk=payment.pk)
        )
        _check_permission(actor, locked)
        if locked.status != Payment.Status.SUCCEEDED:
            raise ConflictError(
                "Only a succeeded payment can be refunded.", code="payment_not_refundable"
            )
        remaining = locked.amount - locked.amount_refunded
        amount = remaining if amount is None else amount
        if amount <= 0:
            raise InvalidAmountError(
                "The refund amount must be positive.", extra={"field": "amount"}
            )
        if amount > remaining:
            raise OverRefundError(
                f"At most {remaining} {locked.currency} remains refundable.",
                extra={"refundable": remaining},
            )
        refund = Refund.objects.create(
            payment=locked,
            amount=amount,
            currency=locked.currency,
            reason=reason,
            note=note[:500],
            created_by=actor_label(actor),
        )
        Payment.objects.filter(pk=locked.pk).update(amount_refunded=F("amount_refunded") + amount)
        audit_record(
            actor=actor,
            action="payments.refund.created",
            target_type="payments.refund",
            target_ref=refund.public_id,
            clinic=locked.booking.clinic,
            reason=reason,
            metadata={"payment": locked.public_id, "amount": amount},
        )
    return refund_submit(refund=refund)


def refund_submit(*, refund: Refund) -> Refund:
    """Send a pending refund to Stripe (again, after a network error: same idempotency key,
    so Stripe refunds at most once). A network error leaves it pending for the retry job;
    a refusal raises ``ConflictError`` and releases the reservation."""
    refund = Refund.objects.select_related("payment").get(pk=refund.pk)
    if refund.status != Refund.Status.PENDING or refund.stripe_refund_id:
        return refund
    payment = refund.payment
    try:
        result = stripe_gateway().create_refund(
            payment_intent=payment.stripe_payment_intent_id or "",
            amount=refund.amount,
            reason=refund.reason,
            metadata={"refund_id": refund.public_id, "payment_id": payment.public_id},
            idempotency_key=refund_idempotency_key(refund),
        )
    except PaymentProviderError as exc:
        if exc.transient:
            # Stripe may or may not have it: it stays pending (and reserved) and
            # refunds_retry_pending sends it again with the same key (or charge.refunded
            # settles it). Not an error for the caller: the refund is accepted.
            logger.warning("refund %s not yet sent to Stripe: %s", refund.public_id, exc.code)
            return refund
        refund_mark_failed(refund=refund, error=exc.code)
        raise ConflictError("Stripe refused the refund.", code="refund_refused") from exc
    with transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(stripe_refund_id=result.id)
        refund.stripe_refund_id = result.id
        if result.status == "succeeded":
            refund_mark_succeeded(refund=refund, actor=system_actor("payments.refund"))
        elif result.status in ("failed", "canceled"):
            refund_mark_failed(refund=refund, error=result.status)
    refund.refresh_from_db()
    return refund


def refunds_retry_pending(*, older_than_seconds: int = 300) -> int:
    """Resubmit refunds a network error left unsent (beat); returns how many were sent."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    sent = 0
    for refund in Refund.objects.filter(
        status=Refund.Status.PENDING, stripe_refund_id__isnull=True, created_at__lt=cutoff
    ):
        try:
            submitted = refund_submit(refund=refund)
        except DomainError:
            continue
        sent += bool(submitted.stripe_refund_id)
    return sent


@transaction.atomic
def refund_mark_succeeded(*, refund: Refund, actor: Actor) -> Refund:
    refund = (
        Refund.objects.select_for_update(of=("self",))
        .select_related("payment__booking__partner")
        .get(pk=refund.pk)
    )
    if refund.status != Refund.Status.PENDING:
        return refund
    refund.status = Refund.Status.SUCCEEDED
    refund.save(update_fields=["status", "updated_at"])
    payment = Payment.objects.select_related("booking__partner").get(pk=refund.payment_id)
    audit_record(
        actor=actor,
        action="payments.refund.succeeded",
        target_type="payments.refund",
        target_ref=refund.public_id,
        clinic=payment.booking.clinic,
        metadata={"payment": payment.public_id, "amount": refund.amount},
    )
    event_publish(
        event_type="payment.refunded",
        owner=payment.booking.partner,
        payload={
            **payment_event_payload(payment),
            "refundId": refund.public_id,
            "refundAmount": refund.amount,
        },
        key=f"payment.refunded:{refund.public_id}",
    )
    credit_note_issue(refund=refund, actor=actor)
    return refund


@transaction.atomic
def refund_mark_failed(*, refund: Refund, error: str) -> Refund:
    """Stripe refused or failed the refund: release its reservation on the payment."""
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status == Refund.Status.FAILED:
        return refund
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("booking")
        .get(pk=refund.payment_id)
    )
    refund.status = Refund.Status.FAILED
    refund.note = f"{refund.note} [{error}]".strip()[:500]
    refund.save(update_fields=["status", "note", "updated_at"])
    Payment.objects.filter(pk=payment.pk).update(
        amount_refunded=F("amount_refunded") - refund.amount
    )
    audit_record(
        actor=system_actor("payments.refund"),
        action="payments.refund.failed",
        target_type="payments.refund",
        target_ref=refund.public_id,
        clinic=payment.booking.clinic,
        metadata={"error": error[:100]},
    )
    return refund


@transaction.atomic
def refunds_sync_from_charge(
    *, intent_id: str, amount_refunded: int, refund_ids: list[str], actor: Actor
) -> Payment | None:
    """``charge.refunded``: settle our pending refunds Stripe reports, and record refunds made
    outside CareOS (Stripe dashboard) so the refundable amount stays right. Idempotent."""
    payment = Payment.objects.select_for_update().filter(stripe_payment_intent_id=intent_id).first()
    if payment is None:
        return None
    pending = payment.refunds.filter(status=Refund.Status.PENDING)
    reported = set(refund_ids)
    for refund in pending:
        # Without the refund list (newer API versions do not expand it), a total that covers
        # every reservation means every pending refund went through.
        if refund.stripe_refund_id in reported or amount_refunded >= payment.amount_refunded:
            refund_mark_succeeded(refund=refund, actor=actor)
    known = (
        payment.refunds.exclude(status=Refund.Status.FAILED).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    external = min(amount_refunded, payment.amount) - known
    if external > 0:
        refund = Refund.objects.create(
            payment=payment,
            amount=external,
            currency=payment.currency,
            reason=Refund.Reason.OTHER,
            note="Refunded outside CareOS (reported by Stripe).",
            created_by=str(actor),
        )
        Payment.objects.filter(pk=payment.pk).update(
            amount_refunded=F("amount_refunded") + external
        )
        refund_mark_succeeded(refund=refund, actor=actor)
    payment.refresh_from_db()
    return payment
