"""Referral fees owed to partners (PartnerPayment) and the monthly run that pays them.

Public surface for other apps (leads calls it when a referral earns a fee)::

    partner_payment_accrue(*, partner, referral_ref, amount, currency, actor, due_date=None)
"""

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from careos.actors import Actor, system_actor
from careos.errors import ConflictError, DomainError
from partners.models import Partner
from payments.models import ConnectedAccount, PartnerPayment, PartnerTransfer
from payments.providers.stripe_gateway import PaymentProviderError, stripe_gateway
from payments.services.common import InvalidAmountError, currency_clean, event_publish, period_label
from rbac.models import User
from rbac.services import audit_record

logger = logging.getLogger(__name__)

ACTOR = system_actor("payments.process_partner_payments")


def _audit(payment: PartnerPayment, actor: Actor | User, action: str, **metadata: object) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="payments.partner_payment",
        target_ref=payment.public_id,
        reason=str(metadata.pop("reason", "")),
        metadata={"partner": payment.partner.public_id, **metadata},
    )


def partner_payment_accrue(
    *,
    partner: Partner,
    referral_ref: str,
    amount: int,
    currency: str,
    actor: Actor | User,
    due_date: date | None = None,
    referral_is_new: bool = False,
) -> PartnerPayment:
    """Record the fee ``partner`` earns for the referral ``referral_ref`` (a public id such as
    ``lead_…``), due ``PARTNER_PAYMENT_DUE_DAYS`` from today unless ``due_date`` is given.

    Idempotent per (partner, referral_ref): a repeat returns the first record unchanged.
    ``referral_is_new``: the caller created ``referral_ref`` in its current transaction, so no
    payment can exist for it; the look-up and the savepoint are skipped (the unique constraint
    still guards: a violation then fails the caller's transaction instead of being absorbed).
    Raises ``InvalidAmountError`` (amount ≤ 0) and ``DomainError`` (bad currency or ref).
    """
    if amount <= 0:
        raise InvalidAmountError("A referral fee must be positive.")
    if not referral_ref or len(referral_ref) > 64:
        raise DomainError("referral_ref must be a public id.", code="invalid_referral_ref")
    currency = currency_clean(currency)
    due_date = due_date or timezone.now().date() + timedelta(days=settings.PARTNER_PAYMENT_DUE_DAYS)
    if referral_is_new:
        with transaction.atomic(savepoint=False):
            return _accrued(partner, referral_ref, amount, currency, due_date, actor)
    existing = PartnerPayment.objects.filter(partner=partner, referral_ref=referral_ref).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return _accrued(partner, referral_ref, amount, currency, due_date, actor)
    except IntegrityError:
        return PartnerPayment.objects.get(partner=partner, referral_ref=referral_ref)


def _accrued(
    partner: Partner,
    referral_ref: str,
    amount: int,
    currency: str,
    due_date: date,
    actor: Actor | User,
) -> PartnerPayment:
    payment = PartnerPayment.objects.create(
        partner=partner,
        referral_ref=referral_ref,
        amount=amount,
        currency=currency,
        due_date=due_date,
    )
    _audit(payment, actor, "payments.partner_payment.accrued", amount=amount)
    return payment


@transaction.atomic
def _transition(
    *,
    payment: PartnerPayment,
    to: str,
    allowed_from: tuple[str, ...],
    reason: str,
    actor: Actor | User,
) -> PartnerPayment:
    locked = (
        PartnerPayment.objects.select_for_update(of=("self",))
        .select_related("partner")
        .get(pk=payment.pk)
    )
    if locked.status == to:
        return locked
    if locked.status not in allowed_from:
        raise ConflictError(
            f"A {locked.status} partner payment cannot become {to}.",
            code="partner_payment_invalid_transition",
        )
    locked.status = to
    locked.status_reason = reason[:500]
    locked.save(update_fields=["status", "status_reason", "updated_at"])
    _audit(locked, actor, f"payments.partner_payment.{to}", reason=reason)
    return locked


def partner_payment_dispute(
    *, payment: PartnerPayment, reason: str, actor: Actor | User
) -> PartnerPayment:
    """Hold a pending fee out of payment runs until the dispute is resolved."""
    return _transition(
        payment=payment,
        to=PartnerPayment.Status.DISPUTED,
        allowed_from=(PartnerPayment.Status.PENDING,),
        reason=reason,
        actor=actor,
    )


