"""Events and webhooks API (``/api/v1/webhooks/…``, ``/api/v1/event-types``).

Scopes: ``read:webhooks`` to read, ``manage:webhooks`` to change. Every lookup goes through
``partners.webhooks.selectors``, scoped to the calling partner: another partner's id is a 404.
"""

from datetime import timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.request import Request
from rest_framework.response import Response

from careos.api.filters import query_filters
from careos.api.pagination import CreatedCursorPagination
from partners.api.authentication import PartnerAuthentication
from partners.api.base import PartnerAPIView
from partners.api.permissions import RequiresScope
from partners.api.webhook_serializers import (
    EventFilters,
    EventTypeSerializer,
    MessageFilters,
    PlatformEventSerializer,
    QueuedSerializer,
    RecoverSerializer,
    ReplaySerializer,
    RotatedSecretSerializer,
    RotateSecretSerializer,
    WebhookAttemptSerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
    WebhookEndpointWithSecretSerializer,
    WebhookMessageSerializer,
)
from partners.models import WebhookEndpoint
from partners.scopes import MANAGE_WEBHOOKS, READ_WEBHOOKS
from partners.selectors import partner_from_request
from partners.services.webhooks import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_endpoint_recover,
    webhook_endpoint_replay,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_send_test,
    webhook_endpoint_update,
    webhook_message_retry,
)
from partners.webhooks import selectors

TAGS = ["webhooks"]


class _PartnerListView(ListModelMixin, GenericAPIView):
    authentication_classes = [PartnerAuthentication]
    permission_classes = [RequiresScope]
    required_scopes: str | dict[str, str | None] | None = None


def _body(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


def _endpoint(request: Request, endpoint_id: str) -> WebhookEndpoint:
    return selectors.partner_webhook_endpoint(
        partner=partner_from_request(request), public_id=endpoint_id
    )


@extend_schema(tags=TAGS)
class EventTypeListView(PartnerAPIView):
    required_scopes = {"GET": READ_WEBHOOKS}

    @extend_schema(
        responses=EventTypeSerializer(many=True),
        summary="The event catalog (scope read:webhooks)",
        operation_id="event_types_list",
    )
    def get(self, request: Request) -> Response:
        return Response(EventTypeSerializer(selectors.event_types_list(), many=True).data)


@extend_schema(tags=TAGS)
class EndpointListView(_PartnerListView):
    required_scopes = {"GET": READ_WEBHOOKS, "POST": MANAGE_WEBHOOKS}
    serializer_class = WebhookEndpointSerializer

    def get_queryset(self):
        return selectors.partner_webhook_endpoints(partner=partner_from_request(self.request))

    @extend_schema(
        summary="List your webhook endpoints (scope read:webhooks)",
        operation_id="webhooks_endpoints_list",
    )
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointWithSecretSerializer},
        summary="Register an endpoint; the signing secret is in this answer only "
        "(scope manage:webhooks)",
    )
    def post(self, request: Request) -> Response:
        data = _body(WebhookEndpointCreateSerializer, request)
        endpoint = webhook_endpoint_create(
            partner=partner_from_request(request),
            actor=request.auth.actor,
            request=request,
            url=data["url"],
            description=data.get("description", ""),
            event_types=data.get("event_types", []),
            rate_limit_per_second=data.get("rate_limit_per_second"),
        )
        return Response(
            WebhookEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )


