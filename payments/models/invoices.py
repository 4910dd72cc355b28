"""Patients' invoices and credit notes: numbered per clinic without gaps, immutable once issued."""

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careos.fields import EncryptedTextField
from careos.models import PublicIdField


class ImmutableInvoiceError(Exception):
    """An issued invoice is never changed or deleted (a credit note corrects it)."""


class InvoiceSequence(models.Model):
    """The clinic's invoice counter: locked (``SELECT … FOR UPDATE``) while a number is taken,
    in the transaction that writes the invoice, so a rollback gives the number back."""

    clinic = models.OneToOneField(
        "rbac.Clinic", on_delete=models.CASCADE, related_name="invoice_sequence"
    )
    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.clinic_id}: {self.last_number}"


class PatientInvoice(models.Model):
    """An invoice (a booking paid) or a credit note (a refund of it): a snapshot of the seller,
    the buyer, the lines, the tax and the payment as they were when it was issued."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    public_id = PublicIdField(prefix="pinv")
    clinic = models.ForeignKey("rbac.Clinic", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INVOICE)
    number = models.PositiveBigIntegerField()
    number_display = models.CharField(max_length=40)
    booking = models.ForeignKey(
        "payments.Booking", on_delete=models.PROTECT, related_name="invoices"
    )
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund = models.OneToOneField(
        "payments.Refund",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_note",
    )
    credited_invoice = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices"
    )
    language = models.CharField(max_length=8, default="en")
    currency = models.CharField(max_length=3)
    subtotal = models.BigIntegerField(help_text=_("Minor units, before discount and tax."))
    discount_total = models.BigIntegerField(default=0)
    tax_total = models.BigIntegerField(default=0)
    total = models.BigIntegerField()
    seller = models.JSONField(default=dict, help_text=_("The clinic's legal details, as issued."))
    # The buyer's name and the lines name the patient and their care: encrypted (PHI).
    document_json = EncryptedTextField(default="{}")
    issued_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["clinic_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "number"], name="patient_invoice_number"),
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(kind="invoice"),
                name="patient_invoice_one_per_payment",
            ),
        ]
        indexes = [models.Index(fields=["patient", "issued_at"])]

    def __str__(self) -> str:
        return self.number_display

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableInvoiceError(f"{self.number_display} is issued and cannot change.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableInvoiceError(f"{self.number_display} is issued and cannot be deleted.")

    @property
    def document(self) -> dict[str, Any]:
        """``{"buyer": {...}, "lines": [...], "taxes": [...], "payment": {...}}``."""
        return json.loads(self.document_json or "{}")
