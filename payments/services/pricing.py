"""Server-side pricing: a booking names services and quantities; every amount comes from the
clinic's catalogue in force at booking time, then its discount code, then its tax rates.

Order of the computation (each line is kept, so the booking shows how its total was reached):
1. a line per service: the price in force x quantity (the gross);
2. the discount: a percentage of each line, or a fixed amount shared among the lines in
   proportion to their gross (largest remainder, so the shares add up exactly), capped at the
   subtotal;
3. the tax of each line on its gross less its discount share (``payments.services.tax``);
4. total = Σ gross - discount + exclusive tax (inclusive tax is already in the gross).
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext

from careos.errors import ConflictError, DomainError
from payments.models import BookingLineItem, CatalogueService, DiscountCode, ServicePrice
from payments.services.catalogue import (
    catalogue_service_get,
    discount_code_redeem,
    prices_in_force,
)
from payments.services.tax import HUNDRED, LineTax, line_taxes, round_minor, tax_rates_in_force
from rbac.models import Clinic

# Request keys that carry an amount: refused on every booking request (prices are ours).
AMOUNT_KEYS = frozenset(
    {
        "amount",
        "amounts",
        "unitAmount",
        "unit_amount",
        "totalAmount",
        "total_amount",
        "total",
        "subtotal",
        "price",
        "unitPrice",
        "unit_price",
        "lineItems",
        "line_items",
        "tax",
        "taxAmount",
        "tax_amount",
        "discountAmount",
        "discount_amount",
    }
)
MAX_QUANTITY = 100


class AmountNotAllowed(DomainError):
    code = "amount_not_allowed"
    status = 400
    title = "Amounts are not accepted here"


@dataclass(frozen=True)
class ServiceOrder:
    """One catalogue service booked, by its public id (``svc_…``)."""

    service_id: str
    quantity: int = 1


@dataclass
class PricedLine:
    kind: str
    description: str
    unit_amount: int
    quantity: int = 1
    amount: int = 0
    service_ref: str = ""
    price_ref: str = ""
    category: str = ""
    discount_amount: int = 0
    tax_rate: Decimal | None = None
    tax_amount: int = 0
    tax_inclusive: bool = False


@dataclass
class Quote:
    currency: str
    priced_at: datetime
    tier: str
    lines: list[PricedLine] = field(default_factory=list)
    subtotal: int = 0
    discount_total: int = 0
    tax_total: int = 0
    total: int = 0
    discount: DiscountCode | None = None
    services: list[CatalogueService] = field(default_factory=list)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def amounts_refuse(data: object, *, path: str = "") -> None:
    """Raise ``amount_not_allowed`` if ``data`` (a request body) holds an amount anywhere."""
    if isinstance(data, dict):
        for key, value in data.items():
            name = _camel(str(key))
            if str(key) in AMOUNT_KEYS or name in AMOUNT_KEYS:
                raise AmountNotAllowed(
                    f"{path}{name}: amounts are computed from the clinic's catalogue; "
                    "name services (and quantities) instead.",
                    extra={"field": f"{path}{name}"},
                )
            amounts_refuse(value, path=f"{path}{name}.")
    elif isinstance(data, list):
        for index, value in enumerate(data[:100]):
            amounts_refuse(value, path=f"{path}{index}.")


def proportional_shares(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder; exact sum)."""
    whole = sum(weights)
    if whole <= 0:
        return [0 for _ in weights]
    exact = [total * weight for weight in weights]
    shares = [value // whole for value in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] % whole), i))
    for index in order[: total - sum(shares)]:
        shares[index] += 1
    return shares


def _discount_shares(discount: DiscountCode | None, grosses: list[int]) -> list[int]:
    if discount is None:
        return [0 for _ in grosses]
    if discount.kind == DiscountCode.Kind.PERCENT:
        percent = Decimal(discount.percent or 0)
        return [round_minor(Decimal(gross) * percent / HUNDRED) for gross in grosses]
    return proportional_shares(min(int(discount.amount or 0), sum(grosses)), grosses)


def _discount_label(code: str, language: str) -> str:
    with translation.override(language or "en"):
        return f"{gettext('Discount')} {code}"[:200]


def _rate_label(rate: Decimal) -> str:
    text = format(rate.normalize(), "f")
    return f"{text}%"


def booking_quote(
    *,
    clinic: Clinic,
    items: list[ServiceOrder],
    at: datetime,
    tier: str = ServicePrice.DEFAULT_TIER,
    discount_code: str = "",
    language: str = "en",
) -> Quote:
    """Price ``items`` at ``at``. Redeems ``discount_code`` (a row lock and one use): call it in
    the transaction that writes the booking."""
    if not items:
        raise DomainError("A booking names at least one service.", code="items_required")
    services: list[tuple[CatalogueService, int]] = []
    for item in items:
        if not 1 <= item.quantity <= MAX_QUANTITY:
            raise DomainError(
                f"A quantity is between 1 and {MAX_QUANTITY}.", code="invalid_quantity"
            )
        services.append(
            (catalogue_service_get(clinic=clinic, public_id=item.service_id), item.quantity)
        )
    prices = prices_in_force(services=[s for s, _ in services], tier=tier, at=at)
    missing = [s.public_id for s, _ in services if s.pk not in prices]
    if missing:
        raise ConflictError(
            f"No {tier} price in force for: {', '.join(missing)}.", code="price_not_available"
        )
    currencies = {prices[s.pk].currency for s, _ in services}
    if len(currencies) > 1:
        raise ConflictError(
            "These services are priced in different currencies.", code="currency_mismatch"
        )
    currency = currencies.pop()
    quote = Quote(currency=currency, priced_at=at, tier=tier, services=[s for s, _ in services])
    if discount_code.strip():
        quote.discount = discount_code_redeem(
            clinic=clinic, code=discount_code, currency=currency, at=at
        )
    grosses = [prices[s.pk].amount * quantity for s, quantity in services]
    discounts = _discount_shares(quote.discount, grosses)
    jurisdiction = getattr(getattr(clinic, "billing_profile", None), "jurisdiction", "")
    rates = tax_rates_in_force(clinic=clinic, jurisdiction=jurisdiction, at=at)
    taxes_by_rate: dict[int, tuple[LineTax, int]] = {}
    for (service, quantity), gross, discount in zip(services, grosses, discounts, strict=True):
        price = prices[service.pk]
        taxes = line_taxes(net=gross - discount, category=service.category, rates=rates)
        quote.lines.append(
            PricedLine(
                kind=service.line_kind,
                description=service.name_in(language)[:200],
                quantity=quantity,
                unit_amount=price.amount,
                amount=gross,
                service_ref=service.public_id,
                price_ref=price.public_id,
                category=service.category,
                discount_amount=discount,
                tax_rate=sum((t.rate.rate for t in taxes), Decimal(0)) if taxes else None,
                tax_amount=sum(t.amount for t in taxes),
                tax_inclusive=any(t.rate.inclusive for t in taxes),
            )
        )
        for tax in taxes:
            previous = taxes_by_rate.get(tax.rate.pk, (tax, 0))[1]
            taxes_by_rate[tax.rate.pk] = (tax, previous + tax.amount)
    quote.subtotal = sum(grosses)
    quote.discount_total = sum(discounts)
    if quote.discount_total:
        assert quote.discount is not None
        quote.lines.append(
            PricedLine(
                kind=BookingLineItem.Kind.DISCOUNT,
                description=_discount_label(quote.discount.code, language),
                unit_amount=quote.discount_total,
                amount=-quote.discount_total,
            )
        )
    exclusive_tax = 0
    for tax, amount in taxes_by_rate.values():
        if not amount:
            continue
        rate = tax.rate
        quote.lines.append(
            PricedLine(
                kind=BookingLineItem.Kind.TAX,
                description=f"{rate.name} ({_rate_label(rate.rate)})"[:200],
                unit_amount=amount,
                amount=amount,
                tax_rate=rate.rate,
                tax_amount=amount,
                tax_inclusive=rate.inclusive,
            )
        )
        quote.tax_total += amount
        exclusive_tax += 0 if rate.inclusive else amount
    quote.total = quote.subtotal - quote.discount_total + exclusive_tax
    return quote


def line_item_rows(quote: Quote) -> list[BookingLineItem]:
    """The booking's line items (unsaved, without their booking) for ``quote``."""
    return [
        BookingLineItem(
            position=position,
            kind=line.kind,
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.amount,
            service_ref=line.service_ref,
            price_ref=line.price_ref,
            category=line.category,
            discount_amount=line.discount_amount,
            tax_rate=line.tax_rate,
            tax_amount=line.tax_amount,
            tax_inclusive=line.tax_inclusive,
        )
        for position, line in enumerate(quote.lines)
    ]


def booking_total(lines: list[BookingLineItem]) -> int:
    """What the patient pays: every signed line but inclusive tax (already in the prices)."""
    return sum(
        line.amount
        for line in lines
        if not (line.kind == BookingLineItem.Kind.TAX and line.tax_inclusive)
    )
