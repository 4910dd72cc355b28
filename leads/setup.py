"""What ``generate_partner_keys`` prints for leads: the encryption key pair and the partner's
environment lines (the seed's "Configure Environment Variables")."""

from typing import Any

from django.conf import settings
from django.dispatch import receiver

from careos.actors import system_actor
from leads.models import LeadEncryptionKey
from leads.services.keys import encryption_key_create
from partners.models import Partner
from partners.signals import partner_keys_generated


def _one_line(pem: str) -> str:
    return pem.strip().replace("\n", "\\n")


def partner_env_text(*, partner: Partner, key: LeadEncryptionKey, api_key_secret: str) -> str:
    """The partner's ``.env`` lines (what docs/examples/send_lead.py reads)."""
    return (
        "# CareOS Integration\n"
        f'CAREOS_API_KEY="{api_key_secret}"\n'
        f'CAREOS_API_URL="{settings.LEADS_PUBLIC_API_URL}"\n'
        f'CAREOS_PLATFORM="{partner.slug}"\n'
        f'CAREOS_KEY_ID="{key.kid}"\n'
        f'CAREOS_PUBLIC_KEY="{_one_line(key.public_key_pem)}"\n'
    )


def partner_setup_text(
    *, partner: Partner, key: LeadEncryptionKey, api_key_secret: str, created: bool
) -> str:
    state = "Created" if created else "Kept the active"
    return (
        f"{state} phone encryption key pair {key.kid} (RSA-{key.key_size}, RSA-OAEP-SHA256) for "
        f"{partner.slug}.\nCareOS keeps the private key encrypted in its database; it is never "
        "shown. CareOS needs no environment lines for it.\n\n"
        f"Public key (also at GET {settings.LEADS_PUBLIC_API_URL}/api/v1/leads/encryption-keys):\n"
        f"{key.public_key_pem.strip()}\n\n"
        f"{partner.name} .env:\n"
        + partner_env_text(partner=partner, key=key, api_key_secret=api_key_secret)
    )


@receiver(partner_keys_generated, dispatch_uid="leads.encryption_key_for_new_credentials")
def encryption_key_for_new_credentials(
    *, partner: Partner, environment: str, api_key_secret: str, **kwargs: Any
) -> str:
    """Create the partner's key pair unless it has an active one (rotation is separate)."""
    key = LeadEncryptionKey.objects.filter(partner=partner, retired_at__isnull=True).first()
    created = key is None
    if key is None:
        key = encryption_key_create(
            partner=partner, actor=system_actor("generate_partner_keys")
        ).key
    return partner_setup_text(
        partner=partner, key=key, api_key_secret=api_key_secret, created=created
    )
