"""OAuth 2.0 end to end through the real /o/ endpoints."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from careos.actors import system_actor
from partners.models import Partner, PartnerApplication
from partners.services import applications as apps
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")
REDIRECT = "https://app.example.com/callback"
ME = "/api/v1/partners/me"


def _approved(
    *,
    partner: Partner | None = None,
    client_type: str = "confidential",
    grant_type: str = "authorization-code",
    scopes: tuple[str, ...] = ("read:partner", "read:leads"),
) -> apps.ApprovedApplication:
    application = apps.application_create(
        partner=partner or PartnerFactory(),
        name="App",
        client_type=client_type,
        grant_type=grant_type,
        redirect_uris=[REDIRECT] if grant_type == "authorization-code" else [],
        requested_scopes=list(scopes),
        actor=ACTOR,
    )
    PartnerApplication.objects.filter(pk=application.pk).update(status="in_review")
    return apps.application_approve(application=application, actor=ACTOR)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


@pytest.fixture
def browser(django_user_model) -> Client:
    user = django_user_model.objects.create_user(username="owner", password="pw")
    client = Client()
    client.force_login(user)
    return client


def _authorize(browser: Client, client_id: str, *, challenge: str | None, scope: str) -> dict:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "s1",
        "allow": "Authorize",
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    response = browser.post("/o/authorize/", params)
    assert response.status_code == 302, response.content
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def _token(client: Client, data: dict, *, auth: str | None = None):
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.post("/o/token/", data, **headers)


def test_authorization_code_with_refresh_rotation_and_reuse_refused(browser, api_client):
    approved = _approved()
    auth = _basic(approved.client_id, approved.client_secret)
    verifier, challenge = _pkce()
    query = _authorize(browser, approved.client_id, challenge=challenge, scope="read:partner")
    assert query["state"] == "s1"
    response = _token(
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

    refreshed = _token(
        Client(),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=auth,
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
    reused = _token(
        Client(),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=auth,
    )
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_public_client_must_use_pkce(browser):
    approved = _approved(client_type="public")
    query = _authorize(browser, approved.client_id, challenge=None, scope="read:partner")
    assert query["error"] == "invalid_request"
    assert "code" not in query

    _verifier, challenge = _pkce()
    query = _authorize(browser, approved.client_id, challenge=challenge, scope="read:partner")
    wrong = _token(
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
    approved = _approved(client_type="public")
    verifier, challenge = _pkce()
    query = _authorize(browser, approved.client_id, challenge=challenge, scope="read:partner")
    response = _token(
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
    return _token(Client(), data, auth=_basic(approved.client_id, approved.client_secret))


def test_client_credentials_limited_to_approved_scopes(api_client):
    approved = _approved(grant_type="client-credentials")
    response = _client_credentials_token(approved)
    assert response.status_code == 200
    assert set(response.json()["scope"].split()) == {"read:partner", "read:leads"}
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access_token']}")
    assert api_client.get(ME).status_code == 200
    refused = _client_credentials_token(approved, scope="admin")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"


def test_wrong_client_secret_is_refused():
    approved = _approved(grant_type="client-credentials")
    response = _token(
        Client(), {"grant_type": "client_credentials"}, auth=_basic(approved.client_id, "nope")
    )
    assert response.status_code == 401


def test_introspection_answers_for_own_tokens_only():
    mine = _approved(grant_type="client-credentials")
    theirs = _approved(grant_type="client-credentials")
    token = _client_credentials_token(mine).json()["access_token"]
    own = Client().post(
        "/o/introspect/",
        {"token": token},
        HTTP_AUTHORIZATION=_basic(mine.client_id, mine.client_secret),
    )
    assert own.status_code == 200
    assert own.json()["active"] is True
    assert own.json()["client_id"] == mine.client_id
    assert set(own.json()["scope"].split()) == {"read:partner", "read:leads"}
    other = Client().post(
        "/o/introspect/",
        {"token": token},
        HTTP_AUTHORIZATION=_basic(theirs.client_id, theirs.client_secret),
    )
    assert other.json() == {"active": False}
    unknown = Client().post(
        "/o/introspect/",
        {"token": "nope"},
        HTTP_AUTHORIZATION=_basic(mine.client_id, mine.client_secret),
    )
    assert unknown.json() == {"active": False}


def test_revoking_an_access_token_revokes_its_refresh_token(browser, api_client):
    approved = _approved()
    auth = _basic(approved.client_id, approved.client_secret)
    verifier, challenge = _pkce()
    query = _authorize(browser, approved.client_id, challenge=challenge, scope="read:partner")
    tokens = _token(
        Client(),
        {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=auth,
    ).json()

    other = _approved()
    not_mine = Client().post(
        "/o/revoke_token/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=_basic(other.client_id, other.client_secret),
    )
    assert not_mine.status_code == 200  # RFC 7009: no disclosure
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert api_client.get(ME).status_code == 200  # another client cannot revoke it

    revoked = Client().post(
        "/o/revoke_token/", {"token": tokens["access_token"]}, HTTP_AUTHORIZATION=auth
    )
    assert revoked.status_code == 200
    assert api_client.get(ME).json()["code"] == "credentials_invalid"
    refresh = _token(
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

    approved = _approved(grant_type="client-credentials")
    token = _client_credentials_token(approved).json()["access_token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert api_client.get(ME).json()["code"] == "credentials_expired"


def test_suspended_partner_tokens_are_refused(api_client):
    approved = _approved(grant_type="client-credentials")
    token = _client_credentials_token(approved).json()["access_token"]
    Partner.objects.filter(pk=approved.application.partner_id).update(status="suspended")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get(ME).json()["code"] == "partner_suspended"
