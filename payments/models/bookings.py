from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careos.fields import EncryptedTextField
from careos.models import PublicIdField, TimeStampedModel


class Booking(TimeStampedModel):
    """An appointment a patient books (and pays for) with a specialist of a clinic."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Pending payment")
        CONFIRMED = "confirmed", _("Confirmed")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = PublicIdField(prefix="bkg")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    clinic = models.ForeignKey("rbac.Clinic", on_delete=models.PROTECT, related_name="bookings")
    specialist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="specialist_bookings",
    )
    # The partner that referred the patient, when any (revenue share is computed from it).
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    service = EncryptedTextField(max_length=200)  # clinical free text: encrypted at rest
    starts_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT)
    currency = models.CharField(max_length=3)
    total_amount = models.BigIntegerField(help_text=_("Minor units (cents)."))
    # How the total was priced: the catalogue at ``priced_at``, in ``price_tier``.
    priced_at = models.DateTimeField(null=True, blank=True)
    price_tier = models.SlugField(max_length=32, blank=True)
    discount_code = models.ForeignKey(
        "payments.DiscountCode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bookings",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    payout = models.ForeignKey(
        "payments.SpecialistPayout",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bookings",
    )

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "status"]),
            models.Index(fields=["specialist", "status"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="booking_total_gte_0")
        ]
        permissions = [
            ("refund_payment", "Can refund payments"),
            ("adjust_booking", "Can adjust a booking's total manually"),
        ]

    def __str__(self) -> str:
        return self.public_id


class BookingLineItem(models.Model):
    class Kind(models.TextChoices):
        SERVICE = "service", _("Service")
        PROCEDURE = "procedure", _("Procedure")
        TAX = "tax", _("Tax")
        DISCOUNT = "discount", _("Discount")
        ADJUSTMENT = "adjustment", _("Manual adjustment")

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="line_items")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = EncryptedTextField(max_length=200)  # may name a procedure: encrypted
    quantity = models.PositiveIntegerField(default=1)
    unit_amount = models.BigIntegerField(help_text=_("Minor units; positive."))
    # Signed: a discount is negative. ``amount = ±quantity * unit_amount``.
    amount = models.BigIntegerField()
    # How a catalogue line was priced (payments.services.pricing): the service and price used,
    # its share of the discount, and the tax on what remains.
    service_ref = models.CharField(max_length=40, blank=True)
    price_ref = models.CharField(max_length=40, blank=True)
    category = models.SlugField(max_length=64, blank=True)
    discount_amount = models.BigIntegerField(default=0)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    tax_amount = models.BigIntegerField(default=0)
    # A tax line of an inclusive rate: shown, not added (the service lines already hold it).
    tax_inclusive = models.BooleanField(default=False)

    class Meta:
        ordering = ["booking", "position"]

    def __str__(self) -> str:
        return f"{self.booking_id}#{self.position}"  # no PHI: admin logs and lists keep it


class Payment(TimeStampedModel):
    """One Stripe PaymentIntent for a booking."""

    class Status(models.TextChoices):
        REQUIRES_PAYMENT = "requires_payment", _("Requires payment")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    public_id = PublicIdField(prefix="pay")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.REQUIRES_PAYMENT
    )
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    client_secret = EncryptedTextField(blank=True)
    amount_refunded = models.BigIntegerField(default=0)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    receipt_number = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=models.F("amount")),
                name="payment_refund_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.public_id

    @property
    def refundable_amount(self) -> int:
        if self.status != self.Status.SUCCEEDED:
            return 0
        return self.amount - self.amount_refunded


class Refund(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Reason(models.TextChoices):
        REQUESTED_BY_CUSTOMER = "requested_by_customer", _("Requested by the patient")
        DUPLICATE = "duplicate", _("Duplicate")
        FRAUDULENT = "fraudulent", _("Fraudulent")
        CANCELLED_APPOINTMENT = "cancelled_appointment", _("Cancelled appointment")
        OTHER = "other", _("Other")

    public_id = PublicIdField(prefix="rfd")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0")]

    def __str__(self) -> str:
        return self.public_id
