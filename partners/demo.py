"""Demo data for ``seed_demo``: an active basic partner ``demo`` with an agreement that pays a
referral fee, and a test API key for it."""

from typing import TextIO

from django.db import transaction
from django.utils import timezone

from careos.actors import Actor, system_actor
from partners import marketplace_demo
from partners.models import ApiKey, Partner, PartnerAgreement
from partners.selectors import api_key_for_secret
from partners.services.credentials import api_key_generate
from partners.services.lifecycle import partner_activate, partner_create, partner_update
from partners.services.profile import agreement_create

DEMO_SLUG = "demo"
DEMO_RATE_LIMIT = 100_000
DEMO_AGREEMENT_VERSION = "demo"
DEMO_REFERRAL_FEE_MINOR = 2500
DEMO_CURRENCY = "USD"


def _usable(secret: object, partner: Partner) -> bool:
    if not isinstance(secret, str):
        return False
    api_key = api_key_for_secret(secret=secret)
    return (
        api_key is not None
        and api_key.partner_id == partner.pk
        and api_key.status == ApiKey.Status.ACTIVE
    )


def _agreement(*, partner: Partner, actor: Actor) -> PartnerAgreement:
    """The demo agreement, in effect from the first seed on: each lead accrues its fee."""
    agreement = PartnerAgreement.objects.filter(
        partner=partner, version=DEMO_AGREEMENT_VERSION
    ).first()
    if agreement is None:
        agreement = agreement_create(
            partner=partner,
            version=DEMO_AGREEMENT_VERSION,
            terms="Demo agreement (seed_demo): a referral fee for each lead.",
            referral_fee_minor=DEMO_REFERRAL_FEE_MINOR,
            currency=DEMO_CURRENCY,
            effective_from=timezone.localdate(),
            actor=actor,
        )
    return agreement


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
    agreement = _agreement(partner=partner, actor=actor)
    marketplace_demo.seed(partner=partner, actor=actor, stdout=stdout)
    stdout.write(
        f"partners: agreement {agreement.version}: referral fee "
        f"{agreement.referral_fee_minor / 100:.2f} {agreement.currency} per lead.\n"
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
