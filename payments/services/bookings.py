"""Bookings, paying at booking (a Stripe PaymentIntent), confirmation and receipts."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from careos.actors import Actor, system_actor
from careos.errors import ConflictError, DomainError
from engagement.services.messages import NoAddressError, message_send
from partners.models import Partner
from payments.models import Booking, BookingLineItem, Payment, ServicePrice
from payments.providers.stripe_gateway import PaymentProviderError, stripe_gateway
from payments.services.common import (
    InvalidAmountError,
    as_actor,
    event_publish,
    format_money,
)
from payments.services.invoices import invoice_issue
from payments.services.pricing import ServiceOrder, booking_quote, booking_total, line_item_rows
from rbac.models import Clinic, User
from rbac.selectors import patient_clinic_require
from rbac.services import audit_record

logger = logging.getLogger(__name__)

RECEIPT_TEMPLATE_KEY = "payment_receipt"


@dataclass(frozen=True)
class PaymentStart:
    payment: Payment
    client_secret: str


class PaymentProviderUnavailable(DomainError):
    code = "payment_provider_unavailable"
    status = 503
    title = "The payment provider could not be reached"


@transaction.atomic
def booking_create(
    *,
    patient: User,
    clinic: Clinic,
    items: list[ServiceOrder],
    starts_at: datetime,
    actor: Actor | User,
    specialist: User | None = None,
    partner: Partner | None = None,
    discount_code: str = "",
    price_tier: str = ServicePrice.DEFAULT_TIER,
) -> Booking:
    """A booking awaiting payment, priced from the clinic's catalogue in force now
    (``payments.services.pricing``): the request names services, never amounts. Booked on the
    patient's behalf (not by the patient), the patient must be one of ``clinic``'s (else
    ``PatientNotInClinic``, a 404)."""
    if not (isinstance(actor, User) and actor.pk == patient.pk):
        patient_clinic_require(patient=patient, clinic=clinic)
    priced_at = timezone.now()
    quote = booking_quote(
        clinic=clinic,
        items=items,
        at=priced_at,
        tier=price_tier,
        discount_code=discount_code,
        language=patient.preferred_language or "en",
    )
    lines = line_item_rows(quote)
    total = booking_total(lines)
    if total <= 0:
        raise InvalidAmountError("The booking total must be positive.")
    booking = Booking.objects.create(
        patient=patient,
        clinic=clinic,
        specialist=specialist,
        partner=partner,
        service=", ".join(s.name_en for s in quote.services)[:200],
        starts_at=starts_at,
        currency=quote.currency,
        total_amount=total,
        priced_at=priced_at,
        price_tier=price_tier,
        discount_code=quote.discount,
    )
    for line in lines:
        line.booking = booking
    BookingLineItem.objects.bulk_create(lines)
    audit_record(
        actor=actor,
        action="payments.booking.created",
        target_type="payments.booking",
        target_ref=booking.public_id,
        patient=patient,
        clinic=clinic,
        metadata={"total": total, "currency": booking.currency},
    )
    return booking


def payment_intent_idempotency_key(payment: Payment) -> str:
    return f"careos:payment:{payment.public_id}:payment_intent.create"


def booking_pay(*, booking: Booking, actor: Actor | User) -> PaymentStart:
    """Start (or resume) paying ``booking``: a Stripe PaymentIntent whose client secret the
    patient's browser confirms. The booking is confirmed by Stripe's webhook, not here.

    Not one transaction on purpose: the Payment row commits before Stripe is called, so a
    crash between the two is retried with the same idempotency key and the same intent.
    """
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status != Booking.Status.PENDING_PAYMENT:
            raise ConflictError("This booking is not awaiting payment.", code="booking_not_payable")
        payment = (
            booking.payments.filter(status=Payment.Status.REQUIRES_PAYMENT)
            .order_by("-created_at")
            .first()
        )
        if payment is not None and payment.client_secret:
            return PaymentStart(payment=payment, client_secret=payment.client_secret)
        if payment is None:
            payment = Payment.objects.create(
                booking=booking, amount=booking.total_amount, currency=booking.currency
            )
            audit_record(
                actor=actor,
                action="payments.payment.created",
                target_type="payments.payment",
                target_ref=payment.public_id,
                patient=booking.patient,
                clinic=booking.clinic,
                metadata={"booking": booking.public_id, "amount": payment.amount},
            )
    try:
        intent = stripe_gateway().create_payment_intent(
            amount=payment.amount,
            currency=payment.currency,
            metadata={"payment_id": payment.public_id, "booking_id": booking.public_id},
            idempotency_key=payment_intent_idempotency_key(payment),
        )
    except PaymentProviderError as exc:
        logger.warning("payment intent for %s failed: %s", payment.public_id, exc.code)
        raise PaymentProviderUnavailable() from exc
    Payment.objects.filter(pk=payment.pk).update(
        stripe_payment_intent_id=intent.id, client_secret=intent.client_secret
    )
    payment.refresh_from_db()
    return PaymentStart(payment=payment, client_secret=intent.client_secret)


def _receipt_number(payment: Payment) -> str:
    return f"R-{payment.paid_at:%Y%m%d}-{payment.pk:06d}" if payment.paid_at else ""


def payment_event_payload(payment: Payment) -> dict[str, object]:
    return {
        "paymentId": payment.public_id,
        "bookingId": payment.booking.public_id,
        "amount": payment.amount,
        "amountRefunded": payment.amount_refunded,
        "currency": payment.currency,
        "status": payment.status,
    }


def _locked_by_intent(intent_id: str) -> Payment | None:
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("booking", "booking__partner", "booking__clinic", "booking__patient")
        .filter(stripe_payment_intent_id=intent_id)
        .first()
    )


@transaction.atomic
def payment_mark_succeeded(
    *, intent_id: str, charge_id: str, amount_received: int, actor: Actor
) -> Payment | None:
    """Stripe says the intent succeeded: the payment succeeds, the booking is confirmed and a
    receipt is sent. Repeats and late events change nothing. None if the intent is not ours."""
    payment = _locked_by_intent(intent_id)
    if payment is None:
        return None
    if payment.status == Payment.Status.SUCCEEDED:
        return payment
    if amount_received != payment.amount:
        logger.warning(
            "intent %s received %s, expected %s", intent_id, amount_received, payment.amount
        )
    payment.status = Payment.Status.SUCCEEDED
    payment.paid_at = timezone.now()
    payment.stripe_charge_id = charge_id or payment.stripe_charge_id
    payment.failure_code = payment.failure_message = ""
    payment.receipt_number = _receipt_number(payment)
    payment.save()
    booking = payment.booking
    if booking.status == Booking.Status.PENDING_PAYMENT:
        booking.status = Booking.Status.CONFIRMED
        booking.confirmed_at = payment.paid_at
        booking.save(update_fields=["status", "confirmed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="payments.payment.succeeded",
        target_type="payments.payment",
        target_ref=payment.public_id,
        patient=booking.patient,
        clinic=booking.clinic,
        metadata={"booking": booking.public_id, "amount": payment.amount},
    )
    event_publish(
        event_type="payment.succeeded",
        owner=booking.partner,
        payload=payment_event_payload(payment),
        key=f"payment.succeeded:{payment.public_id}",
    )
    receipt_send(payment=payment, actor=actor)
    invoice_issue(payment=payment, actor=actor)
    return payment


@transaction.atomic
def payment_mark_failed(
    *, intent_id: str, failure_code: str, failure_message: str, actor: Actor
) -> Payment | None:
    """A failed attempt; ignored once the payment succeeded (events may arrive out of order)."""
    payment = _locked_by_intent(intent_id)
    if payment is None or payment.status != Payment.Status.REQUIRES_PAYMENT:
        return payment
    payment.status = Payment.Status.FAILED
    payment.failure_code = failure_code[:100]
    payment.failure_message = failure_message[:500]
    payment.save(update_fields=["status", "failure_code", "failure_message", "updated_at"])
    audit_record(
        actor=actor,
        action="payments.payment.failed",
        target_type="payments.payment",
        target_ref=payment.public_id,
        clinic=payment.booking.clinic,
        metadata={"failure_code": payment.failure_code},
    )
    event_publish(
        event_type="payment.failed",
        owner=payment.booking.partner,
        payload={**payment_event_payload(payment), "failureCode": payment.failure_code},
        key=f"payment.failed:{payment.public_id}",
    )
    return payment


@transaction.atomic
def booking_complete(*, booking: Booking, actor: Actor | User) -> Booking:
    """The appointment took place; a paid, completed booking counts toward the payout."""
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if booking.status == Booking.Status.COMPLETED:
        return booking
    if booking.status != Booking.Status.CONFIRMED:
        raise ConflictError(
            "Only a confirmed booking can be completed.", code="booking_not_confirmed"
        )
    booking.status = Booking.Status.COMPLETED
    booking.completed_at = timezone.now()
    booking.save(update_fields=["status", "completed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="payments.booking.completed",
        target_type="payments.booking",
        target_ref=booking.public_id,
        clinic=booking.clinic,
    )
    return booking


@transaction.atomic
def booking_cancel(*, booking: Booking, actor: Actor | User, reason: str = "") -> Booking:
    """Cancel a booking not yet paid (a paid one is refunded first, then cancelled)."""
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if booking.status == Booking.Status.CANCELLED:
        return booking
    paid = booking.payments.filter(status=Payment.Status.SUCCEEDED)
    if booking.status == Booking.Status.COMPLETED or any(
        p.amount_refunded < p.amount for p in paid
    ):
        raise ConflictError(
            "Refund the payment before cancelling this booking.", code="booking_paid"
        )
    booking.status = Booking.Status.CANCELLED
    booking.save(update_fields=["status", "updated_at"])
    booking.payments.filter(status=Payment.Status.REQUIRES_PAYMENT).update(
        status=Payment.Status.CANCELED
    )
    audit_record(
        actor=actor,
        action="payments.booking.cancelled",
        target_type="payments.booking",
        target_ref=booking.public_id,
        clinic=booking.clinic,
        reason=reason,
    )
    return booking


def receipt_html(*, booking: Booking, language: str | None = None) -> str:
    """The itemized receipt of a paid booking as a standalone HTML page."""
    payment = booking.payments.filter(status=Payment.Status.SUCCEEDED).first()
    lines = list(booking.line_items.all())
    with translation.override(language or booking.patient.preferred_language or "en"):
        return render_to_string(
            "payments/receipt.html",
            {
                "booking": booking,
                "payment": payment,
                "lines": [
                    {
                        "kind": line.get_kind_display(),
                        "description": line.description,
                        "quantity": line.quantity,
                        "unit": format_money(line.unit_amount, booking.currency),
                        "amount": format_money(line.amount, booking.currency),
                    }
                    for line in lines
                ],
                "total": format_money(booking.total_amount, booking.currency),
                "refunded": format_money(payment.amount_refunded, booking.currency)
                if payment and payment.amount_refunded
                else "",
            },
        )


def _receipt_lines_text(booking: Booking) -> str:
    return "\n".join(
        f"{line.quantity} x {line.description}: {format_money(line.amount, booking.currency)}"
        for line in booking.line_items.all()
    )


def receipt_send(*, payment: Payment, actor: Actor | User | None = None) -> None:
    """Email the itemized receipt (engagement queues it; one per payment)."""
    booking = payment.booking
    try:
        message_send(
            channel="email",
            recipient=booking.patient,
            purpose="payment_receipt",
            template_key=RECEIPT_TEMPLATE_KEY,
            context={
                "receipt_number": payment.receipt_number,
                "service": booking.service,
                "items": _receipt_lines_text(booking),
                "total": format_money(payment.amount, payment.currency),
                "booking_id": booking.public_id,
            },
            dedupe_key=payment.public_id,
            urgent=True,
            actor=as_actor(actor) if actor is not None else system_actor("payments.receipt"),
            clinic=booking.clinic,
        )
    except NoAddressError:
        logger.info("no email address for the receipt of %s", payment.public_id)
    except DomainError as exc:
        # A broken receipt template must not undo the payment's confirmation.
        logger.error("receipt of %s not sent: %s", payment.public_id, exc.code)
