"""The OAuth endpoints answer as the RFCs say: client authentication failures (RFC 6749 §5.2,
RFC 7662 §2.3), a missing grant_type, authorization code replay (RFC 6749 §4.1.2)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import time_machine
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from partners.models import RedeemedAuthorizationCode
from partners.services.oauth_codes import (
    AuthorizationCodeAlreadyRedeemed,
    authorization_code_redeem,
    authorization_codes_prune,
)
from partners.tasks import oauth_codes_prune_task
from rbac.models import AuditEvent
from tests.clients import SignedInClient
from tests.infra import require_postgresql
from tests.partners.oauth_flows import (
    REDIRECT,
    approved_client,
    authorize,
    basic,
    code_exchange,
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


def _assert_client_challenge(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == 'Basic realm="CareOS", charset="UTF-8"'
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json()["error"] == "invalid_client"


# --- introspection (RFC 7662 §2.3) --------------------------------------------------------


def test_introspection_without_credentials_is_a_401_basic_challenge():
    _assert_client_challenge(Client().post("/o/introspect/", {"token": "anything"}))


def test_introspection_with_a_wrong_secret_is_a_401_basic_challenge():
    approved = approved_client(grant_type="client-credentials")
    basic_auth = SignedInClient().post(
        "/o/introspect/",
        {"token": "anything"},
        HTTP_AUTHORIZATION=basic(approved.client_id, "wrong"),
    )
    _assert_client_challenge(basic_auth)
    in_body = SignedInClient().post(
        "/o/introspect/",
        {"token": "anything", "client_id": approved.client_id, "client_secret": "wrong"},
    )
    _assert_client_challenge(in_body)


def test_introspection_with_a_bearer_token_answers_a_bearer_challenge():
    approved = approved_client(grant_type="client-credentials")
    access = token_request(
        Client(),
        {"grant_type": "client_credentials"},
        auth=basic(approved.client_id, approved.client_secret),
    ).json()["access_token"]
    # A partner's token never carries DOT's "introspection" scope (it is not in the catalog).
    valid = SignedInClient().post(
        "/o/introspect/", {"token": access}, HTTP_AUTHORIZATION=f"Bearer {access}"
    )
    assert valid.status_code == 401
    assert valid["WWW-Authenticate"] == 'Bearer realm="CareOS", error="insufficient_scope"'
    assert valid.json()["error"] == "insufficient_scope"
    unknown = SignedInClient().post(
        "/o/introspect/", {"token": access}, HTTP_AUTHORIZATION="Bearer nope"
    )
    assert unknown.status_code == 401
    assert unknown["WWW-Authenticate"] == 'Bearer realm="CareOS", error="invalid_token"'


# --- invalid_client at the token and revocation endpoints (RFC 6749 §5.2) -----------------


def test_invalid_client_with_basic_auth_is_challenged_with_basic():
    approved = approved_client(grant_type="client-credentials")
    response = token_request(
        Client(), {"grant_type": "client_credentials"}, auth=basic(approved.client_id, "nope")
    )
    _assert_client_challenge(response)
    assert "Bearer" not in response["WWW-Authenticate"]


def test_invalid_client_with_client_secret_post_names_the_basic_scheme():
    approved = approved_client(grant_type="client-credentials")
    response = token_request(
        Client(),
        {
            "grant_type": "client_credentials",
            "client_id": approved.client_id,
            "client_secret": "nope",
        },
    )
    _assert_client_challenge(response)


def test_unknown_client_id_is_invalid_client():
    response = token_request(
        Client(), {"grant_type": "client_credentials", "client_id": "no-such-client"}
    )
    _assert_client_challenge(response)


def test_revocation_with_a_wrong_secret_is_a_401_basic_challenge():
    approved = approved_client(grant_type="client-credentials")
    response = SignedInClient().post(
        "/o/revoke_token/",
        {"token": "anything"},
        HTTP_AUTHORIZATION=basic(approved.client_id, "nope"),
    )
    _assert_client_challenge(response)


# --- missing grant_type --------------------------------------------------------------------


@pytest.mark.parametrize("data", [{}, {"grant_type": ""}, {"scope": "read:partner"}])
def test_missing_grant_type_is_invalid_request(data):
    approved = approved_client(grant_type="client-credentials")
    response = token_request(Client(), data, auth=basic(approved.client_id, approved.client_secret))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Missing grant_type parameter.",
    }


def test_an_unknown_grant_type_is_still_unsupported_grant_type():
    approved = approved_client(grant_type="client-credentials")
    response = token_request(
        Client(), {"grant_type": "magic"}, auth=basic(approved.client_id, approved.client_secret)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


# --- authorization code replay (RFC 6749 §4.1.2) -------------------------------------------


def _exchange_again(approved, tokens: dict):  # type: ignore[no-untyped-def]
    return token_request(
        Client(),
        {
            "grant_type": "authorization_code",
            "code": tokens["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": tokens["code_verifier"],
        },
        auth=basic(approved.client_id, approved.client_secret),
    )


def test_a_redeemed_code_is_recorded_by_hash_with_its_tokens(browser):
    approved = approved_client()
    tokens = code_exchange(browser, approved, scope="read:partner")
    record = RedeemedAuthorizationCode.objects.get()
    assert tokens["code"] not in record.code_hash
    assert record.application.client_id == approved.client_id
    assert record.access_token == AccessToken.objects.get()
    assert record.token_family == RefreshToken.objects.get().token_family
    assert record.replayed_at is None
    assert not Grant.objects.exists()  # consumed with the tokens


def test_replaying_a_code_revokes_every_token_issued_from_it(browser, api_client):
    approved = approved_client()
    auth = basic(approved.client_id, approved.client_secret)
    tokens = code_exchange(browser, approved, scope="read:partner")
    # The session goes on: the refresh token is rotated once.
    refreshed = token_request(
        Client(),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=auth,
    ).json()
    # Another session of the same client, from another code, is left alone.
    other = code_exchange(browser, approved, scope="read:partner")

    replay = _exchange_again(approved, tokens)
    assert replay.status_code == 400
    assert replay["Content-Type"] == "application/json"
    assert replay.json()["error"] == "invalid_grant"

    for access in (tokens["access_token"], refreshed["access_token"]):
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        assert api_client.get(ME).json()["code"] == "credentials_invalid"
    dead = token_request(
        Client(),
        {"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
        auth=auth,
    )
    assert dead.json()["error"] == "invalid_grant"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {other['access_token']}")
    assert api_client.get(ME).status_code == 200

    record = RedeemedAuthorizationCode.objects.get(access_token=None, replayed_at__isnull=False)
    event = AuditEvent.objects.get(action="partner.oauth_client.code_replayed")
    assert event.target_ref == approved.client_id
    assert event.actor_kind == "partner"
    assert event.partner_ref == approved.application.partner.public_id
    assert event.metadata["firstReplay"] is True
    assert event.metadata["redeemedAt"] == record.redeemed_at.isoformat()


def test_a_public_client_replaying_its_code_loses_its_tokens(browser, api_client):
    approved = approved_client(client_type="public")
    verifier, challenge = pkce()
    query = authorize(browser, approved.client_id, challenge=challenge, scope="read:partner")
    data = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": REDIRECT,
        "client_id": approved.client_id,
        "code_verifier": verifier,
    }
    first = token_request(Client(), data)
    assert first.status_code == 200
    assert token_request(Client(), data).json()["error"] == "invalid_grant"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {first.json()['access_token']}")
    assert api_client.get(ME).json()["code"] == "credentials_invalid"


def test_a_code_never_issued_revokes_nothing(browser, api_client):
    approved = approved_client()
    tokens = code_exchange(browser, approved, scope="read:partner")
    unknown = _exchange_again(approved, tokens | {"code": "never-issued"})
    assert unknown.json()["error"] == "invalid_grant"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert api_client.get(ME).status_code == 200
    assert not AuditEvent.objects.filter(action="partner.oauth_client.code_replayed").exists()


def test_a_code_consumed_by_another_request_cannot_be_redeemed_again(browser):
    """The service behind the race below: the second redemption finds the code gone."""
    approved = approved_client()
    tokens = code_exchange(browser, approved, scope="read:partner")
    with pytest.raises(AuthorizationCodeAlreadyRedeemed):
        authorization_code_redeem(
            code=tokens["code"],
            application=approved.application.oauth_client.application,
            access_token=tokens["access_token"],
        )
    assert RedeemedAuthorizationCode.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_exchanges_of_one_code_leave_no_usable_token(live_server, django_user_model):
    """Requests racing with one code may all pass validation before one consumes it: that one
    gets tokens, the others are refused and revoke them, as replays (a few rounds, so the race
    lands in its different windows)."""
    require_postgresql()
    django_user_model.objects.create_user(username="owner", password="pw")
    browser = SignedInClient()
    browser.login(username="owner", password="pw")
    approved = approved_client()

    def exchange(data: dict) -> requests.Response:
        return requests.post(
            f"{live_server.url}/o/token/",
            data=data,
            auth=(approved.client_id, approved.client_secret),
            timeout=30,
        )

    for _ in range(4):
        verifier, challenge = pkce()
        query = authorize(browser, approved.client_id, challenge=challenge, scope="read:partner")
        data = {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        }
        with ThreadPoolExecutor(max_workers=3) as pool:
            responses = list(pool.map(exchange, [data] * 3))
        assert sorted(r.status_code for r in responses) == [200, 400, 400], [
            r.text[:200] for r in responses
        ]
        for refused in (r for r in responses if r.status_code == 400):
            assert refused.headers["Content-Type"] == "application/json"
            assert refused.json()["error"] == "invalid_grant"
        assert not AccessToken.objects.exists()
        assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_redeemed_codes_are_forgotten_once_their_tokens_are_unusable(browser):
    approved = approved_client()
    code_exchange(browser, approved, scope="read:partner")
    assert authorization_codes_prune() == 0
    access = AccessToken.objects.get()
    # The access token has expired but its refresh token still works: kept.
    assert authorization_codes_prune(now=access.expires + timedelta(seconds=1)) == 0
    # The refresh token has outlived its lifetime (30 days after the access token's expiry).
    later = access.expires + timedelta(days=30, seconds=1)
    with time_machine.travel(later):
        assert authorization_codes_prune() == 1
    assert not RedeemedAuthorizationCode.objects.exists()


def test_a_replayed_code_is_forgotten_once_its_first_access_token_expires(browser):
    approved = approved_client()
    tokens = code_exchange(browser, approved, scope="read:partner")
    _exchange_again(approved, tokens)
    # Every token is revoked: nothing is left to protect.
    assert authorization_codes_prune() == 1


def test_the_prune_runs_hourly_from_beat(browser):
    periodic = PeriodicTask.objects.get(task="partners.oauth_codes_prune")
    assert periodic.enabled
    assert (periodic.interval.every, periodic.interval.period) == (3600, "seconds")
    assert oauth_codes_prune_task.name == periodic.task
    code_exchange(browser, approved_client(), scope="read:partner")
    AccessToken.objects.all().delete()  # revoked: nothing issued from the code is usable
    RefreshToken.objects.update(revoked=timezone.now())
    assert oauth_codes_prune_task.delay().get() == 1
