"""Patients' invoices and credit notes in the console: read-only (an issued invoice never
changes), with the HTML and PDF renderings previewed on the invoice's page. Each preview is a
read of a patient's document and is audited."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from payments.models import PatientInvoice
from payments.services.common import format_money
from payments.services.invoice_render import Rendered, invoice_html, invoice_pdf
from rbac.services import audit_record


@admin.register(PatientInvoice)
class PatientInvoiceAdmin(admin.ModelAdmin):
    list_display = ["number_display", "kind", "clinic", "money", "language", "issued_at"]
    list_filter = ["kind", "language", "clinic"]
    search_fields = ["number_display", "public_id"]
    list_select_related = ["clinic"]
    date_hierarchy = "issued_at"
    fields = [
        "number_display",
        "kind",
        "clinic",
        "booking",
        "credited_invoice",
        "language",
        "money",
        "issued_at",
        "preview",
    ]
    readonly_fields = fields

    @admin.display(description=_("Total"), ordering="total")
    def money(self, obj: PatientInvoice) -> str:
        return format_money(obj.total, obj.currency)

    @admin.display(description=_("Preview"))
    def preview(self, obj: PatientInvoice) -> SafeString:
        pdf = reverse("admin:payments_patientinvoice_render", args=[obj.pk, "pdf"])
        html = reverse("admin:payments_patientinvoice_render", args=[obj.pk, "html"])
        return format_html(
            '<p><a href="{}" target="_blank">HTML</a> · <a href="{}" target="_blank">PDF</a></p>'
            '<iframe src="{}" title="{}" style="width:100%;height:42rem;border:1px solid #ccc">'
            "</iframe>",
            html,
            pdf,
            pdf,
            obj.number_display,
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/render/<str:fmt>/",
                self.admin_site.admin_view(self.render_view),
                name="payments_patientinvoice_render",
            ),
            *super().get_urls(),
        ]

    def render_view(self, request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
        invoice = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, invoice) or fmt not in ("pdf", "html"):
            return HttpResponse(status=404)
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action="payments.patientinvoice.viewed",
            target_type="payments.patientinvoice",
            target_ref=invoice.public_id,
            patient=invoice.patient,
            clinic=invoice.clinic,
            request=request,
        )
        rendered: Rendered = invoice_pdf(invoice) if fmt == "pdf" else invoice_html(invoice)
        response = HttpResponse(rendered.content, content_type=rendered.content_type)
        response["Content-Disposition"] = f'inline; filename="{rendered.filename}"'
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
