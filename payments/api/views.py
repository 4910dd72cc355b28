"""payments API: bookings (pay at booking), receipts, refunds, partner referral payments,
business registration (webhooks in: ``payments.api.webhooks``)."""

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import get_language_from_request
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from careos.actors import Actor
from careos.api.filters import query_filters
from careos.api.idempotency import idempotent
from careos.errors import NotFoundError, PermissionDeniedError
from careos.phi import phi_shown
from partners.api.authentication import PartnerAuthentication
from partners.api.base import PartnerAPIView
from partners.api.permissions import RequiresScope
from partners.scopes import READ_PAYMENTS
from payments.api import serializers as s
from payments.api.throttling import BusinessRegisterThrottle
from payments.models import Refund, SpecialistPayout
from payments.selectors import (
    booking_for_user,
    bookings_for_user,
    partner_invoices_for,
    partner_payments_for,
    payment_for_user,
)
from payments.services.bookings import booking_create, booking_pay, receipt_html
from payments.services.partner_payments import partner_payment_summary
from payments.services.payouts import specialist_balances
from payments.services.pricing import ServiceOrder, amounts_refuse
from payments.services.refunds import refund_create
from payments.services.subscriptions import business_register
from rbac.models import Clinic, User
from rbac.selectors import patient_by_public_id, user_can

logger = logging.getLogger(__name__)


def _start_body(booking: Any, start: Any) -> dict[str, Any]:
    return {
        "booking": s.BookingSerializer(booking).data,
        "payment_id": start.payment.public_id,
        "client_secret": start.client_secret,
    }


@extend_schema(tags=["payments: bookings"])
class BookingListCreateView(ListAPIView):
    serializer_class = s.BookingSerializer

    def get_queryset(self):
        return bookings_for_user(user=self.request.user)

    @extend_schema(
        request=s.BookingCreateSerializer,
        responses={201: s.PaymentStartSerializer},
        summary="Book catalogue services and start paying: returns the Stripe client secret",
        description="The total is computed from the clinic's catalogue in force now, its "
        "discount code and tax rates; a body holding any amount is refused "
        "(400 amount_not_allowed).",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        amounts_refuse(request.data)
        data = s.BookingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        user: User = request.user  # type: ignore[assignment]
        clinic = Clinic.objects.filter(public_id=v["clinic_id"], is_active=True).first()
        if clinic is None:
            raise NotFoundError("No such clinic.")
        if user.kind == User.Kind.PATIENT and not v.get("patient_id"):
            patient = user
        else:
            if not user_can(user, "payments.add_booking", clinic):
                raise PermissionDeniedError("Booking for a patient needs payments.add_booking.")
            # Any clinic's patient here: booking_create checks they are this clinic's (404).
            patient = patient_by_public_id(v.get("patient_id", ""))
            if patient is None:
                raise NotFoundError("No such patient.")
        specialist = None
        if v.get("specialist_id"):
            specialist = User.objects.filter(
                public_id=v["specialist_id"], kind=User.Kind.SPECIALIST
            ).first()
            if specialist is None:
                raise NotFoundError("No such specialist.")
        # All or nothing: when Stripe cannot be reached (503) no booking is left behind
        # without an id to retry with; the caller simply retries this request.
        with transaction.atomic():
            booking = booking_create(
                patient=patient,
                clinic=clinic,
                specialist=specialist,
                starts_at=v["starts_at"],
                items=[ServiceOrder(**item) for item in v["items"]],
                discount_code=v["discount_code"],
                price_tier=v["price_tier"],
                actor=user,
            )
            start = booking_pay(booking=booking, actor=user)
        booking = booking_for_user(user=user, public_id=booking.public_id)
        return Response(_start_body(booking, start), status=status.HTTP_201_CREATED)


@extend_schema(tags=["payments: bookings"])
class BookingDetailView(APIView):
    @extend_schema(responses=s.BookingSerializer, summary="A booking with its line items")
    def get(self, request: Request, booking_id: str) -> Response:
        booking = booking_for_user(user=request.user, public_id=booking_id)  # type: ignore[arg-type]
        return Response(s.BookingSerializer(booking).data)


@extend_schema(tags=["payments: bookings"])
class BookingPayView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.PaymentStartSerializer},
        summary="Resume paying a booking (the same PaymentIntent while it is open)",
    )
    @idempotent
    def post(self, request: Request, booking_id: str) -> Response:
        booking = booking_for_user(user=request.user, public_id=booking_id)  # type: ignore[arg-type]
        start = booking_pay(booking=booking, actor=request.user)  # type: ignore[arg-type]
        booking = booking_for_user(user=request.user, public_id=booking_id)  # type: ignore[arg-type]
        return Response(_start_body(booking, start))


@extend_schema(tags=["payments: bookings"])
class BookingReceiptView(APIView):
    @extend_schema(
        responses={(200, "text/html"): OpenApiTypes.STR},
        summary="The itemized receipt as an HTML page (paid bookings only)",
    )
    def get(self, request: Request, booking_id: str) -> HttpResponse:
        booking = booking_for_user(user=request.user, public_id=booking_id)  # type: ignore[arg-type]
        if not any(p.paid_at for p in booking.payments.all()):
            raise NotFoundError("This booking has no receipt yet.")
        phi_shown([booking], patient_path="patient", clinic_path="clinic", via="receipt")
        response = HttpResponse(
            receipt_html(booking=booking), content_type="text/html; charset=utf-8"
        )
        response["Content-Disposition"] = f'inline; filename="receipt-{booking.public_id}.html"'
        return response


