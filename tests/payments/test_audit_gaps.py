"""Every money state change leaves an audit event, and the events the issue lists are
published once: the failure paths of payouts, partner transfers and revenue-share payouts, the
subscription charge result, and Idempotency-Key on resuming a booking's payment."""

from datetime import date

import pytest

from partners.models import PlatformEvent
from payments.models import (
    BillingAccount,
    ConnectedAccount,
    PartnerPayout,
    PartnerTransfer,
    SpecialistPayout,
)
from payments.services.bookings import booking_complete
from payments.services.partner_billing import partner_billing_run, partner_pricing_set
from payments.services.partner_payments import partner_payment_accrue, process_partner_payments
from payments.services.payouts import specialist_payouts_run
from payments.services.subscriptions import subscription_billing_run
from rbac.models import AuditEvent
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db

REFUSED = (
    400,
    {"error": {"type": "invalid_request_error", "code": "account_invalid", "message": "x"}},
)


def _audits(action: str, target_ref: str) -> int:
    return AuditEvent.objects.filter(action=action, target_ref=target_ref).count()


def _published(event_type: str) -> int:
    return PlatformEvent.objects.filter(event_type__name=event_type).count()


def test_specialist_payout_paid_and_refused_are_audited(paid_booking, actor, fake_stripe):
    booking, _ = paid_booking()
    booking_complete(booking=booking, actor=actor)
    fake_stripe.fail_next["/v1/transfers"] = REFUSED

    specialist_payouts_run()

    failed = SpecialistPayout.objects.get()
    assert failed.status == SpecialistPayout.Status.FAILED
    assert _audits("payments.payout.failed", failed.public_id) == 1
    assert _published("payout.paid") == 0

    specialist_payouts_run()  # the released bookings are paid in a new payout
    paid = SpecialistPayout.objects.get(status=SpecialistPayout.Status.PAID)
    assert _audits("payments.payout.paid", paid.public_id) == 1
    [event] = PlatformEvent.objects.filter(event_type__name="payout.paid")
    assert event.payload["payoutId"] == paid.public_id
    specialist_payouts_run()
    assert _published("payout.paid") == 1


def test_partner_transfer_refused_is_audited(actor, fake_stripe):
    partner = PartnerFactory()
    ConnectedAccount.objects.create(partner=partner, stripe_account_id="acct_ref")
    partner_payment_accrue(
        partner=partner,
        referral_ref="lead_1",
        amount=6000,
        currency="usd",
        actor=actor,
        due_date=date(2026, 11, 30),
    )
    fake_stripe.fail_next["/v1/transfers"] = REFUSED

    process_partner_payments(today=date(2026, 12, 1))

    transfer = PartnerTransfer.objects.get()
    assert transfer.status == PartnerTransfer.Status.FAILED
    assert _audits("payments.partner_transfer.failed", transfer.public_id) == 1
    assert _published("payout.paid") == 0


def test_revenue_share_payout_refused_is_audited_then_paid_publishes(
    paid_booking, actor, fake_stripe
):
    from django.utils import timezone

    from payments.services.common import next_month

    partner = PartnerFactory()
    ConnectedAccount.objects.create(partner=partner, stripe_account_id="acct_rev")
    partner_pricing_set(partner=partner, model="revenue_share", revenue_share_bps=1000, actor=actor)
    paid_booking(partner=partner)
    today = next_month(timezone.now().date())
    fake_stripe.fail_next["/v1/transfers"] = REFUSED

    partner_billing_run(today=today)

    payout = PartnerPayout.objects.get()
    assert payout.status == PartnerPayout.Status.FAILED
    assert _audits("payments.partner_payout.failed", payout.public_id) == 1
    assert _published("payout.paid") == 0
    partner_billing_run(today=today)  # a failed payout waits for an operator: not retried
    assert _audits("payments.partner_payout.failed", payout.public_id) == 1
    assert len(fake_stripe.posts("/v1/transfers")) == 1


def test_subscription_charge_results_are_audited(api_client, fake_provider):
    for key, customer in (("cvt_a", "cus_a"), ("cvt_b", "cus_b")):
        fake_provider.keys[key] = {"id": customer, "subscription": {"status": "active"}}
        response = api_client.post(
            "/api/v1/business/register",
            {"cvtApiKey": key, "businessName": f"Biz {key}", "email": "o@biz.test"},
            format="json",
        )
        assert response.status_code == 201
    fake_provider.decline.add("cus_b")

    subscription_billing_run(today=date(2026, 12, 1))
    subscription_billing_run(today=date(2026, 12, 1))

    ok = BillingAccount.objects.get(provider_customer_id="cus_a")
    declined = BillingAccount.objects.get(provider_customer_id="cus_b")
    [audit] = AuditEvent.objects.filter(action="payments.billing_charge.succeeded")
    assert audit.target_ref == ok.public_id
    assert audit.metadata["period"] == "2026-12" and audit.metadata["amount"] == 2999
    assert _audits("payments.billing_charge.failed", declined.public_id) == 1
    assert _audits("payments.billing_charge.succeeded", declined.public_id) == 0


def test_resuming_payment_accepts_an_idempotency_key(
    api_client, patient, make_booking, fake_stripe
):
    booking = make_booking()
    api_client.force_authenticate(patient)
    url = f"/api/v1/payments/bookings/{booking.public_id}/pay"

    first = api_client.post(url, HTTP_IDEMPOTENCY_KEY="pay-1")
    again = api_client.post(url, HTTP_IDEMPOTENCY_KEY="pay-1")
    bad = api_client.post(url, HTTP_IDEMPOTENCY_KEY="bad key with spaces")

    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert bad.status_code == 400 and bad.json()["code"] == "idempotency_key_invalid"
    assert len(fake_stripe.posts("/v1/payment_intents")) == 1
