"""A reminder recurs at most hourly: rules whose occurrences can come less than an hour apart
are refused with 400 ``rrule_too_frequent`` by the API, the service and the admin's form."""

from datetime import UTC, datetime

import pytest
from django.forms import modelform_factory

from careos.actors import system_actor
from engagement.models import Reminder
from engagement.services.reminders import RecurrenceTooFrequent, reminder_create
from rbac.models import User
from tests.clients import SignedInAPIClient
from tests.engagement.conftest import grant

pytestmark = pytest.mark.django_db
START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)

TOO_FREQUENT = [
    "FREQ=MINUTELY",
    "RRULE:FREQ=minutely;INTERVAL=59",
    "FREQ=SECONDLY;INTERVAL=3600",
    "FREQ=HOURLY;BYMINUTE=0,30",
    "FREQ=DAILY;BYHOUR=9;BYMINUTE=0,1",
    "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0,10",
]
ALLOWED = ["FREQ=HOURLY", "FREQ=DAILY;BYHOUR=9,10;BYMINUTE=0", "FREQ=WEEKLY;BYDAY=MO"]


@pytest.mark.parametrize("rrule", TOO_FREQUENT)
def test_the_api_refuses_a_rule_more_often_than_hourly(clinic, make_patient, rrule):
    admin = grant(User.objects.create(username="adm", kind=User.Kind.STAFF), clinic, "clinic_admin")
    patient = grant(make_patient(), clinic, "patient")
    client = SignedInAPIClient()
    client.force_login(admin)
    body = {
        "patientId": patient.public_id,
        "clinicId": clinic.public_id,
        "title": "Pill",
        "startsAt": "2030-01-01T09:00:00Z",
        "rrule": rrule,
    }
    response = client.post("/api/v1/engagement/reminders", body, format="json")
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "rrule_too_frequent"
    assert not Reminder.objects.exists()


@pytest.mark.parametrize("rrule", ALLOWED)
def test_hourly_and_slower_rules_are_accepted(patient, rrule):
    reminder = reminder_create(
        patient=patient, title="Pill", starts_at=START, rrule=rrule, actor=system_actor("t")
    )
    assert reminder.rrule == rrule


def test_the_service_and_the_admin_form_refuse_it(patient):
    with pytest.raises(RecurrenceTooFrequent):
        reminder_create(
            patient=patient,
            title="Pill",
            starts_at=START,
            rrule="FREQ=MINUTELY;INTERVAL=30",
            actor=system_actor("t"),
        )
    form = modelform_factory(Reminder, fields=["rrule"])(data={"rrule": "FREQ=HOURLY;BYMINUTE=0,5"})
    assert not form.is_valid()
    assert form.errors.as_data()["rrule"][0].code == "rrule_too_frequent"
