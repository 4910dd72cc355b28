import threading
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from careos.idempotency import idempotency_records_prune
from careos.models import IdempotencyRecord
from careos.tasks import prune_idempotency_records
from rbac.models import Clinic, User
from tests.infra import require_postgresql
from tests.kernel.views import GatedCreateView

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.kernel.urls")]

URL = "/api/test/clinics"
BODY = {"name": "North Clinic", "slug": "north"}


@pytest.fixture
def user() -> User:
    return User.objects.create_user(username="staff", password=None)


@pytest.fixture
def client(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def post(client, body=BODY, key="key-1", url=URL):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(url, body, format="json", headers=headers)


def test_first_request_runs_and_stores_the_response(client, user):
    response = post(client)
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    record = IdempotencyRecord.objects.get()
    assert (record.owner_ref, record.key, record.method, record.path) == (
        user.public_id,
        "key-1",
        "POST",
        URL,
    )
    assert record.response_status == 201
    assert record.response_body["id"] == response.json()["id"]
    assert record.response_headers == {"Location": response["Location"]}


def test_repeat_with_same_key_and_body_replays_and_creates_nothing(client):
    first = post(client)
    second = post(client)
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert second["Location"] == first["Location"]
    assert "createdAt" in second.json()
    assert Clinic.objects.count() == 1


def test_same_key_with_different_body_is_422(client):
    post(client)
    response = post(client, body={**BODY, "name": "South Clinic"})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_reused"
    assert Clinic.objects.count() == 1


def test_duplicate_while_first_is_in_flight_is_409(client, user):
    post(client, key="other")  # learn the fingerprint of BODY from a completed record
    fingerprint = IdempotencyRecord.objects.get(key="other").request_hash
    Clinic.objects.all().delete()
    IdempotencyRecord.objects.create(
        owner_ref=user.public_id, key="key-1", method="POST", path=URL, request_hash=fingerprint
    )
    response = post(client)
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert response["Retry-After"] == "1"
    assert Clinic.objects.count() == 0


def test_without_a_key_every_request_runs(client):
    assert post(client, key=None).status_code == 201
    assert post(client, key=None, body={"name": "B", "slug": "b"}).status_code == 201
    assert Clinic.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_invalid_keys_are_400(client, key):
    response = client.post(URL, BODY, format="json", headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"
    assert not Clinic.objects.exists()


def test_keys_are_scoped_to_the_owner(client, api_client):
    post(client)
    api_client.force_authenticate(User.objects.create_user(username="other", password=None))
    # Same key, another owner, another body: neither a replay nor "key reused".
    response = post(api_client, body={"name": "Other", "slug": "other"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Clinic.objects.count() == 2
    assert IdempotencyRecord.objects.filter(key="key-1").count() == 2


def test_partner_credentials_share_keys_across_users(api_client):
    token = SimpleNamespace(partner_ref="ptr_acme")
    api_client.force_authenticate(User.objects.create_user(username="a", password=None), token)
    first = post(api_client)
    api_client.force_authenticate(User.objects.create_user(username="b", password=None), token)
    second = post(api_client)
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert IdempotencyRecord.objects.get().owner_ref == "ptr_acme"


def test_view_supplied_owner_ref(api_client):
    url = "/api/test/tenant-clinics"
    headers = {"Idempotency-Key": "k", "X-Tenant": "t1"}
    first = api_client.post(url, BODY, format="json", headers=headers)
    replay = api_client.post(url, BODY, format="json", headers=headers)
    assert first.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.get().owner_ref == "t1"


def test_failed_requests_store_nothing_and_can_be_retried(client):
    invalid = post(client, body={"name": "North Clinic", "slug": "not a slug"})
    assert invalid.status_code == 400
    refused = post(client, body={"name": "refuse", "slug": "refuse"}, key="key-2")
    assert refused.status_code == 409
    assert not IdempotencyRecord.objects.exists()
    assert post(client).status_code == 201  # same key as the invalid attempt, now valid


def test_exception_in_view_releases_the_key_and_rolls_back(client):
    body = {"name": "explode", "slug": "boom"}
    assert post(client, body=body).status_code == 500
    assert not IdempotencyRecord.objects.exists()
    assert post(client, body=body).status_code == 500  # runs again, not a 409


def test_expired_key_is_treated_as_new(client, settings):
    settings.IDEMPOTENCY_KEY_TTL_SECONDS = 60
    post(client)
    Clinic.objects.all().delete()
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = post(client)
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Clinic.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_abandoned_in_flight_claim_is_given_up_after_the_timeout(client, user, settings):
    settings.IDEMPOTENCY_IN_PROGRESS_TIMEOUT_SECONDS = 30
    IdempotencyRecord.objects.create(
        owner_ref=user.public_id,
        key="key-1",
        method="POST",
        path=URL,
        request_hash="whatever",
        created_at=timezone.now() - timedelta(seconds=31),
    )
    response = post(client)
    assert response.status_code == 201
    assert IdempotencyRecord.objects.get().response_status == 201


def test_prune_deletes_only_expired_records(settings):
    settings.IDEMPOTENCY_KEY_TTL_SECONDS = 3600
    now = timezone.now()
    for index, age in enumerate([7200, 3601, 10]):
        IdempotencyRecord.objects.create(
            owner_ref="usr_x",
            key=f"k{index}",
            method="POST",
            path=URL,
            request_hash="h",
            created_at=now - timedelta(seconds=age),
        )
    assert idempotency_records_prune(now=now, batch_size=1) == 2
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k2"]


def test_prune_task_runs(settings):
    IdempotencyRecord.objects.create(
        owner_ref="usr_x",
        key="old",
        method="POST",
        path=URL,
        request_hash="h",
        created_at=timezone.now() - timedelta(days=2),
    )
    assert prune_idempotency_records.delay().get() == 1
    assert not IdempotencyRecord.objects.exists()


def test_prune_is_scheduled_in_celery_beat():
    task = PeriodicTask.objects.get(task="careos.tasks.prune_idempotency_records")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (1, "hours")


def test_schema_documents_the_header():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    parameters = schema["paths"]["/api/test/clinics"]["post"]["parameters"]
    assert {"in": "header", "name": "Idempotency-Key"}.items() <= parameters[0].items()


def in_own_connection(fn: Callable[[], Any]) -> threading.Thread:
    """Run ``fn`` in a thread, i.e. on its own autocommitting database connection."""

    def run() -> None:
        try:
            fn()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_real_concurrent_duplicate_gets_409_then_replay():
    """Two overlapping requests, each on its own connection (as in production, outside the
    test's transaction): the claim is committed before the view runs. PostgreSQL only."""
    require_postgresql()
    view = GatedCreateView
    view.entered.clear()
    view.gate.clear()
    view.runs = 0
    url = "/api/test/gated"
    headers = {"Idempotency-Key": "key-1", "X-Tenant": "tenant-concurrent"}
    responses: dict[str, Any] = {}

    def send(name: str) -> Callable[[], None]:
        def request() -> None:
            responses[name] = APIClient().post(url, BODY, format="json", headers=headers)

        return request

    first = in_own_connection(send("first"))
    try:
        assert view.entered.wait(timeout=10)
        in_own_connection(send("duplicate")).join(timeout=10)
    finally:
        view.gate.set()
        first.join(timeout=10)
    in_own_connection(send("replay")).join(timeout=10)
    in_own_connection(
        lambda: IdempotencyRecord.objects.filter(owner_ref="tenant-concurrent").delete()
    ).join(timeout=10)

    assert responses["duplicate"].status_code == 409
    assert responses["duplicate"].json()["code"] == "idempotency_in_progress"
    assert responses["first"].status_code == 201
    assert responses["replay"]["Idempotent-Replayed"] == "true"
    assert responses["replay"].json() == responses["first"].json() == {"id": "thing_1"}
    assert view.runs == 1
