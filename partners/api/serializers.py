from rest_framework import serializers

from partners.models import ApiKey, Partner, PartnerUsageDaily
from partners.scopes import SCOPES


class PartnerSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)

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
    status = serializers.CharField(read_only=True)
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
        child=serializers.ChoiceField(choices=sorted(SCOPES)),
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
