"""Serializers of the events and webhooks API (camelCase on the wire via the renderer)."""

from rest_framework import serializers

from careos.api.filters import QueryFilters
from careos.api.serializers import ModelSerializer, Serializer
from partners.models import (
    EventType,
    PlatformEvent,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)


class EventTypeSerializer(ModelSerializer):
    class Meta:
        model = EventType
        fields = [
            "name",
            "description",
            "payload_example",
            "schema_version",
            "deprecated",
            "planned",
        ]
        read_only_fields = fields


class WebhookEndpointSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    event_types = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Subscribed event types; empty means every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_reason",
            "disabled_at",
            "rate_limit_per_second",
            "failing_since",
            "last_success_at",
            "last_failure_at",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (whsec_…). Shown only this once."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(Serializer):
    url = serializers.URLField(max_length=1000)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100
    )
    rate_limit_per_second = serializers.IntegerField(
        min_value=1, max_value=10_000, required=False, allow_null=True
    )


class WebhookEndpointUpdateSerializer(WebhookEndpointCreateSerializer):
    url = serializers.URLField(max_length=1000, required=False)
    enabled = serializers.BooleanField(required=False)


class RotateSecretSerializer(Serializer):
    grace_hours = serializers.FloatField(
        min_value=0,
        max_value=24 * 7,
        required=False,
        help_text="How long the old secret keeps signing too (default 24).",
    )


class RotatedSecretSerializer(Serializer):
    secret = serializers.CharField(help_text="The new signing secret. Shown only this once.")
    previous_secret_expires_at = serializers.DateTimeField()


class RecoverSerializer(Serializer):
    since = serializers.DateTimeField()


class ReplaySerializer(Serializer):
    since = serializers.DateTimeField()
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100
    )


class QueuedSerializer(Serializer):
    queued = serializers.IntegerField(help_text="Messages queued for delivery.")


class WebhookMessageSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    event_id = serializers.CharField(source="event.public_id", read_only=True)
    event_type = serializers.CharField(source="event.event_type.name", read_only=True)
    endpoint_id = serializers.CharField(source="endpoint.public_id", read_only=True)

    class Meta:
        model = WebhookMessage
        fields = [
            "id",
            "event_id",
            "event_type",
            "endpoint_id",
            "status",
            "attempt_count",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "failed_at",
            "created_at",
        ]
        read_only_fields = fields


class WebhookAttemptSerializer(ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "trigger",
            "started_at",
            "duration_ms",
            "success",
            "status_code",
            "response_body",
            "error",
        ]
        read_only_fields = fields


class PlatformEventSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    type = serializers.CharField(source="event_type.name", read_only=True)
    payload = serializers.JSONField(read_only=True)

    class Meta:
        model = PlatformEvent
        fields = ["id", "type", "occurred_at", "created_at", "payload"]
        read_only_fields = fields


class EventFilters(QueryFilters):
    event_type = serializers.CharField(
        max_length=100, required=False, help_text="e.g. lead.created"
    )
    since = serializers.DateTimeField(required=False, help_text="Created at or after.")


class MessageFilters(EventFilters):
    status = serializers.ChoiceField(choices=WebhookMessage.Status.choices, required=False)
    endpoint_id = serializers.CharField(max_length=40, required=False, help_text="whep_… id.")