@extend_schema(tags=["payments: refunds"])
class PaymentRefundsView(ListAPIView):
    serializer_class = s.RefundSerializer

    def get_queryset(self):
        payment = payment_for_user(user=self.request.user, public_id=self.kwargs["payment_id"])  # type: ignore[arg-type]
        return Refund.objects.filter(payment=payment).select_related("payment")

    @extend_schema(
        request=s.RefundCreateSerializer,
        responses={201: s.RefundSerializer},
        summary="Refund all or part of a payment (billing role)",
    )
    @idempotent
    def post(self, request: Request, payment_id: str) -> Response:
        data = s.RefundCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = payment_for_user(user=request.user, public_id=payment_id)  # type: ignore[arg-type]
        refund = refund_create(
            payment=payment,
            amount=data.validated_data.get("amount"),
            reason=data.validated_data["reason"],
            note=data.validated_data["note"],
            actor=request.user,  # type: ignore[arg-type]
        )
        return Response(s.RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["payments: partner payments"])
class PartnerPaymentListView(ListAPIView):
    authentication_classes = [PartnerAuthentication]
    permission_classes = [RequiresScope]
    required_scopes = READ_PAYMENTS
    serializer_class = s.PartnerPaymentSerializer

    def get_queryset(self):
        filters = query_filters(s.PartnerPaymentFilters, self.request)
        return partner_payments_for(partner=self.request.auth.partner, **filters)

    @extend_schema(
        summary="Your referral fees (paginated)",
        parameters=[s.PartnerPaymentFilters],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["payments: partner payments"])
class PartnerInvoiceListView(ListAPIView):
    authentication_classes = [PartnerAuthentication]
    permission_classes = [RequiresScope]
    required_scopes = READ_PAYMENTS
    serializer_class = s.PartnerInvoiceSerializer

    def get_queryset(self):
        return partner_invoices_for(partner=self.request.auth.partner)

    @extend_schema(summary="Your monthly invoices with their line items")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["payments: partner payments"])
class PartnerPaymentSummaryView(PartnerAPIView):
    required_scopes = READ_PAYMENTS

    @extend_schema(
        responses=s.PartnerPaymentSummaryListSerializer,
        summary="Totals of your referral fees per currency and status",
    )
    def get(self, request: Request) -> Response:
        summaries = partner_payment_summary(partner=request.auth.partner)  # type: ignore[union-attr]
        return Response(
            {"currencies": s.PartnerPaymentSummarySerializer(summaries, many=True).data}
        )


@extend_schema(tags=["payments: business billing"])
class BusinessRegisterView(APIView):
    """The business's billing-provider API key is its credential here."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [BusinessRegisterThrottle]

    @extend_schema(
        request=s.BusinessRegisterSerializer,
        # 401 (key refused), 409, 422 (customer refused) and 429 (rate limited) are the problem
        # responses every operation documents; the provider's failures are added here.
        responses={
            201: s.BusinessRegisteredSerializer,
            (502, "application/problem+json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The billing provider answered with an error"
            ),
            (503, "application/problem+json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="The billing provider did not answer in time"
            ),
        },
        summary="Register a business with its billing-provider API key",
    )
    def post(self, request: Request) -> Response:
        data = s.BusinessRegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        registration = business_register(
            provider_key=v["cvt_api_key"],
            business_name=v["business_name"],
            email=v["email"],
            actor=Actor(kind="system", ref="business:self-registration", label="self-registration"),
            language=get_language_from_request(request),  # billing emails in it
        )
        return Response(
            s.BusinessRegisteredSerializer(registration).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    post=extend_schema(
        operation_id="business_register_seed_path",
        deprecated=True,
        description="The same as POST /api/v1/business/register, at the path of the "
        "billing-provider integration guide.",
    )
)
class SeedBusinessRegisterView(BusinessRegisterView):
    """``POST /api/business/register``: registration pages built on the guide's path."""


@extend_schema(tags=["payments: payouts"])
class SpecialistPayoutListView(ListAPIView):
    """The signed-in specialist's payout history."""

    serializer_class = s.SpecialistPayoutSerializer

    def get_queryset(self):
        return SpecialistPayout.objects.filter(specialist=self.request.user)

    @extend_schema(summary="Your payouts")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["payments: payouts"])
class SpecialistBalanceView(APIView):
    @extend_schema(responses=s.BalanceListSerializer, summary="Your balance awaiting payout")
    def get(self, request: Request) -> Response:
        balances = specialist_balances(specialist=request.user)  # type: ignore[arg-type]
        return Response(
            {
                "balances": [
                    {"currency": b.currency, "gross": b.gross, "fee": b.fee, "net": b.net}
                    for b in balances
                ],
                "minimum_payout": settings.PAYMENTS_SPECIALIST_MIN_PAYOUT,
            }
        )