def partner_payment_resolve(
    *, payment: PartnerPayment, reason: str, actor: Actor | User
) -> PartnerPayment:
    """A disputed fee is owed after all: back to pending."""
    return _transition(
        payment=payment,
        to=PartnerPayment.Status.PENDING,
        allowed_from=(PartnerPayment.Status.DISPUTED,),
        reason=reason,
        actor=actor,
    )


def partner_payment_cancel(
    *, payment: PartnerPayment, reason: str, actor: Actor | User
) -> PartnerPayment:
    if payment.transfer_id is not None and payment.status == PartnerPayment.Status.PENDING:
        raise ConflictError("This fee is being paid.", code="partner_payment_in_transfer")
    return _transition(
        payment=payment,
        to=PartnerPayment.Status.CANCELLED,
        allowed_from=(PartnerPayment.Status.PENDING, PartnerPayment.Status.DISPUTED),
        reason=reason,
        actor=actor,
    )


@dataclass
class PartnerPaymentRunReport:
    paid: list[str] = field(default_factory=list)  # PartnerTransfer public ids
    carried_over: list[str] = field(default_factory=list)  # partner public ids
    failed: list[str] = field(default_factory=list)
    no_account: list[str] = field(default_factory=list)


def _due(partner_id: int, currency: str, today: date):
    return PartnerPayment.objects.filter(
        partner_id=partner_id,
        currency=currency,
        status=PartnerPayment.Status.PENDING,
        transfer__isnull=True,
        due_date__lte=today,
    )


@transaction.atomic
def _claim(*, partner_id: int, currency: str, today: date) -> PartnerTransfer | None:
    period = period_label(today)
    if PartnerTransfer.objects.filter(
        partner_id=partner_id, currency=currency, period=period
    ).exists():
        return None  # this month's transfer exists: what became due since waits for next month
    pks = list(_due(partner_id, currency, today).select_for_update().values_list("pk", flat=True))
    total = PartnerPayment.objects.filter(pk__in=pks).aggregate(total=Sum("amount"))["total"] or 0
    if total < settings.PARTNER_PAYMENT_MIN_PAYOUT:
        return None
    transfer = PartnerTransfer.objects.create(
        partner_id=partner_id, period=period, amount=total, currency=currency
    )
    PartnerPayment.objects.filter(pk__in=pks).update(transfer=transfer)
    audit_record(
        actor=ACTOR,
        action="payments.partner_transfer.created",
        target_type="payments.partner_transfer",
        target_ref=transfer.public_id,
        metadata={"amount": total, "payments": len(pks)},
    )
    return transfer


def _pay(transfer: PartnerTransfer, account: ConnectedAccount) -> bool:
    try:
        result = stripe_gateway().create_transfer(
            amount=transfer.amount,
            currency=transfer.currency,
            destination=account.stripe_account_id,
            metadata={"partner_transfer_id": transfer.public_id},
            idempotency_key=f"careos:partner_transfer:{transfer.public_id}:transfer.create",
        )
    except PaymentProviderError as exc:
        if exc.transient:
            return False  # stays pending: the next run retries it with the same key
        with transaction.atomic():
            PartnerTransfer.objects.filter(pk=transfer.pk).update(
                status=PartnerTransfer.Status.FAILED, failure_message=exc.code[:500]
            )
            # The fees are owed again: next month's run includes them.
            PartnerPayment.objects.filter(transfer=transfer).update(transfer=None)
            audit_record(
                actor=ACTOR,
                action="payments.partner_transfer.failed",
                target_type="payments.partner_transfer",
                target_ref=transfer.public_id,
                metadata={"amount": transfer.amount, "error": exc.code[:100]},
            )
        return False
    now = timezone.now()
    with transaction.atomic():
        PartnerTransfer.objects.filter(pk=transfer.pk).update(
            status=PartnerTransfer.Status.PAID, stripe_transfer_id=result.id, paid_at=now
        )
        PartnerPayment.objects.filter(
            transfer=transfer, status=PartnerPayment.Status.PENDING
        ).update(status=PartnerPayment.Status.PAID, paid_at=now, stripe_transfer_id=result.id)
        audit_record(
            actor=ACTOR,
            action="payments.partner_transfer.paid",
            target_type="payments.partner_transfer",
            target_ref=transfer.public_id,
            metadata={"amount": transfer.amount, "transfer": result.id},
        )
        event_publish(
            event_type="payout.paid",
            owner=transfer.partner,
            payload={
                "payoutId": transfer.public_id,
                "amount": transfer.amount,
                "currency": transfer.currency,
            },
            key=f"payout.paid:{transfer.public_id}",
        )
    return True


