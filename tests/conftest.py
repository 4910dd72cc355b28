from pathlib import Path

import pytest
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _demo_credentials_in_tmp(settings, tmp_path: Path) -> Path:
    """Keep tests (demo modules, seed_demo) off the developer's var/demo-credentials.json."""
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    return settings.DEMO_CREDENTIALS_FILE


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


from tests.partners.fixtures import (  # noqa: E402, F401
    partner,
    partner_api_client,
    partner_rate_limit_isolation,
)
