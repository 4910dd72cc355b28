"""Payments console: bookings, payments with a refund console, payouts, partner payments,
invoices, pricing (with a forecast) and subscription billing. Actions call services."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from careos.errors import DomainError
from payments.admin.catalogue import booking_pricing
from payments.models import (
    BillingAccount,
    BillingCharge,
    BillingEvent,
    Booking,
    BookingLineItem,
    ConnectedAccount,
    PartnerInvoice,
    PartnerInvoiceLine,
    PartnerPayment,
    PartnerPayout,
    PartnerPricing,
    PartnerTransfer,
    Payment,
    Refund,
    SpecialistPayout,
    StripeEvent,
)
from payments.services import bookings, partner_billing, partner_payments, payouts, refunds
from payments.services.common import format_money
from payments.services.stripe_webhooks import stripe_events_requeue_stale
from rbac.console import ClinicScopedAdmin, ClinicScopedInline


def _each(
    request: HttpRequest, queryset: QuerySet, action: Callable[[Any], object], done: str
) -> None:
    count = 0
    for obj in queryset:
        try:
            action(obj)
        except DomainError as exc:
            messages.error(request, f"{obj}: {exc.detail}")
            continue
        count += 1
    if count:
        messages.success(request, f"{done}: {count}.")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ClinicScopedInline, admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LineItemInline(ReadOnlyInline):
    model = BookingLineItem
    fields = [
        "kind",
        "description",
        "quantity",
        "unit_amount",
        "amount",
        "discount_amount",
        "tax_rate",
        "tax_amount",
        "tax_inclusive",
    ]
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = [
        "public_id",
        "status",
        "amount",
        "amount_refunded",
        "currency",
        "paid_at",
        "refund_link",
    ]
    readonly_fields = fields
    show_change_link = True

    @admin.display(description=_("Refund"))
    def refund_link(self, obj: Payment) -> str:
        if not obj.refundable_amount:
            return "-"
        url = reverse("admin:payments_payment_refund", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Refund…"))


class ClinicReadOnlyAdmin(ReadOnlyAdmin, ClinicScopedAdmin):
    """Read-only, scoped to the staff member's clinics."""


