"""POST /o/token/ with a grant the platform does not offer: RFC 6749 §5.2 ``unsupported_grant_type``
(django-oauth-toolkit would try the device-code grant and fail with a 500), nothing issued."""

import base64

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken, RefreshToken

from careos.actors import system_actor
from partners.models import PartnerApplication
from partners.services import applications as apps
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def approved() -> apps.ApprovedApplication:
    application = apps.application_create(
        partner=PartnerFactory(),
        name="App",
        client_type="confidential",
        grant_type="client-credentials",
        redirect_uris=[],
        requested_scopes=["read:partner"],
        actor=ACTOR,
    )
    PartnerApplication.objects.filter(pk=application.pk).update(status="in_review")
    return apps.application_approve(application=application, actor=ACTOR)


def _basic(approved: apps.ApprovedApplication) -> str:
    pair = f"{approved.client_id}:{approved.client_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode()


@pytest.mark.parametrize(
    "data",
    [
        {"grant_type": DEVICE_CODE},
        {"grant_type": DEVICE_CODE, "device_code": "dev_123"},
        {"grant_type": "password", "username": "owner", "password": "pw"},
        {"grant_type": "foo"},
    ],
    ids=["device-code", "device-code-with-code", "password", "unknown"],
)
@pytest.mark.parametrize("authenticated", [True, False], ids=["client", "anonymous"])
def test_a_grant_the_platform_does_not_offer_is_unsupported_grant_type(
    approved, data, authenticated
):
    headers = {"HTTP_AUTHORIZATION": _basic(approved)} if authenticated else {}
    if not authenticated:
        data = {**data, "client_id": approved.client_id}
    response = Client().post("/o/token/", data, **headers)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {"error": "unsupported_grant_type"}
    assert not AccessToken.objects.exists() and not RefreshToken.objects.exists()


def test_an_offered_grant_still_issues_a_token(approved):
    response = Client().post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=_basic(approved)
    )
    assert response.status_code == 200, response.content
    assert AccessToken.objects.count() == 1
