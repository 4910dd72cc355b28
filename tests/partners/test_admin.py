"""The partner console: changelists, inlines, actions that call services, secrets shown once."""

import re
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

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
    PartnerUsageDaily.objects.create(
        partner=partner, day=timezone.localdate() - timedelta(days=1), endpoint="GET x", calls=3
    )
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


def _usage(partner: Partner, *, days: int, endpoints: int) -> None:
    """A row per endpoint per day for the ``days`` days up to today (UTC)."""
    newest = timezone.now().date()
    PartnerUsageDaily.objects.bulk_create(
        PartnerUsageDaily(
            partner=partner,
            day=newest - timedelta(days=age),
            endpoint=f"GET api/v1/e{endpoint}",
            calls=10,
        )
        for age in range(days)
        for endpoint in range(endpoints)
    )


def _partner_page(admin_client, partner: Partner) -> tuple[int, int, str]:
    """(queries, usage rows shown, page) of the partner's change page, loaded with the
    process's content-type cache empty: its queries do not depend on what ran before."""
    ContentType.objects.clear_cache()
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(f"/admin/partners/partner/{partner.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    shown = re.search(r'name="usage_days-TOTAL_FORMS" value="(\d+)"', html)
    assert shown is not None
    return len(queries), int(shown.group(1)), html


def test_partner_page_shows_recent_usage_only_whatever_the_history(admin_client):
    recent = PartnerFactory()
    _usage(recent, days=3, endpoints=2)
    veteran = PartnerFactory()
    _usage(veteran, days=3 * 365, endpoints=2)  # three years of daily rows

    recent_queries, recent_rows, _ = _partner_page(admin_client, recent)
    veteran_queries, veteran_rows, html = _partner_page(admin_client, veteran)

    assert recent_rows == 6
    assert veteran_rows == 30 * 2  # the last 30 days, not 2,190 rows
    assert veteran_queries == recent_queries
    today = timezone.now().date()
    assert date_format(today) in html
    oldest_shown = today - timedelta(days=29)
    assert date_format(oldest_shown) in html
    assert date_format(oldest_shown - timedelta(days=1)) not in html
    link = f"/admin/partners/partnerusagedaily/?partner__id__exact={veteran.pk}"
    assert f'href="{link}"' in html
    changelist = admin_client.get(link)
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == 3 * 365 * 2
    assert recent.name not in changelist.content.decode()


def test_partner_page_caps_rows_of_a_partner_calling_many_endpoints(admin_client):
    partner = PartnerFactory()
    _usage(partner, days=5, endpoints=60)  # 300 rows in the window
    _, rows, html = _partner_page(admin_client, partner)
    assert rows == 200
    assert "200 rows at most" in html


def test_saving_a_partner_with_usage_keeps_its_usage(admin_client):
    partner = PartnerFactory()
    _usage(partner, days=40, endpoints=1)
    page = admin_client.get(f"/admin/partners/partner/{partner.pk}/change/")
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    for inline in page.context["inline_admin_formsets"]:  # what the browser posts back
        management = inline.formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
        for form in inline.formset.forms:
            data.update({form.add_prefix(k): v for k, v in form.initial.items() if v is not None})
    data["description"] = "Renamed description"
    response = admin_client.post(f"/admin/partners/partner/{partner.pk}/change/", data)
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.description == "Renamed description"
    assert PartnerUsageDaily.objects.filter(partner=partner).count() == 40
