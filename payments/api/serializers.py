from datetime import UTC, datetime

from rest_framework import serializers

from careos.api.filters import QueryFilters
from careos.api.serializers import ModelSerializer, Serializer
from payments.models import (
    Booking,
    BookingLineItem,
    PartnerInvoice,
    PartnerInvoiceLine,
    PartnerPayment,
    Payment,
    Refund,
    SpecialistPayout,
)

# The last second a ``datetime`` can hold: a Unix timestamp beyond it cannot be stored.
LATEST_TIMESTAMP = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())


class LineItemInputSerializer(Serializer):
    kind = serializers.ChoiceField(choices=BookingLineItem.Kind.choices)
    description = serializers.CharField(max_length=200)
    unit_amount = serializers.IntegerField(min_value=0, max_value=10**10, help_text="Minor units.")
    quantity = serializers.IntegerField(min_value=1, max_value=10**4, default=1)


class BookingCreateSerializer(Serializer):
    clinic_id = serializers.CharField(max_length=40)
    patient_id = serializers.CharField(
        max_length=40, required=False, help_text="Staff only: the patient booked for."
    )
    specialist_id = serializers.CharField(max_length=40, required=False)
    service = serializers.CharField(max_length=200)
    starts_at = serializers.DateTimeField()
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", help_text="ISO 4217, e.g. USD.")
    line_items = LineItemInputSerializer(many=True, allow_empty=False, max_length=50)


class LineItemSerializer(ModelSerializer):
    class Meta:
        model = BookingLineItem
        fields = ["kind", "description", "quantity", "unit_amount", "amount"]


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
