from datetime import UTC, datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from careos.api.filters import QueryFilters
from careos.api.serializers import ModelSerializer, Serializer
from payments.models import (
    Booking,
    BookingLineItem,
    PartnerInvoice,
    PartnerInvoiceLine,
    PartnerPayment,
    PatientInvoice,
    Payment,
    Refund,
    SpecialistPayout,
)

# The last second a ``datetime`` can hold: a Unix timestamp beyond it cannot be stored.
LATEST_TIMESTAMP = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())


class ServiceOrderSerializer(Serializer):
    service_id = serializers.CharField(
        max_length=40, help_text="A catalogue service of the clinic (svc_…)."
    )
    quantity = serializers.IntegerField(min_value=1, max_value=100, default=1)


class BookingCreateSerializer(Serializer):
    """Services and quantities only: every amount is computed from the clinic's catalogue.
    A body holding an amount anywhere (``lineItems``, ``amount``, ``unitAmount``, ``total``,
    ``price``…) is refused with ``400 amount_not_allowed``."""

    clinic_id = serializers.CharField(max_length=40)
    patient_id = serializers.CharField(
        max_length=40, required=False, help_text="Staff only: the patient booked for."
    )
    specialist_id = serializers.CharField(max_length=40, required=False)
    starts_at = serializers.DateTimeField()
    items = ServiceOrderSerializer(many=True, allow_empty=False, max_length=20)
    discount_code = serializers.CharField(
        max_length=32, required=False, default="", allow_blank=True
    )
    price_tier = serializers.SlugField(
        max_length=32, required=False, default="standard", help_text="e.g. standard, self-pay."
    )


class LineItemSerializer(ModelSerializer):
    service_id = serializers.CharField(source="service_ref", help_text="Empty but on services.")
    tax_rate = serializers.DecimalField(
        max_digits=7, decimal_places=4, allow_null=True, help_text="Percent."
    )

    class Meta:
        model = BookingLineItem
        fields = [
            "kind",
            "description",
            "quantity",
            "unit_amount",
            "amount",
            "service_id",
            "category",
            "discount_amount",
            "tax_rate",
            "tax_amount",
            "tax_inclusive",
        ]


class PaymentSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id")
    refundable_amount = serializers.IntegerField()

    class Meta:
        model = Payment
        phi_patient = "booking__patient"
        phi_clinic = "booking__clinic"
        fields = [
            "id",
            "status",
            "amount",
            "amount_refunded",
            "refundable_amount",
            "currency",
            "paid_at",
            "receipt_number",
            "failure_code",
        ]


class BookingSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id")
    clinic_id = serializers.CharField(source="clinic.public_id")
    patient_id = serializers.CharField(source="patient.public_id")
    specialist_id = serializers.CharField(
        source="specialist.public_id", allow_null=True, default=None
    )
    line_items = LineItemSerializer(many=True)
    payments = PaymentSerializer(many=True)
    discount_code = serializers.CharField(
        source="discount_code.code", allow_null=True, default=None
    )

    class Meta:
        model = Booking
        phi_patient = "patient"
        phi_clinic = "clinic"
        fields = [
            "id",
            "clinic_id",
            "patient_id",
            "specialist_id",
            "service",
            "starts_at",
            "status",
            "currency",
            "total_amount",
            "priced_at",
            "price_tier",
            "discount_code",
            "line_items",
            "payments",
            "created_at",
        ]


class PaymentStartSerializer(Serializer):
    booking = BookingSerializer()
    payment_id = serializers.CharField()
    client_secret = serializers.CharField(help_text="Give to Stripe.js to confirm the payment.")


class RefundCreateSerializer(Serializer):
    amount = serializers.IntegerField(
        min_value=1, required=False, help_text="Minor units; omit to refund all that remains."
    )
    reason = serializers.ChoiceField(choices=Refund.Reason.choices)
    note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class RefundSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id")
    payment_id = serializers.CharField(source="payment.public_id")

    class Meta:
        model = Refund
        phi_patient = "payment__booking__patient"
        phi_clinic = "payment__booking__clinic"
        fields = [
            "id",
            "payment_id",
            "amount",
            "currency",
            "reason",
            "note",
            "status",
            "created_at",
        ]


class PartnerPaymentSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id")

    class Meta:
        model = PartnerPayment
        fields = [
            "id",
            "referral_ref",
            "amount",
            "currency",
            "status",
            "due_date",
            "paid_at",
            "stripe_transfer_id",
            "created_at",
        ]


class PartnerPaymentSummarySerializer(Serializer):
    currency = serializers.CharField()
    pending_amount = serializers.IntegerField()
    pending_count = serializers.IntegerField()
    due_amount = serializers.IntegerField()
    paid_amount = serializers.IntegerField()
    paid_count = serializers.IntegerField()
    disputed_amount = serializers.IntegerField()
    disputed_count = serializers.IntegerField()
    cancelled_count = serializers.IntegerField()
    minimum_payout = serializers.IntegerField()


