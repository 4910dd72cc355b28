"""Every API operation that returns a patient's data writes one audit event naming the patients
(careos.phi): walked from the OpenAPI schema, so a new endpoint is covered without editing this
file. PHI is recognised in the response itself (a seeded patient's id or a marker stored in the
patients' health data), not from the declarations under test."""

import json

import pytest

from careos.actors import system_actor
from rbac import services
from rbac.models import AuditEvent
from tests.console_world import MARKER, seed_clinic_rows
from tests.kernel.api_surface import Clients, operations
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db

# Operations that must be found returning PHI (so the walk can never pass by finding none).
KNOWN_PHI = {
    "GET /api/v1/payments/bookings",
    "GET /api/v1/payments/bookings/{booking_id}",
    "GET /api/v1/payments/bookings/{booking_id}/receipt",
    "GET /api/v1/engagement/reminders",
    "GET /api/v1/engagement/messages",
    "GET /api/v1/support/tickets/queue",
}


def _items(body: object) -> list:
    if isinstance(body, dict):
        body = body.get("results", [])
    return body if isinstance(body, list) else []


@pytest.fixture
def world(db) -> dict:
    clinic = services.clinic_create(
        name="Clinic A",
        slug="clinic-a",
        timezone="UTC",
        languages=["en"],
        regions=[],
        actor=system_actor("tests"),
    )
    return seed_clinic_rows(clinic, PartnerFactory())


def _resolve(client, operation, world: dict) -> str | None:
    """The operation's path with each parameter taken from the list at its prefix (the first
    item's id), or from the seeded row the parameter names."""
    seeded = {
        "booking_id": world["payments.Booking"].public_id,
        "payment_id": world["payments.Payment"].public_id,
        "id": world["support.Ticket"].public_id,
    }
    path = operation.path
    while "{" in path:
        start = path.index("{")
        name = path[start + 1 : path.index("}", start)]
        prefix = path[: start - 1]
        value = None
        listed = client.get(prefix)
        if listed.status_code == 200 and listed.get("Content-Type", "").endswith("json"):
            items = _items(listed.json())
            if items and isinstance(items[0], dict):
                value = items[0].get("id")
        value = value or seeded.get(name)
        if value is None:
            return None
        path = path.replace("{" + name + "}", str(value), 1)
    return path


def test_every_api_read_of_phi_is_audited(world: dict) -> None:
    clients = Clients()
    patient = world["rbac.User"]
    found, unaudited = set(), []
    for operation in operations():
        if operation.method != "get":
            continue
        client = clients.for_operation(operation)
        path = _resolve(client, operation, world)
        if path is None:
            continue
        before = set(AuditEvent.objects.values_list("pk", flat=True))
        response = client.get(path)
        body = response.content.decode()
        if response.status_code >= 400 or (MARKER not in body and patient.public_id not in body):
            continue
        found.add(str(operation))
        events = list(AuditEvent.objects.exclude(pk__in=before).filter(action="phi.viewed"))
        named = [e for e in events if patient.public_id in e.metadata.get("patients", [])]
        if len(events) != 1 or not named:
            unaudited.append(f"{operation}: {len(events)} event(s) {json.dumps(body)[:80]}")
    assert not unaudited, unaudited
    assert found >= KNOWN_PHI, KNOWN_PHI - found


def test_a_failed_request_audits_nothing_and_a_list_is_one_event(world: dict) -> None:
    clients = Clients()
    second = seed_clinic_rows(world["rbac.Clinic"], PartnerFactory())
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    response = clients.staff.get("/api/v1/payments/bookings")
    assert response.status_code == 200
    event = AuditEvent.objects.exclude(pk__in=before).get(action="phi.viewed")
    assert set(event.metadata["patients"]) == {
        world["rbac.User"].public_id,
        second["rbac.User"].public_id,
    }
    assert event.patient is None and event.reason == "api"
    assert set(event.metadata["records"]) >= {
        world["payments.Booking"].public_id,
        second["payments.Booking"].public_id,
    }
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    assert clients.staff.get("/api/v1/payments/bookings/bkg_missing").status_code == 404
    assert not AuditEvent.objects.exclude(pk__in=before).exists()
