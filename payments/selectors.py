"""payments reads shared by the API and the admin; tenant scoping lives here."""

from django.db.models import QuerySet

from careos.errors import NotFoundError
from partners.models import Partner
from payments.models import Booking, PartnerInvoice, PartnerPayment, PatientInvoice, Payment
from rbac.models import User
from rbac.selectors import scope_to_user


def bookings_for_user(*, user: User) -> QuerySet[Booking]:
    """Bookings ``user`` may see: their own as patient, their clinics' with view_booking."""
    return scope_to_user(
        Booking.objects.select_related("clinic", "patient", "specialist").prefetch_related(
            "line_items", "payments"
        ),
        user,
        "payments.view_booking",
        own_field="patient",
    )


def booking_for_user(*, user: User, public_id: str) -> Booking:
    booking = bookings_for_user(user=user).filter(public_id=public_id).first()
    if booking is None:
        raise NotFoundError("No such booking.")
    return booking


def payment_for_user(*, user: User, public_id: str) -> Payment:
    payment = (
        scope_to_user(
            Payment.objects.select_related("booking__clinic", "booking__partner"),
            user,
            "payments.view_payment",
            clinic_field="booking__clinic",
        )
        .filter(public_id=public_id)
        .first()
    )
    if payment is None:
        raise NotFoundError("No such payment.")
    return payment


def partner_payments_for(
    *, partner: Partner, status: str | None = None
) -> QuerySet[PartnerPayment]:
    queryset = PartnerPayment.objects.filter(partner=partner)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def partner_invoices_for(*, partner: Partner) -> QuerySet[PartnerInvoice]:
    return PartnerInvoice.objects.filter(partner=partner).prefetch_related("lines")


def patient_invoices_for(*, user: User) -> QuerySet[PatientInvoice]:
    """Invoices and credit notes ``user`` may see: their own as patient, their clinics' with
    view_patientinvoice."""
    return scope_to_user(
        PatientInvoice.objects.select_related("clinic", "patient", "booking", "credited_invoice"),
        user,
        "payments.view_patientinvoice",
        own_field="patient",
    )


def patient_invoice_for(*, user: User, public_id: str, own_only: bool = False) -> PatientInvoice:
    queryset = (
        PatientInvoice.objects.select_related(
            "clinic", "patient", "booking", "credited_invoice"
        ).filter(patient=user)
        if own_only
        else patient_invoices_for(user=user)
    )
    invoice = queryset.filter(public_id=public_id).first()
    if invoice is None:
        raise NotFoundError("No such invoice.")
    return invoice
