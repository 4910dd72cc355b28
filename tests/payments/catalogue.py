"""A small catalogue for tests: two services, a discount code and one exclusive tax.

A consultation (10000, taxed 10%) and two blood tests (2 x 2500, laboratory: not taxed), with
FIRSTVISIT (1500 off, shared 1000/500 by gross): 10000 + 5000 - 1500 + 10% x 9000 = 14400.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from careos.actors import Actor
from payments.models import CatalogueService, ClinicBillingProfile, DiscountCode, TaxRate
from payments.services.catalogue import price_set
from payments.services.pricing import ServiceOrder
from rbac.models import Clinic

CATALOGUE_TOTAL = 14400


@dataclass
class Catalogue:
    consultation: CatalogueService
    blood_test: CatalogueService
    discount: DiscountCode
    tax: TaxRate

    @property
    def orders(self) -> list[ServiceOrder]:
        return [
            ServiceOrder(service_id=self.consultation.public_id),
            ServiceOrder(service_id=self.blood_test.public_id, quantity=2),
        ]


def service_make(
    *, clinic: Clinic, code: str, name: str, category: str, amount: int, actor: Actor, **fields
) -> CatalogueService:
    service = CatalogueService.objects.create(
        clinic=clinic, code=code, name_en=name, category=category, **fields
    )
    price_set(
        service=service,
        amount=amount,
        currency="USD",
        actor=actor,
        effective_from=timezone.now() - timedelta(days=1),
    )
    return service


def catalogue_make(*, clinic: Clinic, actor: Actor) -> Catalogue:
    ClinicBillingProfile.objects.get_or_create(
        clinic=clinic,
        defaults={
            "legal_name": f"{clinic.name} LLC",
            "tax_id": "EIN 12-3456789",
            "address": "1 Harbor Way\nNew York, NY 10001",
            "jurisdiction": "US-NY",
            "invoice_prefix": "HC",
        },
    )
    return Catalogue(
        consultation=service_make(
            clinic=clinic,
            code="consultation",
            name="Consultation",
            category="consultation",
            amount=10000,
            actor=actor,
            name_es="Consulta",
            name_fr="Consultation",
        ),
        blood_test=service_make(
            clinic=clinic,
            code="blood-test",
            name="Blood test",
            category="laboratory",
            amount=2500,
            actor=actor,
            line_kind="procedure",
            name_es="Análisis de sangre",
            name_fr="Analyse de sang",
        ),
        discount=DiscountCode.objects.create(
            clinic=clinic, code="FIRSTVISIT", kind="fixed", amount=1500, currency="USD"
        ),
        tax=TaxRate.objects.create(
            clinic=clinic,
            jurisdiction="US-NY",
            name="Sales tax",
            rate=Decimal("10"),
            categories=["consultation"],
            effective_from=timezone.now() - timedelta(days=1),
        ),
    )
