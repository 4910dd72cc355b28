"""The lead pipeline services: transitions, audit, events."""

import pytest

from careos.actors import system_actor
from careos.errors import DomainError
from leads.models import Lead
from leads.services import pipeline
from partners.models import PlatformEvent
from rbac.models import AuditEvent, Clinic
from rbac.services import clinic_create, user_create

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")


@pytest.fixture
def lead(ingest_client, make_payload) -> Lead:
    response = ingest_client.post("/api/v1/leads/ingest", make_payload(), format="json")
    assert response.status_code == 201
    return Lead.objects.get(public_id=response.json()["leadId"])


@pytest.fixture
def clinic() -> Clinic:
    return clinic_create(
        name="Sunrise Care",
        slug="sunrise",
        timezone="America/Los_Angeles",
        languages=["en", "es"],
        regions=["CA"],
        actor=ACTOR,
    )


def _events(lead: Lead) -> list[str]:
    return list(
        PlatformEvent.objects.filter(
            payload__leadId=lead.public_id, event_type__name__startswith="lead."
        )
        .order_by("created_at", "pk")
        .values_list("event_type__name", flat=True)
    )


def test_full_pipeline(lead, clinic):
    specialist = user_create(kind="specialist", actor=ACTOR)
    pipeline.lead_contact(lead=lead, actor=ACTOR)
    pipeline.lead_qualify(lead=lead, actor=ACTOR)
    pipeline.lead_assign(lead=lead, clinic=clinic, specialist=specialist, actor=ACTOR)
    pipeline.lead_convert(lead=lead, actor=ACTOR)
    lead.refresh_from_db()
    assert lead.status == "converted"
    assert lead.assigned_clinic == clinic and lead.assigned_specialist == specialist
    assert _events(lead) == [
        "lead.created",
        "lead.updated",
        "lead.qualified",
        "lead.assigned",
        "lead.converted",
    ]
    assigned = PlatformEvent.objects.get(event_type__name="lead.assigned")
    assert assigned.payload["clinicId"] == clinic.public_id
    assert assigned.payload["previousStatus"] == "qualified"
    assert assigned.owner == lead.partner
    actions = list(
        AuditEvent.objects.filter(target_ref=lead.public_id)
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "lead.created",
        "lead.contacted",
        "lead.qualified",
        "lead.assigned",
        "lead.converted",
    ]


def test_lost_needs_a_known_reason(lead):
    with pytest.raises(DomainError) as refused:
        pipeline.lead_lose(lead=lead, reason="bored", actor=ACTOR)
    assert refused.value.code == "lost_reason_invalid"
    pipeline.lead_lose(lead=lead, reason="unreachable", note="3 attempts", actor=ACTOR)
    lead.refresh_from_db()
    assert (lead.status, lead.lost_reason, lead.lost_note) == ("lost", "unreachable", "3 attempts")
    event = PlatformEvent.objects.get(event_type__name="lead.updated")
    assert event.payload["changes"] == ["status", "lostReason"]
    assert event.payload["lostReason"] == "unreachable"
    assert "3 attempts" not in str(event.payload)


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        ([], "qualify"),
        ([], "convert"),
        (["contact"], "contact"),
        (["contact", "qualify", "convert_via_assign", "convert"], "lose"),
    ],
)
def test_invalid_transitions_are_409_and_change_nothing(lead, clinic, steps, refused):
    run = {
        "contact": lambda: pipeline.lead_contact(lead=lead, actor=ACTOR),
        "qualify": lambda: pipeline.lead_qualify(lead=lead, actor=ACTOR),
        "convert_via_assign": lambda: pipeline.lead_assign(lead=lead, clinic=clinic, actor=ACTOR),
        "convert": lambda: pipeline.lead_convert(lead=lead, actor=ACTOR),
        "lose": lambda: pipeline.lead_lose(lead=lead, reason="other", actor=ACTOR),
    }
    for step in steps:
        run[step]()
    status, events = Lead.objects.get(pk=lead.pk).status, PlatformEvent.objects.count()
    with pytest.raises(pipeline.LeadTransitionError) as error:
        run[refused]()
    assert error.value.status == 409 and error.value.code == "lead_transition_invalid"
    assert Lead.objects.get(pk=lead.pk).status == status
    assert PlatformEvent.objects.count() == events


def test_assign_needs_a_clinic_or_a_specialist(lead):
    pipeline.lead_contact(lead=lead, actor=ACTOR)
    pipeline.lead_qualify(lead=lead, actor=ACTOR)
    with pytest.raises(pipeline.LeadAssignmentError):
        pipeline.lead_assign(lead=lead, actor=ACTOR)
    staff = user_create(kind="staff", actor=ACTOR)
    with pytest.raises(pipeline.LeadAssignmentError):
        pipeline.lead_assign(lead=lead, specialist=staff, actor=ACTOR)
    assert Lead.objects.get(pk=lead.pk).status == "qualified"


def test_partner_sees_the_new_status(lead, ingest_client):
    pipeline.lead_contact(lead=lead, actor=ACTOR)
    body = ingest_client.get(f"/api/v1/leads/{lead.public_id}").json()
    assert body["status"] == "contacted"
