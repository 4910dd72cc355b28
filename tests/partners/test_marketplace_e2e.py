"""End to end, through the public surfaces: a partner creates and submits a listing → staff
approve it in the console → it appears in search → a clinic admin installs it (the consent is
recorded, ``app.installed`` is delivered and verified with standardwebhooks, the app exchanges
the code for tokens) → the clinic reviews it → the trending job ranks it → the partner replies
and reads its analytics → uninstalling revokes the app's tokens and sends ``app.uninstalled``."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from oauth2_provider.models import AccessToken, RefreshToken
from standardwebhooks import Webhook

from careos.actors import system_actor
from partners.models import MarketplaceInstallation, MarketplaceListing, PlatformEvent
from partners.services.webhooks import webhook_endpoint_create
from partners.tasks import marketplace_trending_task
from rbac.models import AuditEvent, User
from tests.partners.factories import PartnerFactory
from tests.partners.marketplace_helpers import (
    clinic_with_admin,
    published_application,
    signed_in,
)
from tests.partners.oauth_flows import REDIRECT, basic, pkce, token_request

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")


def test_listing_to_uninstall(
    partner_api_client, api_client, receiver, webhook_settings, django_capture_on_commit_callbacks
):
    partner = PartnerFactory()
    partner_client = partner_api_client(partner=partner, scopes=["manage:marketplace"])
    application, approved = published_application(partner=partner)
    endpoint = webhook_endpoint_create(
        partner=partner,
        url=receiver.url("/hook"),
        actor=ACTOR,
        event_types=["app.installed", "app.uninstalled"],
    )

    # The partner creates and submits its listing.
    response = partner_client.post(
        "/api/v1/marketplace/partner/listings",
        {
            "applicationId": application.public_id,
            "name": "Acme Scheduler",
            "tagline": "Appointment calendar sync",
            "description": "Keeps **every** calendar in sync.",
            "categories": ["scheduling"],
            "pricingModel": "subscription",
            "scopes": ["read:leads"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    listing_id = response.json()["id"]
    response = partner_client.post(f"/api/v1/marketplace/partner/listings/{listing_id}/submit")
    assert response.json()["status"] == "in_review"
    assert (
        api_client.get("/api/v1/marketplace/listings", {"q": "scheduler"}).json()["results"] == []
    )

    # Staff approve it in the console; it shows in search.
    staff = User.objects.create_superuser(username="staff", password="pw")
    listing = MarketplaceListing.objects.get(public_id=listing_id)
    signed_in(staff).post(
        "/admin/partners/marketplacelisting/",
        {"action": "approve", "_selected_action": [listing.pk]},
    )
    found = api_client.get("/api/v1/marketplace/listings", {"q": "scheduler"}).json()["results"]
    assert [item["id"] for item in found] == [listing_id]

    # A clinic admin installs it: consent recorded, code for the app, app.installed delivered.
    clinic, admin = clinic_with_admin()
    browser = signed_in(admin)
    verifier, challenge = pkce()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            "/api/v1/marketplace/installations",
            {
                "listingId": listing_id,
                "clinicId": clinic.public_id,
                "state": "st-1",
                "codeChallenge": challenge,
            },
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    installation = MarketplaceInstallation.objects.get(public_id=body["installation"]["id"])
    assert (installation.clinic, installation.installed_by) == (clinic, admin)
    assert installation.scopes == ["read:leads"]
    assert AuditEvent.objects.filter(
        action="partner.marketplace.installed", clinic=clinic, actor_user_id=admin.pk
    ).exists()
    redirect = urlsplit(body["redirectTo"])
    assert f"{redirect.scheme}://{redirect.netloc}{redirect.path}" == REDIRECT
    query = {k: v[0] for k, v in parse_qs(redirect.query).items()}
    assert query["state"] == "st-1"

    [delivered] = receiver.on("/hook")
    event = Webhook(endpoint.secret).verify(delivered.body, delivered.headers)
    assert event["type"] == "app.installed"
    assert event["data"] == {
        "installationId": installation.public_id,
        "listingId": listing_id,
        "applicationId": application.public_id,
        "clinicId": clinic.public_id,
        "scopes": ["read:leads"],
        "installedAt": installation.installed_at.isoformat().replace("+00:00", "Z"),
    }

    # The app exchanges the code; its token works on the partner API.
    response = token_request(
        Client(),
        {
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=basic(approved.client_id, approved.client_secret),
    )
    assert response.status_code == 200, response.content
    tokens = response.json()
    assert tokens["scope"] == "read:leads"
    response = token_request(
        Client(),
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=basic(approved.client_id, approved.client_secret),
    )
    assert response.status_code == 200, response.content
    refreshed = response.json()
    assert AccessToken.objects.filter(application__client_id=approved.client_id).count() == 1

    # The clinic reviews it; the trending job ranks it.
    response = browser.put(
        f"/api/v1/marketplace/listings/{listing_id}/my-review",
        {"clinicId": clinic.public_id, "rating": 4, "body": "Works well."},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    review_id = response.json()["id"]
    assert marketplace_trending_task.delay().get() == 1
    trending = api_client.get("/api/v1/marketplace/trending").json()["results"]
    assert [item["id"] for item in trending] == [listing_id]
    detail = api_client.get(f"/api/v1/marketplace/listings/{listing_id}").json()
    assert (detail["ratingAverage"], detail["ratingCount"], detail["installCount"]) == (4.0, 1, 1)

    # The partner replies and reads its analytics.
    response = partner_client.post(
        f"/api/v1/marketplace/partner/reviews/{review_id}/reply",
        {"body": "Thank you!"},
        format="json",
    )
    assert response.status_code == 200
    analytics = partner_client.get(
        f"/api/v1/marketplace/partner/listings/{listing_id}/analytics"
    ).json()
    assert (analytics["installs"], analytics["activeInstalls"], analytics["views"]) == (1, 1, 1)
    assert analytics["days"][-1]["ratingAverage"] == 4.0

    # Uninstalling revokes the app's tokens for the clinic and tells the partner.
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.delete(f"/api/v1/marketplace/installations/{installation.public_id}")
    assert response.status_code == 200
    assert response.json()["status"] == "uninstalled"
    assert not AccessToken.objects.filter(application__client_id=approved.client_id).exists()
    assert not RefreshToken.objects.filter(
        application__client_id=approved.client_id, revoked__isnull=True
    ).exists()
    response = Client().get(
        "/api/v1/partners/me", HTTP_AUTHORIZATION=f"Bearer {refreshed['access_token']}"
    )
    assert response.status_code == 401
    uninstalled = Webhook(endpoint.secret).verify(
        receiver.on("/hook")[1].body, receiver.on("/hook")[1].headers
    )
    assert uninstalled["type"] == "app.uninstalled"
    assert uninstalled["data"]["installationId"] == installation.public_id
    assert sorted(
        PlatformEvent.objects.filter(
            owner=partner, event_type__name__startswith="app."
        ).values_list("event_type__name", flat=True)
    ) == ["app.installed", "app.uninstalled"]
    analytics = partner_client.get(
        f"/api/v1/marketplace/partner/listings/{listing_id}/analytics"
    ).json()
    assert (analytics["uninstalls"], analytics["activeInstalls"]) == (1, 0)
