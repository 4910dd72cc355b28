"""Serializers of the partner lead API (camelCase on the wire, snake_case here)."""

import json
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from careos.api.filters import QueryFilters
from careos.api.serializers import ModelSerializer, Serializer
from leads.models import HealthcareCategory, Lead, LeadStatus, LostReason
from leads.services.ingest import ConsentInput, LeadIngestInput

METADATA_MAX_BYTES = 4096


class ConsentInputSerializer(Serializer):
    given = serializers.BooleanField(required=False, default=False)
    text = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    method = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    timestamp = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_timestamp(self, value: Any) -> Any:
        if value is not None and value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError(
                "The consent cannot be given in the future.", code="in_future"
            )
        return value


class LeadIngestSerializer(Serializer):
    source_lead_id = serializers.CharField(max_length=128)
    encrypted_phone = serializers.CharField(max_length=4096, help_text="Base64 RSA-OAEP-SHA256.")
    key_id = serializers.CharField(max_length=64, help_text="The kid of the public key used.")
    phone_hash = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$", help_text="Hex SHA-256 of the E.164 phone number."
    )
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    business_category = serializers.CharField(max_length=100)
    need = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    language = serializers.CharField(max_length=16, required=False, default="en")
    location_state = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default=""
    )
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, allow_blank=True, default="")
    consent = ConsentInputSerializer(required=False, allow_null=True, default=None)
    metadata = serializers.DictField(required=False, default=dict)

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > METADATA_MAX_BYTES:
            raise serializers.ValidationError(f"At most {METADATA_MAX_BYTES} bytes of JSON.")
        return value

    def to_input(self) -> LeadIngestInput:
        data = dict(self.validated_data)
        consent = data.pop("consent")
        return LeadIngestInput(
            **data, consent=ConsentInput(**consent) if consent is not None else None
        )


class LeadIngestResultSerializer(Serializer):
    lead_id = serializers.CharField()
    status = serializers.ChoiceField(choices=LeadStatus.choices)
    welcome_message_queued = serializers.BooleanField()


class MoneySerializer(Serializer):
    amount = serializers.IntegerField(help_text="Minor units (cents).")
    currency = serializers.CharField()


class LeadSerializer(ModelSerializer):
    """A lead as its partner sees it: status and attribution, no PHI."""

    id = serializers.CharField(source="public_id")
    healthcare_category = serializers.ChoiceField(choices=HealthcareCategory.choices)
    status = serializers.ChoiceField(choices=LeadStatus.choices)
    lost_reason = serializers.ChoiceField(choices=[("", ""), *LostReason.choices])
    referral_fee = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "source_lead_id",
            "status",
            "status_changed_at",
            "lost_reason",
            "business_category",
            "healthcare_category",
            "language",
            "location_state",
            "country",
            "referral_fee",
            "welcome_message_queued",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(MoneySerializer)
    def get_referral_fee(self, lead: Lead) -> dict[str, Any]:
        return {"amount": lead.referral_fee_minor, "currency": lead.referral_fee_currency}


class LeadFilters(QueryFilters):
    source_lead_id = serializers.CharField(
        required=False, max_length=128, help_text="Your lead id."
    )
    status = serializers.ChoiceField(choices=LeadStatus.choices, required=False)
    created_after = serializers.DateTimeField(required=False, help_text="Inclusive.")
    created_before = serializers.DateTimeField(required=False, help_text="Exclusive.")


class JwkSerializer(Serializer):
    kty = serializers.CharField()
    kid = serializers.CharField()
    use = serializers.CharField()
    alg = serializers.CharField()
    n = serializers.CharField()
    e = serializers.CharField()


class EncryptionKeySerializer(Serializer):
    kid = serializers.CharField()
    status = serializers.ChoiceField(choices=[("active", "active"), ("retiring", "retiring")])
    algorithm = serializers.CharField()
    key_size = serializers.IntegerField()
    public_key_pem = serializers.CharField()
    jwk = JwkSerializer()
    created_at = serializers.DateTimeField()
    decrypt_until = serializers.DateTimeField(allow_null=True)


class EncryptionKeyListSerializer(Serializer):
    keys = EncryptionKeySerializer(many=True)


class ConsentLanguageSerializer(Serializer):
    language = serializers.CharField()
    text = serializers.CharField()
