"""The demo data lets a booking be made on a fresh ``make run``: seed_demo seeds a catalogue."""

import io

import pytest
from django.core.management import call_command

from careos.actors import system_actor
from payments.models import CatalogueService, ServicePrice, TaxRate
from rbac.demo import CLINIC_SLUG
from rbac.models import Clinic, Role, User
from rbac.services import membership_grant

pytestmark = pytest.mark.django_db


def test_seed_demo_seeds_a_bookable_catalogue_once(api_client, fake_stripe, tmp_path, settings):
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    for _ in range(2):
        call_command("seed_demo", stdout=io.StringIO())
    clinic = Clinic.objects.get(slug=CLINIC_SLUG)
    assert CatalogueService.objects.filter(clinic=clinic).count() == 3
    assert ServicePrice.objects.filter(service__clinic=clinic).count() == 3
    assert TaxRate.objects.filter(clinic=clinic).count() == 1

    admin = User.objects.get(username="admin")
    patient = User.objects.create_user(username="demo-pt", kind=User.Kind.PATIENT)
    membership_grant(
        user=patient,
        clinic=clinic,
        role=Role.objects.get(clinic=clinic, slug="patient"),
        actor=system_actor("tests"),
    )
    api_client.force_authenticate(admin)
    services = api_client.get(f"/api/v1/payments/clinics/{clinic.public_id}/services").json()
    ids = {s["name"]: s["id"] for s in services["results"]}
    response = api_client.post(
        "/api/v1/payments/bookings",
        {
            "clinicId": clinic.public_id,
            "patientId": patient.public_id,
            "startsAt": "2031-01-01T10:00:00Z",
            "items": [{"serviceId": ids["Consultation"]}, {"serviceId": ids["Blood test"]}],
            "discountCode": "WELCOME10",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    # 12000 + 3500 - 10% (1200 + 350) + 8.875% of 10800 (958.5 -> 959; laboratory exempt).
    assert response.json()["booking"]["totalAmount"] == 12000 + 3500 - 1550 + 959
