"""Platform-admin endpoints: CareOS staff (session) with ``partners.manage_partners``, or a
superuser. Partners' credentials never reach these views."""

from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from careos.api.filters import query_filters
from careos.errors import NotFoundError
from partners.api.permissions import IsPlatformAdmin
from partners.api.serializers import (
    AdminApplicationFilters,
    AdminPartnerFilters,
    AdminPartnerSerializer,
    ApplicationSerializer,
    ApprovalSerializer,
    NotesSerializer,
    PartnerStatisticsSerializer,
    ReasonSerializer,
)
from partners.models import Partner
from partners.selectors import owned_or_404, partner_applications, partner_by_public_id
from partners.services import applications as app_services
from partners.services import lifecycle

TAGS = ["partners: platform admin"]


class AdminMixin:
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsPlatformAdmin]


@extend_schema(tags=TAGS)
class AdminPartnerListView(AdminMixin, ListModelMixin, GenericAPIView):
    serializer_class = AdminPartnerSerializer

    def get_queryset(self):
        return Partner.objects.filter(**query_filters(AdminPartnerFilters, self.request))

    @extend_schema(
        summary="List partners",
        parameters=[AdminPartnerFilters],
    )
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        request=AdminPartnerSerializer,
        responses={201: AdminPartnerSerializer},
        summary="Create a partner (pending until activated)",
    )
    def post(self, request: Request) -> Response:
        data = AdminPartnerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        override = values.pop("rate_limit_per_minute", None)
        partner = lifecycle.partner_create(actor=request.user, **values)
        if override:
            partner = lifecycle.partner_update(
                partner=partner, actor=request.user, rate_limit_per_minute=override
            )
        return Response(AdminPartnerSerializer(partner).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class AdminPartnerDetailView(AdminMixin, APIView):
    @extend_schema(responses=AdminPartnerSerializer, summary="One partner")
    def get(self, request: Request, partner_id: str) -> Response:
        return Response(AdminPartnerSerializer(partner_by_public_id(public_id=partner_id)).data)

    @extend_schema(
        request=AdminPartnerSerializer,
        responses=AdminPartnerSerializer,
        summary="Change a partner (name, type, tier, rate limit override, ...)",
    )
    def patch(self, request: Request, partner_id: str) -> Response:
        partner = partner_by_public_id(public_id=partner_id)
        data = AdminPartnerSerializer(partner, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if k != "slug"}
        partner = lifecycle.partner_update(partner=partner, actor=request.user, **values)
        return Response(AdminPartnerSerializer(partner).data)


@extend_schema(tags=TAGS)
class AdminPartnerStatisticsView(AdminMixin, APIView):
    @extend_schema(responses=PartnerStatisticsSerializer, summary="Partner statistics")
    def get(self, request: Request, partner_id: str) -> Response:
        stats = lifecycle.partner_statistics(partner=partner_by_public_id(public_id=partner_id))
        return Response(PartnerStatisticsSerializer(asdict(stats)).data)


_PARTNER_ACTIONS = {
    "activate": (lifecycle.partner_activate, False),
    "suspend": (lifecycle.partner_suspend, True),
    "reactivate": (lifecycle.partner_reactivate, False),
    "terminate": (lifecycle.partner_terminate, True),
}


@extend_schema(tags=TAGS)
class AdminPartnerActionView(AdminMixin, APIView):
    @extend_schema(
        request=ReasonSerializer,
        responses=AdminPartnerSerializer,
        summary="activate | suspend (reason) | reactivate | terminate (reason)",
        operation_id="partners_admin_partner_action",
        parameters=[
            OpenApiParameter(
                "action", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(_PARTNER_ACTIONS)
            )
        ],
    )
    def post(self, request: Request, partner_id: str, action: str) -> Response:
        if action not in _PARTNER_ACTIONS:
            raise NotFoundError("Unknown action.")
        service, needs_reason = _PARTNER_ACTIONS[action]
        partner = partner_by_public_id(public_id=partner_id)
        kwargs = {}
        if needs_reason:
            data = ReasonSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            kwargs["reason"] = data.validated_data["reason"]
        partner = service(partner=partner, actor=request.user, **kwargs)
        return Response(AdminPartnerSerializer(partner).data)


@extend_schema(tags=TAGS)
class AdminApplicationListView(AdminMixin, ListModelMixin, GenericAPIView):
    serializer_class = ApplicationSerializer

    def get_queryset(self):
        return partner_applications().filter(**query_filters(AdminApplicationFilters, self.request))

    @extend_schema(
        summary="Applications of every partner",
        parameters=[AdminApplicationFilters],
    )
    def get(self, request: Request) -> Response:
        return self.list(request)


@extend_schema(tags=TAGS)
class AdminApplicationActionView(AdminMixin, APIView):
    @extend_schema(
        request=NotesSerializer,
        responses=ApprovalSerializer,
        summary="start-review | approve (notes; answers the client secret once) | reject "
        "(reason) | publish | deprecate",
        operation_id="partners_admin_application_action",
        parameters=[
            OpenApiParameter(
                "action",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=["start-review", "approve", "reject", "publish", "deprecate"],
            )
        ],
    )
    def post(self, request: Request, application_id: str, action: str) -> Response:
        application = owned_or_404(
            partner_applications(), public_id=application_id, what="application"
        )
        secret = None
        if action == "start-review":
            application = app_services.application_start_review(
                application=application, actor=request.user
            )
        elif action == "approve":
            notes = NotesSerializer(data=request.data)
            notes.is_valid(raise_exception=True)
            approved = app_services.application_approve(
                application=application, actor=request.user, notes=notes.validated_data["notes"]
            )
            application, secret = approved.application, approved.client_secret
        elif action == "reject":
            reason = ReasonSerializer(data=request.data)
            reason.is_valid(raise_exception=True)
            application = app_services.application_reject(
                application=application, actor=request.user, reason=reason.validated_data["reason"]
            )
        elif action == "publish":
            application = app_services.application_publish(
                application=application, actor=request.user
            )
        elif action == "deprecate":
            application = app_services.application_deprecate(
                application=application, actor=request.user
            )
        else:
            raise NotFoundError("Unknown action.")
        return Response(ApplicationSerializer(application).data | {"client_secret": secret})
