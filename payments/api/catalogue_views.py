"""payments API: the clinic's catalogue (what a patient may book, at which price now) and
staff's manual adjustment of a booking (the one amount a person may send, with a reason)."""

from typing import Any

from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import get_language_from_request
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from careos.api.filters import QueryFilters, query_filters
from careos.api.idempotency import idempotent
from careos.errors import NotFoundError, PermissionDeniedError
from payments.api import serializers as s
from payments.models import ServicePrice
from payments.selectors import booking_for_user
from payments.services.adjustments import booking_adjust
from payments.services.catalogue import catalogue_services_for
from rbac.models import Clinic
from rbac.selectors import user_can


class CatalogueFilters(QueryFilters):
    tier = serializers.SlugField(
        max_length=32, required=False, default="standard", help_text="The price tier shown."
    )


@extend_schema(tags=["payments: catalogue"])
class CatalogueServiceListView(ListAPIView):
    """Any signed-in user may read an active clinic's catalogue: prices are not PHI."""

    serializer_class = s.CatalogueServiceSerializer

    def get_queryset(self):
        clinic = Clinic.objects.filter(public_id=self.kwargs["clinic_id"], is_active=True).first()
        if clinic is None:
            raise NotFoundError("No such clinic.", code="clinic_not_found")
        tier = query_filters(CatalogueFilters, self.request)["tier"]
        now = timezone.now()
        prices = ServicePrice.objects.filter(
            Q(effective_until__isnull=True) | Q(effective_until__gt=now),
            tier=tier,
            effective_from__lte=now,
        ).order_by("-effective_from", "-pk")
        return catalogue_services_for(clinic=clinic).prefetch_related(
            Prefetch("prices", queryset=prices, to_attr="prices_now")
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "language": self._language()}

    def _language(self) -> str:
        return get_language_from_request(self.request)

    @extend_schema(
        summary="The clinic's bookable services with their price now (names in en/es/fr)",
        parameters=[
            CatalogueFilters,
            OpenApiParameter("Accept-Language", str, OpenApiParameter.HEADER, required=False),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["payments: bookings"])
class BookingAdjustmentView(APIView):
    @extend_schema(
        request=s.BookingAdjustmentSerializer,
        responses={201: s.BookingSerializer},
        summary="Staff: adjust a booking awaiting payment by a signed amount, with a reason",
        description="Needs payments.adjust_booking in the booking's clinic. The open payment "
        "is cancelled; pay again (POST …/pay) to pay the new total. Audited with the reason.",
    )
    @idempotent
    def post(self, request: Request, booking_id: str) -> Response:
        data = s.BookingAdjustmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = booking_for_user(user=request.user, public_id=booking_id)  # type: ignore[arg-type]
        if not user_can(request.user, "payments.adjust_booking", booking.clinic):
            raise PermissionDeniedError("Adjusting a booking needs payments.adjust_booking.")
        booking_adjust(
            booking=booking,
            amount=data.validated_data["amount"],
            reason=data.validated_data["reason"],
            description=data.validated_data["description"],
            actor=request.user,  # type: ignore[arg-type]
        )
        booking = booking_for_user(user=request.user, public_id=booking_id)  # type: ignore[arg-type]
        return Response(s.BookingSerializer(booking).data, status=201)
