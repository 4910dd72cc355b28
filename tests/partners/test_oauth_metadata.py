"""The authorization server metadata (RFC 8414) and the issuer of authorization responses
(RFC 9207)."""

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from partners.scopes import ADMIN, grantable_scopes
from tests.clients import SignedInClient
from tests.partners.oauth_flows import approved_client, authorize, pkce

pytestmark = pytest.mark.django_db
ISSUER = "https://auth.careos.example"


@pytest.fixture
def issuer(settings) -> str:  # type: ignore[no-untyped-def]
    """A deployment whose public origin is ISSUER (DOT reloads its settings on the change)."""
    settings.PUBLIC_BASE_URL = ISSUER
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": ISSUER}
    return ISSUER


def test_authorization_server_metadata(issuer):
    response = SignedInClient().get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    document = response.json()
    AuthorizationServerMetadata(document).validate()  # Authlib's RFC 8414 checks
    assert document["issuer"] == issuer
    assert document["authorization_endpoint"] == f"{issuer}/o/authorize/"
    assert document["token_endpoint"] == f"{issuer}/o/token/"
    assert document["revocation_endpoint"] == f"{issuer}/o/revoke_token/"
    assert document["introspection_endpoint"] == f"{issuer}/o/introspect/"
    assert document["grant_types_supported"] == [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ]
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert document["revocation_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert document["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert document["scopes_supported"] == grantable_scopes()
    assert "read:partner" in document["scopes_supported"]
    assert ADMIN not in document["scopes_supported"]
    assert document["authorization_response_iss_parameter_supported"] is True


def test_metadata_issuer_defaults_to_the_public_base_url(settings):
    document = SignedInClient().get("/.well-known/oauth-authorization-server").json()
    assert document["issuer"] == settings.PUBLIC_BASE_URL.rstrip("/")


def test_the_authorization_response_names_the_metadata_issuer(issuer, django_user_model):
    browser = SignedInClient()
    browser.force_login(django_user_model.objects.create_user(username="owner", password="pw"))
    approved = approved_client()
    _verifier, challenge = pkce()
    query = authorize(browser, approved.client_id, challenge=challenge, scope="read:partner")
    assert query["iss"] == issuer
