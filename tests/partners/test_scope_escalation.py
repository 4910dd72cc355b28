"""A credential grants only scopes it holds itself, on every path that mints or reveals one:
API keys (create, rotate), applications (create, change, submit: they become OAuth clients),
OAuth client secrets (reset), and OAuth tokens (capped by their client, and by what they hold
when they mint keys)."""

import pytest
from django.test import Client

from partners.models import ApiKey, PartnerApplication, PartnerOAuthClient
from partners.scopes import MANAGE_PARTNER, scopes_for_tier
from tests.partners.factories import PartnerFactory, make_api_key
from tests.partners.oauth_flows import approved_client, basic, token_request

pytestmark = pytest.mark.django_db

KEYS = "/api/v1/partners/me/keys"
APPLICATIONS = "/api/v1/partners/me/applications"
NARROW = [MANAGE_PARTNER]


@pytest.fixture
def partner():  # type: ignore[no-untyped-def]
    return PartnerFactory()


@pytest.fixture
def narrow(partner_api_client, partner):  # type: ignore[no-untyped-def]
    """A client whose key holds only ``manage:partner``."""
    return partner_api_client(partner=partner, scopes=NARROW)


def _refused(response, scopes: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 403, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "scope_not_held"
    assert body["scopes"] == scopes


def test_a_key_without_scopes_gets_only_what_the_minting_key_holds(narrow):
    response = narrow.post(KEYS, {"name": "child"})
    assert response.status_code == 201, response.content
    assert response.json()["scopes"] == NARROW
    assert ApiKey.objects.get(public_id=response.json()["id"]).scopes == NARROW


def test_a_key_cannot_mint_a_key_with_more_scopes(narrow):
    before = ApiKey.objects.count()
    response = narrow.post(KEYS, {"name": "child", "scopes": ["read:leads", MANAGE_PARTNER]})
    _refused(response, ["read:leads"])
    assert ApiKey.objects.count() == before


def test_a_key_cannot_rotate_a_stronger_key(narrow, partner):
    strong = make_api_key(partner=partner, name="strong").api_key
    before = ApiKey.objects.count()
    response = narrow.post(f"{KEYS}/{strong.public_id}/rotate")
    _refused(response, sorted(set(strong.scopes) - set(NARROW)))
    assert ApiKey.objects.count() == before
    strong.refresh_from_db()
    assert strong.replaced_by is None and strong.expires_at is None


def test_a_key_may_rotate_a_key_it_covers(narrow, partner):
    peer = make_api_key(partner=partner, scopes=NARROW, name="peer").api_key
    response = narrow.post(f"{KEYS}/{peer.public_id}/rotate")
    assert response.status_code == 201
    assert response.json()["scopes"] == NARROW


def test_an_application_cannot_ask_for_scopes_the_key_does_not_hold(narrow, partner):
    body = {
        "name": "App",
        "grantType": "client-credentials",
        "clientType": "confidential",
        "requestedScopes": ["read:leads"],
    }
    _refused(narrow.post(APPLICATIONS, body, format="json"), ["read:leads"])
    assert not PartnerApplication.objects.exists()

    own = narrow.post(APPLICATIONS, {**body, "requestedScopes": NARROW}, format="json")
    assert own.status_code == 201, own.content
    changed = narrow.patch(
        f"{APPLICATIONS}/{own.json()['id']}", {"requestedScopes": ["write:leads"]}, format="json"
    )
    _refused(changed, ["write:leads"])
    assert PartnerApplication.objects.get().requested_scopes == NARROW


def test_a_key_cannot_submit_a_draft_asking_for_more(narrow, partner, partner_api_client):
    strong = partner_api_client(partner=partner)
    draft = strong.post(
        APPLICATIONS,
        {
            "name": "App",
            "grantType": "client-credentials",
            "clientType": "confidential",
            "requestedScopes": ["read:leads"],
        },
        format="json",
    )
    assert draft.status_code == 201, draft.content
    _refused(narrow.post(f"{APPLICATIONS}/{draft.json()['id']}/submit"), ["read:leads"])
    assert PartnerApplication.objects.get().status == PartnerApplication.Status.DRAFT


def test_a_key_cannot_reveal_the_secret_of_a_stronger_oauth_client(narrow, partner):
    approved = approved_client(
        partner=partner, grant_type="client-credentials", scopes=("read:leads", MANAGE_PARTNER)
    )
    client = PartnerOAuthClient.objects.get()
    secret_url = f"/api/v1/partners/me/oauth-clients/{client.public_id}/secret"
    _refused(narrow.post(secret_url), ["read:leads"])
    # The old secret still works: nothing was reset.
    token = token_request(
        Client(),
        {"grant_type": "client_credentials"},
        auth=basic(approved.client_id, approved.client_secret),
    )
    assert token.status_code == 200

    client.scopes = NARROW
    client.save(update_fields=["scopes"])
    assert narrow.post(secret_url).status_code == 201


def test_an_oauth_token_mints_keys_only_with_its_own_scopes(api_client, partner):
    approved = approved_client(
        partner=partner,
        grant_type="client-credentials",
        scopes=("read:leads", "read:partner", MANAGE_PARTNER),
    )
    token = token_request(
        Client(),
        {"grant_type": "client_credentials", "scope": MANAGE_PARTNER},
        auth=basic(approved.client_id, approved.client_secret),
    )
    assert token.status_code == 200, token.content
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access_token']}")

    minted = api_client.post(KEYS, {"name": "from a token"})
    assert minted.status_code == 201, minted.content
    assert minted.json()["scopes"] == NARROW
    _refused(api_client.post(KEYS, {"name": "more", "scopes": ["read:leads"]}), ["read:leads"])
    # The token endpoint itself never grants more than the client was approved for.
    refused = token_request(
        Client(),
        {"grant_type": "client_credentials", "scope": "write:leads"},
        auth=basic(approved.client_id, approved.client_secret),
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"


def test_staff_and_jobs_still_grant_within_the_tier(partner):
    issued = make_api_key(partner=partner)  # a system actor: no credential to cap it
    assert set(issued.api_key.scopes) == scopes_for_tier(partner.tier)
