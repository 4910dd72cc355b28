"""The billing-provider integration guide's paths (included at ``/api/``), beside /api/v1."""

from django.urls import path

from payments.api import views, webhooks

urlpatterns = [
    path(
        "webhooks/cvt",
        webhooks.SeedBillingProviderWebhookView.as_view(),
        name="billing-provider-webhook-seed-path",
    ),
    path(
        "business/register",
        views.SeedBusinessRegisterView.as_view(),
        name="business-register-seed-path",
    ),
]
