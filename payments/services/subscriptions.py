"""Business customers billed by the external provider ("CVT"): registration, signed provider
webhooks, API access following the subscription, and the monthly charge run."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from careos.actors import Actor, system_actor
from careos.crypto import blind_index
from careos.errors import ConflictError, DomainError
from partners.models import Partner
from partners.services.credentials import api_key_generate
from partners.services.lifecycle import (
    partner_activate,
    partner_create,
    partner_reactivate,
    partner_suspend,
)
from payments.models import BillingAccount, BillingCharge, BillingEvent
from payments.providers.billing_provider import (
    BillingProviderError,
    provider_charge,
    provider_customer_create,
    provider_verify_key,
)
from payments.services.common import period_label
from rbac.models import User
from rbac.services import audit_record

logger = logging.getLogger(__name__)

ACTOR = system_actor("payments.subscription_billing")
SUSPENDING = {
    BillingAccount.SubscriptionStatus.PAST_DUE,
    BillingAccount.SubscriptionStatus.CANCELED,
}
BILLABLE = {BillingAccount.SubscriptionStatus.ACTIVE}


class InvalidProviderKeyError(DomainError):
    code = "invalid_provider_key"
    status = 401
    title = "The billing provider did not accept this API key"


class BillingProviderUnavailable(DomainError):
    code = "billing_provider_unavailable"
    status = 503
    title = "The billing provider could not be reached"


class BillingProviderBadGateway(DomainError):
    code = "billing_provider_error"
    status = 502
    title = "The billing provider answered with an error"


class BillingProviderRejected(DomainError):
    code = "billing_provider_rejected"
    status = 422
    title = "The billing provider refused to create the customer"


def _provider_failure(exc: BillingProviderError) -> DomainError:
    """Our problem for a provider failure; its detail never carries the provider's body."""
    if exc.status_code is None:
        return BillingProviderUnavailable("The billing provider did not answer in time.")
    if exc.status_code >= 500 or exc.transient:
        return BillingProviderBadGateway("The billing provider failed; try again later.")
    return BillingProviderRejected(
        "The billing provider refused to create a customer for this business; check the "
        "business name and email, or your account at the provider."
    )


def provider_key_hash(provider_key: str) -> str:
    return blind_index(provider_key, purpose="payments.billing_provider_key")


@dataclass(frozen=True)
class Registration:
    partner: Partner
    account: BillingAccount
    api_key_secret: str  # shown once


def _unique_slug(name: str) -> str:
    base = slugify(name)[:40] or "business"
    slug, n = base, 1
    while Partner.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _status(value: str) -> str:
    return (
        value
        if value in BillingAccount.SubscriptionStatus.values
        else BillingAccount.SubscriptionStatus.ACTIVE
    )


def business_register(
    *, provider_key: str, business_name: str, email: str, actor: Actor | User
) -> Registration:
    """The seed's flow: verify ``provider_key`` with the provider; take the provider customer
    the key belongs to, or create it there (``/v1/customers``) when the provider has none yet;
    then create the business customer partner, its ``BillingAccount`` (customer id, key
    encrypted + hashed) and an internal live API key (returned once). Nothing is written here
    unless every provider call succeeded.

    Raises ``InvalidProviderKeyError`` (401), ``ConflictError`` (key or customer already
    registered), ``BillingProviderRejected`` (422, the provider refused the customer),
    ``BillingProviderBadGateway`` (502) and ``BillingProviderUnavailable`` (503).
    """
    # The provider verifies the key before we look it up: an unverified key gets the same 401
    # whether or not it is registered here (no probing which keys are).
    try:
        customer = provider_verify_key(api_key=provider_key)
    except BillingProviderError as exc:
        raise _provider_failure(exc) from exc
    if customer is None:
        raise InvalidProviderKeyError()
    key_hash = provider_key_hash(provider_key)
    if BillingAccount.objects.filter(provider_key_hash=key_hash).exists():
        raise ConflictError(
            "This billing account is already registered.", code="already_registered"
        )
    if not customer.id:
        plan = customer.plan if customer.plan in settings.BILLING_PLAN_PRICES else "basic"
        try:
            customer = provider_customer_create(
                email=email,
                name=business_name,
                plan=plan,
                idempotency_key=f"careos:business_register:{key_hash}:customer.create",
            )
        except BillingProviderError as exc:
            raise _provider_failure(exc) from exc
    with transaction.atomic():
        if BillingAccount.objects.filter(
            Q(provider_key_hash=key_hash) | Q(provider_customer_id=customer.id)
        ).exists():
            raise ConflictError(
                "This billing account is already registered.", code="already_registered"
            )
        partner = partner_create(
            name=business_name,
            slug=_unique_slug(business_name),
            partner_type=Partner.Type.BUSINESS_CUSTOMER,
            actor=actor,
        )
        partner = partner_activate(partner=partner, actor=actor)
        account = BillingAccount.objects.create(
            partner=partner,
            provider_customer_id=customer.id,
            provider_key=provider_key,
            provider_key_hash=key_hash,
            email=email,
            subscription_status=_status(customer.subscription_status),
            plan=customer.plan if customer.plan in settings.BILLING_PLAN_PRICES else "basic",
            trial_ends_at=customer.trial_ends_at,
        )
        issued = api_key_generate(partner=partner, name="Production", actor=actor)
        audit_record(
            actor=actor,
            action="payments.billing_account.created",
            target_type="payments.billing_account",
            target_ref=account.public_id,
            metadata={"partner": partner.public_id, "status": account.subscription_status},
        )
        _apply_access(account, actor=actor)
    return Registration(partner=partner, account=account, api_key_secret=issued.secret)


