"""A partner cannot flood one phone with welcome SMS: one welcome per patient per partner per
LEADS_WELCOME_WINDOW_DAYS, and the ingest rate limit holds while Redis is down."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from careos.actors import system_actor
from engagement.channels.sms_console import ConsoleSMSTransport
from engagement.models import Message, MessageStatus
from leads.models import Lead
from leads.services.keys import encryption_key_create
from leads.services.welcome import lead_welcome_send
from tests.infra import closed_local_port, require_postgresql
from tests.leads.conftest import PHONE
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/leads/ingest"
WELCOME = "welcome_from_referral"


@pytest.fixture(autouse=True)
def _midday(time_machine) -> None:  # type: ignore[no-untyped-def]
    """Daily counters: the test runs at noon UTC, never across midnight."""
    now = timezone.now()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    time_machine.move_to(noon if noon >= now else noon + timedelta(days=1))  # forward only


def _ingest(client, payload, capture) -> dict:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        response = client.post(INGEST, payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _welcomes_to(phone: str) -> list[str]:
    return [m.to for m in ConsoleSMSTransport.outbox if m.to == phone]


def test_many_source_lead_ids_for_one_phone_send_one_welcome(
    ingest_client, make_payload, django_capture_on_commit_callbacks
):
    ConsoleSMSTransport.outbox.clear()
    bodies = [
        _ingest(ingest_client, make_payload(), django_capture_on_commit_callbacks) for _ in range(5)
    ]
    assert [b["welcomeMessageQueued"] for b in bodies] == [True, False, False, False, False]
    assert Lead.objects.count() == 5  # every lead is kept; only the SMS is not repeated
    assert Message.objects.filter(purpose=WELCOME).count() == 1
    assert _welcomes_to(PHONE) == [PHONE]


def test_a_new_welcome_after_the_window_and_from_another_partner(
    ingest_client,
    make_payload,
    settings,
    time_machine,
    django_capture_on_commit_callbacks,
):
    settings.LEADS_WELCOME_WINDOW_DAYS = 30
    capture = django_capture_on_commit_callbacks
    assert _ingest(ingest_client, make_payload(), capture)["welcomeMessageQueued"] is True
    time_machine.move_to(timezone.now() + timedelta(days=29))
    assert _ingest(ingest_client, make_payload(), capture)["welcomeMessageQueued"] is False
    time_machine.move_to(timezone.now() + timedelta(days=2))  # 31 days after the welcome
    assert _ingest(ingest_client, make_payload(), capture)["welcomeMessageQueued"] is True
    assert Message.objects.filter(purpose=WELCOME).count() == 2


def test_the_window_is_per_partner(
    ingest_client, make_payload, partner_api_client, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    assert _ingest(ingest_client, make_payload(), capture)["welcomeMessageQueued"] is True
    other = PartnerFactory(name="ClinicFinder", slug="clinicfinder")
    key = encryption_key_create(partner=other, actor=system_actor("tests")).key
    client = partner_api_client(partner=other, platform=other.slug)
    assert _ingest(client, make_payload(key=key), capture)["welcomeMessageQueued"] is True
    assert Message.objects.filter(purpose=WELCOME).count() == 2


def test_welcomes_queued_together_still_send_once(ingest_client, make_payload, broker, settings):
    """Two leads both marked queued (ingested while the window was off), then the window is
    on when their tasks run: the second task sees the first's welcome and sends nothing."""
    settings.LEADS_WELCOME_WINDOW_DAYS = 0
    broker.down()  # after-commit welcomes are not queued: the tasks run below
    for _ in range(2):
        response = ingest_client.post(INGEST, make_payload(), format="json")
        assert response.status_code == 201, response.content
    broker.up()
    settings.LEADS_WELCOME_WINDOW_DAYS = 30
    first, second = Lead.objects.order_by("pk")
    assert first.welcome_message_queued and second.welcome_message_queued
    lead_welcome_send(lead_id=second.pk)
    lead_welcome_send(lead_id=first.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.welcome_message_ref and second.welcome_message_queued
    assert (first.welcome_message_ref, first.welcome_message_queued) == ("", False)
    assert Message.objects.filter(purpose=WELCOME).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_welcome_tasks_of_one_person_send_once(
    ingest_client, make_payload, broker, settings
):
    require_postgresql()
    settings.LEADS_WELCOME_WINDOW_DAYS = 0
    broker.down()
    for _ in range(4):
        response = ingest_client.post(INGEST, make_payload(), format="json")
        assert response.status_code == 201, response.content
    broker.up()
    settings.LEADS_WELCOME_WINDOW_DAYS = 30
    ids = list(Lead.objects.values_list("pk", flat=True))
    barrier = threading.Barrier(len(ids))

    def send(lead_id: int) -> None:
        barrier.wait()
        try:
            lead_welcome_send(lead_id=lead_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(pk,)) for pk in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Message.objects.filter(purpose=WELCOME).count() == 1
    assert Lead.objects.filter(welcome_message_queued=True).count() == 1


def test_the_ingest_limit_holds_while_redis_is_down(
    ingest_client, make_payload, settings, django_capture_on_commit_callbacks
):
    settings.PARTNER_RATE_LIMIT_REDIS_URL = f"redis://127.0.0.1:{closed_local_port()}/0"
    settings.LEADS_INGEST_RATE_LIMIT_PER_MINUTE = 3
    statuses = []
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            statuses.append(ingest_client.post(INGEST, make_payload(), format="json").status_code)
    assert statuses == [201, 201, 201, 429, 429]
    assert Lead.objects.count() == 3


def test_a_capped_welcome_is_recorded_not_lost(
    ingest_client, make_payload, settings, django_capture_on_commit_callbacks
):
    """The platform's daily cap per recipient also bounds welcomes (from any partners)."""
    settings.ENGAGEMENT_RECIPIENT_DAILY_CAP = 1
    settings.LEADS_WELCOME_WINDOW_DAYS = 0
    capture = django_capture_on_commit_callbacks
    assert _ingest(ingest_client, make_payload(), capture)["welcomeMessageQueued"] is True
    _ingest(ingest_client, make_payload(), capture)
    capped = Lead.objects.order_by("pk").last()
    assert capped.welcome_message_queued is False
    message = Message.objects.get(public_id=capped.welcome_message_ref)
    assert message.status == MessageStatus.SUPPRESSED
    assert "daily message cap" in message.last_error
