"""Parents of the nested list endpoints (``/{payment_id}/refunds``, ``/{message_id}/attempts``)
for tests that call every list: an unknown parent is a 404 before any paging happens.
"""

from datetime import timedelta

from django.utils import timezone

from careos.actors import system_actor
from partners.models import Partner, WebhookMessage
from partners.services.events import publish_event
from partners.services.webhooks import webhook_endpoint_create
from payments.services.bookings import booking_create, booking_pay
from rbac.models import Clinic, Role, User
from rbac.services import clinic_create, membership_grant
from tests.payments.catalogue import catalogue_make

ACTOR = system_actor("tests")


def payment_id_for_superuser() -> str:
    clinic: Clinic = clinic_create(
        name="Parent Clinic",
        slug="parent-clinic",
        timezone="UTC",
        languages=["en"],
        regions=[],
        actor=ACTOR,
    )
    patient = User.objects.create_user(username="parent-patient", kind=User.Kind.PATIENT)
    membership_grant(
        user=patient,
        clinic=clinic,
        role=Role.objects.get(clinic=clinic, slug="patient"),
        actor=ACTOR,
    )
    catalogue = catalogue_make(clinic=clinic, actor=ACTOR)
    booking = booking_create(
        patient=patient,
        clinic=clinic,
        specialist=None,
        starts_at=timezone.now() + timedelta(days=2),
        items=catalogue.orders[:1],
        actor=ACTOR,
    )
    return booking_pay(booking=booking, actor=ACTOR).payment.public_id


def catalogue_clinic_id() -> str:
    """The clinic ``payment_id_for_superuser`` created, with its catalogue (call it first)."""
    return Clinic.objects.get(slug="parent-clinic").public_id


def webhook_message_id_for(partner: Partner) -> str:
    endpoint = webhook_endpoint_create(partner=partner, url="https://127.0.0.1/hook", actor=ACTOR)
    event = publish_event(event_type="lead.created", owner=partner, payload={})
    message = WebhookMessage.objects.create(
        event=event, endpoint=endpoint, next_attempt_at=timezone.now()
    )
    return message.public_id


def marketplace_listing_id() -> str:
    from tests.partners.marketplace_helpers import published_listing

    return published_listing().public_id
