"""The signed-in patient's own engagement data (session-authenticated)."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from careos.api.idempotency import idempotent
from engagement.api.permissions import PublicIdPathMixin, SignedIn
from engagement.api.serializers import (
    OptOutSerializer,
    PreferencesSerializer,
    PushSubscriptionInputSerializer,
    PushSubscriptionSerializer,
    ReminderSerializer,
    TaskSerializer,
)
from engagement.models import OptOut, PatientTask, PushSubscription, Reminder
from engagement.models.messages import recipient_blind_index
from engagement.services import optouts, push, reminders

TAGS = ["engagement (patient)"]


class MyTasksView(generics.ListAPIView):
    permission_classes = [SignedIn]

    serializer_class = TaskSerializer

    def get_queryset(self) -> QuerySet[PatientTask]:
        return PatientTask.objects.filter(patient=self.request.user)

    @extend_schema(tags=TAGS, summary="My tasks")
    def get(self, request: Request) -> Response:
        return super().get(request)


class MyTaskCompleteView(PublicIdPathMixin, APIView):
    permission_classes = [SignedIn]

    @extend_schema(tags=TAGS, summary="Mark my task done", request=None, responses=TaskSerializer)
    def post(self, request: Request, public_id: str) -> Response:
        task = get_object_or_404(PatientTask, patient=request.user, public_id=public_id)
        task = reminders.task_complete(task=task, actor=request.user)
        return Response(TaskSerializer(task).data)


class MyRemindersView(generics.ListAPIView):
    permission_classes = [SignedIn]

    serializer_class = ReminderSerializer

    def get_queryset(self) -> QuerySet[Reminder]:
        return Reminder.objects.filter(patient=self.request.user).select_related(
            "patient", "clinic"
        )

    @extend_schema(tags=TAGS, summary="My reminders")
    def get(self, request: Request) -> Response:
        return super().get(request)


class MyPushSubscriptionsView(generics.ListAPIView):
    permission_classes = [SignedIn]

    serializer_class = PushSubscriptionSerializer

    def get_queryset(self) -> QuerySet[PushSubscription]:
        return PushSubscription.objects.filter(user=self.request.user, is_active=True)

    @extend_schema(tags=TAGS, summary="My browsers registered for web push")
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        tags=TAGS,
        summary="Register this browser for web push",
        request=PushSubscriptionInputSerializer,
        responses={201: PushSubscriptionSerializer},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = PushSubscriptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = push.push_subscription_register(
            user=request.user,
            endpoint=data.validated_data["endpoint"],
            p256dh=data.validated_data["keys"]["p_256dh"],
            auth=data.validated_data["keys"]["auth"],
            user_agent=request.headers.get("User-Agent", ""),
        )
        return Response(
            PushSubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED
        )


class MyPushSubscriptionView(PublicIdPathMixin, APIView):
    permission_classes = [SignedIn]

    @extend_schema(tags=TAGS, summary="Unregister a browser", responses={204: None})
    def delete(self, request: Request, public_id: str) -> Response:
        push.push_subscription_delete(user=request.user, public_id=public_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _preferences(user: object) -> dict[str, bool]:
    indexes = {
        channel: recipient_blind_index(address)
        for channel in ("sms", "email", "push")
        if (address := optouts.address_for(channel=channel, user=user))
    }
    opted = set(
        OptOut.objects.filter(recipient_index__in=indexes.values()).values_list(
            "recipient_index", "channel"
        )
    )
    return {channel: (indexes.get(channel), channel) not in opted for channel in indexes} | {
        channel: True for channel in ("sms", "email", "push") if channel not in indexes
    }


class MyMessagingPreferencesView(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        tags=TAGS,
        summary="Which channels I accept messages on",
        responses=PreferencesSerializer,
    )
    def get(self, request: Request) -> Response:
        return Response(PreferencesSerializer(_preferences(request.user)).data)

    @extend_schema(
        tags=TAGS,
        summary="Accept or refuse messages per channel (refusing records an opt-out)",
        request=PreferencesSerializer,
        responses=PreferencesSerializer,
    )
    def patch(self, request: Request) -> Response:
        data = PreferencesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        for channel, accepts in data.validated_data.items():
            address = optouts.address_for(channel=channel, user=request.user)
            if not address:
                continue
            if accepts:
                optouts.optout_lift(
                    channel=channel, address=address, actor=request.user, source="patient"
                )
            else:
                optouts.optout_record(
                    channel=channel,
                    address=address,
                    source=OptOut.Source.PATIENT,
                    actor=request.user,
                    user=request.user,
                )
        return Response(PreferencesSerializer(_preferences(request.user)).data)


class MyOptOutsView(generics.ListAPIView):
    permission_classes = [SignedIn]

    serializer_class = OptOutSerializer

    def get_queryset(self) -> QuerySet[OptOut]:
        indexes = [
            recipient_blind_index(address)
            for channel in ("sms", "email", "push")
            if (address := optouts.address_for(channel=channel, user=self.request.user))
        ]
        return OptOut.objects.filter(recipient_index__in=indexes)

    @extend_schema(tags=TAGS, summary="My opt-outs")
    def get(self, request: Request) -> Response:
        return super().get(request)
