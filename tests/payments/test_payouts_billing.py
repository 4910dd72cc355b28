from datetime import date

import pytest
import requests

from partners.models import PartnerUsageDaily, PlatformEvent
from payments.models import (
    Booking,
    PartnerInvoice,
    PartnerPayout,
    SpecialistPayout,
)
from payments.services.bookings import booking_complete
from payments.services.partner_billing import (
    partner_billing_run,
    partner_invoice_generate,
    partner_pricing_set,
    partner_revenue_forecast,
)
from payments.services.payouts import specialist_balances, specialist_payouts_run
from payments.services.refunds import refund_create
from tests.partners.factories import PartnerFactory
from tests.payments.conftest import LINES_TOTAL

pytestmark = pytest.mark.django_db


def test_payout_run_twice_pays_once(paid_booking, specialist, actor, fake_stripe):
    booking, _ = paid_booking()
    booking_complete(booking=booking, actor=actor)
    other, other_payment = paid_booking()
    booking_complete(booking=other, actor=actor)
    refund_create(payment=other_payment, amount=1700, reason="duplicate", actor=actor)
    paid_booking()  # confirmed, not completed: not owed yet

    gross = 2 * LINES_TOTAL - 1700
    fee = (gross * 1500 + 5000) // 10000
    [balance] = specialist_balances(specialist=specialist)
    assert (balance.gross, balance.fee, balance.net) == (gross, fee, gross - fee)

    first = specialist_payouts_run()
    second = specialist_payouts_run()

    payout = SpecialistPayout.objects.get()
    assert first.paid == [payout.public_id] and second.paid == []
    assert (payout.amount, payout.fee_amount, payout.status) == (gross - fee, fee, "paid")
    [call] = fake_stripe.posts("/v1/transfers")
    assert call["amount"] == [str(gross - fee)]
    assert call["destination"] == [f"acct_spec_{specialist.pk}"]
    assert fake_stripe.keys("/v1/transfers") == [
        f"careos:specialist_payout:{payout.public_id}:transfer.create"
    ]
    assert set(Booking.objects.filter(payout=payout).values_list("pk", flat=True)) == {
        booking.pk,
        other.pk,
    }
    assert specialist_balances(specialist=specialist) == []


def test_payout_retried_after_a_network_error(paid_booking, actor, fake_stripe):
    booking, _ = paid_booking()
    booking_complete(booking=booking, actor=actor)
    fake_stripe.fail_next["/v1/transfers"] = requests.ConnectionError("reset")
    assert len(specialist_payouts_run().failed) == 1
    assert SpecialistPayout.objects.get().status == "pending"
    assert len(specialist_payouts_run().paid) == 1
    assert SpecialistPayout.objects.get().status == "paid"
    keys = fake_stripe.keys("/v1/transfers")
    assert len(keys) == 2 and len(set(keys)) == 1


def test_transfer_reversed_webhook(paid_booking, actor, fake_stripe, post_stripe_event):
    from tests.payments.conftest import stripe_event

    booking, _ = paid_booking()
    booking_complete(booking=booking, actor=actor)
    specialist_payouts_run()
    payout = SpecialistPayout.objects.get()
    post_stripe_event(stripe_event("transfer.reversed", {"id": payout.stripe_transfer_id}))
    payout.refresh_from_db()
    assert payout.status == SpecialistPayout.Status.REVERSED


TIERS = [
    {"upTo": 1000, "unitAmount": 0},
    {"upTo": 5000, "unitAmount": 2},
    {"upTo": None, "unitAmount": 1},
]


def _usage(partner, calls_by_day):  # type: ignore[no-untyped-def]
    for day, calls in calls_by_day.items():
        PartnerUsageDaily.objects.create(
            partner=partner, day=day, endpoint="POST api/v1/leads", calls=calls
        )


@pytest.mark.parametrize(
    ("model", "fee", "expected_lines", "total"),
    [
        ("flat_fee", 19900, [("Monthly platform fee", 1, 19900)], 19900),
        (
            "usage_based",
            0,
            [
                ("API calls 1 to 1,000", 1000, 0),
                ("API calls 1,001 to 5,000", 4000, 2),
                ("API calls over 5,000", 2500, 1),
            ],
            8000 + 2500,
        ),
        (
            "hybrid",
            9900,
            [
                ("Monthly platform fee", 1, 9900),
                ("API calls 1 to 1,000", 1000, 0),
                ("API calls 1,001 to 5,000", 4000, 2),
                ("API calls over 5,000", 2500, 1),
            ],
            9900 + 8000 + 2500,
        ),
    ],
)
def test_invoice_per_pricing_model(model, fee, expected_lines, total, actor):
    partner = PartnerFactory()
    partner_pricing_set(partner=partner, model=model, flat_fee=fee, usage_tiers=TIERS, actor=actor)
    # 7,500 calls in November; December and October calls are not billed for November.
    _usage(
        partner,
        {
            date(2026, 11, 1): 5000,
            date(2026, 11, 30): 2500,
            date(2026, 12, 1): 999,
            date(2026, 10, 31): 7,
        },
    )

    invoice = partner_invoice_generate(partner=partner, period_start=date(2026, 11, 1))
    again = partner_invoice_generate(partner=partner, period_start=date(2026, 11, 1))

    assert again.pk == invoice.pk and PartnerInvoice.objects.count() == 1
    assert invoice.total == total and invoice.pricing_model == model
    assert [
        (li.description, li.quantity, li.unit_amount) for li in invoice.lines.all()
    ] == expected_lines
    assert sum(li.amount for li in invoice.lines.all()) == total
    [event] = PlatformEvent.objects.filter(event_type__name="invoice.generated")
    assert event.owner == partner and event.payload["total"] == total


