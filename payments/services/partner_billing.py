"""BillingService: partner pricing models, monthly invoices, revenue-share payouts, forecast."""

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from careos.actors import Actor, system_actor
from careos.errors import DomainError
from partners.models import Partner, PartnerUsageDaily
from payments.models import (
    ConnectedAccount,
    PartnerInvoice,
    PartnerInvoiceLine,
    PartnerPayout,
    PartnerPricing,
    Payment,
)
from payments.providers.stripe_gateway import PaymentProviderError, stripe_gateway
from payments.services.common import (
    as_actor,
    currency_clean,
    event_publish,
    next_month,
    previous_month,
)
from rbac.models import User
from rbac.services import audit_record

logger = logging.getLogger(__name__)

ACTOR = system_actor("payments.partner_billing")
M = PartnerPricing.Model


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_amount: int

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount


def usage_tiers_clean(tiers: object) -> list[dict[str, int | None]]:
    """Validate graduated tiers: ascending ``upTo`` (the last one None = unbounded),
    ``unitAmount`` ≥ 0 minor units per call. Raises ``DomainError``."""
    if not isinstance(tiers, list) or not tiers:
        raise DomainError("usage tiers must be a non-empty list.", code="invalid_tiers")
    clean: list[dict[str, int | None]] = []
    previous = 0
    for index, tier in enumerate(tiers):
        if not isinstance(tier, dict):
            raise DomainError("each tier is an object.", code="invalid_tiers")
        up_to, unit = tier.get("upTo"), tier.get("unitAmount")
        last = index == len(tiers) - 1
        if not isinstance(unit, int) or isinstance(unit, bool) or unit < 0:
            raise DomainError("unitAmount must be an integer ≥ 0.", code="invalid_tiers")
        if up_to is None and not last:
            raise DomainError("only the last tier may be unbounded.", code="invalid_tiers")
        if up_to is not None and (not isinstance(up_to, int) or up_to <= previous):
            raise DomainError("upTo must increase.", code="invalid_tiers")
        clean.append({"upTo": up_to, "unitAmount": unit})
        previous = up_to or previous
    if clean[-1]["upTo"] is not None:
        raise DomainError("the last tier must be unbounded (upTo null).", code="invalid_tiers")
    return clean


def usage_lines(*, calls: int, tiers: list[dict[str, int | None]]) -> list[Line]:
    """Graduated pricing: each tier prices the calls that fall inside it."""
    lines: list[Line] = []
    floor = 0
    for tier in tiers:
        ceiling = tier["upTo"]
        in_tier = max(0, (calls if ceiling is None else min(calls, ceiling)) - floor)
        if in_tier:
            if ceiling is None:
                label = f"API calls over {floor:,}"
            else:
                label = f"API calls {floor + 1:,} to {ceiling:,}"
            lines.append(Line(label, in_tier, int(tier["unitAmount"] or 0)))
        if ceiling is None or calls <= ceiling:
            break
        floor = ceiling
    return lines


def partner_calls(*, partner: Partner, start: date, end: date) -> int:
    """API calls in [start, end) from the partners app's daily usage."""
    return (
        PartnerUsageDaily.objects.filter(partner=partner, day__gte=start, day__lt=end).aggregate(
            calls=Sum("calls")
        )["calls"]
        or 0
    )


def referred_volume(*, partner: Partner, currency: str, start: date, end: date) -> int:
    """Net volume (paid minus refunded) of bookings the partner referred, paid in [start, end)."""
    return (
        Payment.objects.filter(
            booking__partner=partner,
            currency=currency,
            status=Payment.Status.SUCCEEDED,
            paid_at__date__gte=start,
            paid_at__date__lt=end,
        ).aggregate(v=Sum(F("amount") - F("amount_refunded")))["v"]
        or 0
    )


@transaction.atomic
def partner_pricing_set(
    *,
    partner: Partner,
    model: str,
    currency: str = "USD",
    flat_fee: int = 0,
    revenue_share_bps: int = 0,
    usage_tiers: list | None = None,
    actor: Actor | User,
) -> PartnerPricing:
    if model not in M.values:
        raise DomainError(f"Unknown pricing model {model!r}.", code="invalid_pricing_model")
    tiers = usage_tiers_clean(usage_tiers) if model in (M.USAGE_BASED, M.HYBRID) else []
    if flat_fee < 0 or not 0 <= revenue_share_bps <= 10000:
        raise DomainError("Amounts must be ≥ 0 and the share at most 100%.", code="invalid_pricing")
    pricing, _ = PartnerPricing.objects.update_or_create(
        partner=partner,
        defaults={
            "model": model,
            "currency": currency_clean(currency),
            "flat_fee": flat_fee,
            "revenue_share_bps": revenue_share_bps,
            "usage_tiers": tiers,
            "is_active": True,
        },
    )
    audit_record(
        actor=actor,
        action="payments.partner_pricing.set",
        target_type="payments.partner_pricing",
        target_ref=partner.public_id,
        metadata={"model": model},
    )
    return pricing


