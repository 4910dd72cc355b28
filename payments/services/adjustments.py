"""Staff's manual adjustment of a booking's total: the one place an amount is accepted from a
person, always with a reason, always audited, only before the booking is paid."""

import logging

from django.db import transaction
from django.db.models import Max
from django.utils import translation
from django.utils.translation import gettext

from careos.actors import Actor
from careos.errors import ConflictError, DomainError
from payments.models import Booking, BookingLineItem, Payment
from payments.providers.stripe_gateway import PaymentProviderError, stripe_gateway
from payments.services.common import InvalidAmountError
from rbac.models import User
from rbac.services import audit_record

logger = logging.getLogger(__name__)

MAX_ADJUSTMENT = 10**10


def _default_description(booking: Booking) -> str:
    with translation.override(booking.patient.preferred_language or "en"):
        return gettext("Manual adjustment")


def payment_intent_cancel_key(payment: Payment) -> str:
    return f"careos:payment:{payment.public_id}:payment_intent.cancel"


def booking_adjust(
    *,
    booking: Booking,
    amount: int,
    reason: str,
    actor: Actor | User,
    description: str = "",
) -> Booking:
    """Add a signed adjustment line (a negative amount lowers the total) to a booking awaiting
    payment. Its open payment is cancelled (here and at Stripe): paying again starts a payment
    of the new total."""
    reason = reason.strip()
    if not reason:
        raise DomainError("A manual adjustment needs a reason.", code="reason_required")
    if amount == 0 or abs(amount) > MAX_ADJUSTMENT:
        raise InvalidAmountError(f"An adjustment is non-zero, at most {MAX_ADJUSTMENT} either way.")
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status != Booking.Status.PENDING_PAYMENT:
            raise ConflictError(
                "Only a booking awaiting payment can be adjusted.", code="booking_not_adjustable"
            )
        total = booking.total_amount + amount
        if total <= 0:
            raise InvalidAmountError("The booking total must stay positive.")
        position = booking.line_items.aggregate(last=Max("position"))["last"]
        BookingLineItem.objects.create(
            booking=booking,
            position=(position or 0) + 1,
            kind=BookingLineItem.Kind.ADJUSTMENT,
            description=(description.strip() or _default_description(booking))[:200],
            quantity=1,
            unit_amount=abs(amount),
            amount=amount,
        )
        booking.total_amount = total
        booking.save(update_fields=["total_amount", "updated_at"])
        open_payments = list(booking.payments.filter(status=Payment.Status.REQUIRES_PAYMENT))
        Payment.objects.filter(pk__in=[p.pk for p in open_payments]).update(
            status=Payment.Status.CANCELED
        )
        audit_record(
            actor=actor,
            action="payments.booking.adjusted",
            target_type="payments.booking",
            target_ref=booking.public_id,
            patient=booking.patient,
            clinic=booking.clinic,
            reason=reason[:500],
            metadata={"amount": amount, "total": total, "currency": booking.currency},
        )
    for payment in open_payments:
        if not payment.stripe_payment_intent_id:
            continue
        try:
            stripe_gateway().cancel_payment_intent(
                intent_id=payment.stripe_payment_intent_id,
                idempotency_key=payment_intent_cancel_key(payment),
            )
        except PaymentProviderError as exc:
            # The adjustment stands; a stale intent that still succeeds is recorded as paid
            # (the money was taken) and logged with its amount mismatch.
            logger.warning("cancel of %s failed: %s", payment.public_id, exc.code)
    return booking
