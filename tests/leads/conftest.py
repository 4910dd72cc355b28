"""Fixtures for the leads tests: a partner with an encryption key pair, and lead payloads
encrypted and hashed exactly as a partner does (docs/examples/send_lead.py)."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from careos.actors import system_actor
from leads.models import LeadEncryptionKey
from leads.services.keys import encryption_key_create
from partners.models import Partner
from tests.leads.partner_example import encrypt_phone, phone_hash
from tests.partners.factories import PartnerFactory

PHONE = "+12025550143"

PayloadFactory = Callable[..., dict[str, Any]]


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings) -> None:  # type: ignore[no-untyped-def]
    """Welcome SMS go out at once (quiet hours have their own test)."""
    settings.ENGAGEMENT_QUIET_HOURS_START = settings.ENGAGEMENT_QUIET_HOURS_END = "00:00"


@pytest.fixture
def lead_partner(db) -> Partner:  # type: ignore[no-untyped-def]
    return PartnerFactory(name="BusinessOS", slug="businessos")


@pytest.fixture
def encryption_key(lead_partner: Partner) -> LeadEncryptionKey:
    return encryption_key_create(partner=lead_partner, actor=system_actor("tests")).key


@pytest.fixture
def ingest_client(partner_api_client, lead_partner, encryption_key) -> APIClient:  # type: ignore[no-untyped-def]
    return partner_api_client(partner=lead_partner, platform=lead_partner.slug)


@pytest.fixture
def make_payload(encryption_key: LeadEncryptionKey) -> PayloadFactory:
    def build(
        *,
        phone: str = PHONE,
        hashed: str | None = None,
        key: LeadEncryptionKey | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        key = key or encryption_key
        body: dict[str, Any] = {
            "sourceLeadId": f"bos_{uuid.uuid4().hex[:12]}",
            "encryptedPhone": encrypt_phone(phone, key.public_key_pem),
            "keyId": key.kid,
            "phoneHash": hashed if hashed is not None else phone_hash(phone),
            "firstName": "Maria",
            "lastName": "Lopez",
            "businessCategory": "caregiver",
            "need": "Need caregiver for mom",
            "language": "en",
            "locationState": "CA",
            "country": "US",
            "consent": {
                "given": True,
                "text": "Reply YES to let BusinessOS share your number with CareOS.",
                "method": "sms",
                "timestamp": datetime.now(UTC).isoformat(),
            },
            "metadata": {"conversationId": "conv_1"},
        }
        body.update(overrides)
        return body

    return build
