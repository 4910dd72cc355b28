from collections.abc import Iterator
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.clock import SteppedClock, stepped_clock
from tests.infra import Broker


@pytest.fixture(autouse=True)
def _demo_credentials_in_tmp(settings, tmp_path: Path) -> Path:
    """Keep tests (demo modules, seed_demo) off the developer's var/demo-credentials.json."""
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    return settings.DEMO_CREDENTIALS_FILE


@pytest.fixture(autouse=True)
def django_db_serialized_rollback() -> None:
    """Every transactional test restores the rows data migrations seeded (role templates, event
    types, message templates, beat schedules) instead of leaving the next test an empty table:
    a transactional test ends with a flush."""


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def clock() -> Iterator[SteppedClock]:
    """Wall and monotonic clocks frozen now, moved only by the test thread's sleeps."""
    with stepped_clock() as frozen:
        yield frozen


@pytest.fixture
def broker() -> Iterator[Broker]:
    """``broker.down()`` points Celery at a closed port; the broker is back after the test."""
    controller = Broker()
    try:
        yield controller
    finally:
        controller.up()


from tests.partners.fixtures import (  # noqa: E402, F401
    partner,
    partner_api_client,
    partner_rate_limit_isolation,
)
