"""Self-service API keys: create (secret once), list, rotate, revoke, tenant isolation."""

import pytest

from partners.models import ApiKey
from tests.partners.factories import make_api_key

pytestmark = pytest.mark.django_db

KEYS = "/api/v1/partners/me/keys"


def test_create_shows_the_key_once_and_it_works(partner_api_client, api_client):
    client = partner_api_client()
    response = client.post(
        KEYS, {"name": "CRM sync", "environment": "live", "scopes": ["read:leads"]}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["key"].startswith("ck_live_")
    assert body["scopes"] == ["read:leads"]
    assert body["status"] == "active"
    row = ApiKey.objects.get(public_id=body["id"])
    assert row.partner == client.partner
    assert body["key"].startswith(row.prefix)
    listed = client.get(KEYS).json()["results"]
    assert {item["id"] for item in listed} == {client.api_key.public_id, body["id"]}
    assert all("key" not in item for item in listed)
    api_client.credentials(HTTP_X_API_KEY=body["key"])
    assert api_client.get("/api/v1/partners/ping").json()["partner"] == client.partner.public_id


def test_create_without_scopes_gets_the_tier_scopes(partner_api_client):
    body = partner_api_client().post(KEYS, {"name": "all"}).json()
    assert "write:leads" in body["scopes"]
    assert "admin" not in body["scopes"]
    assert "write:connections" not in body["scopes"]  # not in the basic tier


@pytest.mark.parametrize("scopes", [["admin"], ["write:connections"]])
def test_create_refuses_scopes_beyond_the_tier(partner_api_client, scopes):
    response = partner_api_client().post(KEYS, {"name": "x", "scopes": scopes})
    assert response.status_code == 400
    assert response.json()["code"] == "scope_not_allowed"


def test_create_refuses_unknown_scope_and_bad_environment(partner_api_client):
    response = partner_api_client().post(
        KEYS, {"name": "x", "environment": "prod", "scopes": ["read:everything"]}
    )
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"environment", "scopes.0"}


def test_create_refuses_an_expiry_in_the_past(partner_api_client):
    client = partner_api_client()
    before = ApiKey.objects.count()
    response = client.post(KEYS, {"name": "x", "expiresAt": "2000-01-01T00:00:00Z"})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["field"]) == ("invalid_expiry", "expiresAt")
    assert ApiKey.objects.count() == before
    later = client.post(KEYS, {"name": "y", "expiresAt": "2999-01-01T00:00:00Z"})
    assert later.status_code == 201


def test_create_needs_manage_scope(partner_api_client):
    response = partner_api_client(scopes=["read:partner"]).post(KEYS, {"name": "x"})
    assert response.status_code == 403
    assert response.json()["requiredScope"] == "manage:partner"


def test_rotate_returns_a_new_key_and_keeps_the_old_one_for_the_grace(partner_api_client):
    client = partner_api_client()
    response = client.post(f"{KEYS}/{client.api_key.public_id}/rotate")
    assert response.status_code == 201
    new_key = response.json()["key"]
    assert new_key != client.key
    old = client.get(f"{KEYS}/{client.api_key.public_id}").json()
    assert old["replacedBy"] == response.json()["id"]
    assert old["expiresAt"] is not None
    again = client.post(f"{KEYS}/{client.api_key.public_id}/rotate")
    assert again.status_code == 409


def test_revoke_is_immediate_and_audited(partner_api_client):
    client = partner_api_client()
    other = make_api_key(partner=client.partner)
    response = client.post(f"{KEYS}/{other.api_key.public_id}/revoke", {"reason": "leaked"})
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    client.credentials(HTTP_X_API_KEY=other.secret)
    assert client.get("/api/v1/partners/me").json()["code"] == "credentials_invalid"


def test_another_partners_key_is_404(partner_api_client):
    mine = partner_api_client()
    theirs = make_api_key()
    for response in (
        mine.get(f"{KEYS}/{theirs.api_key.public_id}"),
        mine.post(f"{KEYS}/{theirs.api_key.public_id}/rotate"),
        mine.post(f"{KEYS}/{theirs.api_key.public_id}/revoke"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert ApiKey.objects.get(pk=theirs.api_key.pk).revoked_at is None