def invoice_lines(*, pricing: PartnerPricing, start: date, end: date) -> list[Line]:
    lines: list[Line] = []
    if pricing.model in (M.FLAT_FEE, M.HYBRID) and pricing.flat_fee:
        lines.append(Line("Monthly platform fee", 1, pricing.flat_fee))
    if pricing.model in (M.USAGE_BASED, M.HYBRID):
        calls = partner_calls(partner=pricing.partner, start=start, end=end)
        lines.extend(usage_lines(calls=calls, tiers=pricing.usage_tiers))
    return lines


def partner_invoice_generate(
    *, partner: Partner, period_start: date, actor: Actor | User = ACTOR
) -> PartnerInvoice | None:
    """The invoice of ``partner`` for the month starting ``period_start`` (one per month; a
    second call returns the first). None for revenue-share partners (they are paid, see
    ``partner_payout_generate``)."""
    pricing = (
        PartnerPricing.objects.select_related("partner")
        .filter(partner=partner, is_active=True)
        .first()
    )
    if pricing is None or pricing.model == M.REVENUE_SHARE:
        return None
    existing = PartnerInvoice.objects.filter(partner=partner, period_start=period_start).first()
    if existing is not None:
        return existing
    end = next_month(period_start)
    lines = invoice_lines(pricing=pricing, start=period_start, end=end)
    try:
        with transaction.atomic():
            invoice = PartnerInvoice.objects.create(
                partner=partner,
                period_start=period_start,
                period_end=end,
                pricing_model=pricing.model,
                currency=pricing.currency,
                total=sum(line.amount for line in lines),
                due_date=timezone.now().date() + timedelta(days=settings.INVOICE_DUE_DAYS),
            )
            PartnerInvoiceLine.objects.bulk_create(
                PartnerInvoiceLine(
                    invoice=invoice,
                    position=position,
                    description=line.description,
                    quantity=line.quantity,
                    unit_amount=line.unit_amount,
                    amount=line.amount,
                )
                for position, line in enumerate(lines)
            )
            audit_record(
                actor=actor,
                action="payments.partner_invoice.generated",
                target_type="payments.partner_invoice",
                target_ref=invoice.public_id,
                metadata={"partner": partner.public_id, "total": invoice.total},
            )
            event_publish(
                event_type="invoice.generated",
                owner=partner,
                payload={
                    "invoiceId": invoice.public_id,
                    "periodStart": period_start.isoformat(),
                    "total": invoice.total,
                    "currency": invoice.currency,
                    "dueDate": invoice.due_date.isoformat(),
                },
                key=f"invoice.generated:{invoice.public_id}",
            )
    except IntegrityError:
        return PartnerInvoice.objects.get(partner=partner, period_start=period_start)
    return invoice


def partner_payout_generate(
    *, partner: Partner, period_start: date, actor: Actor | User = ACTOR
) -> PartnerPayout | None:
    """The revenue-share payout owed to a revenue-share partner for a month (one per month)."""
    pricing = PartnerPricing.objects.filter(
        partner=partner, is_active=True, model=M.REVENUE_SHARE
    ).first()
    if pricing is None:
        return None
    end = next_month(period_start)
    volume = referred_volume(
        partner=partner, currency=pricing.currency, start=period_start, end=end
    )
    amount = volume * pricing.revenue_share_bps // 10000
    try:
        with transaction.atomic():
            payout, created = PartnerPayout.objects.get_or_create(
                partner=partner,
                period_start=period_start,
                currency=pricing.currency,
                defaults={
                    "period_end": end,
                    "volume": volume,
                    "share_bps": pricing.revenue_share_bps,
                    "amount": amount,
                },
            )
            if created:
                audit_record(
                    actor=actor,
                    action="payments.partner_payout.created",
                    target_type="payments.partner_payout",
                    target_ref=payout.public_id,
                    metadata={"volume": volume, "amount": amount},
                )
    except IntegrityError:
        payout = PartnerPayout.objects.get(
            partner=partner, period_start=period_start, currency=pricing.currency
        )
    return payout


@transaction.atomic
def partner_invoice_mark_paid(*, invoice: PartnerInvoice, actor: Actor | User) -> PartnerInvoice:
    invoice = PartnerInvoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == PartnerInvoice.Status.ISSUED:
        invoice.status = PartnerInvoice.Status.PAID
        invoice.paid_at = timezone.now()
        invoice.save(update_fields=["status", "paid_at", "updated_at"])
        audit_record(
            actor=as_actor(actor),
            action="payments.partner_invoice.paid",
            target_type="payments.partner_invoice",
            target_ref=invoice.public_id,
        )
    return invoice


