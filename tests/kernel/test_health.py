from collections.abc import Iterator

import pytest

from careos.celery import app as celery_app

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def broker_down() -> Iterator[None]:
    saved = celery_app.conf.broker_url
    celery_app.conf.broker_url = UNREACHABLE_BROKER
    try:
        yield
    finally:
        celery_app.conf.broker_url = saved


def test_healthz_is_ok_without_touching_dependencies(api_client, broker_down):
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_ok_when_database_and_broker_are_reachable(api_client):
    response = api_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "ok"},
    }


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_down(api_client, broker_down):
    response = api_client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "broker": "unreachable"},
    }
