"""The partner's configuration an ingest reads (keys, agreements, category mapping) is read
once per credential and process, and every change to it reaches the next ingest."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from careos.actors import system_actor
from leads.models import CategoryMapping, Lead
from leads.services.keys import encryption_key_create, encryption_key_expire
from partners.services.profile import agreement_create
from rbac.models import User
from tests.infra import closed_local_port

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/leads/ingest"
CONFIG_TABLES = (
    '"leads_leadencryptionkey"',
    '"partners_partneragreement"',
    '"leads_categorymapping"',
)


@pytest.fixture
def agreement(lead_partner):  # type: ignore[no-untyped-def]
    return agreement_create(
        partner=lead_partner,
        version="2026",
        referral_fee_minor=2500,
        currency="USD",
        effective_from=timezone.localdate() - timedelta(days=30),
        actor=system_actor("tests"),
    )


def _ingest(client, payload) -> Lead:  # type: ignore[no-untyped-def]
    response = client.post(INGEST, payload, format="json")
    assert response.status_code == 201, response.content
    return Lead.objects.get(public_id=response.json()["leadId"])


def _config_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in CONFIG_TABLES)]


def test_the_configuration_is_read_once_per_credential(ingest_client, make_payload, agreement):
    with CaptureQueriesContext(connection) as first:
        _ingest(ingest_client, make_payload(phone="+12025550143"))
    with CaptureQueriesContext(connection) as second:
        lead = _ingest(ingest_client, make_payload(phone="+12025550144"))
    assert len(_config_reads(first)) >= 3  # and the private key, once per process
    assert _config_reads(second) == []
    assert (lead.referral_fee_minor, lead.healthcare_category) == (2500, "home_care")


def test_a_new_agreement_reaches_the_next_ingest(
    ingest_client, make_payload, lead_partner, agreement
):
    assert _ingest(ingest_client, make_payload(phone="+12025550143")).referral_fee_minor == 2500
    agreement_create(
        partner=lead_partner,
        version="2026-11",
        referral_fee_minor=3100,
        currency="USD",
        effective_from=timezone.localdate(),
        actor=system_actor("tests"),
    )
    assert _ingest(ingest_client, make_payload(phone="+12025550144")).referral_fee_minor == 3100


def test_an_agreement_ending_is_seen_without_a_change(
    ingest_client, make_payload, lead_partner, time_machine
):
    agreement_create(
        partner=lead_partner,
        version="2026",
        referral_fee_minor=2500,
        currency="USD",
        effective_from=timezone.localdate() - timedelta(days=30),
        effective_until=timezone.localdate(),
        actor=system_actor("tests"),
    )
    assert _ingest(ingest_client, make_payload(phone="+12025550143")).referral_fee_minor == 2500
    time_machine.move_to(timezone.now() + timedelta(days=1))
    assert _ingest(ingest_client, make_payload(phone="+12025550144")).referral_fee_minor == 0


def test_a_mapping_edited_in_the_admin_reaches_the_next_ingest(ingest_client, make_payload, client):
    assert _ingest(ingest_client, make_payload(phone="+12025550143")).healthcare_category == (
        "home_care"
    )
    client.force_login(User.objects.create_superuser(username="root", password=None))
    mapping = CategoryMapping.objects.get(business_category="caregiver")
    url = f"/admin/leads/categorymapping/{mapping.pk}/change/"
    form = {"business_category": "caregiver", "healthcare_category": "senior_living"}
    assert client.post(url, {**form, "is_active": "on"}).status_code == 302
    lead = _ingest(ingest_client, make_payload(phone="+12025550144"))
    assert lead.healthcare_category == "senior_living"
    assert client.post(url, form).status_code == 302  # unticked: inactive
    lead = _ingest(ingest_client, make_payload(phone="+12025550145"))
    assert lead.healthcare_category == "general"  # the fallback


def test_an_expired_key_is_refused_at_once(
    ingest_client, make_payload, lead_partner, encryption_key
):
    rotated = encryption_key_create(
        partner=lead_partner, grace=timedelta(days=7), actor=system_actor("tests")
    )
    assert _ingest(ingest_client, make_payload(phone="+12025550143", key=encryption_key))
    encryption_key_expire(key=rotated.retired, actor=system_actor("tests"))
    response = ingest_client.post(
        INGEST, make_payload(phone="+12025550144", key=encryption_key), format="json"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_key_id"
    assert _ingest(ingest_client, make_payload(phone="+12025550144", key=rotated.key))


def test_without_the_limiter_the_configuration_is_read_every_time(
    settings, ingest_client, make_payload, agreement
):
    settings.PARTNER_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{closed_local_port()}/0"
    for phone in ("+12025550143", "+12025550144"):
        with CaptureQueriesContext(connection) as queries:
            _ingest(ingest_client, make_payload(phone=phone))
        assert len(_config_reads(queries)) >= 3
