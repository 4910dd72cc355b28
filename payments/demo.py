"""Demo data of payments (``manage.py seed_demo``): the demo clinic's billing profile and a small
price catalogue (services in en/es/fr, prices, a tax rate, a discount code), so bookings can be
made on a fresh ``make run``. Idempotent; prints what it created or found."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import TextIO

from careos.actors import system_actor
from payments.models import CatalogueService, ClinicBillingProfile, DiscountCode, TaxRate
from payments.services.catalogue import price_set
from rbac.demo import CLINIC_SLUG
from rbac.models import Clinic

# A fixed past moment: the demo prices are in force whatever the clock says.
SINCE = datetime(2020, 1, 1, tzinfo=UTC)

SERVICES = [
    # code, category, kind, minutes, price, (en, es, fr)
    (
        "consultation",
        "consultation",
        "service",
        30,
        12000,
        ("Consultation", "Consulta", "Consultation"),
    ),
    (
        "follow-up",
        "consultation",
        "service",
        15,
        6000,
        ("Follow-up visit", "Visita de seguimiento", "Visite de suivi"),
    ),
    (
        "blood-test",
        "laboratory",
        "procedure",
        10,
        3500,
        ("Blood test", "Análisis de sangre", "Analyse de sang"),
    ),
]


def _line(stdout: TextIO, created: bool, what: str) -> None:
    stdout.write(f"  {'created' if created else 'exists '}: {what}\n")


def seed(*, stdout: TextIO) -> None:
    clinic = Clinic.objects.filter(slug=CLINIC_SLUG).first()
    if clinic is None:
        stdout.write(f"payments: no clinic '{CLINIC_SLUG}' (rbac's demo seeds it): skipped.\n")
        return
    actor = system_actor("seed_demo")
    profile, created = ClinicBillingProfile.objects.get_or_create(
        clinic=clinic,
        defaults={
            "legal_name": "CareOS Demo Clinic LLC",
            "tax_id": "EIN 00-0000000",
            "address": "1 Demo Plaza\nNew York, NY 10001",
            "email": "billing@example.com",
            "jurisdiction": "US-NY",
            "invoice_prefix": "DEMO",
        },
    )
    _line(stdout, created, f"billing profile {profile.legal_name} ({profile.jurisdiction})")
    for code, category, kind, minutes, amount, (en, es, fr) in SERVICES:
        service, created = CatalogueService.objects.get_or_create(
            clinic=clinic,
            code=code,
            defaults={
                "category": category,
                "line_kind": kind,
                "duration_minutes": minutes,
                "name_en": en,
                "name_es": es,
                "name_fr": fr,
            },
        )
        if not service.prices.exists():
            price_set(
                service=service, amount=amount, currency="USD", actor=actor, effective_from=SINCE
            )
        _line(stdout, created, f"service {service.name_en} ({service.public_id})")
    _, created = TaxRate.objects.get_or_create(
        clinic=clinic,
        jurisdiction="US-NY",
        name="NY sales tax",
        defaults={
            "rate": Decimal("8.875"),
            "exempt_categories": ["laboratory"],
            "effective_from": SINCE,
        },
    )
    _line(stdout, created, "tax rate NY sales tax 8.875% (laboratory exempt)")
    _, created = DiscountCode.objects.get_or_create(
        clinic=clinic, code="WELCOME10", defaults={"kind": "percent", "percent": Decimal(10)}
    )
    _line(stdout, created, "discount code WELCOME10 (10% off)")
