"""Patients' invoices and credit notes: issued when a booking is paid (or a refund succeeds),
numbered per clinic without gaps, a snapshot that never changes, emailed to the patient.

The number comes from the clinic's ``InvoiceSequence`` row, locked with ``SELECT … FOR UPDATE``
in the transaction that writes the invoice: concurrent issues queue on that row and get
consecutive numbers, and a transaction that rolls back gives its number back (no gap).
Rendering (HTML, PDF) is in ``payments.services.invoice_render``.
"""

import json
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from careos.actors import Actor, system_actor
from careos.errors import DomainError
from engagement.services.messages import NoAddressError, message_send
from payments.models import (
    Booking,
    BookingLineItem,
    ClinicBillingProfile,
    InvoiceSequence,
    PatientInvoice,
    Payment,
    Refund,
)
from payments.services.common import as_actor, format_money
from payments.services.pricing import proportional_shares
from rbac.models import Clinic, User
from rbac.services import audit_record

logger = logging.getLogger(__name__)

INVOICE_TEMPLATE_KEY = "patient_invoice"
CREDIT_NOTE_TEMPLATE_KEY = "patient_credit_note"
_SERVICE_KINDS = (BookingLineItem.Kind.SERVICE, BookingLineItem.Kind.PROCEDURE)


def invoice_number_take(*, clinic: Clinic) -> int:
    """The clinic's next invoice number; call inside the transaction that writes the invoice."""
    if not InvoiceSequence.objects.filter(clinic=clinic).exists():
        try:
            with transaction.atomic():
                InvoiceSequence.objects.create(clinic=clinic)
        except IntegrityError:
            pass  # created by a concurrent first issue: lock that one
    sequence = InvoiceSequence.objects.select_for_update().get(clinic=clinic)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number


def _seller(clinic: Clinic) -> dict[str, str]:
    profile = ClinicBillingProfile.objects.filter(clinic=clinic).first()
    if profile is None:
        return {"name": clinic.name, "legalName": clinic.name, "taxId": "", "address": ""}
    return {
        "name": clinic.name,
        "legalName": profile.legal_name,
        "taxId": profile.tax_id,
        "address": profile.address,
        "email": profile.email,
    }


def _prefix(clinic: Clinic) -> str:
    profile = ClinicBillingProfile.objects.filter(clinic=clinic).first()
    return profile.invoice_prefix if profile else "INV"


def _buyer(patient: User) -> dict[str, str]:
    name = f"{patient.first_name} {patient.last_name}".strip()
    return {"name": name or patient.username, "id": patient.public_id}


def _line(item: BookingLineItem) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "description": item.description,
        "quantity": item.quantity,
        "unitAmount": item.unit_amount,
        "amount": item.amount,
        "discountAmount": item.discount_amount,
        "taxRate": str(item.tax_rate) if item.tax_rate is not None else None,
        "taxAmount": item.tax_amount,
    }


def _tax(item: BookingLineItem) -> dict[str, Any]:
    return {
        "name": item.description,
        "rate": str(item.tax_rate) if item.tax_rate is not None else None,
        "inclusive": item.tax_inclusive,
        "amount": item.amount,
    }


def _payment(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.public_id,
        "receiptNumber": payment.receipt_number,
        "paidAt": payment.paid_at.isoformat() if payment.paid_at else None,
        "amount": payment.amount,
        "method": "card",
    }


def _create(**fields: Any) -> PatientInvoice:
    clinic: Clinic = fields["clinic"]
    number = invoice_number_take(clinic=clinic)
    kind_prefix = "CN-" if fields["kind"] == PatientInvoice.Kind.CREDIT_NOTE else ""
    return PatientInvoice.objects.create(
        number=number, number_display=f"{kind_prefix}{_prefix(clinic)}-{number:06d}", **fields
    )