@extend_schema(tags=TAGS)
class EndpointDetailView(PartnerAPIView):
    required_scopes = {"GET": READ_WEBHOOKS, "PATCH": MANAGE_WEBHOOKS, "DELETE": MANAGE_WEBHOOKS}

    @extend_schema(responses=WebhookEndpointSerializer, summary="One endpoint (read:webhooks)")
    def get(self, request: Request, endpoint_id: str) -> Response:
        return Response(WebhookEndpointSerializer(_endpoint(request, endpoint_id)).data)

    @extend_schema(
        request=WebhookEndpointUpdateSerializer,
        responses=WebhookEndpointSerializer,
        summary="Change an endpoint; enabled=true re-enables a disabled one (manage:webhooks)",
    )
    def patch(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint(request, endpoint_id)
        data = dict(_body(WebhookEndpointUpdateSerializer, request))
        actor = request.auth.actor
        enabled = data.pop("enabled", None)
        if data:
            endpoint = webhook_endpoint_update(
                endpoint=endpoint, actor=actor, request=request, **data
            )
        if enabled is True:
            endpoint = webhook_endpoint_enable(endpoint=endpoint, actor=actor, request=request)
        elif enabled is False:
            endpoint = webhook_endpoint_disable(
                endpoint=endpoint, actor=actor, request=request, reason="Disabled by the partner."
            )
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None}, summary="Delete an endpoint (manage:webhooks)")
    def delete(self, request: Request, endpoint_id: str) -> Response:
        webhook_endpoint_delete(
            endpoint=_endpoint(request, endpoint_id), actor=request.auth.actor, request=request
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=TAGS)
class EndpointTestView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_WEBHOOKS}

    @extend_schema(
        request=None,
        responses={202: WebhookMessageSerializer},
        summary="Send a webhook.test event to this endpoint (manage:webhooks)",
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        message = webhook_endpoint_send_test(
            endpoint=_endpoint(request, endpoint_id), actor=request.auth.actor, request=request
        )
        return Response(WebhookMessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=TAGS)
class EndpointRotateSecretView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_WEBHOOKS}

    @extend_schema(
        request=RotateSecretSerializer,
        responses={201: RotatedSecretSerializer},
        summary="New signing secret; both sign until the grace period ends (manage:webhooks)",
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        data = _body(RotateSecretSerializer, request)
        endpoint = _endpoint(request, endpoint_id)
        grace = data.get("grace_hours")
        secret = webhook_endpoint_rotate_secret(
            endpoint=endpoint,
            actor=request.auth.actor,
            request=request,
            grace=timedelta(hours=grace) if grace is not None else None,
        )
        body = {"secret": secret, "previous_secret_expires_at": endpoint.previous_secret_expires_at}
        return Response(RotatedSecretSerializer(body).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class EndpointRecoverView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_WEBHOOKS}

    @extend_schema(
        request=RecoverSerializer,
        responses={202: QueuedSerializer},
        summary="Send again every failed message since a time (manage:webhooks)",
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        data = _body(RecoverSerializer, request)
        queued = webhook_endpoint_recover(
            endpoint=_endpoint(request, endpoint_id),
            since=data["since"],
            actor=request.auth.actor,
            request=request,
        )
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=TAGS)
class EndpointReplayView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_WEBHOOKS}

    @extend_schema(
        request=ReplaySerializer,
        responses={202: QueuedSerializer},
        summary="Send your events since a time (optionally of some types) to this endpoint "
        "again (manage:webhooks)",
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        data = _body(ReplaySerializer, request)
        queued = webhook_endpoint_replay(
            endpoint=_endpoint(request, endpoint_id),
            since=data["since"],
            event_types=data.get("event_types", []),
            actor=request.auth.actor,
            request=request,
        )
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=TAGS)
class MessageListView(_PartnerListView):
    required_scopes = {"GET": READ_WEBHOOKS}
    serializer_class = WebhookMessageSerializer

    def get_queryset(self):
        filters = query_filters(MessageFilters, self.request)
        return selectors.partner_webhook_messages(
            partner=partner_from_request(self.request), **filters
        )

    @extend_schema(
        parameters=[MessageFilters],
        summary="Your webhook messages (read:webhooks)",
        operation_id="webhooks_messages_list",
    )
    def get(self, request: Request) -> Response:
        return self.list(request)


@extend_schema(tags=TAGS)
class MessageDetailView(PartnerAPIView):
    required_scopes = {"GET": READ_WEBHOOKS}

    @extend_schema(responses=WebhookMessageSerializer, summary="One message (read:webhooks)")
    def get(self, request: Request, message_id: str) -> Response:
        message = selectors.partner_webhook_message(
            partner=partner_from_request(request), public_id=message_id
        )
        return Response(WebhookMessageSerializer(message).data)


class AttemptPagination(CreatedCursorPagination):
    ordering = ("-started_at", "-pk")


@extend_schema(tags=TAGS)
class MessageAttemptListView(_PartnerListView):
    required_scopes = {"GET": READ_WEBHOOKS}
    serializer_class = WebhookAttemptSerializer
    pagination_class = AttemptPagination

    def get_queryset(self):
        message = selectors.partner_webhook_message(
            partner=partner_from_request(self.request), public_id=self.kwargs["message_id"]
        )
        return selectors.webhook_message_attempts(message=message)

    @extend_schema(
        summary="Attempts of one message, newest first (read:webhooks)",
        operation_id="webhooks_messages_attempts_list",
    )
    def get(self, request: Request, message_id: str) -> Response:
        return self.list(request)


@extend_schema(tags=TAGS)
class MessageRetryView(PartnerAPIView):
    required_scopes = {"POST": MANAGE_WEBHOOKS}

    @extend_schema(
        request=None,
        responses={202: WebhookMessageSerializer},
        summary="Send a message again now, same webhook-id (manage:webhooks)",
    )
    def post(self, request: Request, message_id: str) -> Response:
        message = selectors.partner_webhook_message(
            partner=partner_from_request(request), public_id=message_id
        )
        message = webhook_message_retry(message=message, actor=request.auth.actor, request=request)
        return Response(WebhookMessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=TAGS)
class EventListView(_PartnerListView):
    required_scopes = {"GET": READ_WEBHOOKS}
    serializer_class = PlatformEventSerializer

    @extend_schema(
        parameters=[EventFilters],
        summary="Your events, kept for replay (read:webhooks)",
        operation_id="webhooks_events_list",
    )
    def get(self, request: Request) -> Response:
        return self.list(request)

    def get_queryset(self):
        filters = query_filters(EventFilters, self.request)
        return selectors.partner_events(partner=partner_from_request(self.request), **filters)


@extend_schema(tags=TAGS)
class EventDetailView(PartnerAPIView):
    required_scopes = {"GET": READ_WEBHOOKS}

    @extend_schema(responses=PlatformEventSerializer, summary="One event (read:webhooks)")
    def get(self, request: Request, event_id: str) -> Response:
        event = selectors.partner_event(partner=partner_from_request(request), public_id=event_id)
        return Response(PlatformEventSerializer(event).data)
