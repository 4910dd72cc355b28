"""Partners read their leads (no PHI), their public keys and the consent language."""

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from django.utils import timezone

from careos.actors import system_actor
from leads.models import Lead
from leads.services.keys import encryption_key_create, encryption_key_expire, phone_decrypt
from leads.services.pipeline import lead_contact
from tests.leads.conftest import PHONE
from tests.leads.partner_example import encrypt_phone
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/leads/ingest"
LEAD_FIELDS = {
    "id",
    "sourceLeadId",
    "status",
    "statusChangedAt",
    "lostReason",
    "businessCategory",
    "healthcareCategory",
    "language",
    "locationState",
    "country",
    "referralFee",
    "welcomeMessageQueued",
    "createdAt",
    "updatedAt",
}


def _ingest(client, make_payload, **overrides) -> str:
    response = client.post(INGEST, make_payload(**overrides), format="json")
    assert response.status_code == 201, response.content
    return response.json()["leadId"]


def test_list_shows_own_leads_without_phi(ingest_client, make_payload, partner_api_client):
    mine = _ingest(ingest_client, make_payload)
    other_partner = PartnerFactory()
    key = encryption_key_create(partner=other_partner, actor=system_actor("t")).key
    _ingest(partner_api_client(partner=other_partner), make_payload, key=key)

    response = ingest_client.get("/api/v1/leads")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [lead["id"] for lead in results] == [mine]
    assert set(results[0]) == LEAD_FIELDS
    assert results[0]["referralFee"] == {"amount": 0, "currency": "USD"}
    text = response.content.decode()
    for phi in (PHONE, "2025550143", "Maria", "Lopez", "caregiver for mom", "conversation"):
        assert phi not in text


def test_list_filters(ingest_client, make_payload, time_machine):
    time_machine.move_to("2026-11-01T12:00:00Z", tick=False)
    old = _ingest(ingest_client, make_payload, sourceLeadId="src-old")
    time_machine.move_to("2026-11-10T12:00:00Z", tick=False)
    new = _ingest(ingest_client, make_payload, sourceLeadId="src-new")
    lead_contact(lead=Lead.objects.get(public_id=new), actor=system_actor("t"))

    def ids(query: str) -> list[str]:
        response = ingest_client.get(f"/api/v1/leads?{query}")
        assert response.status_code == 200, response.content
        return [lead["id"] for lead in response.json()["results"]]

    assert ids("sourceLeadId=src-old") == [old]
    assert ids("status=contacted") == [new]
    assert ids("status=new") == [old]
    assert ids("createdAfter=2026-11-05T00:00:00Z") == [new]
    assert ids("createdBefore=2026-11-05T00:00:00Z") == [old]
    assert ids("") == [new, old]
    bad = ingest_client.get("/api/v1/leads?status=won&createdAfter=soon")
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"status", "createdAfter"}


def test_detail_and_another_partners_lead_is_404(ingest_client, make_payload, partner_api_client):
    lead_id = _ingest(ingest_client, make_payload)
    response = ingest_client.get(f"/api/v1/leads/{lead_id}")
    assert response.status_code == 200
    assert response.json()["id"] == lead_id and response.json()["status"] == "new"
    outsider = partner_api_client(partner=PartnerFactory())
    missing = outsider.get(f"/api/v1/leads/{lead_id}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert outsider.get("/api/v1/leads").json()["results"] == []
    assert ingest_client.get("/api/v1/leads/lead_doesnotexist").status_code == 404


def test_reading_needs_read_leads(partner_api_client, lead_partner):
    client = partner_api_client(partner=lead_partner, scopes=["write:leads"])
    response = client.get("/api/v1/leads")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_encryption_keys_pem_and_jwk(ingest_client, lead_partner, encryption_key):
    response = ingest_client.get("/api/v1/leads/encryption-keys")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["kid"] == encryption_key.kid
    assert key["status"] == "active"
    assert key["algorithm"] == "RSA-OAEP-256" and key["keySize"] == 2048
    assert key["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in response.content.decode()
    jwk = key["jwk"]
    assert jwk["kid"] == encryption_key.kid and jwk["kty"] == "RSA" and jwk["alg"] == "RSA-OAEP-256"

    def b64int(value: str) -> int:
        import base64

        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")

    # A partner using the JWK encrypts for the same key pair.
    public = RSAPublicNumbers(b64int(jwk["e"]), b64int(jwk["n"])).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    from cryptography.hazmat.primitives import serialization

    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    ciphertext = encrypt_phone(PHONE, pem)
    assert phone_decrypt(partner=lead_partner, kid=jwk["kid"], ciphertext_b64=ciphertext) == PHONE


def test_encryption_keys_during_rotation_and_other_partners(
    ingest_client, lead_partner, encryption_key
):
    rotated = encryption_key_create(partner=lead_partner, actor=system_actor("t"))
    encryption_key_create(partner=PartnerFactory(), actor=system_actor("t"))
    keys = ingest_client.get("/api/v1/leads/encryption-keys").json()["keys"]
    assert [(k["kid"], k["status"]) for k in keys] == [
        (rotated.key.kid, "active"),
        (encryption_key.kid, "retiring"),
    ]
    retiring_until = keys[1]["decryptUntil"]
    assert retiring_until is not None
    encryption_key_expire(key=rotated.retired, actor=system_actor("t"))
    keys = ingest_client.get("/api/v1/leads/encryption-keys").json()["keys"]
    assert [k["kid"] for k in keys] == [rotated.key.kid]
    assert rotated.retired.decrypt_until <= timezone.now() + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("language", "served", "start"),
    [("es", "es", "Acepto que BusinessOS"), ("fr-CA", "fr", "J'accepte"), ("xx", "en", "I agree")],
)
def test_consent_language(ingest_client, language, served, start):
    response = ingest_client.get(f"/api/v1/leads/consent-language?language={language}")
    assert response.status_code == 200
    assert response.json()["language"] == served
    assert response.json()["text"].startswith(start)


def test_schema_documents_the_lead_endpoints(api_client):
    schema = api_client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/leads/ingest",
        "/api/leads/ingest",
        "/api/v1/leads",
        "/api/v1/leads/{lead_id}",
        "/api/v1/leads/encryption-keys",
        "/api/v1/leads/consent-language",
    ):
        assert path in paths, path
    ingest = paths["/api/v1/leads/ingest"]["post"]
    assert {"201", "200"} <= set(ingest["responses"])
    assert "Idempotency-Key" in {p["name"] for p in ingest["parameters"]}
