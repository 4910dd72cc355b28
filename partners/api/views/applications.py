"""Self-service applications (draft, edit, submit) and the OAuth clients they produced."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.mixins import ListModelMixin
from rest_framework.request import Request
from rest_framework.response import Response

from partners.api.base import PartnerAPIView
from partners.api.serializers import (
    ApplicationSerializer,
    ClientSecretSerializer,
    OAuthClientSerializer,
)
from partners.api.views.self_service import TAGS, PartnerGenericAPIView
from partners.models import PartnerApplication, PartnerOAuthClient
from partners.scopes import MANAGE_PARTNER, READ_PARTNER
from partners.selectors import (
    owned_or_404,
    partner_applications,
    partner_from_request,
    partner_oauth_clients,
)
from partners.services import applications as services


def _own_application(request: Request, application_id: str) -> PartnerApplication:
    return owned_or_404(
        partner_applications(partner=partner_from_request(request)),
        public_id=application_id,
        what="application",
    )


@extend_schema(tags=TAGS)
class ApplicationListView(ListModelMixin, PartnerGenericAPIView):
    required_scopes = {"GET": READ_PARTNER, "POST": MANAGE_PARTNER}
    serializer_class = ApplicationSerializer

    def get_queryset(self):
        return partner_applications(partner=partner_from_request(self.request))

    @extend_schema(summary="Your applications (scope read:partner)")
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        request=ApplicationSerializer,
        responses={201: ApplicationSerializer},
        summary="Start an application as a draft (scope manage:partner)",
    )
    def post(self, request: Request) -> Response:
        data = ApplicationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.application_create(
            partner=partner_from_request(request), actor=request.auth.actor, **data.validated_data
        )
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class ApplicationDetailView(PartnerAPIView):
    required_scopes = {"GET": READ_PARTNER, "PATCH": MANAGE_PARTNER}

    @extend_schema(responses=ApplicationSerializer, summary="One application (scope read:partner)")
    def get(self, request: Request, application_id: str) -> Response:
        return Response(ApplicationSerializer(_own_application(request, application_id)).data)

    @extend_schema(
        request=ApplicationSerializer,
        responses=ApplicationSerializer,
        summary="Change a draft application (scope manage:partner)",
    )
    def patch(self, request: Request, application_id: str) -> Response:
        application = _own_application(request, application_id)
        data = ApplicationSerializer(application, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        application = services.application_update(
            application=application, actor=request.auth.actor, **data.validated_data
        )
        return Response(ApplicationSerializer(application).data)


@extend_schema(tags=TAGS)
class ApplicationSubmitView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_PARTNER}

    @extend_schema(
        request=None,
        responses=ApplicationSerializer,
        summary="Submit a draft for review; runs the security checks (scope manage:partner)",
    )
    def post(self, request: Request, application_id: str) -> Response:
        application = services.application_submit(
            application=_own_application(request, application_id), actor=request.auth.actor
        )
        return Response(ApplicationSerializer(application).data)


@extend_schema(tags=TAGS)
class OAuthClientListView(ListModelMixin, PartnerGenericAPIView):
    required_scopes = {"GET": READ_PARTNER}
    serializer_class = OAuthClientSerializer

    def get_queryset(self):
        return partner_oauth_clients(partner=partner_from_request(self.request))

    @extend_schema(summary="Your OAuth clients (scope read:partner)")
    def get(self, request: Request) -> Response:
        return self.list(request)


@extend_schema(tags=TAGS)
class OAuthClientSecretView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_PARTNER}

    @extend_schema(
        request=None,
        responses={201: ClientSecretSerializer},
        summary="Issue a new client secret, shown once; the old one stops working "
        "(scope manage:partner)",
    )
    def post(self, request: Request, client_id: str) -> Response:
        client: PartnerOAuthClient = owned_or_404(
            partner_oauth_clients(partner=partner_from_request(request)),
            public_id=client_id,
            what="OAuth client",
        )
        secret = services.oauth_client_reset_secret(client=client, actor=request.auth.actor)
        return Response(
            {"client_id": client.application.client_id, "client_secret": secret},
            status=status.HTTP_201_CREATED,
        )
