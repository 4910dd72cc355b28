"""Twilio webhooks (status callbacks, inbound SMS) and the email unsubscribe page."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from twilio.request_validator import RequestValidator

from careos.actors import system_actor
from careos.api.exceptions import problem_response
from engagement.services.messages import message_provider_status
from engagement.services.optouts import BadUnsubscribeToken, optout_from_token, sms_keyword_apply

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _signature_valid(request: Request) -> bool:
    params = request._request.POST  # the raw form, not the camelCase-converted data
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    base = settings.ENGAGEMENT_PUBLIC_BASE_URL
    url = base.rstrip("/") + request.get_full_path() if base else request.build_absolute_uri()
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)


class _TwilioWebhook(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        # Twilio posts urlencoded forms; anything else is refused before the body is parsed.
        if not request.content_type.startswith("application/x-www-form-urlencoded"):
            raise UnsupportedMediaType(request.content_type)
        super().initial(request, *args, **kwargs)

    def refused(self) -> Response:
        return problem_response(
            status_code=403,
            code="signature_invalid",
            detail="The X-Twilio-Signature header is missing or invalid.",
        )


def _twilio_schema(required: dict[str, str], optional: dict[str, str] | None = None) -> dict:
    """The urlencoded form Twilio posts (it sends more fields than those read here), signed
    in ``X-Twilio-Signature``: without the form the request is refused with 415."""
    fields = {**required, **(optional or {})}
    form = {
        "type": "object",
        "properties": {
            name: {"type": "string", "description": text} for name, text in fields.items()
        },
        "required": list(required),
        "additionalProperties": {"type": "string"},
    }
    return {
        "request": {"application/x-www-form-urlencoded": form},
        "parameters": [
            OpenApiParameter(
                "X-Twilio-Signature",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="Twilio's signature of the URL and the form (403 when invalid).",
            )
        ],
        "auth": [],
    }


class TwilioStatusCallbackView(_TwilioWebhook):
    @extend_schema(
        summary="Twilio delivery status callback",
        responses={204: OpenApiResponse(description="Applied (or ignored)")},
        tags=["engagement webhooks"],
        **_twilio_schema(
            {
                "MessageSid": "The message the status is about.",
                "MessageStatus": "queued, sent, delivered, undelivered, failed…",
            },
            {"ErrorCode": "Twilio's error code, when it failed."},
        ),
    )
    def post(self, request: Request) -> Response:
        if not _signature_valid(request):
            return self.refused()
        form = request._request.POST
        message_provider_status(
            provider_message_id=form.get("MessageSid", ""),
            provider_status=form.get("MessageStatus", ""),
            error_code=form.get("ErrorCode", ""),
        )
        return Response(status=204)


class TwilioInboundView(_TwilioWebhook):
    @extend_schema(
        summary="Twilio inbound SMS (STOP/START keywords)",
        responses={(200, "text/xml"): OpenApiResponse(OpenApiTypes.STR, description="TwiML")},
        tags=["engagement webhooks"],
        **_twilio_schema({"From": "The sender's number.", "Body": "The text (STOP, START…)."}),
    )
    def post(self, request: Request) -> HttpResponse:
        if not _signature_valid(request):
            return self.refused()
        form = request._request.POST
        sender = form.get("From", "")
        if sender:
            sms_keyword_apply(
                from_number=sender,
                body=form.get("Body", ""),
                actor=system_actor("engagement.twilio_inbound"),
            )
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@method_decorator(csrf_exempt, name="dispatch")  # RFC 8058 one-click POST from mail clients
class UnsubscribeView(View):
    """GET shows a confirmation button (link scanners must not unsubscribe); POST records."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        return render(request, "engagement/unsubscribe.html", {"done": False})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            optout_from_token(token=token, actor=system_actor("engagement.unsubscribe_link"))
        except BadUnsubscribeToken:
            return render(request, "engagement/unsubscribe.html", {"invalid": True}, status=400)
        return render(request, "engagement/unsubscribe.html", {"done": True})
