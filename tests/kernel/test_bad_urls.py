"""No URL answers 500 (issue 12): a forged pagination cursor is 400 invalid_cursor on every
list; a NUL byte is 404 in the path and 400 in the query string (PostgreSQL refuses it)."""

import base64
from typing import Any

import pytest
from rest_framework.test import APIClient

from partners.models import Partner
from partners.scopes import scopes_for_tier
from tests.clients import SignedInAPIClient
from tests.kernel.bad_input import api_schema, assert_problem, concrete, rows
from tests.kernel.parents import (
    catalogue_clinic_id,
    marketplace_listing_id,
    payment_id_for_superuser,
    webhook_message_id_for,
)
from tests.partners.factories import PartnerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.kernel.urls")]


# --- forged pagination cursors: 400 invalid_cursor on every list -----------------------------


def _cursor(text: bytes) -> str:
    return base64.b64encode(text).decode()


FORGED_CURSORS = {
    "base64-of-garbage": _cursor(b"garbage"),
    "binary": _cursor(b"\xff\xfe\x00garbage"),
    "not-base64": "%%%not-base64",
    "unknown-field": _cursor(b"x=1"),
    "bad-position": _cursor(b"p=yesterday"),
    "nul-position": _cursor(b"p=%00"),
    "negative-offset": _cursor(b"o=-1"),
    "bad-reverse": _cursor(b"r=2"),
    "repeated-field": _cursor(b"o=1&o=2"),
}


@pytest.fixture
def list_clients(django_user_model, partner_api_client) -> list[APIClient]:
    """A platform superuser (session) and an enterprise partner with every scope: between them
    they may read every list."""
    staff = SignedInAPIClient()
    staff.force_authenticate(
        django_user_model.objects.create_superuser(username="lists", password="pw")
    )
    partner = partner_api_client(
        partner=PartnerFactory(tier=Partner.Tier.ENTERPRISE),
        scopes=sorted(scopes_for_tier(Partner.Tier.ENTERPRISE)),
    )
    return [staff, partner]


def _list_paths(schema: dict[str, Any]) -> list[str]:
    return [
        path
        for path, operations in schema["paths"].items()
        if any(p["name"] == "cursor" for p in operations.get("get", {}).get("parameters", []))
    ]


def _parents(list_clients: list[APIClient]) -> dict[str, str]:
    """Real parents for the nested lists (an unknown parent is a 404 before any paging)."""
    _staff, partner = list_clients
    return {
        "/api/v1/payments/payments/{payment_id}/refunds": payment_id_for_superuser(),
        "/api/v1/payments/clinics/{clinic_id}/services": catalogue_clinic_id(),
        "/api/v1/webhooks/messages/{message_id}/attempts": webhook_message_id_for(
            partner.partner  # type: ignore[attr-defined]
        ),
        "/api/v1/marketplace/listings/{listing_id}/reviews": marketplace_listing_id(),
    }


def test_a_forged_cursor_is_400_invalid_cursor_on_every_list(list_clients):
    parents = _parents(list_clients)
    paths = _list_paths(api_schema())
    assert len(paths) > 20
    for template in paths:
        path = template
        if "{" in template:
            assert template in parents, f"{template}: add a parent to tests/kernel/parents.py"
            path = concrete(template, parents[template])
        readable = [c for c in list_clients if c.get(path).status_code == 200]
        assert readable, f"{path}: neither a superuser nor a partner can list it"
        client = readable[0]
        before = rows()
        for name, cursor in FORGED_CURSORS.items():
            response = client.get(path, {"cursor": cursor})
            assert response.status_code == 400, (path, name, response.content[:300])
            assert_problem(response, 400, "invalid_cursor")
        assert rows() == before


def test_cursors_the_api_issues_still_page(partner_api_client):
    client = partner_api_client(scopes=["read:partner", "manage:partner"])
    for n in range(3):
        created = client.post(
            "/api/v1/partners/me/contacts",
            {"name": f"Contact {n}", "email": f"c{n}@partner.example", "role": "technical"},
            format="json",
        )
        assert created.status_code == 201, created.content
    seen: list[str] = []
    url: str | None = "/api/v1/partners/me/contacts?pageSize=1"
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.content
        seen += [item["id"] for item in page.json()["results"]]
        url = page.json()["next"]
    assert len(seen) == len(set(seen)) == 3
    back = client.get(page.json()["previous"])
    assert back.status_code == 200 and back.json()["results"][0]["id"] == seen[1]


# --- NUL bytes in the URL ---------------------------------------------------------------------


def test_a_nul_byte_in_a_path_id_is_404(partner_api_client):
    client = partner_api_client(scopes=["read:leads"])
    for path in ("/api/v1/leads/%00", "/api/v1/leads/lead_%00abc", "/api/v1/partners/me/keys/%00"):
        body = assert_problem(client.get(path), 404, "not_found")
        assert "\x00" in body["instance"]


def test_a_nul_byte_in_an_admin_path_is_404(django_user_model, client):
    client.force_login(django_user_model.objects.create_superuser(username="a", password="pw"))
    response = client.get("/admin/partners/partner/%00/change/")
    assert response.status_code == 404


def test_a_nul_byte_in_the_query_string_is_400(partner_api_client, django_user_model, client):
    api = partner_api_client(scopes=["read:payments"])
    assert_problem(
        api.get("/api/v1/payments/partner-payments?status=%00"), 400, "malformed_request"
    )
    client.force_login(django_user_model.objects.create_superuser(username="b", password="pw"))
    response = client.get("/admin/partners/partner/?q=%00")
    assert response.status_code == 400
