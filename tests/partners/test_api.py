"""Self-service and platform-admin endpoints: scopes, tenant isolation, bodies and rows."""

from datetime import date

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from careos.actors import system_actor
from partners.models import Partner, PartnerApplication, PartnerContact
from partners.services import applications as app_services
from partners.services.profile import agreement_create, contact_create
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")
BASE = "/api/v1/partners"


# Each self-service endpoint and the scope it needs.
SCOPED = [
    ("get", "/me", "read:partner"),
    ("get", "/me/usage", "read:partner"),
    ("get", "/me/keys", "read:partner"),
    ("post", "/me/keys", "manage:partner"),
    ("get", "/me/contacts", "read:partner"),
    ("post", "/me/contacts", "manage:partner"),
    ("get", "/me/agreements", "read:partner"),
    ("get", "/me/applications", "read:partner"),
    ("post", "/me/applications", "manage:partner"),
    ("get", "/me/oauth-clients", "read:partner"),
]


@pytest.mark.parametrize(("method", "path", "scope"), SCOPED)
def test_each_endpoint_needs_its_scope(partner_api_client, method, path, scope):
    others = ["read:leads"] if scope == "read:partner" else ["read:partner"]
    refused = getattr(partner_api_client(scopes=others), method)(f"{BASE}{path}", {})
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert refused.json()["requiredScope"] == scope
    allowed = getattr(partner_api_client(scopes=[scope]), method)(f"{BASE}{path}", {})
    assert allowed.status_code in (200, 400)  # 400: the empty body, past the scope check


def test_contacts_crud(partner_api_client):
    client = partner_api_client()
    created = client.post(
        f"{BASE}/me/contacts", {"name": "Ann", "email": "ann@example.com", "role": "technical"}
    )
    assert created.status_code == 201
    contact_id = created.json()["id"]
    assert PartnerContact.objects.get(public_id=contact_id).partner == client.partner
    changed = client.patch(f"{BASE}/me/contacts/{contact_id}", {"title": "CTO"})
    assert changed.json()["title"] == "CTO"
    assert [c["id"] for c in client.get(f"{BASE}/me/contacts").json()["results"]] == [contact_id]
    assert client.delete(f"{BASE}/me/contacts/{contact_id}").status_code == 204
    assert not PartnerContact.objects.exists()
    bad = client.post(f"{BASE}/me/contacts", {"name": "X", "email": "not-an-email"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "email"


def test_agreements_are_read_only_and_own(partner_api_client):
    client = partner_api_client()
    mine = agreement_create(
        partner=client.partner,
        version="1",
        effective_from=date(2026, 1, 1),
        referral_fee_minor=2500,
        currency="USD",
        revenue_share_bps=1000,
        actor=ACTOR,
    )
    theirs = agreement_create(
        partner=PartnerFactory(), version="1", effective_from=date(2026, 1, 1), actor=ACTOR
    )
    listed = client.get(f"{BASE}/me/agreements").json()["results"]
    assert [(a["id"], a["referralFeeMinor"], a["revenueShareBps"]) for a in listed] == [
        (mine.public_id, 2500, 1000)
    ]
    assert client.get(f"{BASE}/me/agreements/{theirs.public_id}").status_code == 404
    assert client.post(f"{BASE}/me/agreements", {}).status_code == 405


def test_application_draft_edit_submit(partner_api_client):
    client = partner_api_client()
    created = client.post(
        f"{BASE}/me/applications",
        {
            "name": "Referrals",
            "redirectUris": ["https://app.example.com/cb"],
            "requestedScopes": ["read:leads"],
        },
    )
    assert created.status_code == 201, created.content
    app_id = created.json()["id"]
    assert created.json()["status"] == "draft"
    edited = client.patch(f"{BASE}/me/applications/{app_id}", {"requestedScopes": ["admin"]})
    assert edited.status_code == 200
    refused = client.post(f"{BASE}/me/applications/{app_id}/submit")
    assert refused.status_code == 400
    assert refused.json()["code"] == "application_invalid"
    assert refused.json()["errors"][0]["field"] == "requestedScopes"
    client.patch(f"{BASE}/me/applications/{app_id}", {"requestedScopes": ["read:leads"]})
    submitted = client.post(f"{BASE}/me/applications/{app_id}/submit")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted"
    again = client.patch(f"{BASE}/me/applications/{app_id}", {"name": "x"})
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_another_partners_objects_are_404(partner_api_client):
    client = partner_api_client()
    other = PartnerFactory()
    contact = contact_create(partner=other, name="B", email="b@example.com", actor=ACTOR)
    application = app_services.application_create(partner=other, name="Theirs", actor=ACTOR)
    for response in (
        client.get(f"{BASE}/me/contacts/{contact.public_id}"),
        client.patch(f"{BASE}/me/contacts/{contact.public_id}", {"name": "hijack"}),
        client.delete(f"{BASE}/me/contacts/{contact.public_id}"),
        client.get(f"{BASE}/me/applications/{application.public_id}"),
        client.post(f"{BASE}/me/applications/{application.public_id}/submit"),
    ):
        assert response.status_code == 404
    assert PartnerContact.objects.get(pk=contact.pk).name == "B"
    assert client.get(f"{BASE}/me/contacts").json()["results"] == []


def test_oauth_client_list_and_secret_reset(partner_api_client):
    client = partner_api_client()
    application = app_services.application_create(
        partner=client.partner,
        name="Sync",
        grant_type="client-credentials",
        requested_scopes=["read:leads"],
        actor=ACTOR,
    )
    PartnerApplication.objects.filter(pk=application.pk).update(status="in_review")
    approved = app_services.application_approve(application=application, actor=ACTOR)
    listed = client.get(f"{BASE}/me/oauth-clients").json()["results"]
    assert [c["clientId"] for c in listed] == [approved.client_id]
    reset = client.post(f"{BASE}/me/oauth-clients/{listed[0]['id']}/secret")
    assert reset.status_code == 201
    new_secret = reset.json()["clientSecret"]
    old = APIClient().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        format="multipart",
        HTTP_AUTHORIZATION=_basic(approved.client_id, approved.client_secret),
    )
    assert old.status_code == 401
    new = APIClient().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        format="multipart",
        HTTP_AUTHORIZATION=_basic(approved.client_id, new_secret),
    )
    assert new.status_code == 200


