import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


from tests.partners.fixtures import (  # noqa: E402, F401
    partner,
    partner_api_client,
    partner_rate_limit_isolation,
)
