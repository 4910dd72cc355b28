"""Against a real server thread: concurrent duplicates, and the partner example of the docs."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from careos.actors import system_actor
from leads.models import Lead
from leads.services.keys import encryption_key_create
from partners.models import PlatformEvent
from rbac.models import ConsentRecord, User
from tests.infra import require_postgresql
from tests.leads.partner_example import example
from tests.partners.factories import PartnerFactory, make_api_key

live = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@live
def test_20_concurrent_identical_requests_make_one_lead(live_server, make_payload, lead_partner):
    require_postgresql()
    secret = make_api_key(partner=lead_partner).secret
    payload = make_payload()
    url = f"{live_server.url}/api/v1/leads/ingest"

    def send(_: int) -> requests.Response:
        headers = {"X-API-Key": secret, "X-Platform": lead_partner.slug}
        return requests.post(url, json=payload, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(send, range(20)))
    statuses = sorted(r.status_code for r in responses)
    # The message names only the unexpected responses (pytest shortens long ones).
    odd = [(r.status_code, r.text[:300]) for r in responses if r.status_code not in (200, 201)]
    assert statuses == [200] * 19 + [201], (statuses, odd)
    assert len({r.json()["leadId"] for r in responses}) == 1
    assert Lead.objects.count() == 1
    assert User.objects.filter(kind="patient").count() == 1
    assert ConsentRecord.objects.count() == 1
    assert PlatformEvent.objects.filter(event_type__name="lead.created").count() == 1


@live
def test_concurrent_leads_for_one_new_phone_make_one_patient(
    live_server, make_payload, lead_partner
):
    require_postgresql()
    secret = make_api_key(partner=lead_partner).secret
    payloads = [make_payload() for _ in range(8)]  # same phone, own sourceLeadIds
    url = f"{live_server.url}/api/v1/leads/ingest"

    def send(payload: dict) -> int:
        headers = {"X-API-Key": secret, "X-Platform": lead_partner.slug}
        return requests.post(url, json=payload, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, payloads))
    assert statuses == [201] * 8
    assert Lead.objects.count() == 8
    assert User.objects.filter(kind="patient").count() == 1


@live
def test_the_documented_partner_example_runs_against_the_api(live_server):
    partner = PartnerFactory(name="BusinessOS", slug="businessos")
    key = encryption_key_create(partner=partner, actor=system_actor("tests")).key
    secret = make_api_key(partner=partner, environment="live").secret
    session = example.partner_session(secret, "businessos")

    # Without CAREOS_KEY_ID/CAREOS_PUBLIC_KEY the example fetches the active key itself.
    response = example.send_lead(
        session=session,
        api_url=live_server.url,
        phone="(202) 555-0143",
        source_lead_id="bos_123",
        business_category="caregiver",
        need="Need caregiver for mom",
        consent_text="Reply YES to let BusinessOS share your number with CareOS.",
        first_name="Maria",
        location_state="CA",
    )
    assert response.status_code == 201, response.text
    lead = Lead.objects.get(public_id=response.json()["leadId"])
    assert lead.encryption_kid == key.kid
    assert lead.patient.phone == "+12025550143"

    # A retry of the same body replays the first answer (Idempotency-Key) ...
    body = example.build_lead(
        phone="+12025550177",
        source_lead_id="bos_124",
        business_category="dental",
        need="Toothache",
        consent_text="Reply YES to let BusinessOS share your number with CareOS.",
        kid=key.kid,
        public_key_pem=key.public_key_pem,
    )
    first = example.post_lead(session, live_server.url, body)
    replay = example.post_lead(session, live_server.url, body)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    # ... and a re-encrypted resend of the same sourceLeadId gets the original lead, 200.
    session.headers.pop("Idempotency-Key", None)
    resent = session.post(
        f"{live_server.url}/api/v1/leads/ingest",
        json={**body, "encryptedPhone": example.encrypt_phone("+12025550177", key.public_key_pem)},
        timeout=10,
    )
    assert resent.status_code == 200
    assert resent.json()["leadId"] == first.json()["leadId"]
    assert Lead.objects.count() == 2
