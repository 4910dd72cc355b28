"""Send a lead to CareOS: encrypt the phone, hash it, POST it (docs/partner-integration.md).

Run it: ``python send_lead.py`` with CAREOS_API_URL, CAREOS_API_KEY, CAREOS_PLATFORM and
optionally CAREOS_KEY_ID/CAREOS_PUBLIC_KEY in the environment (without them the public key is
fetched from GET /api/v1/leads/encryption-keys). Needs ``cryptography``, ``phonenumbers`` and
``requests``.
"""

import base64
import hashlib
import os
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import phonenumbers
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def to_e164(phone: str, country: str = "US") -> str:
    """Normalise first: the hash is of the E.164 form (+12025550143), never of "(202) 555-0143"."""
    number = phonenumbers.parse(phone, country)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def encrypt_phone(phone_e164: str, public_key_pem: str) -> str:
    """Base64 of RSA-OAEP (SHA-256, MGF1-SHA-256) of the E.164 number under CareOS's key."""
    public_key = serialization.load_pem_public_key(public_key_pem.encode())
    assert isinstance(public_key, rsa.RSAPublicKey)
    ciphertext = public_key.encrypt(
        phone_e164.encode(),
        padding.OAEP(
            mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
        ),
    )
    return base64.b64encode(ciphertext).decode()


def phone_hash(phone_e164: str) -> str:
    """Hex SHA-256 of the E.164 number: CareOS checks it after decrypting."""
    return hashlib.sha256(phone_e164.encode()).hexdigest()


def active_key(session: requests.Session, api_url: str) -> tuple[str, str]:
    """(kid, public key PEM) of CareOS's active key for you."""
    response = session.get(f"{api_url}/api/v1/leads/encryption-keys", timeout=10)
    response.raise_for_status()
    key = next(k for k in response.json()["keys"] if k["status"] == "active")
    return key["kid"], key["publicKeyPem"]


def build_lead(
    *,
    phone: str,
    source_lead_id: str,
    business_category: str,
    need: str,
    consent_text: str,
    kid: str,
    public_key_pem: str,
    language: str = "en",
    first_name: str = "",
    last_name: str = "",
    location_state: str = "",
    country: str = "US",
) -> dict[str, Any]:
    """The JSON body of one lead. Encryption is randomised: build it once, and send the same
    body again on a retry."""
    e164 = to_e164(phone, country)
    return {
        "sourceLeadId": source_lead_id,
        "encryptedPhone": encrypt_phone(e164, public_key_pem),
        "keyId": kid,
        "phoneHash": phone_hash(e164),
        "firstName": first_name,
        "lastName": last_name,
        "businessCategory": business_category,
        "need": need,
        "language": language,
        "locationState": location_state,
        "country": country,
        "consent": {
            "given": True,
            "text": consent_text,
            "method": "sms",
            "timestamp": datetime.now(UTC).isoformat(),
        },
        "metadata": {},
    }


def post_lead(session: requests.Session, api_url: str, body: dict[str, Any]) -> requests.Response:
    """POST a built lead. Retrying the same body is safe: the Idempotency-Key replays the first
    answer, and a repeated sourceLeadId is answered 200 with the original lead."""
    return session.post(
        f"{api_url}/api/v1/leads/ingest",
        json=body,
        headers={"Idempotency-Key": f"lead-{body['sourceLeadId']}"},
        timeout=10,
    )


def send_lead(
    *,
    session: requests.Session,
    api_url: str,
    kid: str | None = None,
    public_key_pem: str | None = None,
    **lead: Any,
) -> requests.Response:
    """Build and POST one lead (``lead``: the keyword arguments of :func:`build_lead`). Without
    ``kid``/``public_key_pem`` the active key is fetched first."""
    if kid is None or public_key_pem is None:
        kid, public_key_pem = active_key(session, api_url)
    return post_lead(session, api_url, build_lead(kid=kid, public_key_pem=public_key_pem, **lead))


def partner_session(api_key: str, platform: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"X-API-Key": api_key, "X-Platform": platform})
    return session


def main() -> int:
    api_url = os.environ["CAREOS_API_URL"].rstrip("/")
    session = partner_session(os.environ["CAREOS_API_KEY"], os.environ["CAREOS_PLATFORM"])
    public_key = os.environ.get("CAREOS_PUBLIC_KEY", "").replace("\\n", "\n") or None
    response = send_lead(
        session=session,
        api_url=api_url,
        phone=sys.argv[1] if len(sys.argv) > 1 else "(202) 555-0143",
        source_lead_id=f"demo_{uuid.uuid4().hex[:12]}",
        business_category="caregiver",
        need="Need caregiver for mom",
        consent_text="Reply YES to let us share your number with CareOS so they can text you.",
        first_name="Maria",
        location_state="CA",
        kid=os.environ.get("CAREOS_KEY_ID") or None,
        public_key_pem=public_key,
    )
    print(response.status_code, response.text)
    return 0 if response.status_code in (200, 201) else 1


if __name__ == "__main__":
    sys.exit(main())
