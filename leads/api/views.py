"""Partner lead API: ingest, the partner's leads, encryption keys, consent language."""

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from careos.api.filters import query_filters
from careos.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from careos.api.pagination import CreatedCursorPagination
from leads.api.serializers import (
    ConsentLanguageSerializer,
    EncryptionKeyListSerializer,
    LeadFilters,
    LeadIngestResultSerializer,
    LeadIngestSerializer,
    LeadSerializer,
)
from leads.models import Lead
from leads.selectors import (
    ingest_config_for,
    partner_lead_get,
    partner_leads,
    usable_encryption_keys,
)
from leads.services.ingest import COUNTED_ERRORS, ingest_failure_record, lead_ingest
from leads.services.keys import public_jwk
from leads.texts import referral_consent_language, supported_language
from partners.api.authentication import PartnerAuthentication
from partners.api.base import PartnerAPIView
from partners.api.permissions import RequiresScope
from partners.principal import PartnerPrincipal
from partners.scopes import READ_LEADS, WRITE_LEADS
from partners.selectors import partner_from_request

TAGS = ["leads"]


@extend_schema(tags=TAGS)
class LeadIngestView(PartnerAPIView):
    """``POST /api/v1/leads/ingest`` (and the seed's ``/api/leads/ingest``)."""

    required_scopes = {"POST": WRITE_LEADS}
    rate_limit_bucket = "lead_ingest"

    @property
    def rate_limit_per_minute(self) -> int:
        return settings.LEADS_INGEST_RATE_LIMIT_PER_MINUTE

    @extend_schema(
        operation_id="leads_ingest",
        summary="Submit a lead (scope write:leads, 100 requests/min per partner)",
        request=LeadIngestSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: LeadIngestResultSerializer,
            200: OpenApiResponse(
                LeadIngestResultSerializer, description="This sourceLeadId was already received."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        partner = partner_from_request(request)
        try:
            return self._ingest(request)
        except COUNTED_ERRORS as exc:
            # Counted here, outside the refused request's (rolled back) transaction.
            ingest_failure_record(partner=partner, code=exc.code)
            raise

    @idempotent
    def _ingest(self, request: Request) -> Response:
        serializer = LeadIngestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        principal: PartnerPrincipal = request.auth
        result = lead_ingest(
            partner=principal.partner,
            data=serializer.to_input(),
            actor=principal.actor,
            request=request._request,
            config=ingest_config_for(principal),
        )
        body = LeadIngestResultSerializer(
            {
                "lead_id": result.lead.public_id,
                "status": result.lead.status,
                "welcome_message_queued": result.lead.welcome_message_queued,
            }
        ).data
        return Response(
            body,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
            headers={"Location": f"/api/v1/leads/{result.lead.public_id}"},
        )


@extend_schema_view(
    post=extend_schema(
        operation_id="leads_ingest_seed_path",
        deprecated=True,
        description="The same as POST /api/v1/leads/ingest, at the seed's original path.",
    )
)
class LegacyLeadIngestView(LeadIngestView):
    """``POST /api/leads/ingest``: partners integrated on the seed's path."""


@extend_schema(tags=TAGS)
class LeadListView(ListAPIView):
    authentication_classes = [PartnerAuthentication]
    permission_classes = [RequiresScope]
    required_scopes = {"GET": READ_LEADS}
    serializer_class = LeadSerializer
    pagination_class = CreatedCursorPagination

    def get_queryset(self) -> Any:
        wanted = query_filters(LeadFilters, self.request)
        queryset = partner_leads(partner=partner_from_request(self.request))
        if "source_lead_id" in wanted:
            queryset = queryset.filter(source_lead_id=wanted["source_lead_id"])
        if "status" in wanted:
            queryset = queryset.filter(status=wanted["status"])
        if "created_after" in wanted:
            queryset = queryset.filter(created_at__gte=wanted["created_after"])
        if "created_before" in wanted:
            queryset = queryset.filter(created_at__lt=wanted["created_before"])
        return queryset

    @extend_schema(
        operation_id="leads_list",
        summary="Your leads and their status, without PHI (scope read:leads)",
        parameters=[LeadFilters],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


@extend_schema(tags=TAGS)
class LeadDetailView(PartnerAPIView):
    required_scopes = {"GET": READ_LEADS}

    @extend_schema(
        operation_id="leads_retrieve",
        summary="One of your leads (scope read:leads)",
        responses=LeadSerializer,
    )
    def get(self, request: Request, lead_id: str) -> Response:
        lead: Lead = partner_lead_get(partner=partner_from_request(request), public_id=lead_id)
        return Response(LeadSerializer(lead).data)


@extend_schema(tags=TAGS)
class EncryptionKeysView(PartnerAPIView):
    required_scopes = {"GET": WRITE_LEADS}

    @extend_schema(
        summary="Public keys to encrypt phone numbers with (scope write:leads)",
        description="Encrypt with the `active` key and send its `kid` as `keyId`; a `retiring` "
        "key still decrypts until `decryptUntil`.",
        responses=EncryptionKeyListSerializer,
    )
    def get(self, request: Request) -> Response:
        keys = usable_encryption_keys(partner=partner_from_request(request))
        body = {
            "keys": [
                {
                    "kid": key.kid,
                    "status": "active" if key.is_active else "retiring",
                    "algorithm": "RSA-OAEP-256",
                    "key_size": key.key_size,
                    "public_key_pem": key.public_key_pem,
                    "jwk": public_jwk(key),
                    "created_at": key.created_at,
                    "decrypt_until": key.decrypt_until,
                }
                for key in keys
            ]
        }
        return Response(EncryptionKeyListSerializer(body).data)


@extend_schema(tags=TAGS)
class ConsentLanguageView(PartnerAPIView):
    required_scopes = {"GET": WRITE_LEADS}

    @extend_schema(
        summary="The referral consent text to show the person, localized (scope write:leads)",
        parameters=[OpenApiParameter("language", OpenApiTypes.STR, description="en, es, fr…")],
        responses=ConsentLanguageSerializer,
    )
    def get(self, request: Request) -> Response:
        partner = partner_from_request(request)
        language = supported_language(request.query_params.get("language"))
        text = referral_consent_language(language=language, partner_name=partner.name)
        return Response(ConsentLanguageSerializer({"language": language, "text": text}).data)
