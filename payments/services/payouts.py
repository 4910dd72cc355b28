"""Specialist payouts: completed, paid bookings minus the platform fee, paid by Stripe Connect
transfer. A run claims its bookings before calling Stripe, so running twice pays once."""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from careos.actors import Actor, system_actor
from engagement.services.messages import NoAddressError, message_send
from payments.models import (
    Booking,
    ConnectedAccount,
    PartnerPayout,
    PartnerTransfer,
    Payment,
    SpecialistPayout,
)
from payments.providers.stripe_gateway import PaymentProviderError, stripe_gateway
from payments.services.common import event_publish, format_money
from rbac.models import User
from rbac.services import audit_record

logger = logging.getLogger(__name__)

ACTOR = system_actor("payments.specialist_payouts")


@dataclass(frozen=True)
class Balance:
    specialist_id: int
    currency: str
    gross: int
    fee: int

    @property
    def net(self) -> int:
        return self.gross - self.fee


@dataclass
class PayoutRunReport:
    paid: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    below_minimum: int = 0
    no_account: int = 0
    alerted: int = 0


def _notify(
    *, specialist_id: int, template_key: str, context: dict[str, object], dedupe_key: str
) -> bool:
    """Email a specialist (engagement sends it after commit; one per dedupe key)."""
    try:
        message_send(
            channel="email",
            recipient=User.objects.get(pk=specialist_id),
            purpose=template_key,
            template_key=template_key,
            context=context,
            dedupe_key=dedupe_key,
            actor=ACTOR,
        )
    except NoAddressError:
        return False
    return True


def platform_fee(gross: int) -> int:
    """The platform's fee on ``gross`` minor units, rounded half up."""
    return (gross * settings.PAYMENTS_PLATFORM_FEE_BPS + 5000) // 10000


def _eligible_bookings(specialist_id: int | None = None):
    queryset = Booking.objects.filter(
        status=Booking.Status.COMPLETED,
        payout__isnull=True,
        specialist__isnull=False,
        payments__status=Payment.Status.SUCCEEDED,
    )
    if specialist_id is not None:
        queryset = queryset.filter(specialist_id=specialist_id)
    return queryset


def specialist_balances(*, specialist: User | None = None) -> list[Balance]:
    """What each specialist is owed now, per currency: refunds are netted out."""
    rows = (
        _eligible_bookings(specialist.pk if specialist else None)
        .values("specialist_id", "currency")
        .annotate(gross=Sum(F("payments__amount") - F("payments__amount_refunded")))
        .order_by("specialist_id", "currency")
    )
    return [
        Balance(
            specialist_id=row["specialist_id"],
            currency=row["currency"],
            gross=row["gross"] or 0,
            fee=platform_fee(row["gross"] or 0),
        )
        for row in rows
    ]


def payout_idempotency_key(payout: SpecialistPayout) -> str:
    return f"careos:specialist_payout:{payout.public_id}:transfer.create"


@transaction.atomic
def _claim(balance: Balance) -> SpecialistPayout | None:
    """Create the payout and tie its bookings to it, under row locks; None if another run took
    them first."""
    bookings = list(
        _eligible_bookings(balance.specialist_id)
        .filter(currency=balance.currency)
        .select_for_update(of=("self",), skip_locked=True)
        .values_list("pk", flat=True)
    )
    gross = (
        Payment.objects.filter(booking_id__in=bookings, status=Payment.Status.SUCCEEDED).aggregate(
            gross=Sum(F("amount") - F("amount_refunded"))
        )["gross"]
        or 0
    )
    if not bookings or gross - platform_fee(gross) < settings.PAYMENTS_SPECIALIST_MIN_PAYOUT:
        return None
    payout = SpecialistPayout.objects.create(
        specialist_id=balance.specialist_id,
        gross_amount=gross,
        fee_amount=platform_fee(gross),
        amount=gross - platform_fee(gross),
        currency=balance.currency,
    )
    Booking.objects.filter(pk__in=bookings, payout__isnull=True).update(payout=payout)
    audit_record(
        actor=ACTOR,
        action="payments.payout.created",
        target_type="payments.payout",
        target_ref=payout.public_id,
        metadata={"amount": payout.amount, "bookings": len(bookings)},
    )
    return payout


