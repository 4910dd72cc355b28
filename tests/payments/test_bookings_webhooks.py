import json
import time

import pytest
from django.core import mail

from partners.models import PlatformEvent
from payments.models import Booking, Payment, StripeEvent
from rbac.models import AuditEvent
from tests.payments.conftest import (
    LINES_TOTAL,
    intent_succeeded,
    stripe_event,
    stripe_signature,
)

pytestmark = pytest.mark.django_db

BOOKING_BODY = {"startsAt": "2030-01-15T14:00:00Z", "discountCode": "firstvisit"}


def booking_body(catalogue, **fields):
    items = [
        {"serviceId": catalogue.consultation.public_id},
        {"serviceId": catalogue.blood_test.public_id, "quantity": 2},
    ]
    return {**BOOKING_BODY, "items": items, **fields}


def test_patient_books_and_gets_a_client_secret(
    api_client, patient, clinic, specialist, fake_stripe, catalogue
):
    api_client.force_authenticate(patient)
    body = booking_body(catalogue, clinicId=clinic.public_id, specialistId=specialist.public_id)

    response = api_client.post(
        "/api/v1/payments/bookings", body, format="json", HTTP_IDEMPOTENCY_KEY="bk-1"
    )

    assert response.status_code == 201, response.content
    data = response.json()
    assert data["clientSecret"].startswith("pi_")
    booking = Booking.objects.get(public_id=data["booking"]["id"])
    assert booking.status == Booking.Status.PENDING_PAYMENT
    assert booking.total_amount == LINES_TOTAL
    assert [li["amount"] for li in data["booking"]["lineItems"]] == [10000, 5000, -1500, 900]
    payment = booking.payments.get()
    assert data["paymentId"] == payment.public_id
    [intent] = fake_stripe.posts("/v1/payment_intents")
    assert intent["amount"] == [str(LINES_TOTAL)] and intent["currency"] == ["usd"]
    assert intent["metadata[payment_id]"] == [payment.public_id]
    assert fake_stripe.keys("/v1/payment_intents") == [
        f"careos:payment:{payment.public_id}:payment_intent.create"
    ]

    replay = api_client.post(
        "/api/v1/payments/bookings", body, format="json", HTTP_IDEMPOTENCY_KEY="bk-1"
    )
    assert replay.status_code == 201 and replay.json()["paymentId"] == payment.public_id
    assert Booking.objects.count() == 1
    assert len(fake_stripe.posts("/v1/payment_intents")) == 1


def test_paying_again_reuses_the_open_intent(api_client, patient, make_booking, fake_stripe):
    booking = make_booking()
    api_client.force_authenticate(patient)
    first = api_client.post(f"/api/v1/payments/bookings/{booking.public_id}/pay")
    second = api_client.post(f"/api/v1/payments/bookings/{booking.public_id}/pay")
    assert first.status_code == second.status_code == 200
    assert first.json()["clientSecret"] == second.json()["clientSecret"]
    assert len(fake_stripe.posts("/v1/payment_intents")) == 1


def test_bad_booking_input_is_refused_per_field(api_client, patient, clinic, fake_stripe):
    api_client.force_authenticate(patient)
    body = {**BOOKING_BODY, "clinicId": clinic.public_id, "startsAt": "soon", "items": []}
    response = api_client.post("/api/v1/payments/bookings", body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"startsAt", "items"} <= fields
    assert Booking.objects.count() == 0


def test_another_patients_booking_is_404(api_client, make_member, make_booking, fake_stripe):
    booking = make_booking()
    other = make_member("patient", "patient")
    api_client.force_authenticate(other)
    assert api_client.get(f"/api/v1/payments/bookings/{booking.public_id}").status_code == 404


def test_webhook_confirms_booking_sends_receipt_and_publishes(
    api_client, patient, make_booking, fake_stripe, post_stripe_event
):
    from careos.actors import system_actor
    from payments.services.bookings import booking_pay

    booking = make_booking()
    start = booking_pay(booking=booking, actor=system_actor("tests"))

    response = post_stripe_event(intent_succeeded(start.payment))

    assert response.status_code == 200 and response.json() == {"received": True}
    booking.refresh_from_db()
    payment = Payment.objects.get(pk=start.payment.pk)
    assert booking.status == Booking.Status.CONFIRMED
    assert payment.status == Payment.Status.SUCCEEDED and payment.receipt_number
    assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED
    assert PlatformEvent.objects.filter(event_type__name="payment.succeeded").count() == 1
    assert AuditEvent.objects.filter(
        action="payments.payment.succeeded", target_ref=payment.public_id
    ).exists()
    # The receipt, then the invoice (tests/payments/test_invoices.py).
    email, invoice_email = mail.outbox
    assert email.to == ["pat@example.com"]
    assert payment.receipt_number in email.subject
    assert invoice_email.subject.startswith("Your invoice")
    assert "2 x Blood test: 50.00 USD" in email.body and "Total paid: 144.00 USD" in email.body
    html = email.alternatives[0][0]
    assert "Blood test" in html and "<br>" in html

    api_client.force_authenticate(patient)
    receipt = api_client.get(f"/api/v1/payments/bookings/{booking.public_id}/receipt")
    assert receipt.status_code == 200 and receipt["Content-Type"].startswith("text/html")
    page = receipt.content.decode()
    for text in (
        "Consultation",
        "Blood test",
        "Discount FIRSTVISIT",
        "-15.00 USD",
        "144.00 USD",
        payment.receipt_number,
    ):
        assert text in page