@admin.register(Booking)
class BookingAdmin(ClinicReadOnlyAdmin):
    phi_patient = "patient"
    list_display = [
        "public_id",
        "clinic",
        "specialist",
        "service",
        "starts_at",
        "status",
        "total",
        "payout",
    ]
    list_filter = ["status", "clinic", "currency"]
    search_fields = ["public_id"]  # the service is encrypted: not searchable
    list_select_related = ["clinic", "specialist", "payout"]
    date_hierarchy = "starts_at"
    inlines = [LineItemInline, PaymentInline]
    actions = ["complete", "cancel"]
    readonly_fields = ["receipt", "pricing"]

    @admin.display(description=_("Total"), ordering="total_amount")
    def total(self, obj: Booking) -> str:
        return format_money(obj.total_amount, obj.currency)

    @admin.display(description=_("Receipt"))
    def receipt(self, obj: Booking) -> str:
        url = reverse("payments:booking-receipt", args=[obj.public_id])
        return format_html('<a href="{}" target="_blank">{}</a>', url, _("Open the receipt"))

    @admin.display(description=_("How the total was computed"))
    def pricing(self, obj: Booking) -> str:
        return booking_pricing(obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return ClinicScopedAdmin.has_change_permission(self, request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Booking._meta.fields] + ["receipt", "pricing"]

    @admin.action(description=_("Mark completed (counts toward the specialist's payout)"))
    def complete(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        _each(
            request,
            queryset,
            lambda b: bookings.booking_complete(booking=b, actor=request.user),
            "Completed",
        )

    @admin.action(description=_("Cancel unpaid bookings"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        _each(
            request,
            queryset,
            lambda b: bookings.booking_cancel(booking=b, actor=request.user, reason="admin"),
            "Cancelled",
        )


class RefundForm(forms.Form):
    amount = forms.IntegerField(
        min_value=1, required=False, help_text=_("Minor units (cents). Empty: all that remains.")
    )
    reason = forms.ChoiceField(choices=Refund.Reason.choices)
    note = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["public_id", "amount", "reason", "status", "created_by", "created_at"]
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(ClinicReadOnlyAdmin):
    clinic_field = "booking__clinic"
    phi_patient = "booking__patient"
    list_display = [
        "public_id",
        "booking",
        "status",
        "paid",
        "amount_refunded",
        "paid_at",
        "disputed_at",
    ]
    list_filter = ["status", "currency", "booking__clinic"]
    search_fields = [
        "public_id",
        "stripe_payment_intent_id",
        "stripe_charge_id",
        "booking__public_id",
    ]
    list_select_related = ["booking"]
    inlines = [RefundInline]
    readonly_fields = ["refund_console"]
    exclude = ["client_secret"]

    @admin.display(description=_("Amount"), ordering="amount")
    def paid(self, obj: Payment) -> str:
        return format_money(obj.amount, obj.currency)

    @admin.display(description=_("Refund console"))
    def refund_console(self, obj: Payment) -> str:
        if not obj.refundable_amount:
            return "-"
        url = reverse("admin:payments_payment_refund", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Refund…"))

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="payments_payment_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        payments = self.get_queryset(request).select_related("booking__clinic")
        payment = get_object_or_404(payments, pk=pk)
        form = RefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                refund = refunds.refund_create(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                    actor=request.user,  # type: ignore[arg-type]
                )
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(
                    request,
                    f"Refund {refund.public_id}: {format_money(refund.amount, refund.currency)} "
                    f"({refund.get_status_display()}).",
                )
                return HttpResponseRedirect(reverse("admin:payments_payment_change", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Refund"),
            "payment": payment,
            "form": form,
            "paid": format_money(payment.amount, payment.currency),
            "refunded": format_money(payment.amount_refunded, payment.currency),
            "refundable": format_money(payment.refundable_amount, payment.currency),
            "refunds": payment.refunds.all(),
        }
        return TemplateResponse(request, "admin/payments/payment/refund.html", context)


@admin.register(Refund)
class RefundAdmin(ClinicReadOnlyAdmin):
    clinic_field = "payment__booking__clinic"
    phi_patient = "payment__booking__patient"
    actions = ["resubmit"]
    list_display = [
        "public_id",
        "payment",
        "amount",
        "currency",
        "reason",
        "status",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "reason"]
    search_fields = ["public_id", "stripe_refund_id", "payment__public_id"]
    list_select_related = ["payment"]

    @admin.action(description=_("Send unsent pending refunds to Stripe again (same key)"))
    def resubmit(self, request: HttpRequest, queryset: QuerySet[Refund]) -> None:
        _each(request, queryset, lambda r: refunds.refund_submit(refund=r), "Submitted")


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["stripe_id", "event_type", "status", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "event_type", "livemode"]
    search_fields = ["stripe_id"]
    actions = ["requeue"]

    @admin.action(description=_("Queue stale received/failed events again"))
    def requeue(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        messages.success(request, f"Queued: {stripe_events_requeue_stale(older_than_seconds=0)}.")


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(admin.ModelAdmin):
    list_display = ["stripe_account_id", "user", "partner", "payouts_enabled"]
    list_filter = ["payouts_enabled"]
    search_fields = ["stripe_account_id", "partner__slug", "user__username"]
    list_select_related = ["user", "partner"]
    raw_id_fields = ["user", "partner"]


@admin.register(SpecialistPayout)
class SpecialistPayoutAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "specialist",
        "amount",
        "fee_amount",
        "currency",
        "status",
        "paid_at",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["public_id", "stripe_transfer_id"]
    list_select_related = ["specialist"]
    actions = ["run_now"]

    @admin.action(description=_("Run specialist payouts now (pays each balance once)"))
    def run_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        report = payouts.specialist_payouts_run()
        messages.success(
            request,
            f"Paid {len(report.paid)}, failed {len(report.failed)}, below minimum "
            f"{report.below_minimum}, without a Stripe account {report.no_account}.",
        )


@admin.register(PartnerPayment)
class PartnerPaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "partner",
        "referral_ref",
        "amount",
        "currency",
        "status",
        "due_date",
        "paid_at",
    ]
    list_filter = ["status", "currency", "due_date"]
    search_fields = ["public_id", "referral_ref", "partner__slug"]
    list_select_related = ["partner"]
    actions = ["mark_disputed", "resolve_dispute", "cancel"]

    def _reason(self, request: HttpRequest, what: str) -> str:
        return f"{what} from the admin by {request.user}"

    @admin.action(description=_("Mark disputed (held out of payment runs)"))
    def mark_disputed(self, request: HttpRequest, queryset: QuerySet[PartnerPayment]) -> None:
        reason = self._reason(request, "Disputed")
        _each(
            request,
            queryset,
            lambda p: partner_payments.partner_payment_dispute(
                payment=p, reason=reason, actor=request.user
            ),
            "Disputed",
        )

    @admin.action(description=_("Resolve dispute (owed again)"))
    def resolve_dispute(self, request: HttpRequest, queryset: QuerySet[PartnerPayment]) -> None:
        reason = self._reason(request, "Resolved")
        _each(
            request,
            queryset,
            lambda p: partner_payments.partner_payment_resolve(
                payment=p, reason=reason, actor=request.user
            ),
            "Resolved",
        )

    @admin.action(description=_("Cancel"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[PartnerPayment]) -> None:
        reason = self._reason(request, "Cancelled")
        _each(
            request,
            queryset,
            lambda p: partner_payments.partner_payment_cancel(
                payment=p, reason=reason, actor=request.user
            ),
            "Cancelled",
        )


@admin.register(PartnerTransfer)
class PartnerTransferAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "partner", "period", "amount", "currency", "status", "paid_at"]
    list_filter = ["status", "period"]
    search_fields = ["public_id", "stripe_transfer_id", "partner__slug"]
    list_select_related = ["partner"]
    actions = ["run_now"]

    @admin.action(description=_("Process due partner payments now"))
    def run_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        report = partner_payments.process_partner_payments()
        messages.success(
            request,
            f"Paid {len(report.paid)}, carried over {len(report.carried_over)}, failed "
            f"{len(report.failed)}, without a Stripe account {len(report.no_account)}.",
        )


@admin.register(PartnerPricing)
class PartnerPricingAdmin(admin.ModelAdmin):
    list_display = ["partner", "model", "currency", "flat_fee", "revenue_share_bps", "is_active"]
    list_filter = ["model", "is_active"]
    search_fields = ["partner__slug", "partner__name"]
    list_select_related = ["partner"]
    raw_id_fields = ["partner"]
    readonly_fields = ["forecast"]

    @admin.display(description=_("Forecast (next 3 months, trailing 90 days)"))
    def forecast(self, obj: PartnerPricing) -> str:
        if obj.pk is None:
            return "-"
        months = partner_billing.partner_revenue_forecast(partner=obj.partner)
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("Month"),
            _("API calls"),
            _("Amount"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (f"{m.month:%Y-%m}", m.calls, format_money(m.amount, obj.currency))
                    for m in months
                ),
            ),
        )

    def save_model(
        self, request: HttpRequest, obj: PartnerPricing, form: Any, change: bool
    ) -> None:
        # Through the service, so tiers are validated and the change audited.
        partner_billing.partner_pricing_set(
            partner=obj.partner,
            model=obj.model,
            currency=obj.currency,
            flat_fee=obj.flat_fee,
            revenue_share_bps=obj.revenue_share_bps,
            usage_tiers=obj.usage_tiers,
            actor=request.user,  # type: ignore[arg-type]
        )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)

        def clean(form_self: Any) -> dict:
            data = forms.ModelForm.clean(form_self)
            if data.get("model") in (PartnerPricing.Model.USAGE_BASED, PartnerPricing.Model.HYBRID):
                try:
                    data["usage_tiers"] = partner_billing.usage_tiers_clean(data.get("usage_tiers"))
                except DomainError as exc:
                    form_self.add_error("usage_tiers", exc.detail)
            return data

        form.clean = clean
        return form


class InvoiceLineInline(ReadOnlyInline):
    model = PartnerInvoiceLine
    fields = ["description", "quantity", "unit_amount", "amount"]
    readonly_fields = fields


@admin.register(PartnerInvoice)
class PartnerInvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "partner",
        "period_start",
        "pricing_model",
        "total",
        "currency",
        "status",
        "due_date",
    ]
    list_filter = ["status", "pricing_model", "period_start"]
    search_fields = ["public_id", "partner__slug"]
    list_select_related = ["partner"]
    inlines = [InvoiceLineInline]
    actions = ["mark_paid", "generate_now"]

    @admin.action(description=_("Mark paid"))
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[PartnerInvoice]) -> None:
        _each(
            request,
            queryset,
            lambda i: partner_billing.partner_invoice_mark_paid(invoice=i, actor=request.user),
            "Marked paid",
        )

    @admin.action(description=_("Generate last month's invoices and payouts now"))
    def generate_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        invoices, payouts_made = partner_billing.partner_billing_run()
        messages.success(request, f"Invoices: {invoices}, revenue-share payouts: {payouts_made}.")


@admin.register(PartnerPayout)
class PartnerPayoutAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "partner",
        "period_start",
        "volume",
        "share_bps",
        "amount",
        "currency",
        "status",
    ]
    list_filter = ["status", "period_start"]
    search_fields = ["public_id", "partner__slug"]
    list_select_related = ["partner"]


