"""Tax on a priced line: exact ``Decimal`` arithmetic, rounded ``ROUND_HALF_UP`` to the minor
unit once per line and rate (never on the sum), so each line shows the tax it carries and the
total's tax is the sum of the lines'."""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, QuerySet

from careos.errors import DomainError
from payments.models import TaxRate
from rbac.models import Clinic

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineTax:
    """The tax ``rate`` puts on one line, in minor units."""

    rate: TaxRate
    amount: int


def round_minor(value: Decimal) -> int:
    """Round to a whole minor unit, halves away from zero (``0.5`` → ``1``, ``-0.5`` → ``-1``)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_rates_in_force(*, clinic: Clinic, jurisdiction: str, at: datetime) -> list[TaxRate]:
    """The clinic's active rates of ``jurisdiction`` in force at ``at``."""
    queryset: QuerySet[TaxRate] = TaxRate.objects.filter(
        Q(effective_until__isnull=True) | Q(effective_until__gt=at),
        clinic=clinic,
        jurisdiction=jurisdiction,
        is_active=True,
        effective_from__lte=at,
    ).order_by("name", "pk")
    return list(queryset)


def line_taxes(*, net: int, category: str, rates: list[TaxRate]) -> list[LineTax]:
    """The taxes on a line of ``net`` minor units (after its discount) in ``category``.

    Exclusive rates add ``net x rate`` each. Inclusive rates are inside ``net``: the base is
    ``net / (1 + Σ rates)`` and each rate's share is taken from it; the last rate takes the
    rounding remainder, so the shares always add up to ``net - base``. A line's rates are all
    inclusive or all exclusive (a mix has no single meaning of the catalogue price).
    """
    applicable = [rate for rate in rates if rate.applies_to(category)]
    if not applicable or net <= 0:
        return [LineTax(rate=rate, amount=0) for rate in applicable]
    inclusive = {rate.inclusive for rate in applicable}
    if len(inclusive) > 1:
        raise DomainError(
            f"Category {category!r} has inclusive and exclusive tax rates at once.",
            code="tax_configuration_invalid",
            status=409,
        )
    if not inclusive.pop():
        return [
            LineTax(rate=rate, amount=round_minor(Decimal(net) * rate.rate / HUNDRED))
            for rate in applicable
        ]
    total_rate = sum((rate.rate for rate in applicable), Decimal(0))
    base = round_minor(Decimal(net) * HUNDRED / (HUNDRED + total_rate))
    included = net - base
    shares: list[LineTax] = []
    taken = 0
    for index, rate in enumerate(applicable):
        if index == len(applicable) - 1:
            amount = included - taken
        else:
            amount = round_minor(Decimal(base) * rate.rate / HUNDRED)
        taken += amount
        shares.append(LineTax(rate=rate, amount=amount))
    return shares
