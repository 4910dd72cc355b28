from django.core.validators import URLValidator
from rest_framework import serializers

from careos.api.filters import QueryFilters
from careos.api.serializers import ModelSerializer, Serializer
from engagement.models import (
    Campaign,
    Channel,
    Message,
    MessageStatus,
    MessageTemplate,
    OptOut,
    PatientTask,
    PushSubscription,
    Reminder,
)


class TemplateSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "key",
            "language",
            "description",
            "variables",
            "subject",
            "body",
            "html_body",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class TemplateInputSerializer(Serializer):
    key = serializers.SlugField(max_length=64)
    language = serializers.ChoiceField(choices=["en", "es", "fr"])
    description = serializers.CharField(max_length=200, required=False, default="")
    variables = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64),
        max_length=50,
        default=list,
    )
    subject = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    body = serializers.CharField(max_length=5000)
    html_body = serializers.CharField(
        max_length=50000, required=False, default="", allow_blank=True
    )
    is_active = serializers.BooleanField(default=True)


class TemplatePreviewSerializer(Serializer):
    language = serializers.CharField()
    subject = serializers.CharField()
    body = serializers.CharField()
    html_body = serializers.CharField()


class ReminderSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    patient_id = serializers.CharField(source="patient.public_id", read_only=True)
    clinic_id = serializers.CharField(source="clinic.public_id", read_only=True, default=None)

    class Meta:
        model = Reminder
        phi_patient = "patient"
        phi_clinic = "clinic"
        fields = [
            "id",
            "patient_id",
            "clinic_id",
            "channel",
            "template_key",
            "title",
            "starts_at",
            "rrule",
            "next_run_at",
            "related_ref",
            "status",
            "created_at",
        ]


class ReminderInputSerializer(Serializer):
    patient_id = serializers.CharField(max_length=40)
    clinic_id = serializers.CharField(max_length=40)
    title = serializers.CharField(max_length=200)
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    starts_at = serializers.DateTimeField()
    rrule = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.SMS)
    template_key = serializers.SlugField(max_length=64, default="reminder")
    related_ref = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)


class TaskSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)

    class Meta:
        model = PatientTask
        phi_patient = "patient"
        phi_clinic = "clinic"
        fields = ["id", "title", "instructions", "due_at", "status", "completed_at", "created_at"]


class TaskInputSerializer(Serializer):
    patient_id = serializers.CharField(max_length=40)
    clinic_id = serializers.CharField(max_length=40)
    title = serializers.CharField(max_length=200)
    instructions = serializers.CharField(
        max_length=5000, required=False, default="", allow_blank=True
    )
    due_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class SegmentSerializer(Serializer):
    languages = serializers.ListField(child=serializers.CharField(max_length=8), required=False)
    regions = serializers.ListField(child=serializers.CharField(max_length=32), required=False)
    tags = serializers.ListField(child=serializers.SlugField(max_length=64), required=False)
    consent = serializers.ChoiceField(
        choices=["marketing", "partner_referral", "data_sharing", "treatment", ""],
        required=False,
    )
    active_within_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    inactive_for_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)


class CampaignSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    clinic_id = serializers.CharField(source="clinic.public_id", read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    segment = SegmentSerializer(read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "clinic_id",
            "name",
            "channel",
            "template_key",
            "segment",
            "scheduled_at",
            "status",
            "create_task_title",
            "audience_size",
            "targeted_count",
            "suppressed_count",
            "progress_percent",
            "started_at",
            "finished_at",
            "created_at",
        ]


class CampaignInputSerializer(Serializer):
    clinic_id = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(choices=Channel.choices)
    template_key = serializers.SlugField(max_length=64)
    segment = SegmentSerializer(required=False, default=dict)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    create_task_title = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )


class CampaignAnalyticsSerializer(Serializer):
    audience_size = serializers.IntegerField()
    targeted = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    deferred = serializers.IntegerField()
    queued = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    task_completions = serializers.IntegerField()


class EngagementDaySerializer(Serializer):
    day = serializers.DateField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    tasks_completed = serializers.IntegerField()


class MessageSerializer(ModelSerializer):
    """The log row: no recipient address and no content (PHI)."""

    id = serializers.CharField(source="public_id", read_only=True)
    recipient_id = serializers.CharField(source="recipient.public_id", default=None)
    campaign_id = serializers.CharField(source="campaign.public_id", default=None)

    class Meta:
        model = Message
        phi_patient = "recipient"
        phi_clinic = "clinic"
        fields = [
            "id",
            "channel",
            "purpose",
            "template_key",
            "language",
            "recipient_id",
            "campaign_id",
            "status",
            "urgent",
            "send_after",
            "provider",
            "attempts",
            "last_error",
            "sent_at",
            "delivered_at",
            "failed_at",
            "created_at",
        ]


class PushSubscriptionSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)

    class Meta:
        model = PushSubscription
        fields = ["id", "endpoint", "is_active", "created_at"]


class PushKeysSerializer(Serializer):
    """Base64url, as browsers give them (padding optional): a P-256 public key (65 bytes) and
    a 16-byte secret."""

    # "p256dh" on the wire: the camelCase parser reads it as p_256dh.
    p_256dh = serializers.RegexField(r"^[A-Za-z0-9_-]{87}=?$")
    auth = serializers.RegexField(r"^[A-Za-z0-9_-]{22}(==)?$")


class PushSubscriptionInputSerializer(Serializer):
    """The browser's ``PushSubscription.toJSON()``."""

    endpoint = serializers.URLField(
        max_length=1000,
        validators=[URLValidator(schemes=["https"], message="The endpoint must be an https URL.")],
    )
    keys = PushKeysSerializer()


class PreferencesSerializer(Serializer):
    """True when the patient accepts messages on that channel."""

    sms = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)
    push = serializers.BooleanField(required=False)


class OptOutSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)

    class Meta:
        model = OptOut
        fields = ["id", "channel", "source", "created_at"]


class MessageFilters(QueryFilters):
    status = serializers.ChoiceField(choices=MessageStatus.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    purpose = serializers.CharField(max_length=64, required=False)
    campaign_id = serializers.CharField(max_length=40, required=False)


class TemplateFilters(QueryFilters):
    key = serializers.CharField(max_length=64, required=False, help_text="Only this purpose key.")


class EngagementDaysFilters(QueryFilters):
    days = serializers.IntegerField(
        min_value=1, max_value=365, default=30, help_text="The last N days (default 30)."
    )