def test_revenue_share_payout_and_monthly_run(paid_booking, actor, fake_stripe):
    from payments.models import ConnectedAccount

    partner = PartnerFactory()
    ConnectedAccount.objects.create(partner=partner, stripe_account_id="acct_rev")
    partner_pricing_set(partner=partner, model="revenue_share", revenue_share_bps=1000, actor=actor)
    flat = PartnerFactory()
    partner_pricing_set(partner=flat, model="flat_fee", flat_fee=5000, actor=actor)
    _, payment = paid_booking(partner=partner)
    refund_create(payment=payment, amount=700, reason="duplicate", actor=actor)
    paid_booking()  # not referred by the partner

    from django.utils import timezone

    from payments.services.common import next_month

    today = next_month(timezone.now().date())  # the run bills the month before "today"
    assert partner_billing_run(today=today) == (1, 1)
    assert partner_billing_run(today=today) == (1, 1)  # the same rows again, nothing new

    payout = PartnerPayout.objects.get()
    assert payout.volume == LINES_TOTAL - 700
    assert payout.amount == (LINES_TOTAL - 700) * 1000 // 10000
    assert payout.status == PartnerPayout.Status.PAID
    [transfer] = fake_stripe.posts("/v1/transfers")
    assert transfer["amount"] == [str(payout.amount)] and transfer["destination"] == ["acct_rev"]
    assert PartnerInvoice.objects.get().partner == flat
    assert PartnerInvoice.objects.count() == 1


def test_forecast_uses_trailing_usage(actor):
    from datetime import timedelta

    partner = PartnerFactory()
    partner_pricing_set(
        partner=partner,
        model="usage_based",
        usage_tiers=[{"upTo": None, "unitAmount": 3}],
        actor=actor,
    )
    today = date(2026, 11, 22)
    _usage(partner, {today - timedelta(days=d): 100 for d in range(1, 91)})  # 100 calls a day

    months = partner_revenue_forecast(partner=partner, today=today)

    assert [(m.month, m.calls, m.amount) for m in months] == [
        (date(2026, 12, 1), 3100, 9300),
        (date(2027, 1, 1), 3100, 9300),
        (date(2027, 2, 1), 2800, 8400),
    ]


def test_bad_tiers_are_refused(actor):
    from careos.errors import DomainError

    partner = PartnerFactory()
    for tiers in ([], [{"upTo": 10, "unitAmount": 1}], [{"upTo": None, "unitAmount": -1}]):
        with pytest.raises(DomainError):
            partner_pricing_set(
                partner=partner, model="usage_based", usage_tiers=tiers, actor=actor
            )


def test_specialist_sees_balance_history_and_gets_notices(
    api_client,
    paid_booking,
    specialist,
    make_member,
    actor,
    fake_stripe,
    django_capture_on_commit_callbacks,
):
    from django.core import mail

    specialist.email = "doc@example.com"
    specialist.save()
    booking, _ = paid_booking()
    booking_complete(booking=booking, actor=actor)
    api_client.force_authenticate(specialist)
    balance = api_client.get("/api/v1/payments/payouts/balance").json()
    fee = (LINES_TOTAL * 1500 + 5000) // 10000
    assert balance["balances"] == [
        {"currency": "USD", "gross": LINES_TOTAL, "fee": fee, "net": LINES_TOTAL - fee}
    ]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        specialist_payouts_run()
    history = api_client.get("/api/v1/payments/payouts").json()["results"]
    assert [(p["amount"], p["status"]) for p in history] == [(LINES_TOTAL - fee, "paid")]
    assert [m.to for m in mail.outbox] == [["doc@example.com"]]
    assert "Payout sent" in mail.outbox[0].subject

    other = make_member("specialist", "specialist")
    api_client.force_authenticate(other)
    assert api_client.get("/api/v1/payments/payouts").json()["results"] == []


def test_balance_without_account_alerts_once_a_week(
    paid_booking, specialist, actor, settings, django_capture_on_commit_callbacks
):
    from django.core import mail

    from payments.models import ConnectedAccount

    settings.PAYMENTS_BALANCE_ALERT_MIN = 1000
    ConnectedAccount.objects.filter(user=specialist).delete()
    specialist.email = "doc@example.com"
    specialist.save()
    booking, _ = paid_booking()
    booking_complete(booking=booking, actor=actor)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        first = specialist_payouts_run()
        second = specialist_payouts_run()
    assert first.no_account == second.no_account == 1
    assert len(mail.outbox) == 1 and "balance" in mail.outbox[0].subject.lower()
    assert not SpecialistPayout.objects.exists()


def test_partner_reads_its_own_invoices(partner_api_client, actor):
    partner, other = PartnerFactory(), PartnerFactory()
    for p in (partner, other):
        partner_pricing_set(partner=p, model="flat_fee", flat_fee=1500, actor=actor)
        partner_invoice_generate(partner=p, period_start=date(2026, 10, 1))
    client = partner_api_client(partner=partner, scopes=["read:payments"])
    [invoice] = client.get("/api/v1/payments/invoices").json()["results"]
    assert invoice["id"] == PartnerInvoice.objects.get(partner=partner).public_id
    assert invoice["total"] == 1500 and invoice["lines"][0]["amount"] == 1500
    no_scope = partner_api_client(partner=partner, scopes=["read:leads"])
    assert no_scope.get("/api/v1/payments/invoices").status_code == 403
