"""Demo data for ``seed_demo``: an active basic partner ``demo`` and a test API key for it."""

from typing import TextIO

from django.db import transaction

from careos.actors import system_actor
from partners.models import ApiKey, Partner
from partners.selectors import api_key_for_secret
from partners.services.credentials import api_key_generate
from partners.services.lifecycle import partner_activate, partner_create, partner_update

DEMO_SLUG = "demo"
DEMO_RATE_LIMIT = 100_000


def _usable(secret: object, partner: Partner) -> bool:
    if not isinstance(secret, str):
        return False
    api_key = api_key_for_secret(secret=secret)
    return (
        api_key is not None
        and api_key.partner_id == partner.pk
        and api_key.status == ApiKey.Status.ACTIVE
    )


@transaction.atomic
def seed(*, stdout: TextIO) -> None:
    # careos.demo (the shared demo-credentials file) comes from the kernel's run tooling.
    from careos.demo import read_demo_credentials, record_demo_credentials

    actor = system_actor("seed_demo")
    partner = Partner.objects.filter(slug=DEMO_SLUG).first()
    if partner is None:
        partner = partner_create(
            name="Demo Partner",
            slug=DEMO_SLUG,
            partner_type=Partner.Type.REFERRAL_PLATFORM,
            tier=Partner.Tier.BASIC,
            description="Demo referral platform (seed_demo).",
            actor=actor,
        )
    if partner.status == Partner.Status.PENDING:
        partner = partner_activate(partner=partner, actor=actor)
    if partner.rate_limit_per_minute != DEMO_RATE_LIMIT:
        # CI's schemathesis run authenticates as this partner; a basic partner's 1,000 requests
        # a minute would answer most of it with 429.
        partner = partner_update(
            partner=partner, actor=actor, rate_limit_per_minute=DEMO_RATE_LIMIT
        )
    if _usable(read_demo_credentials().get("partnerApiKey"), partner):
        stdout.write(f"partners: demo partner '{DEMO_SLUG}' ready; its key is recorded already.\n")
        return
    issued = api_key_generate(
        partner=partner, name="demo (seed_demo)", environment="test", actor=actor
    )
    record_demo_credentials(partnerApiKey=issued.secret, partnerSlug=DEMO_SLUG)
    stdout.write(
        f"partners: demo partner '{DEMO_SLUG}' (basic tier). Test API key, shown once:\n"
        f"    X-API-Key: {issued.secret}\n"
        f"    X-Platform: {DEMO_SLUG}\n"
    )