def _apply_access(account: BillingAccount, *, actor: Actor | User) -> None:
    """Suspend the partner's API access when the subscription lapses; restore it (only a
    billing suspension) when it is active again."""
    partner = Partner.objects.select_for_update().get(pk=account.partner_id)
    if account.subscription_status in SUSPENDING:
        if partner.status == Partner.Status.ACTIVE:
            partner_suspend(
                partner=partner, reason=f"Subscription {account.subscription_status}", actor=actor
            )
            BillingAccount.objects.filter(pk=account.pk).update(suspended_for_billing=True)
            account.suspended_for_billing = True
    elif account.suspended_for_billing and partner.status == Partner.Status.SUSPENDED:
        partner_reactivate(partner=partner, actor=actor, reason="Subscription active again")
        BillingAccount.objects.filter(pk=account.pk).update(suspended_for_billing=False)
        account.suspended_for_billing = False


def _when(value: Any, *, field: str) -> datetime | None:
    """A provider time (Unix seconds or ISO 8601; naive means UTC). Raises ``DomainError``
    naming ``field`` for a time no ``datetime`` can hold."""
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except (ValueError, OverflowError, OSError) as exc:
        raise DomainError(
            f"{field} is not a valid time.", code="invalid_event", extra={"field": field}
        ) from exc
    if parsed is not None and timezone.is_naive(parsed):
        return parsed.replace(tzinfo=UTC)
    return parsed


def _set_status(account: BillingAccount, status: str, *, ends_at: datetime | None = None) -> None:
    account.subscription_status = status
    if ends_at is not None:
        account.subscription_ends_at = ends_at
    account.save(
        update_fields=[
            "subscription_status",
            "subscription_ends_at",
            "status_event_at",
            "last_billed_at",
            "plan",
            "updated_at",
        ]
    )


@transaction.atomic
def billing_webhook_apply(*, event: dict[str, Any]) -> tuple[BillingEvent, bool]:
    """Apply one verified provider event; (log row, applied). Each provider event id is applied
    once; a status change older than the last one applied is logged but not applied."""
    event_id = str(event.get("id") or "")
    if not event_id:
        raise DomainError("The event has no id.", code="invalid_event")
    data = event.get("data") or {}
    if not isinstance(data, dict):
        raise DomainError("The event data must be an object.", code="invalid_event")
    customer_id = str(data.get("customer_id") or "")
    event_type = str(event.get("type") or "")[:64]
    account = (
        BillingAccount.objects.select_for_update().filter(provider_customer_id=customer_id).first()
        if customer_id
        else None
    )
    amount = data.get("amount")
    try:
        with transaction.atomic():
            log = BillingEvent.objects.create(
                account=account,
                provider_event_id=event_id,
                event_type=event_type,
                provider_customer_id=customer_id[:255],
                amount=amount if isinstance(amount, int) else None,
                currency=str(data.get("currency") or "")[:3].upper(),
                status=str(data.get("status") or "")[:32],
                error_message=str(data.get("error_message") or "")[:500],
                payload=event,
            )
    except IntegrityError:
        return BillingEvent.objects.get(provider_event_id=event_id), False
    if account is None:
        return log, False
    occurred = _when(event.get("created"), field="created") or timezone.now()
    S = BillingAccount.SubscriptionStatus
    if event_type == "charge.succeeded":
        account.last_billed_at = max(filter(None, [account.last_billed_at, occurred]))
        new_status: str = S.ACTIVE
    elif event_type == "charge.failed":
        new_status = S.PAST_DUE
    elif event_type == "subscription.updated":
        new_status = _status(str(data.get("status") or S.ACTIVE))
        plan = str(data.get("plan") or "")
        if plan in settings.BILLING_PLAN_PRICES:
            account.plan = plan
    elif event_type == "subscription.canceled":
        new_status = S.CANCELED
    else:
        return log, False
    if account.status_event_at is not None and occurred < account.status_event_at:
        return log, False  # older than the status already applied (out-of-order delivery)
    account.status_event_at = occurred
    previous = account.subscription_status
    _set_status(account, new_status, ends_at=_when(data.get("ends_at"), field="data.ends_at"))
    audit_record(
        actor=ACTOR,
        action="payments.billing_account.status_changed",
        target_type="payments.billing_account",
        target_ref=account.public_id,
        metadata={"from": previous, "to": new_status, "event": event_id},
    )
    _apply_access(account, actor=ACTOR)
    return log, True