def process_partner_payments(*, today: date | None = None) -> PartnerPaymentRunReport:
    """Pay each partner its due, undisputed fees in one transfer per currency when the total
    reaches ``PARTNER_PAYMENT_MIN_PAYOUT``; smaller totals carry over. Safe to run twice: at
    most one transfer per partner, currency and month, and its fees are claimed before Stripe is
    called (with an idempotency key of the transfer)."""
    today = today or timezone.now().date()
    report = PartnerPaymentRunReport()
    accounts = {
        a.partner_id: a
        for a in ConnectedAccount.objects.filter(partner__isnull=False, payouts_enabled=True)
    }
    for transfer in PartnerTransfer.objects.filter(
        status=PartnerTransfer.Status.PENDING
    ).select_related("partner"):
        account = accounts.get(transfer.partner_id)
        if account is not None:
            (report.paid if _pay(transfer, account) else report.failed).append(transfer.public_id)
    groups = (
        PartnerPayment.objects.filter(
            status=PartnerPayment.Status.PENDING, transfer__isnull=True, due_date__lte=today
        )
        .values("partner_id", "partner__public_id", "currency")
        .annotate(total=Sum("amount"))
        .order_by("partner_id", "currency")
    )
    for group in groups:
        partner_ref = group["partner__public_id"]
        if group["total"] < settings.PARTNER_PAYMENT_MIN_PAYOUT:
            report.carried_over.append(partner_ref)
            continue
        account = accounts.get(group["partner_id"])
        if account is None:
            report.no_account.append(partner_ref)
            continue
        transfer = _claim(partner_id=group["partner_id"], currency=group["currency"], today=today)
        if transfer is None:
            continue
        (report.paid if _pay(transfer, account) else report.failed).append(transfer.public_id)
    return report


@dataclass(frozen=True)
class PartnerPaymentSummary:
    currency: str
    pending_amount: int
    pending_count: int
    due_amount: int
    paid_amount: int
    paid_count: int
    disputed_amount: int
    disputed_count: int
    cancelled_count: int
    minimum_payout: int


def partner_payment_summary(
    *, partner: Partner, today: date | None = None
) -> list[PartnerPaymentSummary]:
    """Per currency: what is pending (and due now), paid, disputed, cancelled."""
    today = today or timezone.now().date()
    S = PartnerPayment.Status
    rows = (
        PartnerPayment.objects.filter(partner=partner)
        .values("currency")
        .annotate(
            pending_amount=Sum("amount", filter=Q(status=S.PENDING)),
            pending_count=Count("pk", filter=Q(status=S.PENDING)),
            due_amount=Sum("amount", filter=Q(status=S.PENDING, due_date__lte=today)),
            paid_amount=Sum("amount", filter=Q(status=S.PAID)),
            paid_count=Count("pk", filter=Q(status=S.PAID)),
            disputed_amount=Sum("amount", filter=Q(status=S.DISPUTED)),
            disputed_count=Count("pk", filter=Q(status=S.DISPUTED)),
            cancelled_count=Count("pk", filter=Q(status=S.CANCELLED)),
        )
        .order_by("currency")
    )
    return [
        PartnerPaymentSummary(
            currency=row["currency"],
            pending_amount=row["pending_amount"] or 0,
            pending_count=row["pending_count"],
            due_amount=row["due_amount"] or 0,
            paid_amount=row["paid_amount"] or 0,
            paid_count=row["paid_count"],
            disputed_amount=row["disputed_amount"] or 0,
            disputed_count=row["disputed_count"],
            cancelled_count=row["cancelled_count"],
            minimum_payout=settings.PARTNER_PAYMENT_MIN_PAYOUT,
        )
        for row in rows
    ]
