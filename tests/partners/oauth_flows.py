"""Helpers for the OAuth tests: an approved client, Basic credentials, PKCE, the consent step
and the token endpoint, all through the services and the real /o/ endpoints."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

from django.test import Client

from careos.actors import system_actor
from partners.models import Partner, PartnerApplication
from partners.services import applications as apps
from tests.partners.factories import PartnerFactory

ACTOR = system_actor("tests")
REDIRECT = "https://app.example.com/callback"


def approved_client(
    *,
    partner: Partner | None = None,
    client_type: str = "confidential",
    grant_type: str = "authorization-code",
    scopes: tuple[str, ...] = ("read:partner", "read:leads"),
) -> apps.ApprovedApplication:
    """An application created, put in review and approved through the services."""
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


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def pkce() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize(browser: Client, client_id: str, *, challenge: str | None, scope: str) -> dict:
    """The signed-in ``browser`` consents; returns the redirect's query parameters."""
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


def token_request(client: Client, data: dict, *, auth: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return client.post("/o/token/", data, **headers)


def code_exchange(browser: Client, approved: apps.ApprovedApplication, *, scope: str) -> dict:
    """Consent, then exchange the code (confidential client, Basic auth): the token answer
    with the ``code`` it came from added."""
    verifier, challenge = pkce()
    query = authorize(browser, approved.client_id, challenge=challenge, scope=scope)
    response = token_request(
        Client(),
        {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=basic(approved.client_id, approved.client_secret),
    )
    assert response.status_code == 200, response.content
    return response.json() | {"code": query["code"], "code_verifier": verifier}
