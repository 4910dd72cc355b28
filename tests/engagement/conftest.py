import socket

import pytest

from careos.actors import system_actor
from engagement.channels.push_console import ConsolePushTransport
from engagement.channels.sms_console import ConsoleSMSTransport
from engagement.models import Message
from engagement.services.messages import message_send
from rbac.models import Clinic, ConsentRecord, Role, User
from rbac.services import clinic_create, consent_record, membership_grant

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-test-auth-token"
TWILIO_FROM = "+15005550006"
TWILIO_MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
PUBLIC_BASE = "https://careos.example"


PUBLIC_ADDRESS = "93.184.216.34"
# The sandbox has no DNS: names used by the tests resolve here, at the socket boundary.
FAKE_DNS = {
    "push.example.net": PUBLIC_ADDRESS,
    "push.evil.example": "10.0.0.5",
    "metadata.evil.example": "169.254.169.254",
}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    real = socket.getaddrinfo
    names = dict(FAKE_DNS)  # a test may change its own copy

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host in names:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port or 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.fixture(autouse=True)
def _daytime_defaults(settings):
    # Quiet hours off unless a test turns them on, so wall-clock time never matters.
    settings.ENGAGEMENT_QUIET_HOURS_START = "00:00"
    settings.ENGAGEMENT_QUIET_HOURS_END = "00:00"
    settings.ENGAGEMENT_PUBLIC_BASE_URL = PUBLIC_BASE
    settings.SMS_BACKEND = "engagement.channels.sms_console.ConsoleSMSTransport"
    settings.PUSH_BACKEND = "engagement.channels.push_console.ConsolePushTransport"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ConsoleSMSTransport.outbox.clear()
    ConsolePushTransport.outbox.clear()


@pytest.fixture
def twilio(settings):
    settings.SMS_BACKEND = "engagement.channels.sms_twilio.TwilioSMSTransport"
    settings.TWILIO_ACCOUNT_SID = TWILIO_SID
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.TWILIO_PHONE_NUMBER = TWILIO_FROM
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    return settings


_counter = iter(range(1, 10_000_000))


@pytest.fixture
def make_patient(db):
    def make(**fields: object) -> User:
        n = next(_counter)
        defaults: dict[str, object] = {
            "username": f"patient{n}",
            "kind": User.Kind.PATIENT,
            "phone": f"+1555010{n:04d}",
            "email": f"patient{n}@example.com",
            "first_name": "Ana",
            "preferred_language": "en",
            "timezone": "UTC",
        }
        defaults.update(fields)
        return User.objects.create(**defaults)

    return make


@pytest.fixture
def patient(make_patient) -> User:
    return make_patient()


@pytest.fixture
def clinic(db) -> Clinic:
    return clinic_create(
        name="Sunrise Clinic",
        slug="sunrise",
        timezone="UTC",
        languages=["en", "es", "fr"],
        regions=[],
        actor=system_actor("tests"),
    )


@pytest.fixture
def other_clinic(db) -> Clinic:
    return clinic_create(
        name="Other Clinic",
        slug="other",
        timezone="UTC",
        languages=["en"],
        regions=[],
        actor=system_actor("tests"),
    )


def reminder_message(patient: User, key: str = "k1", *, channel: str = "sms") -> Message:
    """A reminder to ``patient`` through ``message_send`` (``key`` dedupes it)."""
    return message_send(
        channel=channel,
        recipient=patient,
        purpose="reminder",
        template_key="reminder",
        context={"title": "Walk"},
        dedupe_key=key,
        actor=system_actor("tests"),
    )


def grant(user: User, clinic: Clinic, role_slug: str) -> User:
    membership_grant(
        user=user,
        clinic=clinic,
        role=Role.objects.get(clinic=clinic, slug=role_slug),
        actor=system_actor("tests"),
    )
    return user


@pytest.fixture
def staff(db) -> User:
    return User.objects.create(username="staff1", kind=User.Kind.STAFF, is_staff=True)


@pytest.fixture
def enrol(clinic):  # type: ignore[no-untyped-def]
    """``enrol(patient, consent=True)``: a patient of ``clinic``, with marketing consent."""

    def enrol(patient: User, *, consent: bool = True) -> User:
        grant(patient, clinic, "patient")
        if consent:
            consent_record(
                patient=patient,
                clinic=clinic,
                consent_type=ConsentRecord.Type.MARKETING,
                text="May we send you preventive care messages?",
                language="en",
                actor=system_actor("tests"),
            )
        return patient

    return enrol
