"""generate_partner_keys and the demo seed."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from partners.models import ApiKey, Partner, PartnerAgreement
from partners.scopes import scopes_for_tier
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_generate_partner_keys_prints_the_key_once(api_client, settings):
    settings.PUBLIC_BASE_URL = "https://careos.example.com"
    partner = PartnerFactory(slug="acme")
    out = StringIO()
    call_command("generate_partner_keys", "acme", "live", stdout=out)
    text = out.getvalue()
    key = ApiKey.objects.get(partner=partner)
    secret = next(w for w in text.split() if w.startswith("ck_live_"))
    assert secret.startswith(key.prefix)
    assert "X-Platform: acme" in text
    # The check command names this instance, not a placeholder or a production host.
    assert "https://careos.example.com/api/v1/partners/ping" in text
    assert set(key.scopes) == scopes_for_tier("basic")
    api_client.credentials(HTTP_X_API_KEY=secret, HTTP_X_PLATFORM="acme")
    assert api_client.get("/api/v1/partners/me").status_code == 200


def test_generate_partner_keys_narrowed_scopes_and_errors():
    PartnerFactory(slug="acme")
    call_command(
        "generate_partner_keys", "acme", "test", "--scopes", "read:leads", stdout=StringIO()
    )
    assert ApiKey.objects.get().scopes == ["read:leads"]
    with pytest.raises(CommandError, match="No partner"):
        call_command("generate_partner_keys", "nobody", "test", stdout=StringIO())
    with pytest.raises(CommandError, match="Not allowed"):
        call_command(
            "generate_partner_keys", "acme", "test", "--scopes", "admin", stdout=StringIO()
        )


def test_demo_seed_is_idempotent_and_records_the_key(settings, tmp_path, api_client):
    demo = pytest.importorskip("careos.demo", reason="careos.demo (kernel) is not merged yet")
    from partners.demo import seed

    settings.DEMO_CREDENTIALS_FILE = str(tmp_path / "demo.json")
    first = StringIO()
    seed(stdout=first)
    partner = Partner.objects.get(slug="demo")
    assert (partner.status, partner.tier) == ("active", "basic")
    assert partner.rate_limit_per_minute == 100_000  # CI's schemathesis run uses this partner
    secret = demo.read_demo_credentials()["partnerApiKey"]
    assert secret in first.getvalue()
    again = StringIO()
    seed(stdout=again)
    assert secret not in again.getvalue()
    assert ApiKey.objects.filter(partner=partner).count() == 1
    # Its agreement pays a referral fee per lead (one agreement, however often it is seeded).
    agreement = PartnerAgreement.objects.get(partner=partner)
    assert (agreement.referral_fee_minor, agreement.currency) == (2500, "USD")
    assert agreement.effective_from == timezone.localdate()
    assert "referral fee 25.00 USD per lead" in again.getvalue()
    ApiKey.objects.filter(partner=partner).update(revoked_at="2026-01-01T00:00:00Z")
    seed(stdout=StringIO())
    assert demo.read_demo_credentials()["partnerApiKey"] != secret
    api_client.credentials(HTTP_X_API_KEY=demo.read_demo_credentials()["partnerApiKey"])
    assert api_client.get("/api/v1/partners/me").json()["slug"] == "demo"