def test_receipt_of_unpaid_booking_is_404(api_client, patient, make_booking):
    booking = make_booking()
    api_client.force_authenticate(patient)
    assert (
        api_client.get(f"/api/v1/payments/bookings/{booking.public_id}/receipt").status_code == 404
    )


def test_bad_signature_is_refused_and_nothing_stored(api_client, paid_booking, post_stripe_event):
    event = stripe_event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    payload = json.dumps(event).encode()
    wrong = post_stripe_event(event, signature=stripe_signature(payload, secret="whsec_other"))
    stale = post_stripe_event(event, signature=stripe_signature(payload, at=int(time.time()) - 301))
    missing = api_client.post(
        "/api/v1/payments/stripe/webhook", data=payload, content_type="application/json"
    )
    assert wrong.status_code == stale.status_code == missing.status_code == 400
    assert wrong.json()["code"] == "invalid_signature"
    assert not StripeEvent.objects.filter(stripe_id=event["id"]).exists()


def test_duplicate_event_is_processed_once(make_booking, fake_stripe, post_stripe_event):
    from careos.actors import system_actor
    from payments.services.bookings import booking_pay

    start = booking_pay(booking=make_booking(), actor=system_actor("tests"))
    event = intent_succeeded(start.payment)
    assert post_stripe_event(event).status_code == 200
    assert post_stripe_event(event).status_code == 200

    assert StripeEvent.objects.filter(stripe_id=event["id"]).count() == 1
    assert StripeEvent.objects.get().attempts == 1
    assert PlatformEvent.objects.filter(event_type__name="payment.succeeded").count() == 1
    assert len(mail.outbox) == 2  # one receipt, one invoice


def test_failure_after_success_is_harmless(make_booking, fake_stripe, post_stripe_event):
    from careos.actors import system_actor
    from payments.services.bookings import booking_pay

    start = booking_pay(booking=make_booking(), actor=system_actor("tests"))
    failed = stripe_event(
        "payment_intent.payment_failed",
        {
            "id": start.payment.stripe_payment_intent_id,
            "object": "payment_intent",
            "last_payment_error": {"code": "card_declined", "message": "Declined"},
        },
    )
    # Delivered out of order: the success first, the earlier failure after it.
    post_stripe_event(intent_succeeded(start.payment))
    post_stripe_event(failed)

    payment = Payment.objects.get(pk=start.payment.pk)
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.booking.status == Booking.Status.CONFIRMED
    assert not PlatformEvent.objects.filter(event_type__name="payment.failed").exists()


def test_failure_then_success_confirms(make_booking, fake_stripe, post_stripe_event):
    from careos.actors import system_actor
    from payments.services.bookings import booking_pay

    start = booking_pay(booking=make_booking(), actor=system_actor("tests"))
    post_stripe_event(
        stripe_event(
            "payment_intent.payment_failed",
            {
                "id": start.payment.stripe_payment_intent_id,
                "last_payment_error": {"code": "card_declined"},
            },
        )
    )
    payment = Payment.objects.get(pk=start.payment.pk)
    assert payment.status == Payment.Status.FAILED and payment.failure_code == "card_declined"
    assert PlatformEvent.objects.filter(event_type__name="payment.failed").count() == 1

    post_stripe_event(intent_succeeded(start.payment))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED


def test_unknown_intent_and_unhandled_types_are_recorded_not_failed(post_stripe_event):
    post_stripe_event(stripe_event("payment_intent.succeeded", {"id": "pi_not_ours", "amount": 5}))
    post_stripe_event(stripe_event("customer.created", {"id": "cus_1"}))
    post_stripe_event(stripe_event("payout.paid", {"id": "po_1"}))
    statuses = sorted(StripeEvent.objects.values_list("event_type", "status"))
    assert statuses == [
        ("customer.created", "ignored"),
        ("payment_intent.succeeded", "ignored"),
        ("payout.paid", "processed"),
    ]


def test_dispute_marks_the_payment(paid_booking, post_stripe_event):
    _, payment = paid_booking()
    post_stripe_event(
        stripe_event(
            "charge.dispute.created",
            {
                "id": "dp_1",
                "charge": payment.stripe_charge_id,
                "payment_intent": payment.stripe_payment_intent_id,
                "reason": "fraudulent",
            },
        )
    )
    payment.refresh_from_db()
    assert payment.disputed_at is not None
    assert AuditEvent.objects.filter(action="payments.payment.disputed").count() == 1


