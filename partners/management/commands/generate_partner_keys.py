"""``python manage.py generate_partner_keys <partner-slug> live|test [--scopes ...]``

Creates an API key for a partner and prints it once, with setup instructions. The key carries
every scope the partner's tier allows unless ``--scopes`` narrows it.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from careos.actors import system_actor
from careos.errors import DomainError
from partners.models import ApiKey, Partner
from partners.services.credentials import api_key_generate
from partners.signals import partner_keys_generated


class Command(BaseCommand):
    help = "Create an API key for a partner and print it once, with setup instructions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The partner's slug (its X-Platform value).")
        parser.add_argument("environment", choices=[e.value for e in ApiKey.Environment])
        parser.add_argument(
            "--scopes", nargs="+", default=None, help="Narrow the key to these scopes."
        )
        parser.add_argument("--name", default="", help="A name for the key.")

    def handle(self, *args: Any, **options: Any) -> None:
        partner = Partner.objects.filter(slug=options["slug"]).first()
        if partner is None:
            raise CommandError(f"No partner with slug {options['slug']!r}.")
        environment = options["environment"]
        try:
            issued = api_key_generate(
                partner=partner,
                name=options["name"] or f"{environment} key (generate_partner_keys)",
                environment=environment,
                scopes=options["scopes"],
                actor=system_actor("generate_partner_keys"),
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        key = issued.api_key
        self.stdout.write(
            self.style.SUCCESS(f"Created {environment} API key {key.public_id} for {partner.slug}.")
        )
        self.stdout.write(
            "\nThe key is shown only this once; CareOS stores only its hash. Store it in your "
            "secret manager now:\n"
        )
        self.stdout.write(f"    {issued.secret}\n")
        self.stdout.write(f"Scopes: {' '.join(key.scopes)}\n")
        if partner.status != Partner.Status.ACTIVE:
            self.stdout.write(
                self.style.WARNING(
                    f"The partner is {partner.status}: the key works once it is active."
                )
            )
        self.stdout.write(
            "\nSetup: send it on every request, with your platform slug:\n"
            f"    X-API-Key: {issued.secret}\n"
            f"    X-Platform: {partner.slug}\n"
            "(or Authorization: Bearer <key>). Check it with:\n"
            f"    curl -H 'X-API-Key: <key>' -H 'X-Platform: {partner.slug}' "
            f"{settings.PUBLIC_BASE_URL}/api/v1/partners/ping\n"
            "Rotate with POST /api/v1/partners/me/keys/<id>/rotate (the old key keeps working "
            "for the grace period) and revoke a leaked key at once with .../revoke.\n"
        )
        try:
            responses = partner_keys_generated.send(
                sender=Command,
                partner=partner,
                environment=environment,
                api_key_secret=issued.secret,
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        for _receiver, text in responses:
            if text:
                self.stdout.write(f"\n{text}")