def _transfer(payout: SpecialistPayout, account: ConnectedAccount) -> bool:
    try:
        result = stripe_gateway().create_transfer(
            amount=payout.amount,
            currency=payout.currency,
            destination=account.stripe_account_id,
            metadata={"payout_id": payout.public_id},
            idempotency_key=payout_idempotency_key(payout),
        )
    except PaymentProviderError as exc:
        if exc.transient:
            return False  # stays pending; the next run retries with the same key
        with transaction.atomic():
            SpecialistPayout.objects.filter(pk=payout.pk).update(
                status=SpecialistPayout.Status.FAILED, failure_message=exc.code[:500]
            )
            # Its bookings are owed again: the next run pays them in a new payout.
            Booking.objects.filter(payout=payout).update(payout=None)
            audit_record(
                actor=ACTOR,
                action="payments.payout.failed",
                target_type="payments.payout",
                target_ref=payout.public_id,
                metadata={"amount": payout.amount, "error": exc.code[:100]},
            )
        return False
    with transaction.atomic():
        SpecialistPayout.objects.filter(pk=payout.pk).update(
            status=SpecialistPayout.Status.PAID,
            stripe_transfer_id=result.id,
            paid_at=timezone.now(),
        )
        audit_record(
            actor=ACTOR,
            action="payments.payout.paid",
            target_type="payments.payout",
            target_ref=payout.public_id,
            metadata={"amount": payout.amount, "transfer": result.id},
        )
        _notify(
            specialist_id=payout.specialist_id,
            template_key="payout_paid",
            context={
                "amount": format_money(payout.amount, payout.currency),
                "payout_id": payout.public_id,
            },
            dedupe_key=payout.public_id,
        )
        event_publish(
            event_type="payout.paid",
            owner=None,
            payload={
                "payoutId": payout.public_id,
                "amount": payout.amount,
                "currency": payout.currency,
            },
            key=f"payout.paid:{payout.public_id}",
        )
    return True


def specialist_payouts_run() -> PayoutRunReport:
    """Pay every specialist whose balance reaches the minimum and who has a Connect account.
    Pending payouts of an interrupted run are retried first, with their own idempotency key."""
    report = PayoutRunReport()
    accounts = {
        a.user_id: a
        for a in ConnectedAccount.objects.filter(user__isnull=False, payouts_enabled=True)
    }
    for payout in SpecialistPayout.objects.filter(status=SpecialistPayout.Status.PENDING):
        account = accounts.get(payout.specialist_id)
        if account is not None:
            (report.paid if _transfer(payout, account) else report.failed).append(payout.public_id)
    for balance in specialist_balances():
        account = accounts.get(balance.specialist_id)
        if account is None:
            report.no_account += 1
            if balance.net >= settings.PAYMENTS_BALANCE_ALERT_MIN:
                # At most one reminder a week while the balance waits for an account.
                week = timezone.now().strftime("%G-W%V")
                report.alerted += _notify(
                    specialist_id=balance.specialist_id,
                    template_key="payout_balance",
                    context={"amount": format_money(balance.net, balance.currency)},
                    dedupe_key=f"balance:{balance.currency}:{week}",
                )
            continue
        if balance.net < settings.PAYMENTS_SPECIALIST_MIN_PAYOUT:
            report.below_minimum += 1
            continue
        payout = _claim(balance)
        if payout is None:
            continue
        (report.paid if _transfer(payout, account) else report.failed).append(payout.public_id)
    return report


@transaction.atomic
def transfer_mark_reversed(*, transfer_id: str, actor: Actor) -> bool:
    """Stripe reversed one of our transfers: mark whichever payout it paid."""
    if not transfer_id:
        return False
    changed = SpecialistPayout.objects.filter(stripe_transfer_id=transfer_id).update(
        status=SpecialistPayout.Status.REVERSED
    )
    changed += PartnerTransfer.objects.filter(stripe_transfer_id=transfer_id).update(
        status=PartnerTransfer.Status.FAILED, failure_message="reversed"
    )
    changed += PartnerPayout.objects.filter(stripe_transfer_id=transfer_id).update(
        status=PartnerPayout.Status.FAILED
    )
    if changed:
        audit_record(
            actor=actor,
            action="payments.transfer.reversed",
            target_type="stripe.transfer",
            target_ref=transfer_id,
        )
    return bool(changed)
