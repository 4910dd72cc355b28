"""Patients' invoices: issued when a booking is paid, credit notes for refunds, numbered per
clinic without gaps, immutable, emailed, downloadable as PDF (parsed back with pypdf)."""

import io
import threading

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from pypdf import PdfReader

from careos.actors import system_actor
from payments.models import ImmutableInvoiceError, PatientInvoice, Payment
from payments.services.catalogue import price_set
from payments.services.invoices import invoice_issue
from rbac.models import AuditEvent, User
from tests.infra import require_postgresql

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_paying_a_booking_issues_a_numbered_invoice_and_emails_it(paid_booking, clinic):
    _, payment = paid_booking()

    invoice = PatientInvoice.objects.get()
    assert invoice.kind == "invoice" and invoice.payment == payment
    assert (invoice.number, invoice.number_display) == (1, "HC-000001")
    assert (invoice.subtotal, invoice.discount_total, invoice.tax_total, invoice.total) == (
        15000,
        1500,
        900,
        14400,
    )
    assert invoice.seller["legalName"] == "Harbor Clinic LLC"
    assert invoice.seller["taxId"] == "EIN 12-3456789"
    assert [line["description"] for line in invoice.document["lines"]] == [
        "Consultation",
        "Blood test",
        "Discount FIRSTVISIT",
    ]
    assert invoice.document["taxes"] == [
        {"name": "Sales tax (10%)", "rate": "10.0000", "inclusive": False, "amount": 900}
    ]
    [email] = [m for m in mail.outbox if "HC-000001" in m.subject]
    assert email.to == ["pat@example.com"]
    assert f"/api/v1/patients/me/invoices/{invoice.public_id}.pdf" in email.body
    assert AuditEvent.objects.filter(
        action="payments.invoice.issued", target_ref=invoice.public_id
    ).exists()

    second, _ = paid_booking()
    assert PatientInvoice.objects.get(booking=second).number_display == "HC-000002"
    # A repeat issue returns the same invoice: no new number.
    assert invoice_issue(payment=payment, actor=system_actor("t")).pk == invoice.pk
    assert PatientInvoice.objects.count() == 2


def test_the_patient_downloads_the_pdf_with_the_total_and_number(
    api_client, paid_booking, patient, make_member
):
    paid_booking()
    invoice = PatientInvoice.objects.get()
    api_client.force_authenticate(patient)

    listed = api_client.get("/api/v1/patients/me/invoices").json()["results"]
    response = api_client.get(f"/api/v1/patients/me/invoices/{invoice.public_id}.pdf")

    assert [i["number"] for i in listed] == ["HC-000001"]
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in ("Invoice", "HC-000001", "144.00 USD", "Consultation", "Sales tax (10%)"):
        assert expected in text
    other = make_member(User.Kind.PATIENT, "patient")
    api_client.force_authenticate(other)
    assert (
        api_client.get(f"/api/v1/patients/me/invoices/{invoice.public_id}.pdf").status_code == 404
    )
    assert api_client.get("/api/v1/patients/me/invoices").json()["results"] == []


def test_a_spanish_patients_invoice_is_in_spanish(api_client, paid_booking, patient):
    patient.preferred_language = "es"
    patient.save()
    paid_booking()
    invoice = PatientInvoice.objects.get()
    api_client.force_authenticate(patient)

    text = pdf_text(api_client.get(f"/api/v1/patients/me/invoices/{invoice.public_id}.pdf").content)

    assert invoice.language == "es"
    for expected in (
        "Factura",
        "Número de factura",
        "Consulta",
        "Análisis de sangre",
        "Descuento FIRSTVISIT",
        "144.00 USD",
        "HC-000001",
    ):
        assert expected in text
    assert "Invoice number" not in text
    [email] = [m for m in mail.outbox if "HC-000001" in m.subject]
    assert email.subject == "Su factura HC-000001"


def test_staff_read_invoices_of_their_clinic_only_and_are_audited(
    api_client, paid_booking, billing_user, make_member, actor
):
    from rbac.services import clinic_create

    paid_booking()
    invoice = PatientInvoice.objects.get()
    api_client.force_authenticate(billing_user)

    pdf = api_client.get(f"/api/v1/payments/patient-invoices/{invoice.public_id}.pdf")
    html = api_client.get(f"/api/v1/payments/patient-invoices/{invoice.public_id}.html")
    listed = api_client.get("/api/v1/payments/patient-invoices").json()["results"]

    assert pdf.status_code == 200 and "HC-000001" in pdf_text(pdf.content)
    assert html.status_code == 200 and "144.00 USD" in html.content.decode()
    assert [i["id"] for i in listed] == [invoice.public_id]
    assert (
        AuditEvent.objects.filter(
            action="payments.patientinvoice.viewed", target_ref=invoice.public_id
        ).count()
        == 2
    )

    elsewhere = clinic_create(
        name="Elsewhere",
        slug="elsewhere",
        timezone="UTC",
        languages=["en"],
        regions=[],
        actor=actor,
    )
    outsider = make_member(User.Kind.STAFF, "billing", in_clinic=elsewhere)
    api_client.force_authenticate(outsider)
    url = f"/api/v1/payments/patient-invoices/{invoice.public_id}.pdf"
    assert api_client.get(url).status_code == 404
    assert api_client.get("/api/v1/payments/patient-invoices").json()["results"] == []


def test_an_issued_invoice_never_changes(paid_booking, catalogue, actor):
    paid_booking()
    invoice = PatientInvoice.objects.get()
    price_set(service=catalogue.consultation, amount=99900, currency="USD", actor=actor)

    invoice.total = 1
    with pytest.raises(ImmutableInvoiceError):
        invoice.save()
    with pytest.raises(ImmutableInvoiceError):
        invoice.delete()
    assert PatientInvoice.objects.get().total == 14400


def test_a_refund_issues_a_credit_note_with_its_share_of_the_tax(
    api_client, paid_booking, billing_user, fake_stripe, django_capture_on_commit_callbacks
):
    _, payment = paid_booking()
    api_client.force_authenticate(billing_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            f"/api/v1/payments/payments/{payment.public_id}/refunds",
            {"amount": 7200, "reason": "requested_by_customer"},
            format="json",
        )

    assert response.status_code == 201, response.content
    invoice, note = PatientInvoice.objects.order_by("number")
    assert (note.kind, note.number_display, note.credited_invoice) == (
        "credit_note",
        "CN-HC-000002",
        invoice,
    )
    # Half the payment refunded: half its 900 of tax.
    assert (note.total, note.tax_total) == (7200, 450)
    assert note.document["taxes"][0]["amount"] == 450
    assert [m for m in mail.outbox if "CN-HC-000002" in m.subject]


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_issues_get_fifty_consecutive_numbers(make_booking, clinic):
    require_postgresql()
    payments = []
    for _ in range(50):
        booking = make_booking(discount_code="")
        payments.append(
            Payment.objects.create(
                booking=booking,
                amount=booking.total_amount,
                currency=booking.currency,
                status=Payment.Status.SUCCEEDED,
                paid_at=timezone.now(),
            )
        )
    barrier = threading.Barrier(len(payments))
    errors: list[BaseException] = []

    def issue(payment: Payment) -> None:
        try:
            barrier.wait()
            invoice_issue(payment=payment, actor=system_actor("t"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(p,)) for p in payments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    numbers = sorted(PatientInvoice.objects.filter(clinic=clinic).values_list("number", flat=True))
    assert numbers == list(range(1, 51))
