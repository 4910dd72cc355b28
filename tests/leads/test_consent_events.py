"""consent.confirmed / consent.revoked: rbac's consent ledger, through partners' receiver of
its ``consent_changed`` hook, to the webhook endpoints of the partner the consent is tied to
(the referral consent a lead ingest records). Ids and states only, never PHI."""

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import transaction
from standardwebhooks import Webhook

from careos.actors import system_actor
from leads.models import Lead
from partners.models import PlatformEvent, WebhookEndpoint
from partners.services.webhooks import webhook_endpoint_create
from rbac.models import ConsentRecord
from rbac.services import consent_confirm, consent_record, consent_revoke
from tests.leads.conftest import PHONE
from tests.partners.factories import PartnerFactory
from tests.partners.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")
CONSENT_TYPES = ["consent.confirmed", "consent.revoked"]


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:  # type: ignore[no-untyped-def]
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = True
    settings.OUTBOUND_HTTP_REQUIRE_HTTPS = False
    cache.clear()
    with running_receiver() as running:
        yield running
    cache.clear()


@pytest.fixture
def endpoint(lead_partner, receiver) -> WebhookEndpoint:  # type: ignore[no-untyped-def]
    return webhook_endpoint_create(
        partner=lead_partner, url=receiver.url("/hook"), actor=ACTOR, event_types=CONSENT_TYPES
    )


def _ingest(client, payload, capture) -> Lead:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        response = client.post("/api/v1/leads/ingest", payload, format="json")
    assert response.status_code == 201, response.content
    return Lead.objects.select_related("consent", "patient").get(
        public_id=response.json()["leadId"]
    )


def _received(receiver: Receiver, endpoint: WebhookEndpoint) -> list[dict]:
    return [
        Webhook(endpoint.secret).verify(request.body, request.headers)
        for request in receiver.on("/hook")
    ]


def test_ingest_and_revocation_announce_the_referral_consent_to_its_partner(
    ingest_client,
    make_payload,
    lead_partner,
    endpoint,
    receiver,
    django_capture_on_commit_callbacks,
):
    foreign = webhook_endpoint_create(
        partner=PartnerFactory(), url=receiver.url("/foreign"), actor=ACTOR
    )
    payload = make_payload()
    lead = _ingest(ingest_client, payload, django_capture_on_commit_callbacks)
    consent = lead.consent

    confirmed = PlatformEvent.objects.get(event_type__name="consent.confirmed")
    assert confirmed.owner == lead_partner
    assert confirmed.occurred_at == consent.confirmed_at
    with django_capture_on_commit_callbacks(execute=True):
        consent_revoke(consent=consent, actor=ACTOR, reason=f"Asked by phone from {PHONE}")
    consent.refresh_from_db()

    [first, second] = _received(receiver, endpoint)
    assert first["type"] == "consent.confirmed" and first["eventId"] == confirmed.public_id
    assert first["data"] == {
        "consentId": consent.public_id,
        "consentType": "partner_referral",
        "status": "confirmed",
        "leadId": lead.public_id,
        "confirmedAt": consent.confirmed_at.isoformat().replace("+00:00", "Z"),
        "revokedAt": None,
    }
    assert second["type"] == "consent.revoked"
    assert second["data"]["consentId"] == consent.public_id
    assert second["data"]["status"] == "revoked"
    assert second["data"]["revokedAt"] == consent.revoked_at.isoformat().replace("+00:00", "Z")
    # PHI-free: no phone, name, consent wording or revocation reason on the wire.
    wire = b"".join(request.body for request in receiver.on("/hook")).decode()
    for phi in (PHONE, "Maria", "Lopez", payload["consent"]["text"], "Asked by phone"):
        assert phi not in wire
    # Another partner hears nothing of it.
    assert receiver.on("/foreign") == [] and not foreign.messages.exists()


def test_a_pending_consent_is_announced_when_confirmed(
    ingest_client,
    make_payload,
    lead_partner,
    endpoint,
    receiver,
    django_capture_on_commit_callbacks,
):
    lead = _ingest(ingest_client, make_payload(), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        pending = consent_record(
            patient=lead.patient,
            consent_type=ConsentRecord.Type.DATA_SHARING,
            status=ConsentRecord.Status.PENDING,
            text="Reply YES to share your care plan with BusinessOS.",
            language="en",
            scope={"partner": lead_partner.public_id, "leadId": lead.public_id},
            actor=ACTOR,
        )
    assert not PlatformEvent.objects.filter(payload__consentId=pending.public_id).exists()
    with django_capture_on_commit_callbacks(execute=True):
        consent_confirm(consent=pending, actor=lead.patient)

    event = PlatformEvent.objects.get(payload__consentId=pending.public_id)
    assert event.event_type.name == "consent.confirmed" and event.owner == lead_partner
    assert _received(receiver, endpoint)[-1]["data"]["consentType"] == "data_sharing"


def test_consents_tied_to_no_partner_announce_nothing(
    ingest_client, make_payload, endpoint, django_capture_on_commit_callbacks
):
    lead = _ingest(ingest_client, make_payload(), django_capture_on_commit_callbacks)
    before = PlatformEvent.objects.count()
    for scope in ({}, {"partner": "ptr_doesnotexist"}):
        consent = consent_record(
            patient=lead.patient,
            consent_type=ConsentRecord.Type.MARKETING,
            text="Send me offers.",
            language="en",
            scope=scope,
            actor=ACTOR,
        )
        consent_revoke(consent=consent, actor=ACTOR, reason="changed my mind")
    assert PlatformEvent.objects.count() == before


def test_the_event_is_written_in_the_consent_change_transaction(
    ingest_client, make_payload, lead_partner, django_capture_on_commit_callbacks
):
    lead = _ingest(ingest_client, make_payload(), django_capture_on_commit_callbacks)
    with pytest.raises(RuntimeError), transaction.atomic():
        consent_revoke(consent=lead.consent, actor=ACTOR, reason="test")
        assert PlatformEvent.objects.filter(event_type__name="consent.revoked").exists()
        raise RuntimeError("the revocation fails later in its transaction")
    assert not PlatformEvent.objects.filter(event_type__name="consent.revoked").exists()
    assert ConsentRecord.objects.get(pk=lead.consent.pk).status == ConsentRecord.Status.CONFIRMED
