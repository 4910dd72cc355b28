"""The clinic's catalogue: services, prices with history, discount codes (redeemed under a row
lock so a limit is never overshot), and the audit of changes made in the console."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from careos.actors import Actor
from careos.errors import ConflictError, DomainError, NotFoundError
from payments.models import CatalogueService, DiscountCode, ServicePrice
from payments.services.common import InvalidAmountError, currency_clean
from payments.services.stripe_catalogue import stripe_catalogue_sync_queue
from rbac.models import Clinic, User
from rbac.services import audit_record


class DiscountCodeInvalid(DomainError):
    code = "discount_code_invalid"
    status = 400
    title = "The discount code cannot be used"


def catalogue_services_for(*, clinic: Clinic) -> QuerySet[CatalogueService]:
    """The clinic's active services (what patients may book)."""
    return CatalogueService.objects.filter(clinic=clinic, is_active=True).order_by(
        "category", "name_en", "pk"
    )


def catalogue_service_get(*, clinic: Clinic, public_id: str) -> CatalogueService:
    service = catalogue_services_for(clinic=clinic).filter(public_id=public_id).first()
    if service is None:
        raise NotFoundError(f"No such service: {public_id[:40]}.", code="service_not_found")
    return service


def _in_force(at: datetime) -> Q:
    return Q(effective_from__lte=at) & (Q(effective_until__isnull=True) | Q(effective_until__gt=at))


def price_in_force(*, service: CatalogueService, tier: str, at: datetime) -> ServicePrice | None:
    """The service's price in ``tier`` at ``at`` (the latest that started, when several)."""
    return (
        service.prices.filter(_in_force(at), tier=tier).order_by("-effective_from", "-pk").first()
    )


def prices_in_force(
    *, services: list[CatalogueService], tier: str, at: datetime
) -> dict[int, ServicePrice]:
    """``{service pk: price}`` for those of ``services`` with a price in ``tier`` at ``at``."""
    found: dict[int, ServicePrice] = {}
    rows = ServicePrice.objects.filter(_in_force(at), service__in=services, tier=tier).order_by(
        "service_id", "-effective_from", "-pk"
    )
    for price in rows:
        found.setdefault(price.service_id, price)
    return found


@transaction.atomic
def price_set(
    *,
    service: CatalogueService,
    amount: int,
    currency: str,
    actor: Actor | User,
    tier: str = ServicePrice.DEFAULT_TIER,
    effective_from: datetime | None = None,
) -> ServicePrice:
    """A new price from ``effective_from`` (default now); the price open until then is closed
    at that moment. Existing prices are never edited, so bookings keep what they were priced at.
    """
    if amount < 0:
        raise InvalidAmountError("A price is ≥ 0 minor units.")
    start = effective_from or timezone.now()
    CatalogueService.objects.select_for_update().get(pk=service.pk)
    prices = ServicePrice.objects.filter(service=service, tier=tier)
    if prices.filter(effective_from__gte=start).exists():
        raise ConflictError(
            "A price of this tier already starts at or after that moment.", code="price_overlap"
        )
    prices.filter(Q(effective_until__isnull=True) | Q(effective_until__gt=start)).update(
        effective_until=start
    )
    price = ServicePrice.objects.create(
        service=service,
        tier=tier,
        amount=amount,
        currency=currency_clean(currency),
        effective_from=start,
    )
    audit_record(
        actor=actor,
        action="payments.price.set",
        target_type="payments.serviceprice",
        target_ref=price.public_id,
        clinic=service.clinic,
        metadata={
            "service": service.public_id,
            "tier": tier,
            "amount": amount,
            "currency": price.currency,
        },
    )
    stripe_catalogue_sync_queue()
    return price


def discount_code_redeem(*, clinic: Clinic, code: str, currency: str, at: datetime) -> DiscountCode:
    """Lock the clinic's ``code`` and count one use; refused when unknown, inactive, not yet
    valid, expired, used up or in another currency. Call inside the booking's transaction:
    a booking that fails gives the use back."""
    discount = (
        DiscountCode.objects.select_for_update()
        .filter(clinic=clinic, code__iexact=code.strip())
        .first()
    )
    if discount is None or not discount.is_active:
        raise DiscountCodeInvalid("No such discount code.")
    if discount.valid_from and at < discount.valid_from:
        raise DiscountCodeInvalid("This discount code is not valid yet.")
    if discount.expires_at and at >= discount.expires_at:
        raise DiscountCodeInvalid("This discount code has expired.", code="discount_code_expired")
    if discount.max_redemptions is not None and (
        discount.times_redeemed >= discount.max_redemptions
    ):
        raise DiscountCodeInvalid(
            "This discount code has been used up.", code="discount_code_exhausted"
        )
    if discount.kind == DiscountCode.Kind.FIXED and discount.currency.upper() != currency:
        raise DiscountCodeInvalid(f"This discount code is not in {currency}.")
    discount.times_redeemed += 1
    discount.save(update_fields=["times_redeemed", "updated_at"])
    return discount


def catalogue_change_record(
    *, actor: Actor | User, obj: Any, action: str, clinic: Clinic | None = None
) -> None:
    """Audit a catalogue, discount or tax change made in the console."""
    audit_record(
        actor=actor,
        action=f"payments.{obj._meta.model_name}.{action}",
        target_type=f"payments.{obj._meta.model_name}",
        target_ref=getattr(obj, "public_id", "") or str(obj.pk),
        clinic=clinic or getattr(obj, "clinic", None),
    )
