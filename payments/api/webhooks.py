"""payments webhooks in: Stripe, and the billing provider (also at the guide's path). Each is
verified on the raw body before anything is parsed."""

import logging

import stripe
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from careos.api.exceptions import problem_response
from careos.api.parsers import json_loads_bounded
from payments.api import serializers as s
from payments.providers.billing_provider import provider_signature_valid
from payments.providers.stripe_gateway import stripe_signature_verify
from payments.services.billing_events import billing_webhook_apply
from payments.services.stripe_webhooks import stripe_event_record

logger = logging.getLogger(__name__)


@extend_schema(tags=["payments: webhooks"])
class StripeWebhookView(APIView):
    """Stripe calls this; the body is verified with the SDK before anything is parsed."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: s.ReceivedSerializer},
        parameters=[
            OpenApiParameter("Stripe-Signature", str, OpenApiParameter.HEADER, required=True)
        ],
        summary="Stripe webhook endpoint",
    )
    def post(self, request: Request) -> Response:
        payload = request.body
        signature = request.headers.get("Stripe-Signature", "")
        if not settings.STRIPE_WEBHOOK_SECRET:
            logger.error("Stripe webhook received but STRIPE_WEBHOOK_SECRET is not set")
        try:
            stripe_signature_verify(payload=payload, signature=signature)
        except (stripe.SignatureVerificationError, ValueError):
            return problem_response(
                status_code=400, code="invalid_signature", detail="The Stripe signature is invalid."
            )
        event = json_loads_bounded(payload)
        s.StripeEventSerializer(data=event).is_valid(raise_exception=True)
        stripe_event_record(event=event)
        return Response({"received": True})


@extend_schema(tags=["payments: webhooks"])
class BillingProviderWebhookView(APIView):
    """The billing provider's webhooks: ``CVT-Signature`` is the hex HMAC-SHA256, keyed with the
    webhook secret, of the raw body (``plain``) or of ``"<CVT-Timestamp>.<raw body>"``
    (``timestamped``), as ``BILLING_PROVIDER_SIGNATURE_SCHEME`` requires."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: s.ReceivedSerializer},
        parameters=[
            OpenApiParameter(
                "CVT-Signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="Hex HMAC-SHA256 of the raw body (or of "
                '"<CVT-Timestamp>.<raw body>" when the timestamped scheme is required).',
            ),
            OpenApiParameter(
                "CVT-Timestamp",
                str,
                OpenApiParameter.HEADER,
                description="Unix seconds; required only by the timestamped scheme.",
            ),
        ],
        summary="Billing provider webhook endpoint",
    )
    def post(self, request: Request) -> Response:
        payload = request.body
        if not provider_signature_valid(
            payload=payload,
            signature=request.headers.get("CVT-Signature", ""),
            timestamp=request.headers.get("CVT-Timestamp", ""),
        ):
            return problem_response(
                status_code=401, code="invalid_signature", detail="The signature is invalid."
            )
        event = json_loads_bounded(payload)
        if not isinstance(event, dict):
            return problem_response(
                status_code=400, code="invalid_event", detail="Not a JSON object."
            )
        billing_webhook_apply(event=event)
        return Response({"received": True})


@extend_schema_view(
    post=extend_schema(
        operation_id="billing_provider_webhook_seed_path",
        deprecated=True,
        description="The same as POST /api/v1/payments/billing-provider/webhook, at the path "
        "of the billing-provider integration guide.",
    )
)
class SeedBillingProviderWebhookView(BillingProviderWebhookView):
    """``POST /api/webhooks/cvt``: the provider configured with the guide's path."""
