"""``/.well-known/``: OAuth 2.0 authorization server metadata (RFC 8414), at the server root as
the RFC places it (the endpoints themselves live under /o/)."""

from django.urls import path

from partners.oauth_views import PartnerServerMetadataView

urlpatterns = [
    path(
        "oauth-authorization-server",
        PartnerServerMetadataView.as_view(),
        name="oauth-authorization-server",
    ),
]
