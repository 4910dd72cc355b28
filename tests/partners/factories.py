"""Factories for partners and their credentials (importable from any app's tests)."""

import factory

from careos.actors import system_actor
from partners.models import Partner
from partners.services.credentials import IssuedApiKey, api_key_generate


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n}")
    slug = factory.Sequence(lambda n: f"partner-{n}")
    partner_type = Partner.Type.REFERRAL_PLATFORM
    status = Partner.Status.ACTIVE
    tier = Partner.Tier.BASIC


def make_api_key(
    *,
    partner: Partner | None = None,
    scopes: list[str] | None = None,
    environment: str = "test",
    name: str = "test key",
) -> IssuedApiKey:
    """A key for ``partner`` (a new active basic partner by default) through the service."""
    return api_key_generate(
        partner=partner or PartnerFactory(),
        name=name,
        environment=environment,
        scopes=scopes,
        actor=system_actor("tests"),
    )
