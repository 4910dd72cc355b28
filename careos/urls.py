from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from careos.health import healthz, readyz

handler400 = "careos.api.exceptions.handler400"
handler404 = "careos.api.exceptions.handler404"
handler500 = "careos.api.exceptions.handler500"

urlpatterns = [
    path("admin/", admin.site.urls),
    # End-user sign-in for pages that need a session (the OAuth consent page at /o/authorize/).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The second sign-in step of accounts that can see PHI (rbac/accounts, docs/security.md).
    path("accounts/", include("rbac.accounts.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), not inline: the
    # page works under a Content-Security-Policy without 'unsafe-inline' scripts.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    *[
        path("api/v1/", include(f"{app}.api.urls"))
        for app in ("rbac", "engagement", "partners", "payments", "leads", "support", "connectors")
    ],
    # The lead-ingest seed's original path, for partners already integrated.
    path("api/", include("leads.api.urls_legacy")),
    # The billing-provider guide's paths (its webhook and business registration).
    path("api/", include("payments.api.urls_legacy")),
    path("o/", include("partners.oauth_urls", namespace="oauth2_provider")),
    path(".well-known/", include("partners.oauth_metadata_urls")),
]
