"""Self-service contacts (read and manage) and agreements (read only)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.mixins import ListModelMixin
from rest_framework.request import Request
from rest_framework.response import Response

from partners.api.base import PartnerAPIView
from partners.api.serializers import AgreementSerializer, ContactSerializer
from partners.api.views.self_service import TAGS, PartnerGenericAPIView
from partners.scopes import MANAGE_PARTNER, READ_PARTNER
from partners.selectors import (
    owned_or_404,
    partner_agreements,
    partner_contacts,
    partner_from_request,
)
from partners.services.profile import contact_create, contact_delete, contact_update


@extend_schema(tags=TAGS)
class ContactListView(ListModelMixin, PartnerGenericAPIView):
    required_scopes = {"GET": READ_PARTNER, "POST": MANAGE_PARTNER}
    serializer_class = ContactSerializer

    def get_queryset(self):
        return partner_contacts(partner=partner_from_request(self.request))

    @extend_schema(summary="List your contacts (scope read:partner)")
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        request=ContactSerializer,
        responses={201: ContactSerializer},
        summary="Add a contact (scope manage:partner)",
    )
    def post(self, request: Request) -> Response:
        data = ContactSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = contact_create(
            partner=partner_from_request(request), actor=request.auth.actor, **data.validated_data
        )
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class ContactDetailView(PartnerAPIView):
    required_scopes = {"GET": READ_PARTNER, "PATCH": MANAGE_PARTNER, "DELETE": MANAGE_PARTNER}

    def _contact(self, request: Request, contact_id: str):
        return owned_or_404(
            partner_contacts(partner=partner_from_request(request)),
            public_id=contact_id,
            what="contact",
        )

    @extend_schema(responses=ContactSerializer, summary="One contact (scope read:partner)")
    def get(self, request: Request, contact_id: str) -> Response:
        return Response(ContactSerializer(self._contact(request, contact_id)).data)

    @extend_schema(
        request=ContactSerializer,
        responses=ContactSerializer,
        summary="Change a contact (scope manage:partner)",
    )
    def patch(self, request: Request, contact_id: str) -> Response:
        contact = self._contact(request, contact_id)
        data = ContactSerializer(contact, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        contact = contact_update(contact=contact, actor=request.auth.actor, **data.validated_data)
        return Response(ContactSerializer(contact).data)

    @extend_schema(responses={204: None}, summary="Remove a contact (scope manage:partner)")
    def delete(self, request: Request, contact_id: str) -> Response:
        contact_delete(contact=self._contact(request, contact_id), actor=request.auth.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=TAGS)
class AgreementListView(ListModelMixin, PartnerGenericAPIView):
    required_scopes = {"GET": READ_PARTNER}
    serializer_class = AgreementSerializer

    def get_queryset(self):
        return partner_agreements(partner=partner_from_request(self.request))

    @extend_schema(summary="Your agreements (scope read:partner)")
    def get(self, request: Request) -> Response:
        return self.list(request)


@extend_schema(tags=TAGS)
class AgreementDetailView(PartnerAPIView):
    required_scopes = {"GET": READ_PARTNER}

    @extend_schema(responses=AgreementSerializer, summary="One agreement (scope read:partner)")
    def get(self, request: Request, agreement_id: str) -> Response:
        agreement = owned_or_404(
            partner_agreements(partner=partner_from_request(request)),
            public_id=agreement_id,
            what="agreement",
        )
        return Response(AgreementSerializer(agreement).data)
