from django.urls import path

from partners.api.views import self_service

app_name = "partners"

urlpatterns = [
    path("partners/ping", self_service.PingView.as_view(), name="ping"),
    path("partners/me", self_service.MeView.as_view(), name="me"),
    path("partners/me/usage", self_service.UsageView.as_view(), name="usage"),
    path("partners/me/keys", self_service.ApiKeyListView.as_view(), name="keys"),
    path("partners/me/keys/<str:key_id>", self_service.ApiKeyDetailView.as_view(), name="key"),
    path(
        "partners/me/keys/<str:key_id>/rotate",
        self_service.ApiKeyRotateView.as_view(),
        name="key-rotate",
    ),
    path(
        "partners/me/keys/<str:key_id>/revoke",
        self_service.ApiKeyRevokeView.as_view(),
        name="key-revoke",
    ),
]
