"""Test-only views exercising kernel API behaviour (wired in ``tests.kernel.urls``)."""

import threading
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from careos.api.filters import QueryFilters, query_filters
from careos.api.idempotency import idempotent
from careos.api.pagination import CreatedCursorPagination
from careos.api.serializers import ModelSerializer, Serializer
from careos.errors import ConflictError
from careos.models import IdempotencyRecord
from rbac.models import Clinic


class ClinicInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField()


class ClinicCreateView(APIView):
    @idempotent
    def post(self, request: Request) -> Response:
        data = ClinicInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["name"] == "explode":
            raise RuntimeError("boom: secret=hunter2 SELECT * FROM rbac_user")
        if data.validated_data["name"] == "refuse":
            return Response({"detail": "refused"}, status=409)
        clinic = Clinic.objects.create(**data.validated_data)
        return Response(
            {"id": clinic.public_id, "name": clinic.name, "created_at": clinic.created_at},
            status=201,
            headers={"Location": f"/api/test/clinics/{clinic.public_id}"},
        )


class TenantClinicCreateView(ClinicCreateView):
    permission_classes = [AllowAny]

    @idempotent(owner_ref=lambda request: request.headers.get("X-Tenant"))
    def post(self, request: Request) -> Response:
        return ClinicCreateView.post.__wrapped__(self, request)


class GatedCreateView(APIView):
    """Signals ``entered``, then waits for ``gate``: lets a test overlap two requests. Writes
    only its idempotency record (so a transactional test flushes just the kernel's tables)."""

    permission_classes = [AllowAny]
    entered = threading.Event()
    gate = threading.Event()
    runs = 0

    @idempotent(owner_ref=lambda request: request.headers.get("X-Tenant"))
    def post(self, request: Request) -> Response:
        cls = type(self)
        cls.runs += 1
        cls.entered.set()
        cls.gate.wait(timeout=10)
        return Response({"id": f"thing_{cls.runs}"}, status=201)


class AddressSerializer(serializers.Serializer):
    postal_code = serializers.CharField(max_length=5)


class ProfileSerializer(serializers.Serializer):
    first_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    address = AddressSerializer()
    phone_numbers = serializers.ListField(child=serializers.RegexField(r"^\+\d+$"))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["first_name"] == "nobody":
            raise serializers.ValidationError("This profile is not acceptable.")
        return attrs


class ProfileView(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        ProfileSerializer(data=request.data).is_valid(raise_exception=True)
        return Response({"ok": True})


class ClinicDetailView(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request, public_id: str) -> Response:
        clinic = get_object_or_404(Clinic, public_id=public_id)
        return Response({"id": clinic.public_id})


class ConflictView(APIView):
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        raise ConflictError("The invoice is already paid.", extra={"current_status": "paid"})


class BrokenView(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise RuntimeError("boom: password=hunter2 at /srv/careos/secret.py line 3")


class AlwaysThrottled(BaseThrottle):
    def allow_request(self, request: Request, view: APIView) -> bool:
        return False

    def wait(self) -> float:
        return 42.0


class ThrottledView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [AlwaysThrottled]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class PrivateView(APIView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})


def broken_django_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom: token=abc123 in plain Django view")


class UnboundedStatusSerializer(serializers.Serializer):
    # No max_value on purpose: the database's refusal is what the test exercises.
    status = serializers.IntegerField()


class UnboundedStatusView(APIView):
    """Stores a client-chosen integer in a smallint column (``response_status``)."""

    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        data = UnboundedStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                owner_ref="test",
                key="unbounded",
                method="POST",
                path=request.path,
                request_hash="-",
                response_status=data.validated_data["status"],
            )
        return Response({"ok": True}, status=201)


class ClinicFilters(QueryFilters):
    timezone = serializers.ChoiceField(choices=["UTC", "America/New_York"], required=False)
    name_contains = serializers.CharField(max_length=50, required=False)
    created_after = serializers.DateTimeField(required=False)


class ClinicListSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)

    class Meta:
        model = Clinic
        fields = ["id", "name", "slug"]


class ClinicListView(ListAPIView):
    """Paginated and filtered like every list of the API."""

    permission_classes = [AllowAny]
    serializer_class = ClinicListSerializer
    pagination_class = CreatedCursorPagination

    def get_queryset(self) -> Any:
        filters = query_filters(ClinicFilters, self.request)
        queryset = Clinic.objects.all()
        if "name_contains" in filters:
            queryset = queryset.filter(name__contains=filters.pop("name_contains"))
        if "created_after" in filters:
            queryset = queryset.filter(created_at__gte=filters.pop("created_after"))
        return queryset.filter(**filters)


class LabelSerializer(Serializer):
    text = serializers.CharField()


class StrictInputSerializer(Serializer):
    name = serializers.CharField(max_length=20)
    nickname = serializers.CharField(required=False, allow_null=True)
    email = serializers.EmailField(required=False)
    count = serializers.IntegerField(required=False)
    active = serializers.BooleanField(required=False)
    ratio = serializers.FloatField(required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    labels = serializers.DictField(child=serializers.CharField(), required=False)
    label = LabelSerializer(required=False)
    notes = LabelSerializer(many=True, required=False)


class StrictInputView(APIView):
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        data = StrictInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(data.validated_data)


class StrictClinicView(APIView):
    """A model serializer's string fields are strict too."""

    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        data = ClinicListSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(data.validated_data)
