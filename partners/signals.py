"""Credential and partner-configuration changes invalidate every process's cached credentials
(and what was memoized with them, see ``PartnerPrincipal.memoized`` and principal_cache); rbac's
consent changes become partner events."""

from typing import Any

from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal
from oauth2_provider.models import AccessToken

from partners import ratelimit
from partners.models import ApiKey, Partner, PartnerAgreement, PartnerOAuthClient
from partners.services.consents import consent_event_publish
from rbac.models import ConsentRecord
from rbac.signals import consent_changed


def _bump_after_commit(**kwargs: Any) -> None:
    # Now (so this process and tests see it at once) and again after commit: a process that
    # reloaded between the two could have read the old rows under the new generation.
    ratelimit.bump_credentials_generation()
    transaction.on_commit(ratelimit.bump_credentials_generation)


def watch_partner_configuration(*models: type[Model]) -> None:
    """Saving or deleting a row of ``models`` invalidates every process's cached credentials,
    so what was memoized from those rows is read again (apps above partners call this from
    their ``ready()`` for the models they memoize)."""
    for model in models:
        uid = model._meta.label
        post_save.connect(_bump_after_commit, sender=model, dispatch_uid=f"bump-{uid}")
        post_delete.connect(_bump_after_commit, sender=model, dispatch_uid=f"bump-del-{uid}")


def _publish_consent_event(sender: type, *, consent: ConsentRecord, change: str, **_: Any) -> None:
    consent_event_publish(consent=consent, change=change)


def connect() -> None:
    watch_partner_configuration(ApiKey, Partner, PartnerOAuthClient, PartnerAgreement)
    # Revoking a token deletes it (and a revoked refresh token deletes its access token).
    post_delete.connect(_bump_after_commit, sender=AccessToken, dispatch_uid="bump-del-token")
    consent_changed.connect(
        _publish_consent_event, sender=ConsentRecord, dispatch_uid="partners-consent-events"
    )


# --- hooks for the apps above partners (which partners never imports) ---------------------

# Sent by ``generate_partner_keys`` after it issued an API key, with ``partner``,
# ``environment`` ("live"|"test") and ``api_key_secret`` (the key just issued, shown once).
# A receiver may create what the partner needs next and return setup text to print (a ``str``;
# ``""`` prints nothing). Receivers raising ``DomainError`` abort the command with its message.
partner_keys_generated = Signal()
