"""OAuth 2.0 end to end through the real /o/ endpoints."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken

from partners.models import Partner
from partners.services import applications as apps
from tests.clients import SignedInClient
from tests.partners.oauth_flows import (
    REDIRECT,
    approved_client,
    authorize,
    basic,
    pkce,
    token_request,
)

pytestmark = pytest.mark.django_db
ME = "/api/v1/partners/me"


@pytest.fixture
def browser(django_user_model) -> Client:
    user = django_user_model.objects.create_user(username="owner", password="pw")
    client = SignedInClient()
    client.force_login(user)
    return client


def test_authorization_code_with_refresh_rotation_and_reuse_refused(browser, api_client):
    approved = approved_client()
    auth = basic(approved.client_id, approved.client_secret)
    verifier, challenge = pkce()
    query = authorize(browser, approved.client_id, challenge=challenge, scope="read:partner")
    assert query["state"] == "s1"
    response = token_request(
        Client(),
        {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=auth,
    )
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert tokens["scope"] == "read:partner"
    assert tokens["expires_in"] == 3600

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    me = api_client.get(ME)
    assert me.status_code == 200
    assert me.json()["id"] == approved.application.partner.public_id
    # The token carries read:partner only, not read:leads.
    assert api_client.post("/api/v1/partners/me/keys", {"name": "x"}).json()["code"] == (
        "insufficient_scope"
    )

    refreshed = token_request(
        Client(),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=auth,
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
    reused = token_request(
        Client(),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=auth,
    )
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_public_client_must_use_pkce(browser):
    approved = approved_client(client_type="public")
    query = authorize(browser, approved.client_id, challenge=None, scope="read:partner")
    assert query["error"] == "invalid_request"
    assert "code" not in query

    _verifier, challenge = pkce()
    query = authorize(browser, approved.client_id, challenge=challenge, scope="read:partner")
    wrong = token_request(
        Client(),
        {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT,
            "client_id": approved.client_id,
            "code_verifier": "x" * 50,
        },
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"


def test_public_client_with_pkce_gets_a_token(browser):
    approved = approved_client(client_type="public")
    verifier, challenge = pkce()
    query = authorize(browser, approved.client_id, challenge=challenge, scope="read:partner")
    response = token_request(
        Client(),
        {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT,
            "client_id": approved.client_id,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.content


def _client_credentials_token(approved: apps.ApprovedApplication, scope: str | None = None):
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return token_request(Client(), data, auth=basic(approved.client_id, approved.client_secret))


def test_client_credentials_limited_to_approved_scopes(api_client):
    approved = approved_client(grant_type="client-credentials")
    response = _client_credentials_token(approved)
    assert response.status_code == 200
    assert set(response.json()["scope"].split()) == {"read:partner", "read:leads"}
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    assert api_client.get(ME).status_code == 200
    refused = _client_credentials_token(approved, scope="admin")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


def test_wrong_client_secret_is_refused():
    approved = approved_client(grant_type="client-credentials")
    response = token_request(
        Client(), {"grant_type": "client_credentials"}, auth=basic(approved.client_id, "nope")
    )
    assert response.status_code == 401


def test_introspection_answers_for_own_tokens_only():
    mine = approved_client(grant_type="client-credentials")
    theirs = approved_client(grant_type="client-credentials")
    token = _client_credentials_token(mine).json()["access_token"]
    own = SignedInClient().post(
        "/o/introspect/",
        {"token": token},
        HTTP_AUTHORIZATION=basic(mine.client_id, mine.client_secret),
    )
    assert own.status_code == 200
    assert own.json()["active"] is True
    assert own.json()["client_id"] == mine.client_id
    assert set(own.json()["scope"].split()) == {"read:partner", "read:leads"}
    other = SignedInClient().post(
        "/o/introspect/",
        {"token": token},
        HTTP_AUTHORIZATION=basic(theirs.client_id, theirs.client_secret),
    )
    assert other.json() == {"active": False}
    unknown = SignedInClient().post(
        "/o/introspect/",
        {"token": "nope"},
        HTTP_AUTHORIZATION=basic(mine.client_id, mine.client_secret),
    )
    assert unknown.json() == {"active": False}


def test_revoking_an_access_token_revokes_its_refresh_token(browser, api_client):
    approved = approved_client()
    auth = basic(approved.client_id, approved.client_secret)
    verifier, challenge = pkce()
    query = authorize(browser, approved.client_id, challenge=challenge, scope="read:partner")
    tokens = token_request(
        Client(),
        {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=auth,
    ).json()

    other = approved_client()
    not_mine = SignedInClient().post(
        "/o/revoke_token/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic(other.client_id, other.client_secret),
    )
    assert not_mine.status_code == 200  # RFC 7009: no disclosure
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert api_client.get(ME).status_code == 200  # another client cannot revoke it

    revoked = SignedInClient().post(
        "/o/revoke_token/", {"token": tokens["access_token"]}, HTTP_AUTHORIZATION=auth
    )
    assert revoked.status_code == 200
    assert api_client.get(ME).json()["code"] == "credentials_invalid"
    refresh = token_request(
        Client(),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=auth,
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"


def test_expired_access_token_is_credentials_expired(api_client):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    approved = approved_client(grant_type="client-credentials")
    token = _client_credentials_token(approved).json()["access_token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert api_client.get(ME).json()["code"] == "credentials_expired"


def test_suspended_partner_tokens_are_refused(api_client):
    approved = approved_client(grant_type="client-credentials")
    token = _client_credentials_token(approved).json()["access_token"]
    Partner.objects.filter(pk=approved.application.partner_id).update(status="suspended")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get(ME).json()["code"] == "partner_suspended"


def test_signed_out_resource_owner_signs_in_then_consents(django_user_model):
    """GET authorize → login page → credentials → consent page → approve → code → PKCE token."""
    django_user_model.objects.create_user(username="patient", password="correct horse")
    approved = approved_client(client_type="public")
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": approved.client_id,
        "redirect_uri": REDIRECT,
        "scope": "read:partner",
        "state": "s2",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    browser = SignedInClient()
    authorize_url = "/o/authorize/?" + urlencode(params)

    to_login = browser.get(authorize_url)
    assert to_login.status_code == 302
    login_location = urlsplit(to_login["Location"])
    assert login_location.path == "/accounts/login/"
    next_url = parse_qs(login_location.query)["next"][0]
    assert next_url == authorize_url

    login_page = browser.get(to_login["Location"])
    assert login_page.status_code == 200
    assert b'name="password"' in login_page.content
    assert f'value="{next_url}"'.replace("&", "&amp;").encode() in login_page.content

    wrong = browser.post(
        "/accounts/login/", {"username": "patient", "password": "nope", "next": next_url}
    )
    assert wrong.status_code == 200
    assert "_auth_user_id" not in browser.session

    signed_in = browser.post(
        "/accounts/login/",
        {"username": "patient", "password": "correct horse", "next": next_url},
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == next_url

    consent = browser.get(next_url)
    assert consent.status_code == 200
    assert b"authorizationForm" in consent.content
    assert approved.application.name.encode() in consent.content
    form = {
        name: consent.context["form"][name].value()
        for name in (
            "client_id",
            "redirect_uri",
            "response_type",
            "state",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "nonce",
            "claims",
        )
        if consent.context["form"][name].value() is not None
    }
    approved_response = browser.post(next_url, {**form, "allow": "Authorize"})
    assert approved_response.status_code == 302
    location = urlsplit(approved_response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["state"] == "s2"

    token = token_request(
        Client(),
        {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT,
            "client_id": approved.client_id,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.content
    body = token.json()
    assert body["scope"] == "read:partner"
    owner = django_user_model.objects.get(username="patient")
    assert AccessToken.objects.get(user=owner, application__client_id=approved.client_id)


def test_consent_denied_redirects_with_access_denied(django_user_model):
    django_user_model.objects.create_user(username="patient", password="correct horse")
    approved = approved_client(client_type="public")
    _verifier, challenge = pkce()
    browser = SignedInClient()
    assert browser.login(username="patient", password="correct horse")
    params = {
        "response_type": "code",
        "client_id": approved.client_id,
        "redirect_uri": REDIRECT,
        "scope": "read:partner",
        "state": "s3",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    # No "allow" in the form: the owner pressed Cancel.
    denied = browser.post("/o/authorize/", params)
    assert denied.status_code == 302
    query = parse_qs(urlsplit(denied["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert "code" not in query


def test_sign_out_ends_the_session(django_user_model):
    django_user_model.objects.create_user(username="patient", password="correct horse")
    browser = SignedInClient()
    assert browser.login(username="patient", password="correct horse")
    page = browser.get("/accounts/login/")
    assert b"Signed in as patient" in page.content
    assert browser.get("/accounts/logout/").status_code == 405  # sign-out is a POST (CSRF)
    signed_out = browser.post("/accounts/logout/")
    assert signed_out.status_code == 302
    assert signed_out["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in browser.session
    assert browser.get("/o/authorize/?client_id=x")["Location"].startswith("/accounts/login/")