@dataclass
class BillingRunReport:
    succeeded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: int = 0


def _claim_charge(account: BillingAccount, period: str) -> BillingCharge | None:
    amount = settings.BILLING_PLAN_PRICES.get(account.plan, settings.BILLING_PLAN_PRICES["basic"])
    try:
        with transaction.atomic():
            return BillingCharge.objects.create(
                account=account, period=period, amount=amount, currency=settings.BILLING_CURRENCY
            )
    except IntegrityError:
        return None


def _charge(charge: BillingCharge) -> bool:
    account = charge.account
    try:
        result = provider_charge(
            customer_id=account.provider_customer_id,
            amount=charge.amount,
            currency=charge.currency,
            description=f"CareOS subscription {charge.period} ({account.plan})",
            idempotency_key=f"careos:billing_charge:{account.public_id}:{charge.period}",
        )
    except BillingProviderError as exc:
        BillingCharge.objects.filter(pk=charge.pk).update(error_message=str(exc)[:500])
        return False  # stays pending: retried by the next run with the same idempotency key
    succeeded = result.status == "succeeded"
    with transaction.atomic():
        locked = BillingAccount.objects.select_for_update().get(pk=account.pk)
        BillingCharge.objects.filter(pk=charge.pk).update(
            status=BillingCharge.Status.SUCCEEDED if succeeded else BillingCharge.Status.FAILED,
            provider_charge_id=result.id[:255],
            error_message=result.error[:500],
        )
        BillingEvent.objects.create(
            account=locked,
            event_type="charge.attempted",
            provider_customer_id=locked.provider_customer_id,
            amount=charge.amount,
            currency=charge.currency,
            status=result.status[:32],
            error_message=result.error[:500],
            payload={"period": charge.period, "chargeId": result.id},
        )
        audit_record(
            actor=ACTOR,
            action=f"payments.billing_charge.{'succeeded' if succeeded else 'failed'}",
            target_type="payments.billing_account",
            target_ref=locked.public_id,
            metadata={"period": charge.period, "amount": charge.amount, "charge": result.id},
        )
        if succeeded:
            locked.last_billed_at = timezone.now()
            locked.save(update_fields=["last_billed_at", "updated_at"])
        else:
            previous = locked.subscription_status
            _set_status(locked, BillingAccount.SubscriptionStatus.PAST_DUE)
            audit_record(
                actor=ACTOR,
                action="payments.billing_account.status_changed",
                target_type="payments.billing_account",
                target_ref=locked.public_id,
                metadata={
                    "from": previous,
                    "to": locked.subscription_status,
                    "charge": charge.period,
                },
            )
            _apply_access(locked, actor=ACTOR)
    return succeeded


def subscription_billing_run(*, today: date | None = None) -> BillingRunReport:
    """Charge each active account once for this month (``BillingCharge`` is unique per account
    and period; a charge left pending by a crash is retried with the same idempotency key)."""
    now = timezone.now()
    period = period_label(today or now.date())
    report = BillingRunReport()
    for charge in BillingCharge.objects.filter(
        period=period, status=BillingCharge.Status.PENDING
    ).select_related("account"):
        (report.succeeded if _charge(charge) else report.failed).append(charge.account.public_id)
    accounts = BillingAccount.objects.filter(
        subscription_status__in=BILLABLE, partner__status=Partner.Status.ACTIVE
    ).exclude(charges__period=period)
    for account in accounts:
        if account.trial_ends_at and account.trial_ends_at > now:
            report.skipped += 1
            continue
        charge = _claim_charge(account, period)
        if charge is None:
            report.skipped += 1
            continue
        (report.succeeded if _charge(charge) else report.failed).append(account.public_id)
    return report
