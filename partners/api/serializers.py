from rest_framework import serializers

from partners.models import (
    ApiKey,
    Partner,
    PartnerAgreement,
    PartnerApplication,
    PartnerContact,
    PartnerOAuthClient,
    PartnerUsageDaily,
)
from partners.scopes import SCOPE_CHOICES


class PartnerSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    website = serializers.URLField(allow_blank=True, required=False)

    class Meta:
        model = Partner
        fields = [
            "id",
            "name",
            "slug",
            "partner_type",
            "status",
            "tier",
            "website",
            "description",
            "rate_limit_per_minute",
            "created_at",
        ]
        read_only_fields = fields


class ApiKeySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    status = serializers.ChoiceField(choices=ApiKey.Status.choices, read_only=True)
    replaced_by = serializers.CharField(
        source="replaced_by.public_id", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "environment",
            "prefix",
            "scopes",
            "status",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "replaced_by",
            "created_at",
        ]
        read_only_fields = fields


class IssuedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key. Shown only this once.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    environment = serializers.ChoiceField(choices=ApiKey.Environment.choices, default="live")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPE_CHOICES),
        required=False,
        allow_empty=False,
        help_text="Defaults to every scope the partner's tier allows.",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyRevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class UsageDaySerializer(serializers.ModelSerializer):
    average_latency_ms = serializers.IntegerField(read_only=True)

    class Meta:
        model = PartnerUsageDaily
        fields = [
            "day",
            "endpoint",
            "calls",
            "errors",
            "rate_limited",
            "total_latency_ms",
            "average_latency_ms",
        ]
        read_only_fields = fields


class PingSerializer(serializers.Serializer):
    pong = serializers.BooleanField()
    partner = serializers.CharField(allow_null=True)


class ContactSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)

    class Meta:
        model = PartnerContact
        fields = ["id", "role", "name", "email", "phone", "title", "created_at"]
        read_only_fields = ["id", "created_at"]


class AgreementSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)

    class Meta:
        model = PartnerAgreement
        fields = [
            "id",
            "version",
            "terms",
            "referral_fee_minor",
            "currency",
            "revenue_share_bps",
            "signed_by",
            "signed_at",
            "effective_from",
            "effective_until",
            "created_at",
        ]
        read_only_fields = fields


class ApplicationSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    partner = serializers.CharField(source="partner.public_id", read_only=True)
    client_id = serializers.CharField(
        source="oauth_client.application.client_id", read_only=True, allow_null=True, default=None
    )
    redirect_uris = serializers.ListField(child=serializers.URLField(), required=False)
    requested_scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPE_CHOICES), required=False
    )
    webhook_urls = serializers.ListField(child=serializers.URLField(), required=False)

    class Meta:
        model = PartnerApplication
        fields = [
            "id",
            "partner",
            "name",
            "description",
            "client_type",
            "grant_type",
            "redirect_uris",
            "requested_scopes",
            "webhook_urls",
            "status",
            "submitted_at",
            "reviewed_at",
            "review_notes",
            "published_at",
            "deprecated_at",
            "client_id",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "partner",
            "status",
            "submitted_at",
            "reviewed_at",
            "review_notes",
            "published_at",
            "deprecated_at",
            "client_id",
            "created_at",
        ]


class OAuthClientSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    client_id = serializers.CharField(source="application.client_id", read_only=True)
    client_type = serializers.CharField(source="application.client_type", read_only=True)
    grant_type = serializers.CharField(
        source="application.authorization_grant_type", read_only=True
    )
    redirect_uris = serializers.SerializerMethodField()
    application = serializers.CharField(
        source="partner_application.public_id", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = PartnerOAuthClient
        fields = [
            "id",
            "client_id",
            "client_type",
            "grant_type",
            "redirect_uris",
            "scopes",
            "application",
            "revoked_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_redirect_uris(self, client: PartnerOAuthClient) -> list[str]:
        return client.application.redirect_uris.split()


class ClientSecretSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    client_secret = serializers.CharField(help_text="Shown only this once.")


class ApprovalSerializer(ApplicationSerializer):
    client_secret = serializers.CharField(
        allow_null=True, help_text="Confidential clients only; shown only this once."
    )

    class Meta(ApplicationSerializer.Meta):
        fields = [*ApplicationSerializer.Meta.fields, "client_secret"]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class NotesSerializer(serializers.Serializer):
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AdminPartnerSerializer(PartnerSerializer):
    class Meta(PartnerSerializer.Meta):
        fields = [*PartnerSerializer.Meta.fields, "status_reason", "status_changed_at"]
        read_only_fields = ["id", "status", "status_reason", "status_changed_at", "created_at"]


class PartnerStatisticsSerializer(serializers.Serializer):
    active_api_keys = serializers.IntegerField()
    oauth_clients = serializers.IntegerField()
    contacts = serializers.IntegerField()
    applications_by_status = serializers.DictField(child=serializers.IntegerField())
    current_agreement_version = serializers.CharField(allow_null=True)
    calls_last_30_days = serializers.IntegerField()
    errors_last_30_days = serializers.IntegerField()
