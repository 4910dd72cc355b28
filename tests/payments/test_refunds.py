import pytest

from partners.models import PlatformEvent
from payments.models import Payment, Refund
from rbac.models import AuditEvent
from tests.payments.conftest import LINES_TOTAL, stripe_event

pytestmark = pytest.mark.django_db


def _refund(api_client, payment, **body):
    return api_client.post(
        f"/api/v1/payments/payments/{payment.public_id}/refunds", body, format="json"
    )


def test_partial_then_full_refund_and_over_refund_refused(
    api_client, billing_user, paid_booking, fake_stripe
):
    _, payment = paid_booking()
    api_client.force_authenticate(billing_user)

    partial = _refund(api_client, payment, amount=4000, reason="requested_by_customer", note="Late")
    assert partial.status_code == 201, partial.content
    assert partial.json()["status"] == "succeeded" and partial.json()["amount"] == 4000

    over = _refund(api_client, payment, amount=LINES_TOTAL - 4000 + 1, reason="duplicate")
    assert over.status_code == 409
    assert over.json()["code"] == "refund_exceeds_refundable"

    rest = _refund(api_client, payment, reason="cancelled_appointment")
    assert rest.status_code == 201 and rest.json()["amount"] == LINES_TOTAL - 4000

    again = _refund(api_client, payment, amount=1, reason="duplicate")
    assert again.status_code == 409

    payment.refresh_from_db()
    assert payment.amount_refunded == payment.amount == LINES_TOTAL
    assert list(Refund.objects.order_by("pk").values_list("amount", "status")) == [
        (4000, "succeeded"),
        (LINES_TOTAL - 4000, "succeeded"),
    ]
    calls = fake_stripe.posts("/v1/refunds")
    assert [c["amount"] for c in calls] == [["4000"], [str(LINES_TOTAL - 4000)]]
    assert calls[0]["reason"] == ["requested_by_customer"]
    assert "reason" not in calls[1]  # ours is not a Stripe reason; kept in our row
    refunds = list(Refund.objects.order_by("pk"))
    assert fake_stripe.keys("/v1/refunds") == [
        f"careos:refund:{r.public_id}:refund.create" for r in refunds
    ]
    assert AuditEvent.objects.filter(action="payments.refund.created").count() == 2
    assert PlatformEvent.objects.filter(event_type__name="payment.refunded").count() == 2
    listed = api_client.get(f"/api/v1/payments/payments/{payment.public_id}/refunds")
    assert listed.status_code == 200 and len(listed.json()["results"]) == 2


def test_refund_needs_the_billing_role(api_client, make_member, paid_booking, fake_stripe):
    _, payment = paid_booking()
    agent = make_member("staff", "support_agent")
    api_client.force_authenticate(agent)
    response = _refund(api_client, payment, amount=100, reason="duplicate")
    assert response.status_code == 404  # cannot even see payments
    admin = make_member("staff", "clinic_admin")
    api_client.force_authenticate(admin)
    response = _refund(api_client, payment, amount=100, reason="duplicate")
    assert response.status_code == 403
    assert not Refund.objects.exists() and not fake_stripe.posts("/v1/refunds")


def test_billing_role_of_another_clinic_gets_404(api_client, make_member, paid_booking, actor):
    from rbac.services import clinic_create

    _, payment = paid_booking()
    other = clinic_create(
        name="Other", slug="other", timezone="UTC", languages=["en"], regions=[], actor=actor
    )
    outsider = make_member("staff", "billing", in_clinic=other)
    api_client.force_authenticate(outsider)
    assert _refund(api_client, payment, amount=100, reason="duplicate").status_code == 404


def test_bad_refund_input(api_client, billing_user, paid_booking):
    _, payment = paid_booking()
    api_client.force_authenticate(billing_user)
    response = _refund(api_client, payment, amount=0, reason="because")
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"amount", "reason"}


def test_refund_refused_by_stripe_releases_the_amount(
    api_client, billing_user, paid_booking, fake_stripe
):
    _, payment = paid_booking()
    fake_stripe.fail_next["/v1/refunds"] = (
        400,
        {"error": {"type": "invalid_request_error", "code": "charge_disputed", "message": "x"}},
    )
    api_client.force_authenticate(billing_user)
    response = _refund(api_client, payment, amount=500, reason="duplicate")
    assert response.status_code == 409 and response.json()["code"] == "refund_refused"
    payment.refresh_from_db()
    assert payment.amount_refunded == 0
    assert Refund.objects.get().status == Refund.Status.FAILED


def test_charge_refunded_webhook_is_idempotent_and_records_outside_refunds(
    paid_booking, post_stripe_event
):
    _, payment = paid_booking()
    charge = {
        "id": payment.stripe_charge_id,
        "object": "charge",
        "payment_intent": payment.stripe_payment_intent_id,
        "amount": payment.amount,
        "amount_refunded": 3000,
        "refunds": {"data": [{"id": "re_dashboard"}]},
    }
    event = stripe_event("charge.refunded", charge)
    post_stripe_event(event)
    post_stripe_event(event)
    post_stripe_event(stripe_event("charge.refunded", charge))  # a second delivery, new id

    payment.refresh_from_db()
    assert payment.amount_refunded == 3000
    refund = Refund.objects.get()
    assert (refund.amount, refund.status) == (3000, Refund.Status.SUCCEEDED)
    assert PlatformEvent.objects.filter(event_type__name="payment.refunded").count() == 1
    assert Payment.objects.get().refundable_amount == payment.amount - 3000


def test_refund_after_a_network_error_is_retried_once(
    api_client, billing_user, paid_booking, fake_stripe
):
    import requests

    from payments.services.refunds import refunds_retry_pending

    _, payment = paid_booking()
    fake_stripe.fail_next["/v1/refunds"] = requests.ConnectionError("reset")
    api_client.force_authenticate(billing_user)
    response = _refund(api_client, payment, amount=800, reason="duplicate")
    assert response.status_code == 201 and response.json()["status"] == "pending"
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.PENDING
    payment.refresh_from_db()
    assert payment.amount_refunded == 800  # still reserved: nothing can over-refund meanwhile

    assert refunds_retry_pending(older_than_seconds=0) == 1
    assert refunds_retry_pending(older_than_seconds=0) == 0
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    keys = fake_stripe.keys("/v1/refunds")
    assert keys == [f"careos:refund:{refund.public_id}:refund.create"] * 2


def test_refund_with_idempotency_key_is_made_once(
    api_client, billing_user, paid_booking, fake_stripe
):
    _, payment = paid_booking()
    api_client.force_authenticate(billing_user)
    url = f"/api/v1/payments/payments/{payment.public_id}/refunds"
    body = {"amount": 500, "reason": "duplicate"}
    first = api_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="refund-1")
    again = api_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="refund-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Refund.objects.count() == 1 and len(fake_stripe.posts("/v1/refunds")) == 1
