from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from careos.api.filters import QueryFilters
from careos.api.serializers import ModelSerializer, Serializer
from support.businesstime import Schedule, is_open_at
from support.models import AgentProfile, CsatResponse, Queue, Ticket, TicketComment
from support.schedules import agent_schedule, calendar_schedule
from support.sla import sla_state


class AttachmentSerializer(Serializer):
    name = serializers.CharField(max_length=200)
    url = serializers.URLField(max_length=1000)
    content_type = serializers.CharField(max_length=100, required=False, default="")


class TicketCreateSerializer(Serializer):
    clinic_id = serializers.CharField(
        max_length=40,
        required=False,
        allow_null=True,
        help_text="The clinic the ticket is for (cln_…). Partners leave it out for a request to "
        "CareOS itself: it goes to the platform's partner-support desk, with the SLA of their "
        "tier.",
    )
    subject = serializers.CharField(max_length=300)
    description = serializers.CharField(max_length=20_000, required=False, default="")
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, default="normal")
    channel = serializers.ChoiceField(choices=Ticket.Channel.choices, default="api")
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)
    region = serializers.CharField(max_length=32, required=False, allow_blank=True)
    category = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    attachments = AttachmentSerializer(many=True, required=False, default=list)


class CommentCreateSerializer(Serializer):
    body = serializers.CharField(max_length=20_000)
    internal = serializers.BooleanField(default=False)
    attachments = AttachmentSerializer(many=True, required=False, default=list)


class ReasonSerializer(Serializer):
    reason = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class EscalateSerializer(Serializer):
    reason = serializers.CharField(max_length=1000)


class StatusSerializer(ReasonSerializer):
    status = serializers.ChoiceField(choices=Ticket.Status.choices)


class PrioritySerializer(ReasonSerializer):
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices)


class AssignSerializer(Serializer):
    assignee_id = serializers.CharField(max_length=40, allow_null=True)
    queue_id = serializers.CharField(max_length=40, required=False, allow_null=True)


class RatingSerializer(Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class SurveySerializer(RatingSerializer):
    token = serializers.CharField(max_length=500)


class QueueFilters(QueryFilters):
    queue = serializers.CharField(max_length=40, required=False, help_text="Queue id (tq_…)")
    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
    assignee = serializers.CharField(max_length=40, required=False, help_text="User id, or 'me'")
    sla = serializers.ChoiceField(choices=["breached", "warning", "ok"], required=False)


class SlaTargetSerializer(Serializer):
    due_at = serializers.DateTimeField(allow_null=True)
    warn_at = serializers.DateTimeField(allow_null=True)
    remaining_business_minutes = serializers.FloatField(allow_null=True)
    warned = serializers.BooleanField()
    breached = serializers.BooleanField()
    met = serializers.BooleanField()


class SlaSerializer(Serializer):
    policy_id = serializers.CharField(allow_null=True)
    paused = serializers.BooleanField()
    first_response = SlaTargetSerializer()
    next_response = SlaTargetSerializer()
    resolution = SlaTargetSerializer()


def _schedule(context: dict[str, Any], ticket: Ticket) -> Schedule | None:
    """One schedule per calendar per response (lists would otherwise load it per ticket)."""
    if ticket.sla_policy is None:
        return None
    cache = context.setdefault("schedules", {})
    calendar_id = ticket.sla_policy.calendar_id
    if calendar_id not in cache:
        cache[calendar_id] = calendar_schedule(ticket.sla_policy.calendar)
    return cache[calendar_id]


def sla_data(ticket: Ticket, *, now: datetime, schedule: Schedule | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "policy_id": ticket.sla_policy.public_id if ticket.sla_policy else None,
        "paused": ticket.sla_paused_at is not None,
    }
    for state in sla_state(ticket, now=now, schedule=schedule):
        data[state.name] = {
            "due_at": state.due_at,
            "warn_at": state.warn_at,
            "remaining_business_minutes": state.remaining_minutes,
            "warned": state.warned,
            "breached": state.breached,
            "met": state.met,
        }
    return data


class TicketSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    clinic_id = serializers.CharField(
        source="clinic.public_id",
        read_only=True,
        allow_null=True,
        help_text="Null: a partner's request to CareOS (the platform's partner-support desk).",
    )
    queue_id = serializers.CharField(source="queue.public_id", read_only=True, allow_null=True)
    assignee_id = serializers.CharField(
        source="assignee.public_id", read_only=True, allow_null=True
    )
    requester_id = serializers.SerializerMethodField()
    sla = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        phi_patient = "requester"
        phi_clinic = "clinic"
        fields = [
            "id",
            "clinic_id",
            "requester_kind",
            "requester_id",
            "subject",
            "description",
            "priority",
            "status",
            "channel",
            "language",
            "region",
            "category",
            "queue_id",
            "assignee_id",
            "escalation_level",
            "escalated_at",
            "reopened_count",
            "solved_at",
            "closed_at",
            "created_at",
            "updated_at",
            "sla",
        ]
        read_only_fields = fields

    def get_requester_id(self, ticket: Ticket) -> str | None:
        if ticket.requester_partner is not None:
            return ticket.requester_partner.public_id
        return ticket.requester.public_id if ticket.requester else None

    @extend_schema_field(SlaSerializer)
    def get_sla(self, ticket: Ticket) -> dict[str, Any]:
        now = self.context.setdefault("now", timezone.now())
        data = sla_data(ticket, now=now, schedule=_schedule(self.context, ticket))
        return SlaSerializer(data).data


class CommentSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    author_id = serializers.SerializerMethodField()

    class Meta:
        model = TicketComment
        phi_patient = "ticket__requester"
        phi_clinic = "ticket__clinic"
        fields = [
            "id",
            "kind",
            "author_id",
            "is_agent",
            "body",
            "language",
            "translated_body",
            "translated_language",
            "attachments",
            "created_at",
        ]
        read_only_fields = fields

    def get_author_id(self, comment: TicketComment) -> str | None:
        if comment.author_partner_id:
            return comment.author_partner.public_id
        return comment.author.public_id if comment.author_id else None


class QueueSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    clinic_id = serializers.CharField(
        source="clinic.public_id",
        read_only=True,
        allow_null=True,
        help_text="Null: a queue of the platform's partner-support desk.",
    )
    open_tickets = serializers.IntegerField(read_only=True)
    language = serializers.CharField(read_only=True, help_text="Empty: any language.")

    class Meta:
        model = Queue
        fields = ["id", "clinic_id", "name", "language", "region", "is_escalation", "open_tickets"]
        read_only_fields = fields


class CsatSerializer(ModelSerializer):
    ticket_id = serializers.CharField(source="ticket.public_id", read_only=True)

    class Meta:
        model = CsatResponse
        fields = ["ticket_id", "rating", "comment", "created_at"]
        read_only_fields = fields


class WorkingHoursSerializer(Serializer):
    weekday = serializers.IntegerField()
    starts = serializers.TimeField()
    ends = serializers.TimeField()


class PublishedAgentSerializer(Serializer):
    id = serializers.CharField(source="user.public_id")
    clinic_id = serializers.CharField(source="clinic.public_id")
    languages = serializers.ListField(child=serializers.CharField())
    timezone = serializers.CharField()
    is_supervisor = serializers.BooleanField()
    available_now = serializers.SerializerMethodField()
    hours = WorkingHoursSerializer(many=True)

    def get_available_now(self, agent: AgentProfile) -> bool:
        return is_open_at(agent_schedule(agent), self.context.setdefault("now", timezone.now()))
