"""Staff's manual adjustment: the one amount a person may send, with a reason, audited."""

import pytest

from payments.models import Booking, Payment
from rbac.models import AuditEvent, User

pytestmark = pytest.mark.django_db


def _url(booking):
    return f"/api/v1/payments/bookings/{booking.public_id}/adjustments"


def test_billing_adjusts_an_unpaid_booking_with_a_reason(
    api_client, make_booking, billing_user, patient, fake_stripe
):
    from careos.actors import system_actor
    from payments.services.bookings import booking_pay

    booking = make_booking()
    first = booking_pay(booking=booking, actor=system_actor("tests")).payment
    api_client.force_authenticate(billing_user)

    response = api_client.post(
        _url(booking),
        {"amount": -500, "reason": "Waived the lab fee", "description": "Courtesy"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["totalAmount"] == 14400 - 500
    assert response.json()["lineItems"][-1]["kind"] == "adjustment"
    assert response.json()["lineItems"][-1]["amount"] == -500
    first.refresh_from_db()
    assert first.status == Payment.Status.CANCELED
    assert fake_stripe.keys(f"/v1/payment_intents/{first.stripe_payment_intent_id}/cancel") == [
        f"careos:payment:{first.public_id}:payment_intent.cancel"
    ]
    event = AuditEvent.objects.get(action="payments.booking.adjusted")
    assert event.reason == "Waived the lab fee" and event.metadata["amount"] == -500

    api_client.force_authenticate(patient)
    again = api_client.post(f"/api/v1/payments/bookings/{booking.public_id}/pay")
    assert again.status_code == 200
    assert Payment.objects.get(public_id=again.json()["paymentId"]).amount == 13900


def test_patients_and_bad_adjustments_are_refused(
    api_client, make_booking, billing_user, patient, make_member, fake_stripe
):
    booking = make_booking()
    api_client.force_authenticate(patient)
    assert (
        api_client.post(_url(booking), {"amount": 1, "reason": "x"}, format="json").status_code
        == 403
    )
    specialist = make_member(User.Kind.SPECIALIST, "specialist")
    api_client.force_authenticate(specialist)
    assert (
        api_client.post(_url(booking), {"amount": 1, "reason": "x"}, format="json").status_code
        == 403
    )

    api_client.force_authenticate(billing_user)
    no_reason = api_client.post(_url(booking), {"amount": -100, "reason": " "}, format="json")
    assert no_reason.status_code == 400
    too_much = api_client.post(_url(booking), {"amount": -14400, "reason": "x"}, format="json")
    assert too_much.status_code == 400 and too_much.json()["code"] == "invalid_amount"
    zero = api_client.post(_url(booking), {"amount": 0, "reason": "x"}, format="json")
    assert zero.status_code == 400
    booking.refresh_from_db()
    assert booking.total_amount == 14400 and booking.line_items.count() == 4
    assert (
        api_client.post(
            "/api/v1/payments/bookings/bkg_nope/adjustments",
            {"amount": 1, "reason": "x"},
            format="json",
        ).status_code
        == 404
    )


def test_a_paid_booking_is_not_adjusted(api_client, paid_booking, billing_user):
    booking, _ = paid_booking()
    api_client.force_authenticate(billing_user)
    response = api_client.post(_url(booking), {"amount": 100, "reason": "late fee"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "booking_not_adjustable"
    assert Booking.objects.get(pk=booking.pk).total_amount == 14400
