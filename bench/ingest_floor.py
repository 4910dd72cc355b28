"""The floor of ``bench/ingest.py``: its own URLconf, served only by the benchmark.

``POST /bench/floor`` does the irreducible work of one lead ingest and nothing else: the same
partner authentication (API key lookup, scope check, rate limit: one Redis round trip), JSON
parsing, one RSA-OAEP-SHA256 decrypt with a key of the same size, and the same number of
single-row INSERTs (``BENCH_FLOOR_INSERTS``, counted from a real ingest) in one transaction.
The real ingest is served by the same server at ``/api/v1/leads/ingest`` (careos.urls).

``POST /bench/orm-floor`` is informative, not the target's floor: the same authentication and
decrypt, then the same rows an ingest writes (patient, consent, lead, partner payment, outbox
event, four audit events) through the Django ORM into the real tables, with nothing else (no
validation, look-ups, locks, encryption of fields beyond what the models do, or queued tasks;
but the audit events are written by ``audit_record``, with their link in the hash chain).
No ORM-based ingest can be faster than it, so its ratio to the floor bounds what the ingest can
reach while it writes through the ORM.
"""

import base64
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection, transaction
from django.urls import include, path
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from careos.actors import Actor
from careos.ids import new_public_id
from leads.models import Lead, LeadEncryptionKey
from leads.services.keys import OAEP
from partners.api.base import PartnerAPIView
from partners.models import EventType, PlatformEvent
from partners.scopes import WRITE_LEADS
from payments.models import PartnerPayment
from rbac.models import ConsentRecord, User
from rbac.services import audit_record

INSERTS = int(os.environ.get("BENCH_FLOOR_INSERTS", "10"))
TABLE = "bench_ingest_floor"
_keys: dict[str, rsa.RSAPrivateKey] = {}


def _key(kid: str) -> rsa.RSAPrivateKey:
    if kid not in _keys:
        pem = LeadEncryptionKey.objects.values_list("private_key_pem", flat=True).get(kid=kid)
        loaded = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        _keys[kid] = loaded
    return _keys[kid]


class FloorView(PartnerAPIView):
    required_scopes = {"POST": WRITE_LEADS}
    rate_limit_bucket = "lead_ingest"

    @property
    def rate_limit_per_minute(self) -> int:
        from django.conf import settings

        return settings.LEADS_INGEST_RATE_LIMIT_PER_MINUTE

    def post(self, request: Request) -> Response:
        data = request.data
        phone = _key(data["key_id"]).decrypt(base64.b64decode(data["encrypted_phone"]), OAEP)
        with transaction.atomic(), connection.cursor() as cursor:
            for n in range(INSERTS):
                cursor.execute(
                    f"INSERT INTO {TABLE} (source_lead_id, n, value) VALUES (%s, %s, %s)",  # noqa: S608
                    [data["source_lead_id"], n, phone.decode()],
                )
        return Response({"lead_id": data["source_lead_id"], "status": "new"}, status=201)


class OrmFloorView(FloorView):
    def post(self, request: Request) -> Response:
        data = request.data
        phone = _key(data["key_id"]).decrypt(base64.b64decode(data["encrypted_phone"]), OAEP)
        partner = request.auth.partner
        with transaction.atomic():
            patient = User.objects.create(
                username=new_public_id("pat"), kind=User.Kind.PATIENT, phone=phone.decode()
            )
            _audit("user.created", patient.public_id, patient)
            consent = ConsentRecord.objects.create(
                patient=patient,
                consent_type=ConsentRecord.Type.PARTNER_REFERRAL,
                status=ConsentRecord.Status.CONFIRMED,
                text=data["consent"]["text"],
                language=data["language"],
                given_at=timezone.now(),
                confirmed_at=timezone.now(),
            )
            _audit("consent.recorded", consent.public_id, patient)
            lead = Lead.objects.create(
                partner=partner,
                patient=patient,
                consent=consent,
                source_platform=partner.slug,
                source_lead_id=data["source_lead_id"],
                encryption_kid=data["key_id"],
                first_name=data["first_name"],
                need=data["need"],
                healthcare_category="home_care",
                referral_fee_minor=2500,
            )
            _audit("lead.created", lead.public_id, patient)
            payment = PartnerPayment.objects.create(
                partner=partner,
                referral_ref=lead.public_id,
                amount=2500,
                currency="USD",
                due_date=timezone.localdate(),
            )
            _audit("partner_payment.accrued", payment.public_id, None)
            PlatformEvent.objects.create(
                event_type_id=_lead_created_type_id(),
                owner=partner,
                payload={"leadId": lead.public_id, "status": lead.status},
                occurred_at=timezone.now(),
            )
        return Response({"lead_id": lead.public_id, "status": lead.status}, status=201)


def _audit(action: str, target_ref: str, patient: User | None) -> None:
    # The one way to write an audit event: its link in the hash chain (rbac/audit_chain.py:
    # the chain's lock and head look-up once per transaction) is part of writing it.
    audit_record(
        actor=Actor(kind="partner", ref="bench"),
        action=action,
        target_ref=target_ref,
        patient=patient,
        metadata={"bench": True},
    )


def _lead_created_type_id() -> int:
    if "lead.created" not in _event_types:
        _event_types["lead.created"] = EventType.objects.get(name="lead.created").pk
    return _event_types["lead.created"]


_event_types: dict[str, int] = {}

urlpatterns = [
    path("bench/floor", FloorView.as_view()),
    path("bench/orm-floor", OrmFloorView.as_view()),
    path("", include("careos.urls")),
]
