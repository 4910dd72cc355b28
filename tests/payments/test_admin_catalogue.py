"""The catalogue console: services with price history, prices added through price_set,
discount codes, tax rates, invoices with their PDF preview, a booking's pricing breakdown."""

import pytest
from django.urls import reverse

from payments.models import PatientInvoice, ServicePrice
from rbac.models import AuditEvent, User
from tests.payments.test_invoices import pdf_text

pytestmark = pytest.mark.django_db

MODELS = [
    "catalogueservice",
    "serviceprice",
    "discountcode",
    "taxrate",
    "clinicbillingprofile",
    "patientinvoice",
]


@pytest.fixture
def console(client, db):  # type: ignore[no-untyped-def]
    user = User.objects.create_superuser(username="root", password="pw", kind=User.Kind.STAFF)
    client.force_login(user)
    return client


def test_changelists_render_without_a_query_per_row(
    console, paid_booking, django_assert_max_num_queries
):
    paid_booking()
    paid_booking()
    for model in MODELS:
        url = reverse(f"admin:payments_{model}_changelist")
        with django_assert_max_num_queries(25):
            response = console.get(url)
        assert response.status_code == 200, model
    services = console.get(reverse("admin:payments_catalogueservice_changelist")).content
    assert b"standard: 100.00 USD" in services


def test_a_price_added_in_the_console_closes_the_previous_one(console, catalogue):
    response = console.post(
        reverse("admin:payments_serviceprice_add"),
        {
            "service": catalogue.consultation.pk,
            "tier": "standard",
            "amount": 12500,
            "currency": "usd",
        },
    )

    assert response.status_code == 302, response.content
    old, new = catalogue.consultation.prices.order_by("effective_from")
    assert old.effective_until == new.effective_from and new.effective_until is None
    assert (new.amount, new.currency) == (12500, "USD")
    assert AuditEvent.objects.filter(action="payments.price.set", target_ref=new.public_id).exists()
    page = console.get(
        reverse("admin:payments_catalogueservice_change", args=[catalogue.consultation.pk])
    )
    assert b"12500" in page.content and b"10000" in page.content

    past = console.post(
        reverse("admin:payments_serviceprice_add"),
        {
            "service": catalogue.consultation.pk,
            "tier": "standard",
            "amount": 1,
            "currency": "USD",
            "effective_from": "2000-01-01 00:00:00",
        },
    )
    assert past.status_code == 200 and b"already starts" in past.content
    assert ServicePrice.objects.filter(amount=1).count() == 0


def test_console_changes_to_discount_codes_are_audited(console, clinic):
    response = console.post(
        reverse("admin:payments_discountcode_add"),
        {
            "clinic": clinic.pk,
            "code": "SUMMER",
            "kind": "percent",
            "percent": "12.5",
            "currency": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content
    assert AuditEvent.objects.filter(action="payments.discountcode.created").exists()


def test_booking_page_shows_how_the_total_was_computed(console, paid_booking):
    booking, _ = paid_booking()
    page = console.get(reverse("admin:payments_booking_change", args=[booking.pk])).content.decode()
    for text in (
        "How the total was computed",
        "150.00 USD",
        "-15.00 USD",
        "FIRSTVISIT",
        "Sales tax (10%)",
        "9.00 USD",
        "144.00 USD",
    ):
        assert text in page


def test_invoice_page_previews_the_pdf_and_audits_it(console, paid_booking):
    paid_booking()
    invoice = PatientInvoice.objects.get()
    page = console.get(reverse("admin:payments_patientinvoice_change", args=[invoice.pk]))
    pdf_url = reverse("admin:payments_patientinvoice_render", args=[invoice.pk, "pdf"])
    assert page.status_code == 200 and pdf_url in page.content.decode()

    pdf = console.get(pdf_url)
    html = console.get(reverse("admin:payments_patientinvoice_render", args=[invoice.pk, "html"]))

    assert pdf["Content-Type"] == "application/pdf" and "HC-000001" in pdf_text(pdf.content)
    assert "144.00 USD" in html.content.decode()
    assert AuditEvent.objects.filter(action="payments.patientinvoice.viewed").count() == 2
    bad = reverse("admin:payments_patientinvoice_render", args=[invoice.pk, "docx"])
    assert console.get(bad).status_code == 404
