"""Bookings stay inside the clinic: staff book only their clinic's patients (another clinic's
patient is a 404, checked by the service), and a booking whose Stripe call fails is not left
behind without an id (the whole request is rolled back; retrying it books once)."""

import pytest
import requests

from payments.models import Booking, Payment
from payments.services.bookings import booking_create
from rbac.errors import PatientNotInClinic
from rbac.models import AuditEvent, User
from rbac.services import clinic_create
from tests.payments.conftest import LINES_TOTAL
from tests.payments.test_bookings_webhooks import booking_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_clinic(actor):  # type: ignore[no-untyped-def]
    return clinic_create(
        name="Bay Clinic", slug="bay", timezone="UTC", languages=["en"], regions=[], actor=actor
    )


def test_staff_cannot_book_another_clinics_patient(
    api_client, make_member, clinic, other_clinic, catalogue, fake_stripe
):
    outsider = make_member(User.Kind.PATIENT, "patient", in_clinic=other_clinic)
    admin = make_member(User.Kind.STAFF, "clinic_admin")
    api_client.force_authenticate(admin)
    body = booking_body(catalogue, clinicId=clinic.public_id, patientId=outsider.public_id)

    response = api_client.post("/api/v1/payments/bookings", body, format="json")

    assert response.status_code == 404, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert not Booking.objects.exists()
    assert fake_stripe.posts("/v1/payment_intents") == []


def test_the_service_refuses_another_clinics_patient_for_any_caller(
    make_member, clinic, other_clinic, catalogue, actor
):
    outsider = make_member(User.Kind.PATIENT, "patient", in_clinic=other_clinic)
    with pytest.raises(PatientNotInClinic):
        booking_create(
            patient=outsider,
            clinic=clinic,
            starts_at=other_clinic.created_at,
            items=catalogue.orders,
            actor=actor,
        )
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError("connection reset"),
        (500, {"error": {"type": "api_error", "message": "boom"}}),
    ],
    ids=["unreachable", "server-error"],
)
@pytest.mark.parametrize("key", [None, "bk-retry"], ids=["no-key", "idempotency-key"])
def test_a_booking_whose_payment_call_fails_is_not_left_behind(
    api_client, patient, clinic, catalogue, fake_stripe, failure, key
):
    api_client.force_authenticate(patient)
    body = booking_body(catalogue, clinicId=clinic.public_id)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    fake_stripe.fail_next["/v1/payment_intents"] = failure

    failed = api_client.post("/api/v1/payments/bookings", body, format="json", **headers)

    assert failed.status_code == 503, failed.content
    assert failed.json()["code"] == "payment_provider_unavailable"
    assert not Booking.objects.exists() and not Payment.objects.exists()
    assert not AuditEvent.objects.filter(action="payments.booking.created").exists()

    retried = api_client.post("/api/v1/payments/bookings", body, format="json", **headers)

    assert retried.status_code == 201, retried.content
    booking = Booking.objects.get()
    assert retried.json()["booking"]["id"] == booking.public_id
    assert booking.total_amount == LINES_TOTAL
    assert booking.payments.get().client_secret == retried.json()["clientSecret"]