@transaction.atomic
def invoice_issue(*, payment: Payment, actor: Actor | User) -> PatientInvoice:
    """The invoice of a succeeded payment (the existing one on a repeat)."""
    existing = PatientInvoice.objects.filter(
        payment=payment, kind=PatientInvoice.Kind.INVOICE
    ).first()
    if existing is not None:
        return existing
    if payment.status != Payment.Status.SUCCEEDED:
        raise DomainError("Only a paid booking is invoiced.", code="payment_not_succeeded")
    booking: Booking = payment.booking
    items = list(booking.line_items.all())
    services = [item for item in items if item.kind in _SERVICE_KINDS]
    taxes = [item for item in items if item.kind == BookingLineItem.Kind.TAX]
    lines = [item for item in items if item.kind != BookingLineItem.Kind.TAX]
    document = {
        "buyer": _buyer(booking.patient),
        "lines": [_line(item) for item in lines],
        "taxes": [_tax(item) for item in taxes],
        "payment": _payment(payment),
        "booking": {"id": booking.public_id, "startsAt": booking.starts_at.isoformat()},
    }
    invoice = _create(
        clinic=booking.clinic,
        kind=PatientInvoice.Kind.INVOICE,
        booking=booking,
        payment=payment,
        patient=booking.patient,
        language=booking.patient.preferred_language or "en",
        currency=payment.currency,
        subtotal=sum(item.amount for item in services),
        discount_total=-sum(
            item.amount for item in items if item.kind == BookingLineItem.Kind.DISCOUNT
        ),
        tax_total=sum(item.amount for item in taxes),
        total=payment.amount,
        seller=_seller(booking.clinic),
        document_json=json.dumps(document),
        issued_at=timezone.now(),
    )
    _issued(invoice=invoice, actor=actor)
    return invoice


@transaction.atomic
def credit_note_issue(*, refund: Refund, actor: Actor | User) -> PatientInvoice | None:
    """The credit note of a succeeded refund, against the payment's invoice (None when the
    payment was never invoiced). Its tax is the invoice's, in proportion to the refund."""
    existing = PatientInvoice.objects.filter(refund=refund).first()
    if existing is not None:
        return existing
    invoice = PatientInvoice.objects.filter(
        payment_id=refund.payment_id, kind=PatientInvoice.Kind.INVOICE
    ).first()
    if invoice is None:
        return None
    taxes = invoice.document.get("taxes", [])
    tax_part = min(refund.amount, invoice.tax_total * refund.amount // max(invoice.total, 1))
    shares = proportional_shares(tax_part, [max(int(t["amount"]), 0) for t in taxes])
    document = {
        "buyer": invoice.document.get("buyer", {}),
        "lines": [
            {
                "kind": "refund",
                "description": invoice.number_display,
                "quantity": 1,
                "unitAmount": refund.amount,
                "amount": refund.amount,
            }
        ],
        "taxes": [{**tax, "amount": share} for tax, share in zip(taxes, shares, strict=True)],
        "payment": {"id": refund.public_id, "amount": refund.amount, "method": "refund"},
        "booking": invoice.document.get("booking", {}),
        "credits": invoice.number_display,
    }
    note = _create(
        clinic=invoice.clinic,
        kind=PatientInvoice.Kind.CREDIT_NOTE,
        booking=invoice.booking,
        payment=invoice.payment,
        refund=refund,
        credited_invoice=invoice,
        patient=invoice.patient,
        language=invoice.language,
        currency=invoice.currency,
        subtotal=refund.amount,
        tax_total=tax_part,
        total=refund.amount,
        seller=invoice.seller,
        document_json=json.dumps(document),
        issued_at=timezone.now(),
    )
    _issued(invoice=note, actor=actor)
    return note


def _issued(*, invoice: PatientInvoice, actor: Actor | User) -> None:
    audit_record(
        actor=actor,
        action=f"payments.{invoice.kind}.issued",
        target_type="payments.patientinvoice",
        target_ref=invoice.public_id,
        patient=invoice.patient,
        clinic=invoice.clinic,
        metadata={"number": invoice.number_display, "total": invoice.total},
    )
    invoice_email(invoice=invoice, actor=actor)


def invoice_download_url(invoice: PatientInvoice) -> str:
    path = reverse("payments:my-invoice-pdf", kwargs={"invoice_id": invoice.public_id})
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def invoice_email(*, invoice: PatientInvoice, actor: Actor | User | None = None) -> None:
    """Email the patient their invoice (or credit note) with its download link; once each."""
    try:
        message_send(
            channel="email",
            recipient=invoice.patient,
            purpose="patient_invoice",
            template_key=INVOICE_TEMPLATE_KEY
            if invoice.kind == PatientInvoice.Kind.INVOICE
            else CREDIT_NOTE_TEMPLATE_KEY,
            context={
                "number": invoice.number_display,
                "clinic": invoice.seller.get("legalName") or invoice.seller.get("name", ""),
                "total": format_money(invoice.total, invoice.currency),
                "url": invoice_download_url(invoice),
            },
            language=invoice.language,
            dedupe_key=invoice.public_id,
            urgent=True,
            actor=as_actor(actor) if actor is not None else system_actor("payments.invoice"),
            clinic=invoice.clinic,
        )
    except NoAddressError:
        logger.info("no email address for invoice %s", invoice.public_id)
    except DomainError as exc:
        # A broken template must not undo the payment the invoice records.
        logger.error("invoice %s not emailed: %s", invoice.public_id, exc.code)
