"""A row of every clinic-scoped model the console shows, for one clinic: what the registry
matrices (tests/rbac/test_console_matrix.py) look for in each admin.

A new clinic-scoped admin needs a row here (the matrix says so); nothing else changes."""

import itertools
from datetime import UTC, datetime
from typing import Any

from django.db.models import Model

from careos.actors import system_actor
from engagement.models import (
    Campaign,
    Message,
    MessageTemplate,
    OptOut,
    PatientTask,
    PushSubscription,
    Reminder,
)
from leads.models import Lead
from partners.models import Partner
from payments.models import (
    Booking,
    CatalogueService,
    ClinicBillingProfile,
    DiscountCode,
    Payment,
    Refund,
    ServicePrice,
    TaxRate,
)
from rbac import services
from rbac.models import AuditEvent, Clinic, ConsentRecord, Membership, Role, User
from support.models import (
    AgentProfile,
    BusinessCalendar,
    CsatResponse,
    Queue,
    SlaPolicy,
    Ticket,
)

ACTOR = system_actor("tests")
WHEN = datetime(2031, 5, 4, 10, 0, tzinfo=UTC)
MARKER = "Marker-PHI"
_serial = itertools.count(1)


def seed_clinic_rows(clinic: Clinic, partner: Partner) -> dict[str, Model]:
    """One row of each model, for ``clinic``; keyed by model label. The patient holds no
    membership: the booking, ticket and lead make them the clinic's (care relationships)."""
    n = next(_serial)
    tag = f"{clinic.slug}-{n}"
    patient = User.objects.create_user(
        username=f"patient-{tag}",
        kind=User.Kind.PATIENT,
        password=None,
        phone=f"+1212555{n:04d}",
        email=f"patient-{tag}@example.com",
        first_name=f"{MARKER} first",
    )
    member = User.objects.create_user(username=f"member-{tag}", password=None)
    membership = services.membership_grant(
        user=member,
        clinic=clinic,
        role=Role.objects.get(clinic=clinic, slug="patient"),
        actor=ACTOR,
    )
    consent = services.consent_record(
        patient=patient,
        consent_type="marketing",
        text="I agree.",
        language="en",
        clinic=clinic,
        actor=ACTOR,
    )
    audit = services.audit_record(
        actor=ACTOR, action="test.event", patient=patient, clinic=clinic, target_ref=tag
    )
    campaign = Campaign.objects.create(clinic=clinic, name=f"Campaign {tag}", template_key="k")
    message = Message.objects.create(
        channel="sms",
        purpose="reminder",
        to_address=patient.phone,
        recipient_index=f"idx-{tag}",
        body=f"{MARKER} body",
        dedupe_key=f"dedupe-{tag}",
        recipient=patient,
        clinic=clinic,
    )
    opt_out = OptOut.objects.create(
        recipient_index=f"opt-{tag}", channel="sms", source="keyword", user=patient
    )
    reminder = Reminder.objects.create(
        patient=patient, clinic=clinic, title=f"{MARKER} reminder", starts_at=WHEN
    )
    task = PatientTask.objects.create(patient=patient, clinic=clinic, title=f"{MARKER} task")
    push = PushSubscription.objects.create(
        user=patient,
        endpoint=f"https://push.example.com/{tag}",
        endpoint_index=f"push-{tag}",
        p256dh="key",
        auth="auth",
    )
    booking = Booking.objects.create(
        patient=patient,
        clinic=clinic,
        service=f"{MARKER} service",
        starts_at=WHEN,
        currency="usd",
        total_amount=5000,
    )
    payment = Payment.objects.create(
        booking=booking, amount=5000, currency="usd", public_id=f"pay_{tag}", paid_at=WHEN
    )
    refund = Refund.objects.create(
        payment=payment, amount=100, currency="usd", reason="requested_by_customer"
    )
    service = CatalogueService.objects.create(
        clinic=clinic, code=f"svc-{tag}", category="consultation", name_en=f"Visit {tag}"
    )
    price = ServicePrice.objects.create(
        service=service, amount=5000, currency="USD", effective_from=WHEN
    )
    discount = DiscountCode.objects.create(
        clinic=clinic, code=f"CODE{n}", kind="fixed", amount=100, currency="USD"
    )
    tax = TaxRate.objects.create(
        clinic=clinic, jurisdiction="US-NY", name=f"Tax {tag}", rate="8.875", effective_from=WHEN
    )
    billing_profile, _ = ClinicBillingProfile.objects.get_or_create(
        clinic=clinic, defaults={"legal_name": f"{clinic.name} LLC", "jurisdiction": "US-NY"}
    )
    lead = Lead.objects.create(
        partner=partner,
        patient=patient,
        source_platform="tests",
        source_lead_id=f"src-{tag}",
        encryption_kid="kid",
        healthcare_category="dental",
        assigned_clinic=clinic,
    )
    calendar = BusinessCalendar.objects.create(name=f"Calendar {tag}", clinic=clinic)
    policy = SlaPolicy.objects.filter(clinic=clinic).first() or SlaPolicy.objects.create(
        name=f"Policy {tag}", calendar=calendar, clinic=clinic
    )
    queue = Queue.objects.create(name=f"Queue {tag}", clinic=clinic)
    agent = User.objects.create_user(username=f"agent-{tag}", password=None)
    profile = AgentProfile.objects.create(user=agent, clinic=clinic)
    ticket = Ticket.objects.create(
        requester_kind="patient",
        requester=patient,
        clinic=clinic,
        queue=queue,
        subject=f"{MARKER} subject",
    )
    csat = CsatResponse.objects.create(ticket=ticket, rating=4, clinic=clinic, queue=queue)
    rows: list[Any] = [
        patient,
        clinic,
        Role.objects.get(clinic=clinic, slug="patient"),
        membership,
        consent,
        audit,
        campaign,
        message,
        opt_out,
        reminder,
        task,
        push,
        booking,
        payment,
        refund,
        service,
        price,
        discount,
        tax,
        billing_profile,
        lead,
        calendar,
        policy,
        queue,
        profile,
        ticket,
        csat,
    ]
    return {row._meta.label: row for row in rows}


def shared_rows() -> dict[str, Model]:
    """Rows of the shared (no clinic, no patient) admins."""
    template = MessageTemplate.objects.filter(is_active=True).first() or (
        MessageTemplate.objects.create(key="console-test", body="Hello")
    )
    return {MessageTemplate._meta.label: template}


__all__ = ["MARKER", "AuditEvent", "ConsentRecord", "Membership", "seed_clinic_rows"]
