"""Encryption key pairs: at rest, one active per partner, rotation, the setup commands."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from careos.actors import system_actor
from leads.models import LeadEncryptionKey
from leads.services.keys import DecryptionFailedError, encryption_key_create, phone_decrypt
from partners.models import ApiKey
from rbac.models import AuditEvent
from tests.leads.partner_example import encrypt_phone
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db
ACTOR = system_actor("tests")


def test_private_key_is_encrypted_at_rest():
    key = encryption_key_create(partner=PartnerFactory(), actor=ACTOR).key
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT private_key_pem FROM leads_leadencryptionkey WHERE id = %s", [key.pk]
        )
        stored = cursor.fetchone()[0]
    assert "PRIVATE KEY" not in stored
    assert LeadEncryptionKey.objects.get(pk=key.pk).private_key_pem.startswith(
        "-----BEGIN PRIVATE KEY-----"
    )
    assert AuditEvent.objects.filter(action="lead.encryption_key.created", target_ref=key.kid)


def test_one_active_key_per_partner_and_rotation():
    partner = PartnerFactory()
    first = encryption_key_create(partner=partner, actor=ACTOR)
    second = encryption_key_create(partner=partner, actor=ACTOR)
    assert first.retired is None and second.retired == first.key
    assert LeadEncryptionKey.objects.filter(partner=partner, retired_at__isnull=True).get() == (
        second.key
    )
    first.key.refresh_from_db()
    assert first.key.decrypt_until > first.key.retired_at
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadEncryptionKey.objects.filter(pk=first.key.pk).update(retired_at=None)


def test_a_key_of_the_wrong_size_or_padding_fails_cleanly():
    partner = PartnerFactory()
    key = encryption_key_create(partner=partner, actor=ACTOR).key
    other = encryption_key_create(partner=PartnerFactory(), actor=ACTOR).key
    wrong = encrypt_phone("+12025550143", other.public_key_pem)
    with pytest.raises(DecryptionFailedError):
        phone_decrypt(partner=partner, kid=key.kid, ciphertext_b64=wrong)


def test_generate_partner_keys_creates_the_pair_and_prints_the_setup(settings):
    settings.LEADS_PUBLIC_API_URL = "https://api.careos.example"
    partner = PartnerFactory(slug="businessos", name="BusinessOS")
    out = StringIO()
    call_command("generate_partner_keys", "businessos", "live", stdout=out)
    text = out.getvalue()
    key = LeadEncryptionKey.objects.get(partner=partner)
    secret = next(w for w in text.split() if w.startswith("ck_live_"))
    assert ApiKey.objects.filter(partner=partner).count() == 1
    assert key.public_key_pem.strip() in text
    assert f'CAREOS_API_KEY="{secret}"' in text
    assert 'CAREOS_API_URL="https://api.careos.example"' in text
    assert "at GET https://api.careos.example/api/v1/leads/encryption-keys" in text
    assert f'CAREOS_KEY_ID="{key.kid}"' in text
    assert 'CAREOS_PUBLIC_KEY="-----BEGIN PUBLIC KEY-----\\n' in text
    assert "PRIVATE KEY" not in text

    # Run again (a test key): the active pair is kept, not silently rotated.
    again = StringIO()
    call_command("generate_partner_keys", "businessos", "test", stdout=again)
    assert LeadEncryptionKey.objects.filter(partner=partner).count() == 1
    assert f'CAREOS_KEY_ID="{key.kid}"' in again.getvalue()
    assert "PRIVATE KEY" not in again.getvalue()


def test_rotate_command_prints_only_the_public_key():
    partner = PartnerFactory(slug="acme")
    old = encryption_key_create(partner=partner, actor=ACTOR).key
    out = StringIO()
    call_command("rotate_lead_encryption_key", "acme", "--grace-days", "3", stdout=out)
    new = LeadEncryptionKey.objects.get(partner=partner, retired_at__isnull=True)
    old.refresh_from_db()
    assert (old.decrypt_until - old.retired_at).days == 3
    assert new.kid in out.getvalue() and old.kid in out.getvalue()
    assert "BEGIN PUBLIC KEY" in out.getvalue() and "PRIVATE" not in out.getvalue()


def test_leads_models_and_migrations_agree():
    call_command("makemigrations", "leads", "--check", "--dry-run", stdout=StringIO())
