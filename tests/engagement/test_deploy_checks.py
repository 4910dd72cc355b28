"""``check --deploy``: provider settings that are set but unusable fail the deploy, not a send."""

import base64

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.checks import run_checks
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from engagement.models import MessageAttempt, MessageStatus
from scripts.vapid_keys import vapid_key_pair
from tests.engagement.conftest import reminder_message
from tests.engagement.test_push import subscription  # noqa: F401

WEBPUSH = "engagement.channels.push_webpush.WebPushTransport"
CONSOLE_PUSH = "engagement.channels.push_console.ConsolePushTransport"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _der(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _deploy_messages(check_id: str) -> list[str]:
    return [m.msg for m in run_checks(include_deployment_checks=True) if m.id == check_id]


@pytest.fixture
def vapid(settings):
    """Web push selected with a fresh key pair, as ``scripts/vapid_keys.py`` makes it (CI too)."""
    settings.PUSH_BACKEND = WEBPUSH
    settings.VAPID_SUBJECT = "mailto:ops@careos.example.com"
    for name, value in vapid_key_pair().items():
        setattr(settings, name, value)
    return settings


def test_generated_key_pair_passes(vapid):
    assert _deploy_messages("engagement.E003") == []


@pytest.mark.parametrize("form", ["raw", "der"])
def test_private_key_alone_passes_in_each_form_pywebpush_reads(vapid, form):
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    vapid.VAPID_PRIVATE_KEY = _b64(raw if form == "raw" else _der(key))
    vapid.VAPID_PUBLIC_KEY = ""
    assert _deploy_messages("engagement.E003") == []


def test_private_key_file_path_passes(vapid, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "vapid.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    vapid.VAPID_PRIVATE_KEY = str(pem)
    vapid.VAPID_PUBLIC_KEY = ""
    assert _deploy_messages("engagement.E003") == []


@pytest.mark.parametrize(
    "value",
    [
        "deploy-check",  # what CI used to set
        "A" * 43,  # 32 zero bytes: not a valid scalar
        "-----BEGIN PRIVATE KEY-----MIGHAgEAMBMGByqGSM49-----END PRIVATE KEY-----",
        "/nonexistent/vapid.pem",
    ],
)
def test_private_key_that_does_not_parse_fails_the_deploy_check(vapid, value):
    vapid.VAPID_PRIVATE_KEY = value
    [message] = _deploy_messages("engagement.E003")
    assert "VAPID_PRIVATE_KEY does not parse" in message
    assert value not in message  # a secret is never echoed
    with pytest.raises(SystemCheckError, match=r"engagement\.E003"):
        call_command("check", deploy=True)
    # Not a plain check: development and CI run without provider credentials.
    assert "engagement.E003" not in {m.id for m in run_checks()}


def test_key_on_another_curve_fails(vapid):
    vapid.VAPID_PRIVATE_KEY = _b64(_der(ec.generate_private_key(ec.SECP384R1())))
    vapid.VAPID_PUBLIC_KEY = ""
    [message] = _deploy_messages("engagement.E003")
    assert "not a P-256" in message


def test_public_key_of_another_pair_fails(vapid):
    vapid.VAPID_PUBLIC_KEY = vapid_key_pair()["VAPID_PUBLIC_KEY"]
    [message] = _deploy_messages("engagement.E003")
    assert "VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY" in message


def test_public_key_that_does_not_parse_fails(vapid):
    vapid.VAPID_PUBLIC_KEY = "not-a-key"
    [message] = _deploy_messages("engagement.E003")
    assert "VAPID_PUBLIC_KEY does not parse" in message


def test_subject_pywebpush_would_refuse_fails(vapid):
    vapid.VAPID_SUBJECT = "ops@careos.example.com"  # no mailto:
    [message] = _deploy_messages("engagement.E003")
    assert "VAPID_SUBJECT" in message


def test_keys_are_not_checked_when_web_push_is_not_selected_or_missing(vapid):
    vapid.VAPID_PRIVATE_KEY = "deploy-check"
    vapid.PUSH_BACKEND = CONSOLE_PUSH
    assert _deploy_messages("engagement.E003") == []
    vapid.PUSH_BACKEND = WEBPUSH
    vapid.VAPID_PRIVATE_KEY = ""
    assert _deploy_messages("engagement.E003") == []  # E002 says it is missing
    assert _deploy_messages("engagement.E002")


@responses.activate
@pytest.mark.django_db
def test_a_key_that_does_not_parse_fails_the_message_with_the_reason(
    vapid,
    subscription,  # noqa: F811
    patient,
    django_capture_on_commit_callbacks,
):
    vapid.VAPID_PRIVATE_KEY = "deploy-check"
    with django_capture_on_commit_callbacks(execute=True):
        message = reminder_message(patient, "bad-key", channel="push")
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "misconfigured" in message.last_error
    assert "VAPID_PRIVATE_KEY does not parse" in message.last_error
    assert MessageAttempt.objects.get(message=message).outcome == (MessageAttempt.Outcome.PERMANENT)
    assert len(responses.calls) == 0


# --- email ---

SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.fixture
def smtp(settings):
    """The SMTP backend configured the way CI's check --deploy configures it."""
    settings.EMAIL_BACKEND = SMTP
    settings.EMAIL_HOST = "smtp.careos.example.com"
    settings.DEFAULT_FROM_EMAIL = "CareOS <no-reply@careos.example.com>"
    return settings


@pytest.mark.parametrize("kind", ["console", "locmem", "dummy", "filebased"])
def test_email_backend_that_never_delivers_warns_with_debug_off(settings, kind):
    settings.EMAIL_BACKEND = f"django.core.mail.backends.{kind}.EmailBackend"
    settings.DEBUG = False
    messages = run_checks()
    [w002] = [m for m in messages if m.id == "engagement.W002"]
    assert kind in w002.msg
    # W001 is for the console SMS/push backends (the test settings'): no duplicate for email.
    assert not [m for m in messages if m.id == "engagement.W001" and "EMAIL" in m.msg]
    with pytest.raises(SystemCheckError, match=r"engagement\.W002"):
        call_command("check", fail_level="WARNING")
    settings.DEBUG = True
    assert "engagement.W002" not in {m.id for m in run_checks()}


def test_smtp_backend_configured_passes(smtp):
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert not ids & {"engagement.W002", "engagement.E004"}


def test_smtp_without_email_host_fails_the_deploy_check(smtp):
    smtp.EMAIL_HOST = ""
    [message] = _deploy_messages("engagement.E004")
    assert "EMAIL_HOST is not set" in message
    with pytest.raises(SystemCheckError, match=r"engagement\.E004"):
        call_command("check", deploy=True)
    # Not a plain check.
    assert "engagement.E004" not in {m.id for m in run_checks()}


@pytest.mark.parametrize(
    "sender",
    [
        "webmaster@localhost",  # Django's default
        "CareOS <no-reply@careos.local>",  # the development default of careos/settings.py
        "ops@mail.localhost",
        "",
    ],
)
def test_smtp_with_a_placeholder_sender_fails_the_deploy_check(smtp, sender):
    smtp.DEFAULT_FROM_EMAIL = sender
    [message] = _deploy_messages("engagement.E004")
    assert "DEFAULT_FROM_EMAIL" in message


def test_email_settings_are_not_checked_for_other_backends(smtp):
    smtp.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    smtp.EMAIL_HOST = ""
    smtp.DEFAULT_FROM_EMAIL = "webmaster@localhost"
    assert _deploy_messages("engagement.E004") == []


def test_smtp_subclass_is_checked_and_unimportable_backend_fails(smtp):
    smtp.EMAIL_BACKEND = "tests.engagement.test_deploy_checks.RelayBackend"
    smtp.EMAIL_HOST = ""
    assert _deploy_messages("engagement.E004") == [
        "EMAIL_BACKEND is SMTP but EMAIL_HOST is not set."
    ]
    smtp.EMAIL_BACKEND = "anymail.backends.nowhere.EmailBackend"
    [message] = _deploy_messages("engagement.E004")
    assert "cannot be imported" in message


class RelayBackend(SMTPBackend):
    """A project's own SMTP backend (a subclass) is held to the same settings."""
