"""Partner self-service: the calling partner's own profile, keys and usage."""

from datetime import date, timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from careos.api.filters import QueryFilters, query_filters
from careos.api.pagination import StrictCursorPagination
from careos.errors import NotFoundError
from partners.api.authentication import PartnerAuthentication
from partners.api.base import PartnerAPIView
from partners.api.permissions import RequiresScope
from partners.api.serializers import (
    ApiKeyCreateSerializer,
    ApiKeyRevokeSerializer,
    ApiKeySerializer,
    IssuedApiKeySerializer,
    PartnerSerializer,
    PingSerializer,
    UsageDaySerializer,
)
from partners.models import ApiKey
from partners.scopes import MANAGE_PARTNER, READ_PARTNER
from partners.selectors import partner_api_keys, partner_from_request, partner_usage
from partners.services.credentials import api_key_generate, api_key_revoke, api_key_rotate

TAGS = ["partners: self-service"]


class PartnerGenericAPIView(GenericAPIView):
    authentication_classes = [PartnerAuthentication]
    permission_classes = [RequiresScope]
    required_scopes: str | dict[str, str | None] | None = None


@extend_schema(tags=TAGS)
class PingView(PartnerAPIView):
    """A trivial endpoint: answers with or without a credential (used by ``bench/auth.py``)."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses=PingSerializer,
        summary="Check connectivity (and the credential, when one is sent)",
    )
    def get(self, request: Request) -> Response:
        principal = request.auth
        return Response({"pong": True, "partner": getattr(principal, "partner_ref", None)})


@extend_schema(tags=TAGS)
class MeView(PartnerAPIView):
    required_scopes = {"GET": READ_PARTNER}

    @extend_schema(responses=PartnerSerializer, summary="The calling partner (scope read:partner)")
    def get(self, request: Request) -> Response:
        return Response(PartnerSerializer(partner_from_request(request)).data)


def _key_for(request: Request, key_id: str) -> ApiKey:
    api_key = (
        partner_api_keys(partner=partner_from_request(request)).filter(public_id=key_id).first()
    )
    if api_key is None:
        raise NotFoundError("No API key with this id.")
    return api_key


@extend_schema(tags=TAGS)
class ApiKeyListView(ListModelMixin, PartnerGenericAPIView):
    required_scopes = {"GET": READ_PARTNER, "POST": MANAGE_PARTNER}
    serializer_class = ApiKeySerializer

    def get_queryset(self):
        return partner_api_keys(partner=partner_from_request(self.request)).select_related(
            "replaced_by"
        )

    @extend_schema(
        summary="List your API keys (scope read:partner)", operation_id="partners_me_keys_list"
    )
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        request=ApiKeyCreateSerializer,
        responses={201: IssuedApiKeySerializer},
        summary="Create an API key; the full key is in the answer only (scope manage:partner)",
    )
    def post(self, request: Request) -> Response:
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = api_key_generate(
            partner=partner_from_request(request),
            name=data.validated_data["name"],
            environment=data.validated_data["environment"],
            scopes=data.validated_data.get("scopes"),
            expires_at=data.validated_data.get("expires_at"),
            actor=request.auth.actor,
        )
        body = ApiKeySerializer(issued.api_key).data | {"key": issued.secret}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class ApiKeyDetailView(PartnerAPIView):
    required_scopes = {"GET": READ_PARTNER}

    @extend_schema(responses=ApiKeySerializer, summary="One of your API keys (scope read:partner)")
    def get(self, request: Request, key_id: str) -> Response:
        return Response(ApiKeySerializer(_key_for(request, key_id)).data)


@extend_schema(tags=TAGS)
class ApiKeyRotateView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_PARTNER}

    @extend_schema(
        request=None,
        responses={201: IssuedApiKeySerializer},
        summary="Rotate a key: a new key now, the old one works until the grace period ends "
        "(scope manage:partner)",
    )
    def post(self, request: Request, key_id: str) -> Response:
        issued = api_key_rotate(api_key=_key_for(request, key_id), actor=request.auth.actor)
        body = ApiKeySerializer(issued.api_key).data | {"key": issued.secret}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class ApiKeyRevokeView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_PARTNER}

    @extend_schema(
        request=ApiKeyRevokeSerializer,
        responses=ApiKeySerializer,
        summary="Revoke a key immediately (scope manage:partner)",
    )
    def post(self, request: Request, key_id: str) -> Response:
        data = ApiKeyRevokeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key = api_key_revoke(
            api_key=_key_for(request, key_id),
            actor=request.auth.actor,
            reason=data.validated_data["reason"],
        )
        return Response(ApiKeySerializer(api_key).data)


class UsagePagination(StrictCursorPagination):
    ordering = ("-day", "-pk")


class UsageFilters(QueryFilters):
    since = serializers.DateField(required=False, help_text="First day (default: 30 days ago).")
    until = serializers.DateField(required=False, help_text="Last day (default: today).")


@extend_schema(tags=TAGS)
class UsageView(ListModelMixin, PartnerGenericAPIView):
    required_scopes = {"GET": READ_PARTNER}
    pagination_class = UsagePagination
    serializer_class = UsageDaySerializer

    @extend_schema(
        parameters=[UsageFilters],
        summary="Your API usage per day and endpoint (scope read:partner); updated every minute",
    )
    def get(self, request: Request) -> Response:
        return self.list(request)

    def get_queryset(self):
        filters = query_filters(UsageFilters, self.request)
        today = timezone.now().date()
        since: date = filters.get("since", today - timedelta(days=30))
        until: date = filters.get("until", today)
        return partner_usage(partner=partner_from_request(self.request), since=since, until=until)