def _basic(client_id: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def staff_client(django_user_model) -> APIClient:
    user = django_user_model.objects.create_user(username="ops", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="manage_partners"))
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_platform_admin_needs_staff_permission(api_client, django_user_model, partner_api_client):
    anonymous = api_client.get(f"{BASE}/admin/partners")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "credentials_missing")
    plain = django_user_model.objects.create_user(username="u", password="pw", is_staff=True)
    api_client.force_authenticate(plain)
    assert api_client.get(f"{BASE}/admin/partners").status_code == 403
    refused = partner_api_client().get(f"{BASE}/admin/partners")
    assert (refused.status_code, refused.json()["code"]) == (401, "credentials_missing")


def test_platform_admin_partner_lifecycle(staff_client):
    created = staff_client.post(
        f"{BASE}/admin/partners",
        {"name": "Acme", "slug": "acme", "partnerType": "technology_app", "tier": "pro"},
    )
    assert created.status_code == 201, created.content
    partner_id = created.json()["id"]
    assert created.json()["status"] == "pending"
    assert staff_client.post(f"{BASE}/admin/partners/{partner_id}/activate").json()["status"] == (
        "active"
    )
    no_reason = staff_client.post(f"{BASE}/admin/partners/{partner_id}/suspend", {})
    assert no_reason.status_code == 400
    suspended = staff_client.post(
        f"{BASE}/admin/partners/{partner_id}/suspend", {"reason": "abuse"}
    )
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["statusReason"] == "abuse"
    refused = staff_client.post(f"{BASE}/admin/partners/{partner_id}/activate")
    assert refused.status_code == 409
    assert staff_client.post(f"{BASE}/admin/partners/{partner_id}/explode").status_code == 404
    patched = staff_client.patch(f"{BASE}/admin/partners/{partner_id}", {"rateLimitPerMinute": 50})
    assert patched.json()["rateLimitPerMinute"] == 50
    assert Partner.objects.get(public_id=partner_id).rate_limit_per_minute == 50
    stats = staff_client.get(f"{BASE}/admin/partners/{partner_id}/statistics")
    assert stats.json()["activeApiKeys"] == 0


def test_platform_admin_reviews_applications(staff_client):
    application = app_services.application_create(
        partner=PartnerFactory(),
        name="App",
        redirect_uris=["https://app.example.com/cb"],
        requested_scopes=["read:leads"],
        actor=ACTOR,
    )
    app_services.application_submit(application=application, actor=ACTOR)
    listed = staff_client.get(f"{BASE}/admin/applications?status=submitted").json()["results"]
    assert [a["id"] for a in listed] == [application.public_id]
    url = f"{BASE}/admin/applications/{application.public_id}"
    assert staff_client.post(f"{url}/approve").status_code == 409  # not in review yet
    assert staff_client.post(f"{url}/start-review").json()["status"] == "in_review"
    approved = staff_client.post(f"{url}/approve", {"notes": "fine"})
    assert approved.status_code == 200
    assert approved.json()["clientId"]
    assert approved.json()["clientSecret"]
    assert staff_client.post(f"{url}/publish").json()["status"] == "published"
    assert staff_client.post(f"{url}/reject", {"reason": "late"}).status_code == 409
