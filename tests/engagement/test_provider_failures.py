"""A misconfigured provider fails the message with its reason; stale claims are given back."""

from datetime import timedelta

import pytest
import responses
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from careos.actors import system_actor
from engagement.channels.sms_console import ConsoleSMSTransport
from engagement.models import Campaign, Message, MessageAttempt, MessageStatus
from engagement.services.messages import messages_recover_stale_claims
from engagement.tasks import release_deferred_messages
from scripts.vapid_keys import vapid_key_pair
from tests.engagement.conftest import reminder_message
from tests.engagement.test_push import subscription, webpush_settings  # noqa: F401

ACTOR = system_actor("tests")
TWILIO = "engagement.channels.sms_twilio.TwilioSMSTransport"
WEBPUSH = "engagement.channels.push_webpush.WebPushTransport"


@responses.activate
@pytest.mark.django_db
def test_twilio_without_credentials_fails_the_message_with_the_reason(
    settings, patient, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = TWILIO
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    with django_capture_on_commit_callbacks(execute=True):
        message = reminder_message(patient)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.failed_at is not None
    assert "misconfigured" in message.last_error
    assert "TWILIO_ACCOUNT_SID" in message.last_error
    attempt = MessageAttempt.objects.get(message=message)
    assert attempt.outcome == MessageAttempt.Outcome.PERMANENT
    assert len(responses.calls) == 0


@responses.activate
@pytest.mark.django_db
def test_web_push_without_vapid_fails_the_message(
    webpush_settings,  # noqa: F811
    subscription,  # noqa: F811
    patient,
    django_capture_on_commit_callbacks,
):
    webpush_settings.VAPID_PRIVATE_KEY = ""
    with django_capture_on_commit_callbacks(execute=True):
        message = reminder_message(patient, "p1", channel="push")
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "VAPID_PRIVATE_KEY" in message.last_error
    assert len(responses.calls) == 0


def _deploy_check_ids() -> set[str]:
    return {
        m.id for m in run_checks(include_deployment_checks=True) if m.id.startswith("engagement")
    }


def test_deploy_check_reports_missing_twilio_and_vapid_settings(settings):
    settings.SMS_BACKEND = TWILIO
    settings.PUSH_BACKEND = WEBPUSH
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_PHONE_NUMBER = ""
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.VAPID_PRIVATE_KEY = ""
    settings.VAPID_SUBJECT = "mailto:ops@careos.example"
    messages = {m.id: m for m in run_checks(include_deployment_checks=True)}
    assert "TWILIO_AUTH_TOKEN" in messages["engagement.E001"].msg
    assert "TWILIO_PHONE_NUMBER" in messages["engagement.E001"].msg
    assert "TWILIO_ACCOUNT_SID" not in messages["engagement.E001"].msg
    assert "VAPID_PRIVATE_KEY" in messages["engagement.E002"].msg
    with pytest.raises(SystemCheckError, match=r"engagement\.E001"):
        call_command("check", deploy=True)
    # Not a plain check: development and CI run without provider credentials.
    assert not {m.id for m in run_checks()} & {"engagement.E001", "engagement.E002"}


def test_deploy_check_is_quiet_when_configured_or_not_selected(settings):
    settings.SMS_BACKEND = TWILIO
    settings.PUSH_BACKEND = WEBPUSH
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_PHONE_NUMBER = ""
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "0" * 32
    settings.VAPID_PRIVATE_KEY = vapid_key_pair()["VAPID_PRIVATE_KEY"]
    settings.VAPID_SUBJECT = "mailto:ops@careos.example"
    assert not _deploy_check_ids() & {"engagement.E001", "engagement.E002", "engagement.E003"}
    settings.TWILIO_AUTH_TOKEN = ""
    settings.VAPID_SUBJECT = ""
    settings.SMS_BACKEND = "engagement.channels.sms_console.ConsoleSMSTransport"
    settings.PUSH_BACKEND = "engagement.channels.push_console.ConsolePushTransport"
    assert not _deploy_check_ids() & {"engagement.E001", "engagement.E002"}


def _claimed(message: Message, *, ago: timedelta, attempts: int = 1, **fields: object) -> None:
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING,
        attempts=attempts,
        updated_at=timezone.now() - ago,
        **fields,
    )


@pytest.mark.django_db
def test_stale_claim_is_requeued_and_sent_by_the_beat_task(
    settings, patient, django_capture_on_commit_callbacks
):
    settings.ENGAGEMENT_SENDING_LEASE_SECONDS = 600
    stale, fresh = reminder_message(patient, "stale"), reminder_message(patient, "fresh")
    _claimed(stale, ago=timedelta(seconds=601))
    _claimed(fresh, ago=timedelta(seconds=599))
    ConsoleSMSTransport.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert release_deferred_messages.delay().get() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == MessageStatus.SENT
    assert stale.attempts == 2
    assert [o.message_ref for o in ConsoleSMSTransport.outbox] == [stale.public_id]
    assert fresh.status == MessageStatus.SENDING  # a live worker's claim is left alone


@pytest.mark.django_db
def test_stale_claim_out_of_attempts_fails_and_cancelled_campaign_is_cancelled(
    settings, clinic, patient, make_patient, django_capture_on_commit_callbacks
):
    settings.ENGAGEMENT_SENDING_LEASE_SECONDS = 600
    settings.ENGAGEMENT_MAX_ATTEMPTS = 3
    spent = reminder_message(patient, "spent")
    campaign = Campaign.objects.create(
        clinic=clinic, name="Flu", template_key="reminder", status=Campaign.Status.CANCELLED
    )
    in_campaign = reminder_message(make_patient(), "campaign")
    _claimed(spent, ago=timedelta(hours=2), attempts=3)
    _claimed(in_campaign, ago=timedelta(hours=2), campaign=campaign)
    ConsoleSMSTransport.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert messages_recover_stale_claims() == 2
    spent.refresh_from_db()
    in_campaign.refresh_from_db()
    assert (spent.status, spent.last_error) == (MessageStatus.FAILED, "delivery claim expired")
    assert spent.failed_at is not None
    assert in_campaign.status == MessageStatus.CANCELLED
    assert not ConsoleSMSTransport.outbox
    assert messages_recover_stale_claims() == 0
