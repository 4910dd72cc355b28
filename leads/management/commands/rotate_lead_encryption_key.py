"""``python manage.py rotate_lead_encryption_key <partner-slug> [--grace-days N]``

Creates a new active phone-encryption key pair for the partner; the previous pair keeps
decrypting for the grace period. Prints the new public key (never a private key)."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from careos.actors import system_actor
from leads.services.keys import encryption_key_create
from partners.models import Partner


class Command(BaseCommand):
    help = "Rotate a partner's phone-encryption key pair (the old pair keeps a grace period)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--grace-days", type=int, default=settings.LEADS_KEY_GRACE_DAYS)

    def handle(self, *args: Any, **options: Any) -> None:
        partner = Partner.objects.filter(slug=options["slug"]).first()
        if partner is None:
            raise CommandError(f"No partner with slug {options['slug']!r}.")
        created = encryption_key_create(
            partner=partner,
            grace=timedelta(days=options["grace_days"]),
            actor=system_actor("rotate_lead_encryption_key"),
        )
        if created.retired is not None:
            self.stdout.write(
                f"Retired {created.retired.kid}: it decrypts until "
                f"{created.retired.decrypt_until:%Y-%m-%d %H:%M} UTC."
            )
        self.stdout.write(self.style.SUCCESS(f"New active key {created.key.kid}:"))
        self.stdout.write(created.key.public_key_pem.strip())
