"""payments API: patients' invoices and credit notes, for the patient (``/patients/me/…``) and
for the clinic's staff (``/payments/patient-invoices/…``, audited: an invoice names a patient
and their care)."""

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.views import APIView

from payments.api import serializers as s
from payments.models import PatientInvoice
from payments.selectors import patient_invoice_for, patient_invoices_for
from payments.services.invoice_render import Rendered, invoice_html, invoice_pdf
from rbac.models import User
from rbac.services import audit_record


def _download(rendered: Rendered) -> HttpResponse:
    response = HttpResponse(rendered.content, content_type=rendered.content_type)
    response["Content-Disposition"] = f'inline; filename="{rendered.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _audit_staff_read(request: Request, invoice: PatientInvoice) -> None:
    user: User = request.user  # type: ignore[assignment]
    if invoice.patient_id == user.pk:
        return
    audit_record(
        actor=user,
        action="payments.patientinvoice.viewed",
        target_type="payments.patientinvoice",
        target_ref=invoice.public_id,
        patient=invoice.patient,
        clinic=invoice.clinic,
        request=request._request,
    )


@extend_schema(tags=["payments: invoices"])
class MyInvoiceListView(ListAPIView):
    serializer_class = s.PatientInvoiceSerializer

    def get_queryset(self):
        return patient_invoices_for(user=self.request.user).filter(patient=self.request.user)  # type: ignore[arg-type]

    @extend_schema(summary="Your invoices and credit notes")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["payments: invoices"])
class MyInvoicePdfView(APIView):
    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="One of your invoices (or credit notes) as a PDF, in your language",
    )
    def get(self, request: Request, invoice_id: str) -> HttpResponse:
        invoice = patient_invoice_for(user=request.user, public_id=invoice_id, own_only=True)  # type: ignore[arg-type]
        return _download(invoice_pdf(invoice))


@extend_schema(tags=["payments: invoices"])
class PatientInvoiceListView(ListAPIView):
    """Staff: the invoices of their clinics (needs payments.view_patientinvoice)."""

    serializer_class = s.PatientInvoiceSerializer

    def get_queryset(self):
        return patient_invoices_for(user=self.request.user)  # type: ignore[arg-type]

    @extend_schema(summary="Patients' invoices and credit notes of your clinics")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["payments: invoices"])
class PatientInvoicePdfView(APIView):
    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="A patient's invoice as a PDF (audited)",
    )
    def get(self, request: Request, invoice_id: str) -> HttpResponse:
        invoice = patient_invoice_for(user=request.user, public_id=invoice_id)  # type: ignore[arg-type]
        _audit_staff_read(request, invoice)
        return _download(invoice_pdf(invoice))


@extend_schema(tags=["payments: invoices"])
class PatientInvoiceHtmlView(APIView):
    @extend_schema(
        responses={(200, "text/html"): OpenApiTypes.STR},
        summary="A patient's invoice as an HTML page (audited)",
    )
    def get(self, request: Request, invoice_id: str) -> HttpResponse:
        invoice = patient_invoice_for(user=request.user, public_id=invoice_id)  # type: ignore[arg-type]
        _audit_staff_read(request, invoice)
        return _download(invoice_html(invoice))