class BillingEventInline(ReadOnlyInline):
    model = BillingEvent
    fields = [
        "created_at",
        "event_type",
        "provider_event_id",
        "amount",
        "currency",
        "status",
        "error_message",
    ]
    readonly_fields = fields
    ordering = ["-created_at"]


@admin.register(BillingAccount)
class BillingAccountAdmin(ReadOnlyAdmin):
    list_display = [
        "public_id",
        "partner",
        "plan",
        "subscription_status",
        "suspended_for_billing",
        "trial_ends_at",
        "last_billed_at",
    ]
    list_filter = ["subscription_status", "plan", "suspended_for_billing"]
    search_fields = ["public_id", "provider_customer_id", "partner__slug", "partner__name"]
    list_select_related = ["partner"]
    exclude = ["provider_key", "provider_key_hash", "email"]
    inlines = [BillingEventInline]


@admin.register(BillingEvent)
class BillingEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "event_type",
        "provider_event_id",
        "account",
        "amount",
        "currency",
        "status",
    ]
    list_filter = ["event_type", "status"]
    search_fields = ["provider_event_id", "provider_customer_id"]
    list_select_related = ["account"]


@admin.register(BillingCharge)
class BillingChargeAdmin(ReadOnlyAdmin):
    list_display = ["account", "period", "amount", "currency", "status", "provider_charge_id"]
    list_filter = ["status", "period"]
    search_fields = ["provider_charge_id", "account__provider_customer_id"]
    list_select_related = ["account", "account__partner"]