class PartnerPaymentSummaryListSerializer(Serializer):
    currencies = PartnerPaymentSummarySerializer(many=True)


class BusinessRegisterSerializer(Serializer):
    cvt_api_key = serializers.CharField(
        max_length=500, help_text="Your API key at the billing provider (CVT)."
    )
    business_name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254, help_text="Where billing notices are sent.")


class RegisteredBusinessSerializer(Serializer):
    id = serializers.CharField(source="public_id", help_text="Your partner id (ptr_…).")
    name = serializers.CharField()
    slug = serializers.CharField(help_text="Sent as X-Platform.")


class BusinessRegisteredSerializer(Serializer):
    business = RegisteredBusinessSerializer(source="partner")
    api_key = serializers.CharField(
        source="api_key_secret", help_text="Shown once; store it now. Send it as X-API-Key."
    )


class StripeEventDataSerializer(Serializer):
    object = serializers.DictField()


class StripeEventSerializer(Serializer):
    """The envelope of a Stripe event, checked before it is stored (the handlers read these)."""

    id = serializers.CharField(max_length=255)
    type = serializers.CharField(max_length=100)
    created = serializers.IntegerField(min_value=0, max_value=LATEST_TIMESTAMP)
    livemode = serializers.BooleanField(required=False, default=False)
    data = StripeEventDataSerializer()


class ReceivedSerializer(Serializer):
    received = serializers.BooleanField()


class SpecialistPayoutSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id")

    class Meta:
        model = SpecialistPayout
        fields = [
            "id",
            "gross_amount",
            "fee_amount",
            "amount",
            "currency",
            "status",
            "paid_at",
            "created_at",
        ]


class BalanceSerializer(Serializer):
    currency = serializers.CharField()
    gross = serializers.IntegerField(help_text="Completed, paid bookings net of refunds.")
    fee = serializers.IntegerField(help_text="The platform fee.")
    net = serializers.IntegerField(help_text="What the next payout will send.")


class BalanceListSerializer(Serializer):
    balances = BalanceSerializer(many=True)
    minimum_payout = serializers.IntegerField()


class InvoiceLineSerializer(ModelSerializer):
    class Meta:
        model = PartnerInvoiceLine
        fields = ["description", "quantity", "unit_amount", "amount"]


class PartnerInvoiceSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id")
    lines = InvoiceLineSerializer(many=True)

    class Meta:
        model = PartnerInvoice
        fields = [
            "id",
            "period_start",
            "period_end",
            "pricing_model",
            "currency",
            "total",
            "status",
            "due_date",
            "paid_at",
            "lines",
            "created_at",
        ]


class PartnerPaymentFilters(QueryFilters):
    status = serializers.ChoiceField(choices=PartnerPayment.Status.choices, required=False)


class ServicePriceSerializer(Serializer):
    id = serializers.CharField(source="public_id")
    tier = serializers.CharField()
    amount = serializers.IntegerField(help_text="Minor units.")
    currency = serializers.CharField()
    effective_from = serializers.DateTimeField()
    effective_until = serializers.DateTimeField(allow_null=True)


class CatalogueServiceSerializer(Serializer):
    """A bookable service, named in the request's language (en/es/fr), with its price now."""

    id = serializers.CharField(source="public_id")
    code = serializers.CharField()
    category = serializers.CharField()
    name = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    duration_minutes = serializers.IntegerField()
    price = serializers.SerializerMethodField()

    def _language(self) -> str:
        return str(self.context.get("language") or "en")

    def get_name(self, obj: Any) -> str:
        return str(obj.name_in(self._language()))

    def get_description(self, obj: Any) -> str:
        return str(obj.description_in(self._language()))

    @extend_schema_field(ServicePriceSerializer(allow_null=True))
    def get_price(self, obj: Any) -> dict[str, Any] | None:
        prices = list(getattr(obj, "prices_now", []))
        return ServicePriceSerializer(prices[0]).data if prices else None


class BookingAdjustmentSerializer(Serializer):
    amount = serializers.IntegerField(
        min_value=-(10**10),
        max_value=10**10,
        help_text="Signed minor units, non-zero: negative lowers the total.",
    )
    reason = serializers.CharField(max_length=500, help_text="Why (kept in the audit log).")
    description = serializers.CharField(
        max_length=200,
        required=False,
        default="",
        allow_blank=True,
        help_text="The line's text on the receipt and invoice.",
    )


class PatientInvoiceSerializer(ModelSerializer):
    id = serializers.CharField(source="public_id")
    number = serializers.CharField(source="number_display")
    clinic_id = serializers.CharField(source="clinic.public_id")
    booking_id = serializers.CharField(source="booking.public_id")
    credited_invoice_id = serializers.CharField(
        source="credited_invoice.public_id", allow_null=True, default=None
    )

    class Meta:
        model = PatientInvoice
        fields = [
            "id",
            "kind",
            "number",
            "clinic_id",
            "booking_id",
            "credited_invoice_id",
            "language",
            "currency",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "issued_at",
        ]
