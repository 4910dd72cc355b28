"""A booking's service and its line item descriptions are encrypted at rest (they can name a
condition or a procedure), and so is the booking answer kept for Idempotency-Key replays; the
key rotation command covers them."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from careos.encryption_rotation import encrypted_models
from careos.models import IdempotencyRecord
from payments.models import Booking, BookingLineItem
from tests.payments.catalogue import service_make
from tests.payments.test_bookings_webhooks import BOOKING_BODY

pytestmark = pytest.mark.django_db
SERVICE = "HIV counselling"


def raw(model, pk, column: str) -> str:  # type: ignore[no-untyped-def]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return str(cursor.fetchone()[0])


def _book(api_client, patient, clinic, catalogue, actor):  # type: ignore[no-untyped-def]
    """Books the clinic's catalogue service named SERVICE (its name becomes the booking's
    service and its line's description)."""
    service = service_make(
        clinic=clinic,
        code="hiv-counselling",
        name=SERVICE,
        category="consultation",
        amount=9000,
        actor=actor,
    )
    api_client.force_authenticate(patient)
    body = {
        **BOOKING_BODY,
        "discountCode": "",
        "clinicId": clinic.public_id,
        "items": [{"serviceId": service.public_id}],
    }
    response = api_client.post(
        "/api/v1/payments/bookings", body, format="json", HTTP_IDEMPOTENCY_KEY="bk-phi"
    )
    assert response.status_code == 201, response.content
    return body, response


def test_booking_texts_and_the_stored_answer_are_encrypted(
    api_client, patient, clinic, catalogue, actor, fake_stripe
):
    body, first = _book(api_client, patient, clinic, catalogue, actor)
    booking = Booking.objects.get()
    line = BookingLineItem.objects.get(kind="service")
    assert "HIV" not in raw(Booking, booking.pk, "service")
    assert "HIV" not in raw(BookingLineItem, line.pk, "description")
    assert (booking.service, line.description) == (SERVICE, SERVICE)
    assert str(line) != SERVICE
    record = IdempotencyRecord.objects.get()
    assert "HIV" not in raw(IdempotencyRecord, record.pk, "response_body")
    assert "pi_" not in raw(IdempotencyRecord, record.pk, "response_body")  # the client secret

    again = api_client.post(
        "/api/v1/payments/bookings", body, format="json", HTTP_IDEMPOTENCY_KEY="bk-phi"
    )
    assert again.json() == first.json()


def test_key_rotation_covers_booking_texts(
    settings, api_client, patient, clinic, catalogue, actor, fake_stripe
):
    covered = {(model._meta.label, name) for model, names in encrypted_models() for name in names}
    assert {("payments.Booking", "service"), ("payments.BookingLineItem", "description")} <= covered
    _book(api_client, patient, clinic, catalogue, actor)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]

    call_command("rotate_encryption_keys", stdout=StringIO())

    booking = Booking.objects.get()
    line = BookingLineItem.objects.get(kind="service")
    assert Fernet(new_key).decrypt(raw(Booking, booking.pk, "service").encode()).decode() == SERVICE
    token = raw(BookingLineItem, line.pk, "description")
    assert Fernet(new_key).decrypt(token.encode()).decode() == SERVICE
