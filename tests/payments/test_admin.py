import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from payments.models import (
    Booking,
    PartnerPayment,
    Payment,
    Refund,
)
from payments.services.partner_billing import partner_pricing_set
from payments.services.partner_payments import partner_payment_accrue
from rbac.models import User
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "booking",
    "payment",
    "refund",
    "stripeevent",
    "connectedaccount",
    "specialistpayout",
    "partnerpayment",
    "partnertransfer",
    "partnerpricing",
    "partnerinvoice",
    "partnerpayout",
    "billingaccount",
    "billingevent",
    "billingcharge",
]


@pytest.fixture
def admin_client_(client, db):  # type: ignore[no-untyped-def]
    user = User.objects.create_superuser(username="root", password="pw", kind=User.Kind.STAFF)
    client.force_login(user)
    return client


def test_changelists_render(admin_client_, paid_booking, actor):
    booking, payment = paid_booking()
    partner = PartnerFactory()
    partner_payment_accrue(
        partner=partner, referral_ref="lead_1", amount=100, currency="USD", actor=actor
    )
    partner_pricing_set(partner=partner, model="flat_fee", flat_fee=100, actor=actor)
    for model in MODELS:
        response = admin_client_.get(reverse(f"admin:payments_{model}_changelist"))
        assert response.status_code == 200, model
    assert (
        admin_client_.get(reverse("admin:payments_booking_change", args=[booking.pk])).status_code
        == 200
    )
    page = admin_client_.get(reverse("admin:payments_payment_change", args=[payment.pk]))
    assert page.status_code == 200 and b"Refund" in page.content
    pricing = admin_client_.get(
        reverse("admin:payments_partnerpricing_change", args=[partner.pricing.pk])
    )
    assert pricing.status_code == 200 and b"Forecast" in pricing.content


def test_refund_console_refunds_and_refuses_over_refund(admin_client_, paid_booking, fake_stripe):
    _, payment = paid_booking()
    url = reverse("admin:payments_payment_refund", args=[payment.pk])
    page = admin_client_.get(url)
    assert page.status_code == 200 and b"Refundable" in page.content

    done = admin_client_.post(url, {"amount": "1000", "reason": "duplicate", "note": "dup"})
    assert done.status_code == 302
    assert Refund.objects.get().amount == 1000

    over = admin_client_.post(url, {"amount": str(payment.amount), "reason": "duplicate"})
    assert over.status_code == 200 and b"remains refundable" in over.content
    assert Payment.objects.get().amount_refunded == 1000


def test_partner_payment_actions(admin_client_, actor):
    payment = partner_payment_accrue(
        partner=PartnerFactory(), referral_ref="lead_1", amount=100, currency="USD", actor=actor
    )
    url = reverse("admin:payments_partnerpayment_changelist")
    admin_client_.post(url, {"action": "mark_disputed", "_selected_action": [payment.pk]})
    assert PartnerPayment.objects.get().status == "disputed"
    admin_client_.post(url, {"action": "cancel", "_selected_action": [payment.pk]})
    assert PartnerPayment.objects.get().status == "cancelled"


def test_booking_complete_action(admin_client_, paid_booking):
    booking, _ = paid_booking()
    admin_client_.post(
        reverse("admin:payments_booking_changelist"),
        {"action": "complete", "_selected_action": [booking.pk]},
    )
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.COMPLETED


def test_changelists_do_not_query_per_row(
    admin_client_, paid_booking, django_assert_max_num_queries
):
    for _ in range(3):
        paid_booking()
    # Warm up (session, content types), then the same pages with more rows cost the same.
    counts = {}
    for model in ("booking", "payment", "refund", "stripeevent"):
        url = reverse(f"admin:payments_{model}_changelist")
        admin_client_.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client_.get(url).status_code == 200
        counts[model] = len(ctx)
    for _ in range(3):
        paid_booking()
    for model, before in counts.items():
        with django_assert_max_num_queries(before):
            admin_client_.get(reverse(f"admin:payments_{model}_changelist"))


def test_beat_schedules_are_seeded():
    from django_celery_beat.models import PeriodicTask

    tasks = set(
        PeriodicTask.objects.filter(task__startswith="payments.").values_list("task", flat=True)
    )
    assert tasks == {
        "payments.tasks.requeue_stale_stripe_events",
        "payments.tasks.retry_pending_refunds",
        "payments.tasks.run_specialist_payouts",
        "payments.tasks.process_partner_payments",
        "payments.tasks.run_partner_billing",
        "payments.tasks.run_subscription_billing",
        "payments.tasks.sync_stripe_catalogue",
    }
