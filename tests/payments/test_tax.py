"""Tax per line with Decimal and ROUND_HALF_UP: exclusive, inclusive, exempt, with a discount,
each with the cents expected."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.models import ClinicBillingProfile, DiscountCode, TaxRate
from payments.services.pricing import ServiceOrder, booking_quote
from payments.services.tax import round_minor
from tests.payments.catalogue import service_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(clinic, actor):
    ClinicBillingProfile.objects.create(clinic=clinic, legal_name="Harbor", jurisdiction="US-NY")
    return {
        "visit": service_make(
            clinic=clinic,
            code="visit",
            name="Visit",
            category="consultation",
            amount=10000,
            actor=actor,
        ),
        "lab": service_make(
            clinic=clinic,
            code="lab",
            name="Lab",
            category="laboratory",
            amount=3333,
            actor=actor,
        ),
    }


def _rate(clinic, rate, **fields):
    defaults = {
        "jurisdiction": "US-NY",
        "name": f"Tax {rate}",
        "effective_from": timezone.now() - timedelta(hours=1),
    }
    return TaxRate.objects.create(clinic=clinic, rate=Decimal(rate), **{**defaults, **fields})


def _quote(clinic, shop, *names, code=""):
    return booking_quote(
        clinic=clinic,
        items=[ServiceOrder(service_id=shop[name].public_id) for name in names],
        at=timezone.now(),
        discount_code=code,
    )


def test_round_half_up_not_bankers():
    assert [round_minor(Decimal(v)) for v in ("0.5", "1.5", "2.5", "887.49", "-0.5")] == [
        1,
        2,
        3,
        887,
        -1,
    ]


def test_exclusive_tax_is_added_per_line(clinic, shop):
    _rate(clinic, "8.875", name="NY sales tax")
    quote = _quote(clinic, shop, "visit", "lab")
    # 10000 x 8.875% = 887.5 -> 888; 3333 x 8.875% = 295.80 -> 296.
    assert [line.tax_amount for line in quote.lines[:2]] == [888, 296]
    assert quote.tax_total == 1184
    assert quote.total == 10000 + 3333 + 1184
    assert [(line.kind, line.amount) for line in quote.lines[2:]] == [("tax", 1184)]


def test_inclusive_tax_is_inside_the_price(clinic, shop):
    _rate(clinic, "20", name="VAT", inclusive=True)
    quote = _quote(clinic, shop, "visit", "lab")
    # 10000 / 1.2 = 8333.33 -> base 8333, tax 1667; 3333 / 1.2 = 2777.5 -> 2778, tax 555.
    assert [line.tax_amount for line in quote.lines[:2]] == [1667, 555]
    assert quote.tax_total == 2222
    assert quote.total == 13333
    [tax_line] = quote.lines[2:]
    assert tax_line.tax_inclusive and tax_line.amount == 2222


def test_two_inclusive_rates_share_exactly_what_is_included(clinic, shop):
    _rate(clinic, "5", name="A", inclusive=True)
    _rate(clinic, "7.5", name="B", inclusive=True)
    quote = _quote(clinic, shop, "visit")
    # base 10000 / 1.125 = 8888.89 -> 8889; A 5% of it 444.45 -> 444; B the rest 667.
    assert quote.lines[0].tax_amount == 10000 - 8889 == 1111
    assert [(line.description, line.amount) for line in quote.lines[1:]] == [
        ("A (5%)", 444),
        ("B (7.5%)", 667),
    ]
    assert quote.total == 10000


def test_an_exempt_category_pays_no_tax(clinic, shop):
    _rate(clinic, "8.875", exempt_categories=["laboratory"])
    quote = _quote(clinic, shop, "visit", "lab")
    assert [line.tax_amount for line in quote.lines[:2]] == [888, 0]
    assert quote.lines[1].tax_rate is None
    assert quote.total == 10000 + 3333 + 888


def test_rates_of_another_jurisdiction_or_not_in_force_do_not_apply(clinic, shop):
    _rate(clinic, "5", jurisdiction="US-NJ")
    _rate(clinic, "6", effective_from=timezone.now() + timedelta(hours=1))
    _rate(clinic, "7", effective_until=timezone.now() - timedelta(minutes=1))
    _rate(clinic, "8", is_active=False)
    assert _quote(clinic, shop, "visit").total == 10000


def test_a_percentage_discount_lowers_the_taxed_amount(clinic, shop):
    _rate(clinic, "8.875")
    DiscountCode.objects.create(clinic=clinic, code="SPRING", kind="percent", percent=15)
    quote = _quote(clinic, shop, "visit", code="spring")
    # 15% of 10000 = 1500; tax 8.875% of 8500 = 754.375 -> 754.
    assert (quote.lines[0].discount_amount, quote.lines[0].tax_amount) == (1500, 754)
    assert [(line.kind, line.amount) for line in quote.lines] == [
        ("service", 10000),
        ("discount", -1500),
        ("tax", 754),
    ]
    assert quote.total == 9254


def test_a_fixed_discount_is_shared_by_gross_and_capped(clinic, shop, actor):
    shop["lab2"] = service_make(
        clinic=clinic, code="lab2", name="Lab 2", category="laboratory", amount=3333, actor=actor
    )
    DiscountCode.objects.create(
        clinic=clinic, code="TEN", kind="fixed", amount=1000, currency="USD"
    )
    DiscountCode.objects.create(
        clinic=clinic, code="ALL", kind="fixed", amount=10**6, currency="USD"
    )
    shared = _quote(clinic, shop, "lab", "lab2", code="TEN")
    assert [line.discount_amount for line in shared.lines[:2]] == [500, 500]
    capped = _quote(clinic, shop, "visit", "lab", code="ALL")
    assert capped.discount_total == 13333 and capped.total == 0
