"""Partner applications: registered integrations that get an OAuth client when approved."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from careos.models import PublicIdField, TimeStampedModel
from partners.models.credentials import PartnerOAuthClient
from partners.models.partner import Partner


class PartnerApplication(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        IN_REVIEW = "in_review", _("In review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        PUBLISHED = "published", _("Published")
        DEPRECATED = "deprecated", _("Deprecated")

    class ClientType(models.TextChoices):
        CONFIDENTIAL = "confidential", _("Confidential (server side, has a secret)")
        PUBLIC = "public", _("Public (browser or mobile app, PKCE, no secret)")

    class GrantType(models.TextChoices):
        AUTHORIZATION_CODE = "authorization-code", _("Authorization code")
        CLIENT_CREDENTIALS = "client-credentials", _("Client credentials")

    public_id = PublicIdField(prefix="app")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="applications")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    client_type = models.CharField(
        max_length=16, choices=ClientType.choices, default=ClientType.CONFIDENTIAL
    )
    grant_type = models.CharField(
        max_length=32, choices=GrantType.choices, default=GrantType.AUTHORIZATION_CODE
    )
    redirect_uris = models.JSONField(default=list, blank=True)
    requested_scopes = models.JSONField(default=list, blank=True)
    webhook_urls = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=120, blank=True)
    review_notes = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    deprecated_at = models.DateTimeField(null=True, blank=True)
    oauth_client = models.OneToOneField(
        PartnerOAuthClient,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="partner_application",
    )

    class Meta:
        indexes = [models.Index(fields=["partner", "status"])]

    def __str__(self) -> str:
        return self.name