def test_without_a_webhook_secret_everything_is_refused(settings, post_stripe_event):
    settings.STRIPE_WEBHOOK_SECRET = ""
    event = stripe_event("payment_intent.succeeded", {"id": "pi_x"})
    payload = json.dumps(event).encode()
    response = post_stripe_event(event, signature=stripe_signature(payload, secret=""))
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_charge_refunded_before_succeeded_is_harmless(make_booking, fake_stripe, post_stripe_event):
    from careos.actors import system_actor
    from payments.services.bookings import booking_pay

    start = booking_pay(booking=make_booking(), actor=system_actor("tests"))
    payment = start.payment
    refunded = stripe_event(
        "charge.refunded",
        {
            "id": "ch_1",
            "payment_intent": payment.stripe_payment_intent_id,
            "amount_refunded": 1000,
        },
    )
    post_stripe_event(refunded)
    post_stripe_event(intent_succeeded(payment))
    post_stripe_event(refunded)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.amount_refunded == 1000
    assert payment.refundable_amount == payment.amount - 1000
    assert payment.refunds.count() == 1


def test_staff_books_for_a_patient_with_permission_only(
    api_client, make_member, patient, clinic, fake_stripe, catalogue
):
    body = booking_body(catalogue, clinicId=clinic.public_id, patientId=patient.public_id)
    agent = make_member("staff", "support_agent")
    api_client.force_authenticate(agent)
    assert api_client.post("/api/v1/payments/bookings", body, format="json").status_code == 403

    admin = make_member("staff", "clinic_admin")
    api_client.force_authenticate(admin)
    response = api_client.post("/api/v1/payments/bookings", body, format="json")
    assert response.status_code == 201
    assert response.json()["booking"]["patientId"] == patient.public_id
    listed = api_client.get("/api/v1/payments/bookings")
    assert [b["id"] for b in listed.json()["results"]] == [response.json()["booking"]["id"]]


def test_anonymous_gets_401(api_client):
    assert api_client.get("/api/v1/payments/bookings").status_code == 401


def test_receipt_page_in_the_patients_language(api_client, patient, paid_booking):
    patient.preferred_language = "es"
    patient.save()
    booking, _ = paid_booking()
    api_client.force_authenticate(patient)
    page = api_client.get(f"/api/v1/payments/bookings/{booking.public_id}/receipt").content.decode()
    assert "Número de recibo" in page and "Descuento" in page


def test_webhook_received_with_the_broker_down_is_acknowledged_and_swept_once(
    make_booking, fake_stripe, post_stripe_event, broker, caplog
):
    import logging
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from careos.actors import system_actor
    from payments.services.bookings import booking_pay
    from payments.tasks import requeue_stale_stripe_events

    start = booking_pay(booking=make_booking(), actor=system_actor("tests"))
    event = intent_succeeded(start.payment)
    broker.down()
    with caplog.at_level(logging.WARNING, logger="careos.queueing"):
        response = post_stripe_event(event)
    assert response.status_code == 200 and response.json() == {"received": True}
    row = StripeEvent.objects.get(stripe_id=event["id"])
    assert row.status == StripeEvent.Status.RECEIVED
    assert f"processing of Stripe event row {row.pk} was not queued" in caplog.text
    later = timezone.now() + timedelta(seconds=601)
    with time_machine.travel(later):
        assert requeue_stale_stripe_events.apply().get() == 0  # still down: nothing raised

    broker.up()
    with time_machine.travel(later):
        assert requeue_stale_stripe_events.delay().get() == 1
        assert requeue_stale_stripe_events.delay().get() == 0
    row.refresh_from_db()
    assert (row.status, row.attempts) == (StripeEvent.Status.PROCESSED, 1)
    assert Payment.objects.get(pk=start.payment.pk).status == Payment.Status.SUCCEEDED


def test_event_stored_while_the_broker_was_down_is_processed_by_the_sweep(
    make_booking, fake_stripe, django_capture_on_commit_callbacks
):
    from careos.actors import system_actor
    from payments.services.bookings import booking_pay
    from payments.services.stripe_webhooks import stripe_event_record, stripe_events_requeue_stale

    start = booking_pay(booking=make_booking(), actor=system_actor("tests"))
    # Recorded without running its on-commit enqueue, as when the broker is unreachable.
    row, created = stripe_event_record(event=intent_succeeded(start.payment))
    assert created and row.status == StripeEvent.Status.RECEIVED

    with django_capture_on_commit_callbacks(execute=True):
        assert stripe_events_requeue_stale(older_than_seconds=0) == 1
    row.refresh_from_db()
    assert row.status == StripeEvent.Status.PROCESSED
    assert Payment.objects.get(pk=start.payment.pk).status == Payment.Status.SUCCEEDED
    assert stripe_events_requeue_stale(older_than_seconds=0) == 0