def partner_payouts_pay() -> int:
    """Transfer each pending revenue-share payout to its partner's Connect account (idempotency
    key of the payout; a refusal marks it failed for an operator). Returns how many were paid."""
    accounts = {
        a.partner_id: a
        for a in ConnectedAccount.objects.filter(partner__isnull=False, payouts_enabled=True)
    }
    paid = 0
    pending = PartnerPayout.objects.filter(status=PartnerPayout.Status.PENDING, amount__gt=0)
    for payout in pending.select_related("partner"):
        account = accounts.get(payout.partner_id)
        if account is None:
            continue
        try:
            result = stripe_gateway().create_transfer(
                amount=payout.amount,
                currency=payout.currency,
                destination=account.stripe_account_id,
                metadata={"partner_payout_id": payout.public_id},
                idempotency_key=f"careos:partner_payout:{payout.public_id}:transfer.create",
            )
        except PaymentProviderError as exc:
            if not exc.transient:
                with transaction.atomic():
                    PartnerPayout.objects.filter(
                        pk=payout.pk, status=PartnerPayout.Status.PENDING
                    ).update(status=PartnerPayout.Status.FAILED)
                    audit_record(
                        actor=ACTOR,
                        action="payments.partner_payout.failed",
                        target_type="payments.partner_payout",
                        target_ref=payout.public_id,
                        metadata={"amount": payout.amount, "error": exc.code[:100]},
                    )
            continue
        with transaction.atomic():
            PartnerPayout.objects.filter(pk=payout.pk, status=PartnerPayout.Status.PENDING).update(
                status=PartnerPayout.Status.PAID,
                stripe_transfer_id=result.id,
                paid_at=timezone.now(),
            )
            audit_record(
                actor=ACTOR,
                action="payments.partner_payout.paid",
                target_type="payments.partner_payout",
                target_ref=payout.public_id,
                metadata={"amount": payout.amount, "transfer": result.id},
            )
            event_publish(
                event_type="payout.paid",
                owner=payout.partner,
                payload={
                    "payoutId": payout.public_id,
                    "amount": payout.amount,
                    "currency": payout.currency,
                },
                key=f"payout.paid:{payout.public_id}",
            )
        paid += 1
    return paid


def partner_billing_run(*, today: date | None = None) -> tuple[int, int]:
    """Invoices and revenue-share payouts for last month, for every active pricing, then the
    pending payouts are transferred; safe to repeat. Returns (invoices, payouts)."""
    period_start = previous_month(today or timezone.now().date())
    invoices = payouts = 0
    for pricing in PartnerPricing.objects.filter(is_active=True).select_related("partner"):
        if pricing.model == M.REVENUE_SHARE:
            payouts += (
                partner_payout_generate(partner=pricing.partner, period_start=period_start)
                is not None
            )
        else:
            invoices += (
                partner_invoice_generate(partner=pricing.partner, period_start=period_start)
                is not None
            )
    partner_payouts_pay()
    return invoices, payouts


@dataclass(frozen=True)
class ForecastMonth:
    month: date
    calls: int
    amount: int


def partner_revenue_forecast(*, partner: Partner, today: date | None = None) -> list[ForecastMonth]:
    """The next 3 months' invoice totals at the trailing 90 days' average daily calls (or, for
    revenue share, payouts at the trailing average daily referred volume)."""
    pricing = PartnerPricing.objects.filter(partner=partner, is_active=True).first()
    if pricing is None:
        return []
    today = today or timezone.now().date()
    start = today - timedelta(days=90)
    daily_calls = partner_calls(partner=partner, start=start, end=today) / 90
    daily_volume = (
        referred_volume(partner=partner, currency=pricing.currency, start=start, end=today) / 90
    )
    months: list[ForecastMonth] = []
    month = next_month(today)
    for _ in range(3):
        days = (next_month(month) - month).days
        calls = round(daily_calls * days)
        if pricing.model == M.REVENUE_SHARE:
            amount = round(daily_volume * days) * pricing.revenue_share_bps // 10000
        else:
            amount = (pricing.flat_fee if pricing.model in (M.FLAT_FEE, M.HYBRID) else 0) + (
                sum(line.amount for line in usage_lines(calls=calls, tiers=pricing.usage_tiers))
                if pricing.model in (M.USAGE_BASED, M.HYBRID)
                else 0
            )
        months.append(ForecastMonth(month=month, calls=calls, amount=amount))
        month = next_month(month)
    return months
