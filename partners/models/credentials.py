"""Partner credentials: API keys and the link between OAuth clients and partners."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel
from partners.models.partner import Partner


class ApiKey(TimeStampedModel):
    """An API key. The secret is shown once; only its keyed hash is stored."""

    class Environment(models.TextChoices):
        LIVE = "live", _("Live")
        TEST = "test", _("Test")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    public_id = PublicIdField(prefix="key")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=120)
    environment = models.CharField(max_length=8, choices=Environment.choices)
    prefix = models.CharField(
        max_length=24, help_text=_("The visible start of the key, e.g. ck_live_AbCd1234.")
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=120, blank=True)
    revoked_reason = models.TextField(blank=True)
    created_by = models.CharField(max_length=120, blank=True)
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )

    class Meta:
        indexes = [models.Index(fields=["partner", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.ACTIVE


class PartnerOAuthClient(TimeStampedModel):
    """Links a django-oauth-toolkit application to the partner that owns it."""

    public_id = PublicIdField(prefix="oac")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="oauth_clients")
    application = models.OneToOneField(
        "oauth2_provider.Application",
        on_delete=models.CASCADE,
        related_name="partner_client",
    )
    scopes = models.JSONField(default=list, help_text=_("Scopes this client may be granted."))
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.partner.slug}: {self.application.name}"


class RedeemedAuthorizationCode(models.Model):
    """An authorization code already exchanged for tokens, and the tokens it produced.

    django-oauth-toolkit deletes a code once used, so without this a second use is just an
    unknown code; RFC 6749 §4.1.2 wants it refused *and* the tokens issued from it revoked.
    Only the code's SHA-256 is kept.
    """

    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    application = models.ForeignKey(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="+"
    )
    # The first access token; later ones come from refreshes and share the refresh token family.
    access_token = models.ForeignKey(
        "oauth2_provider.AccessToken",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    token_family = models.UUIDField(null=True, blank=True, editable=False)
    redeemed_at = models.DateTimeField(default=timezone.now)
    replayed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code redeemed {self.redeemed_at:%Y-%m-%d %H:%M}"
