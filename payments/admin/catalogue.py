"""Catalogue console: services with their price history, prices (added, never edited),
discount codes, tax rates and clinics' billing profiles. Every change is audited; a new price
goes through ``price_set`` (which closes the previous one)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from payments.models import (
    Booking,
    BookingLineItem,
    CatalogueService,
    ClinicBillingProfile,
    DiscountCode,
    ServicePrice,
    TaxRate,
)
from payments.services.catalogue import catalogue_change_record, price_set
from payments.services.common import format_money
from rbac.console import ClinicScopedAdmin


class AuditedAdmin(ClinicScopedAdmin):
    """Plain CRUD, scoped to the staff member's clinics (a clinic admin edits their own
    catalogue), whose every save is written to the audit log."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        catalogue_change_record(
            actor=request.user,  # type: ignore[arg-type]
            obj=obj,
            action="changed" if change else "created",
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: bookings and invoices refer to them


class PriceHistoryInline(admin.TabularInline):
    model = ServicePrice
    extra = 0
    can_delete = False
    fields = ["tier", "amount", "currency", "effective_from", "effective_until", "public_id"]
    readonly_fields = fields
    ordering = ["tier", "-effective_from"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _in_force_now() -> Q:
    now = timezone.now()
    return Q(effective_from__lte=now) & (
        Q(effective_until__isnull=True) | Q(effective_until__gt=now)
    )


@admin.register(CatalogueService)
class CatalogueServiceAdmin(AuditedAdmin):
    list_display = [
        "name_en",
        "clinic",
        "code",
        "category",
        "duration_minutes",
        "price_now",
        "is_active",
    ]
    list_filter = ["is_active", "category", "clinic"]
    search_fields = ["code", "name_en", "name_es", "name_fr", "public_id"]
    list_select_related = ["clinic"]
    readonly_fields = ["public_id"]
    inlines = [PriceHistoryInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "public_id",
                    "clinic",
                    "code",
                    "category",
                    "line_kind",
                    "duration_minutes",
                    "is_active",
                ]
            },
        ),
        (_("Names"), {"fields": ["name_en", "name_es", "name_fr"]}),
        (_("Descriptions"), {"fields": ["description_en", "description_es", "description_fr"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CatalogueService]:
        prices = ServicePrice.objects.filter(_in_force_now()).order_by("tier", "-effective_from")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("prices", queryset=prices, to_attr="prices_now"))
        )

    @admin.display(description=_("Price now"))
    def price_now(self, obj: CatalogueService) -> str:
        prices = getattr(obj, "prices_now", None) or []
        return ", ".join(f"{p.tier}: {format_money(p.amount, p.currency)}" for p in prices) or "-"


