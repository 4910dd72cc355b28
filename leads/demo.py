"""Demo data of leads (``manage.py seed_demo``): the demo partner's phone-encryption key pair and
its ``.env`` lines in ``var/demo-partner.env``, so docs/examples/send_lead.py runs as is:

    set -a && . var/demo-partner.env && set +a
    .venv/bin/python docs/examples/send_lead.py "+1 202 555 0143"
"""

from typing import TextIO

from careos.actors import system_actor
from careos.demo import read_demo_credentials, write_demo_partner_env
from leads.models import LeadEncryptionKey
from leads.services.keys import encryption_key_create
from leads.setup import partner_env_text
from partners.demo import DEMO_SLUG
from partners.models import Partner


def seed(*, stdout: TextIO) -> None:
    partner = Partner.objects.filter(slug=DEMO_SLUG).first()
    if partner is None:
        stdout.write(f"leads: no partner '{DEMO_SLUG}' (partners' demo seeds it): skipped.\n")
        return
    key = LeadEncryptionKey.objects.filter(partner=partner, retired_at__isnull=True).first()
    created = key is None
    if key is None:
        key = encryption_key_create(partner=partner, actor=system_actor("seed_demo")).key
    stdout.write(
        f"  {'created' if created else 'exists '}: phone encryption key {key.kid} "
        f"of partner '{DEMO_SLUG}'\n"
    )
    secret = read_demo_credentials().get("partnerApiKey")
    if not isinstance(secret, str) or not secret:
        stdout.write("leads: no demo partner API key recorded: no demo-partner.env written.\n")
        return
    # Written on every seed: the API URL follows PUBLIC_BASE_URL (``make run``'s address).
    path = write_demo_partner_env(partner_env_text(partner=partner, key=key, api_key_secret=secret))
    stdout.write(f"  written: {path} (CAREOS_* lines for docs/examples/send_lead.py)\n")
