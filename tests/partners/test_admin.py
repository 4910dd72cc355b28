"""The partner console: changelists, inlines, actions that call services, secrets shown once."""

import pytest
from django.contrib.messages import get_messages

from careos.actors import system_actor
from partners.models import ApiKey, Partner, PartnerApplication, PartnerUsageDaily
from partners.services import applications as app_services
from tests.partners.factories import PartnerFactory, make_api_key

pytestmark = pytest.mark.django_db


def _action(admin_client, url: str, action: str, objects, reason: str = "") -> list[str]:
    response = admin_client.post(
        url,
        {"action": action, "_selected_action": [o.pk for o in objects], "reason": reason},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)] or [
        str(m) for m in response.context["messages"]
    ]


def test_changelists_and_partner_page_render(admin_client, django_assert_max_num_queries):
    partner = PartnerFactory()
    make_api_key(partner=partner)
    PartnerUsageDaily.objects.create(partner=partner, day="2026-11-01", endpoint="GET x", calls=3)
    for _ in range(5):
        make_api_key()
    for url in (
        "/admin/partners/partner/",
        "/admin/partners/apikey/",
        "/admin/partners/partnerusagedaily/",
        "/admin/partners/partnerapplication/",
    ):
        with django_assert_max_num_queries(12):
            assert admin_client.get(url).status_code == 200
    page = admin_client.get(f"/admin/partners/partner/{partner.pk}/change/")
    assert page.status_code == 200
    assert b"GET x" in page.content


def test_generate_key_action_shows_the_secret_once(admin_client):
    partner = PartnerFactory(slug="acme")
    shown = _action(admin_client, "/admin/partners/partner/", "generate_test_key", [partner])
    secret_messages = [m for m in shown if "ck_test_" in m]
    assert len(secret_messages) == 1
    secret = secret_messages[0].rsplit(" ", 1)[1]
    key = ApiKey.objects.get(partner=partner)
    assert secret.startswith(key.prefix)
    page = admin_client.get(f"/admin/partners/apikey/{key.pk}/change/")
    assert secret.encode() not in page.content


def test_suspend_and_activate_actions(admin_client):
    active, pending = PartnerFactory(), PartnerFactory(status="pending")
    shown = _action(admin_client, "/admin/partners/partner/", "suspend", [active])
    assert any("Type a reason" in m for m in shown)
    active.refresh_from_db()
    assert active.status == Partner.Status.ACTIVE
    _action(admin_client, "/admin/partners/partner/", "suspend", [active], reason="chargebacks")
    active.refresh_from_db()
    assert active.status == Partner.Status.SUSPENDED
    assert active.status_reason.startswith("chargebacks (admin console")
    shown = _action(admin_client, "/admin/partners/partner/", "activate", [pending, active])
    pending.refresh_from_db()
    assert pending.status == Partner.Status.ACTIVE
    assert any("cannot become active" in m for m in shown)  # the suspended one is refused


def test_rotate_and_revoke_key_actions(admin_client):
    issued = make_api_key()
    shown = _action(admin_client, "/admin/partners/apikey/", "rotate", [issued.api_key])
    assert any("ck_test_" in m for m in shown)
    rotated = ApiKey.objects.get(pk=issued.api_key.pk)
    assert rotated.replaced_by is not None and rotated.expires_at is not None
    _action(admin_client, "/admin/partners/apikey/", "revoke", [rotated.replaced_by])
    assert ApiKey.objects.get(pk=rotated.replaced_by.pk).revoked_at is not None


def test_approve_and_reject_application_actions(admin_client):
    first = app_services.application_create(
        partner=PartnerFactory(),
        name="One",
        redirect_uris=["https://a.example.com/cb"],
        requested_scopes=["read:leads"],
        actor=system_actor("tests"),
    )
    second = PartnerApplication.objects.create(
        partner=first.partner, name="Two", status="submitted"
    )
    PartnerApplication.objects.filter(pk=first.pk).update(status="in_review")
    shown = _action(admin_client, "/admin/partners/partnerapplication/", "approve", [first])
    assert any("client secret shown only now" in m for m in shown)
    first.refresh_from_db()
    assert first.status == "approved" and first.oauth_client is not None
    _action(admin_client, "/admin/partners/partnerapplication/", "reject", [second], reason="no")
    second.refresh_from_db()
    assert second.status == "rejected"
