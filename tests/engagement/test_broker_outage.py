"""A broker outage never fails a committed send or launch; the beat sweeps queue what was left
behind, and nothing is sent twice."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from careos.actors import system_actor
from engagement.channels.sms_console import ConsoleSMSTransport
from engagement.models import Campaign, Message, MessageStatus
from engagement.services.messages import messages_requeue_stuck
from engagement.tasks import deliver_message, release_deferred_messages, start_due_campaigns
from rbac.models import User
from tests.clients import SignedInAPIClient
from tests.engagement.conftest import grant, reminder_message

pytestmark = pytest.mark.django_db

ACTOR = system_actor("tests")


def _aged(message: Message, *, seconds: float, attempts: int = 0) -> None:
    Message.objects.filter(pk=message.pk).update(
        attempts=attempts, updated_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_send_with_the_broker_down_commits_and_the_sweep_sends_it_once(
    settings, patient, broker, django_capture_on_commit_callbacks, caplog
):
    settings.ENGAGEMENT_QUEUED_REQUEUE_SECONDS = 120
    broker.down()
    with (
        caplog.at_level(logging.WARNING, logger="careos.queueing"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = reminder_message(patient)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 0)
    assert f"delivery of engagement message {message.pk} was not queued" in caplog.text
    # While the broker is still down the sweep cannot queue it either, and does not raise.
    _aged(message, seconds=121)
    with django_capture_on_commit_callbacks(execute=True):
        assert messages_requeue_stuck() == 1
    assert Message.objects.get(pk=message.pk).status == MessageStatus.QUEUED

    broker.up()
    ConsoleSMSTransport.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert release_deferred_messages.delay().get() == 0  # just touched: not yet overdue
    with time_machine.travel(timezone.now() + timedelta(seconds=121)):
        with django_capture_on_commit_callbacks(execute=True):
            assert release_deferred_messages.delay().get() == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert release_deferred_messages.delay().get() == 0
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.SENT, 1)
    assert [o.message_ref for o in ConsoleSMSTransport.outbox] == [message.public_id]


def test_a_requeued_message_whose_first_task_was_only_late_is_sent_once(
    patient, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        message = reminder_message(patient)  # its delivery task is "in the broker", not run yet
    _aged(message, seconds=3600)
    with django_capture_on_commit_callbacks(execute=False) as requeued:
        assert messages_requeue_stuck() == 1
    ConsoleSMSTransport.outbox.clear()
    assert deliver_message.delay(message_id=message.pk).get() == "sent"  # the late original
    for callback in requeued:
        callback()  # the sweep's task: the claim is gone, nothing is sent
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.SENT, 1)
    assert [o.message_ref for o in ConsoleSMSTransport.outbox] == [message.public_id]


def test_a_message_waiting_for_its_retry_backoff_is_left_alone(
    settings, patient, django_capture_on_commit_callbacks
):
    settings.ENGAGEMENT_QUEUED_REQUEUE_SECONDS = 120
    settings.ENGAGEMENT_RETRY_BASE_SECONDS = 30
    with django_capture_on_commit_callbacks(execute=False):
        waiting = reminder_message(patient, "waiting")
        fresh = reminder_message(patient, "fresh")
    _aged(waiting, seconds=120 + 60 - 5, attempts=2)  # its retry is due 60 s after the failure
    _aged(fresh, seconds=100)
    assert messages_requeue_stuck() == 0
    _aged(waiting, seconds=120 + 60 + 5, attempts=2)
    ConsoleSMSTransport.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert messages_requeue_stuck() == 1
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == (MessageStatus.SENT, 3)
    assert Message.objects.get(pk=fresh.pk).status == MessageStatus.QUEUED


def test_campaign_launched_with_the_broker_down_is_resumed_and_sends_once(
    settings, clinic, make_patient, enrol, broker, django_capture_on_commit_callbacks
):
    settings.ENGAGEMENT_CAMPAIGN_STALL_SECONDS = 600
    settings.ENGAGEMENT_CAMPAIGN_BATCH_SIZE = 2
    for i in range(3):
        enrol(make_patient(first_name=f"P{i}"))
    admin = grant(
        User.objects.create(username="admin1", kind=User.Kind.STAFF), clinic, "clinic_admin"
    )
    campaign = Campaign.objects.create(
        clinic=clinic, name="Flu", channel="sms", template_key="wellness_campaign"
    )
    client = SignedInAPIClient()
    client.force_login(admin)

    broker.down()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/engagement/campaigns/{campaign.public_id}/launch")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "sending"
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING
    assert not Message.objects.filter(campaign=campaign).exists()

    broker.up()
    ConsoleSMSTransport.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert start_due_campaigns.delay().get() == 0  # not stalled yet
    with (
        time_machine.travel(timezone.now() + timedelta(seconds=601)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert start_due_campaigns.delay().get() == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert campaign.targeted_count == 3
    assert len(ConsoleSMSTransport.outbox) == 3
    assert Message.objects.filter(campaign=campaign, status=MessageStatus.SENT).count() == 3
