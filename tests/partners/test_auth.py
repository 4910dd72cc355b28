"""The partner authentication matrix, through the HTTP API."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from careos.actors import system_actor
from partners.models import ApiKey, Partner
from partners.services.credentials import api_key_revoke, api_key_rotate
from partners.services.lifecycle import partner_reactivate, partner_suspend
from rbac.models import AuditEvent
from tests.partners.factories import PartnerFactory, make_api_key

pytestmark = pytest.mark.django_db

ME = "/api/v1/partners/me"


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    return body


def test_no_credential_is_credentials_missing(api_client):
    response = api_client.get(ME)
    _problem(response, 401, "credentials_missing")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_api_key_in_x_api_key_header(partner_api_client):
    client = partner_api_client()
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["id"] == client.partner.public_id
    assert response.json()["slug"] == client.partner.slug


def test_api_key_as_bearer(api_client):
    issued = make_api_key()
    response = api_client.get(ME, HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert response.status_code == 200
    assert response.json()["id"] == issued.api_key.partner.public_id


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_API_KEY": "ck_live_doesnotexist0000000000000000000000000"},
        {"HTTP_AUTHORIZATION": "Bearer ck_test_nope"},
        {"HTTP_AUTHORIZATION": "Bearer some-unknown-oauth-token"},
    ],
)
def test_unknown_credential_is_credentials_invalid(api_client, header):
    _problem(api_client.get(ME, **header), 401, "credentials_invalid")


def test_key_is_stored_only_as_hash():
    issued = make_api_key(environment="live")
    assert issued.secret.startswith("ck_live_")
    assert issued.api_key.prefix == issued.secret[:16]
    row = ApiKey.objects.get(pk=issued.api_key.pk)
    assert issued.secret not in row.key_hash
    assert len(row.key_hash) == 64
    assert AuditEvent.objects.filter(
        action="partner.api_key.created", target_ref=row.public_id
    ).exists()


def test_revocation_is_immediate(partner_api_client):
    client = partner_api_client()
    assert client.get(ME).status_code == 200
    api_key_revoke(api_key=client.api_key, actor=system_actor("tests"), reason="leaked")
    _problem(client.get(ME), 401, "credentials_invalid")


def test_expired_key_is_credentials_expired(partner_api_client):
    client = partner_api_client()
    ApiKey.objects.filter(pk=client.api_key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    _problem(client.get(ME), 401, "credentials_expired")


def test_rotation_grace_then_expiry(partner_api_client, api_client, settings):
    settings.PARTNER_API_KEY_ROTATION_GRACE_SECONDS = 3600
    client = partner_api_client()
    issued = api_key_rotate(api_key=client.api_key, actor=system_actor("tests"))
    assert issued.secret != client.key
    assert issued.api_key.scopes == client.api_key.scopes
    api_client.credentials(HTTP_X_API_KEY=issued.secret)
    # Both keys work during the grace period.
    assert client.get(ME).status_code == 200
    assert api_client.get(ME).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=3601)):
        _problem(client.get(ME), 401, "credentials_expired")
        assert api_client.get(ME).status_code == 200


def test_suspension_takes_effect_on_next_call(partner_api_client):
    client = partner_api_client()
    assert client.get(ME).status_code == 200
    partner_suspend(partner=client.partner, reason="unpaid", actor=system_actor("tests"))
    _problem(client.get(ME), 403, "partner_suspended")
    partner_reactivate(partner=client.partner, actor=system_actor("tests"))
    assert client.get(ME).status_code == 200


@pytest.mark.parametrize("status", [Partner.Status.PENDING, Partner.Status.TERMINATED])
def test_inactive_partner_is_refused(partner_api_client, status):
    client = partner_api_client()
    Partner.objects.filter(pk=client.partner.pk).update(status=status)
    _problem(client.get(ME), 403, "partner_inactive")


def test_x_platform_must_match_partner(partner_api_client):
    partner = PartnerFactory(slug="acme")
    assert partner_api_client(partner=partner, platform="acme").get(ME).status_code == 200
    _problem(
        partner_api_client(partner=partner, platform="other").get(ME), 403, "platform_mismatch"
    )


def test_missing_scope_names_the_scope(partner_api_client):
    client = partner_api_client(scopes=["read:leads"])
    body = _problem(client.get(ME), 403, "insufficient_scope")
    assert body["requiredScope"] == "read:partner"
    assert "read:partner" in body["detail"]


def test_session_user_is_not_a_partner(api_client, django_user_model):
    user = django_user_model.objects.create_user(username="staff", password="x", is_staff=True)
    api_client.force_login(user)
    _problem(api_client.get(ME), 401, "credentials_missing")


def test_ping_answers_with_and_without_credential(api_client, partner_api_client):
    assert api_client.get("/api/v1/partners/ping").json() == {"pong": True, "partner": None}
    client = partner_api_client()
    assert client.get("/api/v1/partners/ping").json() == {
        "pong": True,
        "partner": client.partner.public_id,
    }


def test_a_known_key_costs_no_query_and_changes_are_seen_at_once(
    partner_api_client, django_assert_num_queries
):
    client = partner_api_client()
    assert client.get("/api/v1/partners/ping").status_code == 200
    with django_assert_num_queries(0):
        assert client.get("/api/v1/partners/ping").json()["partner"] == client.partner.public_id
    # A change made elsewhere (here: a direct save, as another process would) is seen next call.
    client.partner.status = Partner.Status.SUSPENDED
    client.partner.save(update_fields=["status"])
    _problem(client.get("/api/v1/partners/ping"), 403, "partner_suspended")
