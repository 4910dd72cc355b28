"""``/o/``: django-oauth-toolkit's authorization server endpoints (no self-service management
pages: partners manage their clients through /api/v1/partners/me/oauth-clients)."""

from django.urls import path
from oauth2_provider import views

from partners.oauth_views import PartnerIntrospectTokenView, PartnerTokenView

app_name = "oauth2_provider"

urlpatterns = [
    path("authorize/", views.AuthorizationView.as_view(), name="authorize"),
    path("token/", PartnerTokenView.as_view(), name="token"),
    path("revoke_token/", views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", PartnerIntrospectTokenView.as_view(), name="introspect"),
]
