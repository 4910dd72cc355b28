from datetime import date, timedelta

import pytest
import requests
from django.utils import timezone

from partners.models import PlatformEvent
from payments.models import ConnectedAccount, PartnerPayment, PartnerTransfer
from payments.services.partner_payments import (
    partner_payment_accrue,
    partner_payment_cancel,
    partner_payment_dispute,
    process_partner_payments,
)
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 1)
DUE = TODAY - timedelta(days=1)


@pytest.fixture
def referrer():  # type: ignore[no-untyped-def]
    partner = PartnerFactory()
    ConnectedAccount.objects.create(partner=partner, stripe_account_id="acct_referrer")
    return partner


def _accrue(partner, ref, amount, actor, due=DUE):  # type: ignore[no-untyped-def]
    return partner_payment_accrue(
        partner=partner, referral_ref=ref, amount=amount, currency="usd", actor=actor, due_date=due
    )


def test_accrue_is_idempotent_per_referral(referrer, actor):
    first = _accrue(referrer, "lead_abc", 2500, actor)
    again = _accrue(referrer, "lead_abc", 9999, actor)
    assert again.pk == first.pk and again.amount == 2500
    assert first.currency == "USD" and first.status == PartnerPayment.Status.PENDING
    default_due = partner_payment_accrue(
        partner=referrer, referral_ref="lead_def", amount=100, currency="USD", actor=actor
    )
    assert default_due.due_date == timezone.now().date() + timedelta(days=30)


def test_accrue_refuses_bad_input(referrer, actor):
    from careos.errors import DomainError

    for amount, currency in ((0, "USD"), (100, "US")):
        with pytest.raises(DomainError):
            _accrue(
                referrer, "lead_x", amount, actor
            ) if currency == "USD" else partner_payment_accrue(
                partner=referrer,
                referral_ref="lead_x",
                amount=amount,
                currency=currency,
                actor=actor,
            )
    assert not PartnerPayment.objects.exists()


def test_below_threshold_carries_over_then_pays_once(referrer, actor, fake_stripe):
    _accrue(referrer, "lead_1", 2000, actor)
    _accrue(referrer, "lead_2", 2000, actor)
    _accrue(referrer, "lead_later", 9000, actor, due=TODAY + timedelta(days=10))  # not due yet

    report = process_partner_payments(today=TODAY)
    assert report.carried_over == [referrer.public_id] and report.paid == []
    assert not fake_stripe.posts("/v1/transfers")

    _accrue(referrer, "lead_3", 1500, actor)
    disputed = _accrue(referrer, "lead_4", 7000, actor)
    partner_payment_dispute(payment=disputed, reason="Duplicate lead", actor=actor)

    first = process_partner_payments(today=TODAY)
    second = process_partner_payments(today=TODAY)

    [transfer] = PartnerTransfer.objects.all()
    assert first.paid == [transfer.public_id] and second.paid == []
    assert transfer.amount == 5500 and transfer.status == PartnerTransfer.Status.PAID
    [call] = fake_stripe.posts("/v1/transfers")
    assert call["amount"] == ["5500"] and call["destination"] == ["acct_referrer"]
    statuses = dict(PartnerPayment.objects.values_list("referral_ref", "status"))
    assert statuses == {
        "lead_1": "paid",
        "lead_2": "paid",
        "lead_3": "paid",
        "lead_4": "disputed",
        "lead_later": "pending",
    }
    assert (
        PartnerPayment.objects.filter(stripe_transfer_id=transfer.stripe_transfer_id).count() == 3
    )
    assert PlatformEvent.objects.filter(event_type__name="payout.paid", owner=referrer).count() == 1


def test_interrupted_run_retries_with_the_same_key(referrer, actor, fake_stripe):
    _accrue(referrer, "lead_1", 6000, actor)
    fake_stripe.fail_next["/v1/transfers"] = requests.ConnectionError("connection reset")
    report = process_partner_payments(today=TODAY)
    transfer = PartnerTransfer.objects.get()
    assert (
        report.failed == [transfer.public_id] and transfer.status == PartnerTransfer.Status.PENDING
    )

    retry = process_partner_payments(today=TODAY)
    transfer.refresh_from_db()
    assert retry.paid == [transfer.public_id] and transfer.status == PartnerTransfer.Status.PAID
    keys = fake_stripe.keys("/v1/transfers")
    assert len(keys) == 2 and len(set(keys)) == 1  # the same idempotency key both times
    assert PartnerPayment.objects.get().status == PartnerPayment.Status.PAID