class ServicePriceForm(forms.ModelForm):
    effective_from = forms.DateTimeField(
        required=False, help_text=_("Empty: now. The price open until then is closed at it.")
    )

    class Meta:
        model = ServicePrice
        fields = ["service", "tier", "amount", "currency", "effective_from"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["effective_from"] = data.get("effective_from") or timezone.now()
        service, tier = data.get("service"), data.get("tier")
        if (
            service is not None
            and tier
            and ServicePrice.objects.filter(
                service=service, tier=tier, effective_from__gte=data["effective_from"]
            ).exists()
        ):
            raise forms.ValidationError(
                _("A price of this tier already starts at or after that moment.")
            )
        if data.get("amount") is not None and data["amount"] < 0:
            self.add_error("amount", _("A price is 0 or more (minor units)."))
        return data


@admin.register(ServicePrice)
class ServicePriceAdmin(ClinicScopedAdmin):
    """Prices are added, never edited or deleted: the history bookings were priced from."""

    clinic_field = "service__clinic"

    form = ServicePriceForm
    list_display = ["service", "clinic", "tier", "money", "effective_from", "effective_until"]
    list_filter = ["tier", "currency", "service__clinic"]
    search_fields = ["service__name_en", "service__code", "public_id"]
    list_select_related = ["service__clinic"]
    autocomplete_fields = ["service"]
    date_hierarchy = "effective_from"

    @admin.display(description=_("Clinic"))
    def clinic(self, obj: ServicePrice) -> str:
        return str(obj.service.clinic)

    @admin.display(description=_("Amount"), ordering="amount")
    def money(self, obj: ServicePrice) -> str:
        return format_money(obj.amount, obj.currency)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        created = price_set(
            service=data["service"],
            amount=data["amount"],
            currency=data["currency"],
            tier=data["tier"],
            effective_from=data["effective_from"],
            actor=request.user,  # type: ignore[arg-type]
        )
        obj.pk = created.pk


@admin.register(DiscountCode)
class DiscountCodeAdmin(AuditedAdmin):
    list_display = [
        "code",
        "clinic",
        "kind",
        "value",
        "uses",
        "valid_from",
        "expires_at",
        "is_active",
    ]
    list_filter = ["is_active", "kind", "clinic"]
    search_fields = ["code", "public_id"]
    list_select_related = ["clinic"]
    readonly_fields = ["public_id", "times_redeemed"]

    @admin.display(description=_("Value"))
    def value(self, obj: DiscountCode) -> str:
        if obj.kind == DiscountCode.Kind.PERCENT:
            return f"{obj.percent}%"
        return format_money(obj.amount or 0, obj.currency or "")

    @admin.display(description=_("Uses"))
    def uses(self, obj: DiscountCode) -> str:
        limit = obj.max_redemptions if obj.max_redemptions is not None else "∞"
        return f"{obj.times_redeemed} / {limit}"


@admin.register(TaxRate)
class TaxRateAdmin(AuditedAdmin):
    list_display = [
        "name",
        "clinic",
        "jurisdiction",
        "rate",
        "inclusive",
        "categories",
        "exempt_categories",
        "effective_from",
        "effective_until",
        "is_active",
    ]
    list_filter = ["is_active", "inclusive", "jurisdiction", "clinic"]
    search_fields = ["name", "jurisdiction", "public_id"]
    list_select_related = ["clinic"]
    readonly_fields = ["public_id"]


@admin.register(ClinicBillingProfile)
class ClinicBillingProfileAdmin(AuditedAdmin):
    list_display = ["legal_name", "clinic", "tax_id", "jurisdiction", "invoice_prefix"]
    search_fields = ["legal_name", "tax_id"]
    list_select_related = ["clinic"]


def booking_pricing(booking: Booking) -> SafeString:
    """How a booking's total was computed, for its console page."""
    lines = list(booking.line_items.all())
    gross = sum(li.amount for li in lines if li.kind in ("service", "procedure"))
    discount = -sum(li.amount for li in lines if li.kind == BookingLineItem.Kind.DISCOUNT)
    taxes = [li for li in lines if li.kind == BookingLineItem.Kind.TAX]
    adjustments = sum(li.amount for li in lines if li.kind == BookingLineItem.Kind.ADJUSTMENT)
    money = booking.currency

    def row(label: Any, amount: int, note: str = "") -> tuple[Any, str, str]:
        return (label, format_money(amount, money), note)

    rows = [row(_("Services (catalogue prices x quantities)"), gross)]
    if discount:
        code = booking.discount_code.code if booking.discount_code else ""
        rows.append(row(_("Discount"), -discount, code))
    for tax in taxes:
        note = str(_("included in the prices")) if tax.tax_inclusive else str(_("added"))
        rows.append(row(tax.description, tax.amount, note))
    if adjustments:
        rows.append(row(_("Manual adjustments"), adjustments, str(_("see the audit log"))))
    rows.append(row(_("Total"), booking.total_amount))
    priced = (
        f"{booking.priced_at:%Y-%m-%d %H:%M} UTC, {booking.price_tier}"
        if booking.priced_at
        else "-"
    )
    return format_html(
        "<p>{}: {}</p><table>{}</table>",
        _("Priced from the catalogue at"),
        priced,
        format_html_join(
            "", "<tr><td>{}</td><td style='text-align:right'>{}</td><td>{}</td></tr>", rows
        ),
    )
