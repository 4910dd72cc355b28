from django.urls import path

from payments.api import catalogue_views, invoice_views, views, webhooks

app_name = "payments"

urlpatterns = [
    path("payments/bookings", views.BookingListCreateView.as_view(), name="bookings"),
    path("payments/bookings/<str:booking_id>", views.BookingDetailView.as_view(), name="booking"),
    path(
        "payments/bookings/<str:booking_id>/pay", views.BookingPayView.as_view(), name="booking-pay"
    ),
    path(
        "payments/bookings/<str:booking_id>/receipt",
        views.BookingReceiptView.as_view(),
        name="booking-receipt",
    ),
    path(
        "payments/bookings/<str:booking_id>/adjustments",
        catalogue_views.BookingAdjustmentView.as_view(),
        name="booking-adjustments",
    ),
    path(
        "payments/clinics/<str:clinic_id>/services",
        catalogue_views.CatalogueServiceListView.as_view(),
        name="clinic-services",
    ),
    path(
        "payments/payments/<str:payment_id>/refunds",
        views.PaymentRefundsView.as_view(),
        name="payment-refunds",
    ),
    path("payments/stripe/webhook", webhooks.StripeWebhookView.as_view(), name="stripe-webhook"),
    path(
        "payments/billing-provider/webhook",
        webhooks.BillingProviderWebhookView.as_view(),
        name="billing-provider-webhook",
    ),
    path(
        "payments/partner-payments",
        views.PartnerPaymentListView.as_view(),
        name="partner-payments",
    ),
    path(
        "payments/partner-payments/summary",
        views.PartnerPaymentSummaryView.as_view(),
        name="partner-payments-summary",
    ),
    path("payments/invoices", views.PartnerInvoiceListView.as_view(), name="partner-invoices"),
    path("payments/payouts", views.SpecialistPayoutListView.as_view(), name="payouts"),
    path("payments/payouts/balance", views.SpecialistBalanceView.as_view(), name="payout-balance"),
    path("patients/me/invoices", invoice_views.MyInvoiceListView.as_view(), name="my-invoices"),
    path(
        "patients/me/invoices/<str:invoice_id>.pdf",
        invoice_views.MyInvoicePdfView.as_view(),
        name="my-invoice-pdf",
    ),
    path(
        "payments/patient-invoices",
        invoice_views.PatientInvoiceListView.as_view(),
        name="patient-invoices",
    ),
    path(
        "payments/patient-invoices/<str:invoice_id>.pdf",
        invoice_views.PatientInvoicePdfView.as_view(),
        name="patient-invoice-pdf",
    ),
    path(
        "payments/patient-invoices/<str:invoice_id>.html",
        invoice_views.PatientInvoiceHtmlView.as_view(),
        name="patient-invoice-html",
    ),
    path("business/register", views.BusinessRegisterView.as_view(), name="business-register"),
]