def test_cancel_and_transitions(referrer, actor):
    from careos.errors import ConflictError

    payment = _accrue(referrer, "lead_1", 6000, actor)
    cancelled = partner_payment_cancel(payment=payment, reason="Lead was fake", actor=actor)
    assert cancelled.status == PartnerPayment.Status.CANCELLED
    with pytest.raises(ConflictError):
        partner_payment_dispute(payment=cancelled, reason="x", actor=actor)


def test_partner_api_lists_and_summarises_own_payments_only(partner_api_client, referrer, actor):
    _accrue(referrer, "lead_1", 2000, actor, due=timezone.now().date() - timedelta(days=1))
    _accrue(referrer, "lead_2", 3000, actor, due=timezone.now().date() + timedelta(days=5))
    partner_payment_dispute(
        payment=_accrue(referrer, "lead_3", 700, actor), reason="?", actor=actor
    )
    _accrue(PartnerFactory(), "lead_other", 999, actor)
    client = partner_api_client(partner=referrer, scopes=["read:payments"])

    listed = client.get("/api/v1/payments/partner-payments")
    assert listed.status_code == 200
    assert {p["referralRef"] for p in listed.json()["results"]} == {"lead_1", "lead_2", "lead_3"}
    filtered = client.get("/api/v1/payments/partner-payments", {"status": "disputed"})
    assert [p["referralRef"] for p in filtered.json()["results"]] == ["lead_3"]

    summary = client.get("/api/v1/payments/partner-payments/summary")
    assert summary.status_code == 200
    [usd] = summary.json()["currencies"]
    assert usd["pendingAmount"] == 5000 and usd["pendingCount"] == 2
    assert usd["dueAmount"] == 2000
    assert usd["disputedAmount"] == 700 and usd["minimumPayout"] == 5000


def test_partner_api_needs_the_scope(partner_api_client, referrer):
    client = partner_api_client(partner=referrer, scopes=["read:leads"])
    assert client.get("/api/v1/payments/partner-payments").status_code == 403
    assert client.get("/api/v1/payments/partner-payments/summary").status_code == 403


def test_transfer_refused_by_stripe_releases_the_fees(referrer, actor, fake_stripe):
    _accrue(referrer, "lead_1", 6000, actor)
    fake_stripe.fail_next["/v1/transfers"] = (
        400,
        {"error": {"type": "invalid_request_error", "code": "account_invalid", "message": "x"}},
    )
    report = process_partner_payments(today=TODAY)
    transfer = PartnerTransfer.objects.get()
    assert report.failed == [transfer.public_id]
    assert transfer.status == PartnerTransfer.Status.FAILED
    payment = PartnerPayment.objects.get()
    assert payment.status == PartnerPayment.Status.PENDING and payment.transfer is None
    # Next month's run pays it in a new transfer.
    next_run = process_partner_payments(today=date(2027, 1, 1))
    assert len(next_run.paid) == 1
    assert PartnerPayment.objects.get().status == PartnerPayment.Status.PAID


def test_accrue_for_a_new_referral_skips_the_lookup_but_keeps_the_guard(referrer, actor):
    from django.db import IntegrityError, transaction

    from rbac.models import AuditEvent

    payment = partner_payment_accrue(
        partner=referrer,
        referral_ref="lead_new",
        amount=2500,
        currency="USD",
        actor=actor,
        referral_is_new=True,
    )
    assert payment.pk and payment.status == PartnerPayment.Status.PENDING
    assert AuditEvent.objects.filter(
        action="payments.partner_payment.accrued", target_ref=payment.public_id
    ).exists()
    # A caller that wrongly claims a referral is new fails instead of accruing twice.
    with pytest.raises(IntegrityError), transaction.atomic():
        partner_payment_accrue(
            partner=referrer,
            referral_ref="lead_new",
            amount=2500,
            currency="USD",
            actor=actor,
            referral_is_new=True,
        )
    assert PartnerPayment.objects.filter(referral_ref="lead_new").count() == 1
