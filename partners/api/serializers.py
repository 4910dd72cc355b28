from rest_framework import serializers

from careos.api.filters import QueryFilters
from careos.api.serializers import ModelSerializer, Serializer
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

TEXT_MAX_LENGTH = 5000
URL_MAX_LENGTH = 2000


class PartnerSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    # The column's own limit: the URLField declared here would not carry it otherwise.
    website = serializers.URLField(allow_blank=True, required=False, max_length=200)

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
        extra_kwargs = {"description": {"max_length": TEXT_MAX_LENGTH}}


class ApiKeySerializer(ModelSerializer):
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


class ApiKeyCreateSerializer(Serializer):
    name = serializers.CharField(max_length=120)
    environment = serializers.ChoiceField(choices=ApiKey.Environment.choices, default="live")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPE_CHOICES),
        required=False,
        allow_empty=False,
        help_text="Defaults to every scope the partner's tier allows that the calling "
        "credential holds; a credential never grants a scope it does not hold (403 "
        "scope_not_held).",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyRevokeSerializer(Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class UsageDaySerializer(ModelSerializer):
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


class PingSerializer(Serializer):
    pong = serializers.BooleanField()
    partner = serializers.CharField(allow_null=True)


class ContactSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)

    class Meta:
        model = PartnerContact
        fields = ["id", "role", "name", "email", "phone", "title", "created_at"]
        read_only_fields = ["id", "created_at"]


class AgreementSerializer(ModelSerializer):
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


class ApplicationSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    partner = serializers.CharField(source="partner.public_id", read_only=True)
    client_id = serializers.CharField(
        source="oauth_client.application.client_id", read_only=True, allow_null=True, default=None
    )
    redirect_uris = serializers.ListField(
        child=serializers.URLField(max_length=URL_MAX_LENGTH), required=False
    )
    requested_scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=SCOPE_CHOICES), required=False
    )
    webhook_urls = serializers.ListField(
        child=serializers.URLField(max_length=URL_MAX_LENGTH), required=False
    )

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
        extra_kwargs = {"description": {"max_length": TEXT_MAX_LENGTH}}
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


class OAuthClientSerializer(ModelSerializer):
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


class ClientSecretSerializer(Serializer):
    client_id = serializers.CharField()
    client_secret = serializers.CharField(help_text="Shown only this once.")


class ApprovalSerializer(ApplicationSerializer):
    client_secret = serializers.CharField(
        allow_null=True, help_text="Confidential clients only; shown only this once."
    )

    class Meta(ApplicationSerializer.Meta):
        fields = [*ApplicationSerializer.Meta.fields, "client_secret"]


class ReasonSerializer(Serializer):
    reason = serializers.CharField(max_length=2000)


class NotesSerializer(Serializer):
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AdminPartnerSerializer(PartnerSerializer):
    class Meta(PartnerSerializer.Meta):
        fields = [*PartnerSerializer.Meta.fields, "status_reason", "status_changed_at"]
        read_only_fields = ["id", "status", "status_reason", "status_changed_at", "created_at"]


class PartnerStatisticsSerializer(Serializer):
    active_api_keys = serializers.IntegerField()
    oauth_clients = serializers.IntegerField()
    contacts = serializers.IntegerField()
    applications_by_status = serializers.DictField(child=serializers.IntegerField())
    current_agreement_version = serializers.CharField(allow_null=True)
    calls_last_30_days = serializers.IntegerField()
    errors_last_30_days = serializers.IntegerField()


class AdminPartnerFilters(QueryFilters):
    status = serializers.ChoiceField(choices=Partner.Status.choices, required=False)
    tier = serializers.ChoiceField(choices=Partner.Tier.choices, required=False)
    partner_type = serializers.ChoiceField(choices=Partner.Type.choices, required=False)


class AdminApplicationFilters(QueryFilters):
    status = serializers.ChoiceField(choices=PartnerApplication.Status.choices, required=False)
