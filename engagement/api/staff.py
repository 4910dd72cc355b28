"""Staff endpoints: templates, reminders, tasks, campaigns, the message log (rbac-guarded)."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from careos.api.filters import query_filters
from careos.api.idempotency import idempotent
from careos.errors import NotFoundError
from engagement import selectors
from engagement.api.permissions import PublicIdPathMixin
from engagement.api.serializers import (
    CampaignAnalyticsSerializer,
    CampaignInputSerializer,
    CampaignSerializer,
    EngagementDaySerializer,
    EngagementDaysFilters,
    MessageFilters,
    MessageSerializer,
    ReminderInputSerializer,
    ReminderSerializer,
    TaskInputSerializer,
    TaskSerializer,
    TemplateFilters,
    TemplateInputSerializer,
    TemplatePreviewSerializer,
    TemplateSerializer,
)
from engagement.models import Campaign, Message, MessageTemplate, Reminder
from engagement.services import campaigns, reminders, templates
from rbac.api.permissions import HasClinicPermission
from rbac.selectors import patient_by_public_id

TAGS = ["engagement (staff)"]


def _clinic_and_patient(request: Request, permission: str, data: dict) -> tuple:
    clinic = selectors.staff_clinic(
        user=request.user, permission=permission, clinic_public_id=data["clinic_id"]
    )
    if clinic is None:
        raise NotFoundError("No such clinic.")
    # The patient's relationship to the clinic is checked by the service (404 as here).
    patient = patient_by_public_id(data["patient_id"])
    if patient is None:
        raise NotFoundError("No such patient in this clinic.")
    return clinic, patient


class TemplateListView(generics.ListAPIView):
    permission_classes = [HasClinicPermission]
    required_permissions = {
        "GET": "engagement.view_messagetemplate",
        "POST": "engagement.add_messagetemplate",
    }
    serializer_class = TemplateSerializer

    def get_queryset(self) -> QuerySet[MessageTemplate]:
        key = query_filters(TemplateFilters, self.request).get("key")
        queryset = MessageTemplate.objects.all()
        return queryset.filter(key=key) if key else queryset

    @extend_schema(
        tags=TAGS,
        summary="List message templates",
        parameters=[TemplateFilters],
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        tags=TAGS,
        summary="Create a template",
        request=TemplateInputSerializer,
        responses={201: TemplateSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = TemplateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = templates.template_save(actor=request.user, **data.validated_data)
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailView(PublicIdPathMixin, APIView):
    permission_classes = [HasClinicPermission]
    required_permissions = {
        "GET": "engagement.view_messagetemplate",
        "PUT": "engagement.change_messagetemplate",
    }

    @extend_schema(tags=TAGS, summary="A template", responses=TemplateSerializer)
    def get(self, request: Request, public_id: str) -> Response:
        template = get_object_or_404(MessageTemplate, public_id=public_id)
        return Response(TemplateSerializer(template).data)

    @extend_schema(
        tags=TAGS,
        summary="Replace a template's text",
        request=TemplateInputSerializer,
        responses=TemplateSerializer,
    )
    def put(self, request: Request, public_id: str) -> Response:
        template = get_object_or_404(MessageTemplate, public_id=public_id)
        data = TemplateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = templates.template_save(
            actor=request.user, template=template, **data.validated_data
        )
        return Response(TemplateSerializer(template).data)


class TemplatePreviewView(PublicIdPathMixin, APIView):
    permission_classes = [HasClinicPermission]
    required_permission = "engagement.view_messagetemplate"

    @extend_schema(
        tags=TAGS,
        summary="Preview a template (variables shown as [name])",
        responses=TemplatePreviewSerializer,
    )
    def get(self, request: Request, public_id: str) -> Response:
        template = get_object_or_404(MessageTemplate, public_id=public_id)
        rendered = templates.template_preview(template=template)
        return Response(
            TemplatePreviewSerializer(
                {
                    "language": rendered.language,
                    "subject": rendered.subject,
                    "body": rendered.body,
                    "html_body": rendered.html_body,
                }
            ).data
        )


class ReminderListView(generics.ListAPIView):
    permission_classes = [HasClinicPermission]
    required_permissions = {"GET": "engagement.view_reminder", "POST": "engagement.add_reminder"}
    serializer_class = ReminderSerializer

    def get_queryset(self) -> QuerySet[Reminder]:
        return selectors.reminders_for_staff(user=self.request.user)

    @extend_schema(tags=TAGS, summary="Reminders of your clinics")
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        tags=TAGS,
        summary="Create a reminder for a patient (one-off, or recurring with an RRULE)",
        request=ReminderInputSerializer,
        responses={201: ReminderSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = ReminderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        clinic, patient = _clinic_and_patient(request, "engagement.add_reminder", values)
        del values["clinic_id"], values["patient_id"]
        reminder = reminders.reminder_create(
            patient=patient, clinic=clinic, actor=request.user, **values
        )
        return Response(ReminderSerializer(reminder).data, status=status.HTTP_201_CREATED)


class ReminderCancelView(PublicIdPathMixin, APIView):
    permission_classes = [HasClinicPermission]
    required_permission = "engagement.change_reminder"

    @extend_schema(
        tags=TAGS, summary="Cancel a reminder", request=None, responses=ReminderSerializer
    )
    def post(self, request: Request, public_id: str) -> Response:
        reminder = get_object_or_404(
            Reminder.objects.filter(
                clinic__in=selectors.clinics_where(request.user, self.required_permission)
            ),
            public_id=public_id,
        )
        reminder = reminders.reminder_cancel(reminder=reminder, actor=request.user)
        return Response(ReminderSerializer(reminder).data)


class StaffTaskCreateView(APIView):
    permission_classes = [HasClinicPermission]
    required_permission = "engagement.add_patienttask"

    @extend_schema(
        tags=TAGS,
        summary="Give a patient a task",
        request=TaskInputSerializer,
        responses={201: TaskSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = TaskInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        clinic, patient = _clinic_and_patient(request, self.required_permission, values)
        del values["clinic_id"], values["patient_id"]
        task = reminders.task_create(patient=patient, clinic=clinic, actor=request.user, **values)
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)


class CampaignListView(generics.ListAPIView):
    permission_classes = [HasClinicPermission]
    required_permissions = {"GET": "engagement.view_campaign", "POST": "engagement.add_campaign"}
    serializer_class = CampaignSerializer

    def get_queryset(self) -> QuerySet[Campaign]:
        return selectors.campaigns_for_staff(user=self.request.user)

    @extend_schema(tags=TAGS, summary="Campaigns of your clinics")
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        tags=TAGS,
        summary="Create a draft campaign",
        request=CampaignInputSerializer,
        responses={201: CampaignSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = CampaignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        clinic = selectors.staff_clinic(
            user=request.user,
            permission="engagement.add_campaign",
            clinic_public_id=values.pop("clinic_id"),
        )
        if clinic is None:
            raise NotFoundError("No such clinic.")
        campaign = campaigns.campaign_create(clinic=clinic, actor=request.user, **values)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


def _campaign(request: Request, public_id: str, permission: str) -> Campaign:
    return get_object_or_404(
        selectors.campaigns_for_staff(user=request.user, permission=permission),
        public_id=public_id,
    )


class CampaignDetailView(PublicIdPathMixin, APIView):
    permission_classes = [HasClinicPermission]
    required_permission = "engagement.view_campaign"

    @extend_schema(tags=TAGS, summary="A campaign with its progress", responses=CampaignSerializer)
    def get(self, request: Request, public_id: str) -> Response:
        campaign = _campaign(request, public_id, self.required_permission)
        return Response(CampaignSerializer(campaign).data)


class CampaignLaunchView(PublicIdPathMixin, APIView):
    permission_classes = [HasClinicPermission]
    required_permission = "engagement.change_campaign"

    @extend_schema(
        tags=TAGS,
        summary="Launch a draft campaign (now, or at its scheduledAt)",
        request=None,
        responses=CampaignSerializer,
    )
    def post(self, request: Request, public_id: str) -> Response:
        campaign = _campaign(request, public_id, self.required_permission)
        campaign = campaigns.campaign_launch(campaign=campaign, actor=request.user)
        return Response(CampaignSerializer(campaign).data)


class CampaignCancelView(PublicIdPathMixin, APIView):
    permission_classes = [HasClinicPermission]
    required_permission = "engagement.change_campaign"

    @extend_schema(
        tags=TAGS,
        summary="Cancel a campaign; unsent messages are dropped",
        request=None,
        responses=CampaignSerializer,
    )
    def post(self, request: Request, public_id: str) -> Response:
        campaign = _campaign(request, public_id, self.required_permission)
        campaign = campaigns.campaign_cancel(campaign=campaign, actor=request.user)
        return Response(CampaignSerializer(campaign).data)


class CampaignAnalyticsView(PublicIdPathMixin, APIView):
    permission_classes = [HasClinicPermission]
    required_permission = "engagement.view_campaign"

    @extend_schema(tags=TAGS, summary="Campaign analytics", responses=CampaignAnalyticsSerializer)
    def get(self, request: Request, public_id: str) -> Response:
        campaign = _campaign(request, public_id, self.required_permission)
        return Response(
            CampaignAnalyticsSerializer(selectors.campaign_analytics(campaign=campaign)).data
        )


class ClinicEngagementView(PublicIdPathMixin, APIView):
    permission_classes = [HasClinicPermission]
    required_permission = "engagement.view_campaign"

    @extend_schema(
        tags=TAGS,
        summary="Engagement per day for a clinic (last N days)",
        parameters=[EngagementDaysFilters],
        responses=EngagementDaySerializer(many=True),
    )
    def get(self, request: Request, clinic_id: str) -> Response:
        clinic = selectors.staff_clinic(
            user=request.user, permission=self.required_permission, clinic_public_id=clinic_id
        )
        if clinic is None:
            raise NotFoundError("No such clinic.")
        days = query_filters(EngagementDaysFilters, request)["days"]
        rows = selectors.clinic_engagement_over_time(clinic=clinic, days=days)
        return Response(EngagementDaySerializer(rows, many=True).data)


class MessageLogView(generics.ListAPIView):
    permission_classes = [HasClinicPermission]
    required_permission = "engagement.view_message"
    serializer_class = MessageSerializer

    def get_queryset(self) -> QuerySet[Message]:
        values = query_filters(MessageFilters, self.request)
        campaign = values.pop("campaign_id", None)
        queryset = selectors.messages_for_staff(user=self.request.user).filter(**values)
        if campaign:
            queryset = queryset.filter(campaign__public_id=campaign)
        return queryset

    @extend_schema(
        tags=TAGS,
        summary="Message log of your clinics (no addresses or content)",
        parameters=[MessageFilters],
    )
    def get(self, request: Request) -> Response:
        return super().get(request)
