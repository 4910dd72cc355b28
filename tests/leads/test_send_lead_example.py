"""A newcomer's first lead: on the demo data, the README's commands run docs/examples/send_lead.py
as the demo partner against a live server, and the lead accrues the demo partner's referral fee
as a pending partner payment."""

import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from careos.demo import demo_partner_env_path, read_demo_credentials
from leads.models import Lead, LeadEncryptionKey
from payments.models import PartnerPayment

ROOT = Path(__file__).resolve().parents[2]

live = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def readme_send_lead_commands() -> str:
    """The README's shell block that runs the example."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    return next(block for block in blocks if "docs/examples/send_lead.py" in block)


def checkout_like(directory: Path) -> None:
    """What the README's commands use of a checkout: ``.venv/bin/python`` (this interpreter)
    and ``docs/``; ``var/`` is the demo data's own (``DEMO_CREDENTIALS_FILE`` points there)."""
    python = directory / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    (directory / "docs").symlink_to(ROOT / "docs")


@live
def test_the_readme_commands_send_a_lead_with_a_pending_partner_payment(
    live_server, settings, tmp_path
):
    checkout_like(tmp_path)
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "var" / "demo-credentials.json"
    # make run sets PUBLIC_BASE_URL to where it serves, which these URLs default to.
    settings.LEADS_PUBLIC_API_URL = live_server.url
    call_command("seed_demo", stdout=StringIO())

    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAREOS_")}
    completed = subprocess.run(
        ["bash", "-e", "-c", readme_send_lead_commands()],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    status, _, body = completed.stdout.strip().partition(" ")
    assert status == "201", completed.stdout
    lead = Lead.objects.select_related("partner", "patient").get(
        public_id=json.loads(body)["leadId"]
    )
    assert lead.partner.slug == "demo"
    assert lead.patient.phone == "+12025550143"
    assert (lead.referral_fee_minor, lead.referral_fee_currency) == (2500, "USD")
    payment = PartnerPayment.objects.get(referral_ref=lead.public_id)
    assert (payment.partner, payment.amount, payment.currency) == (lead.partner, 2500, "USD")
    assert payment.status == PartnerPayment.Status.PENDING


@pytest.mark.django_db
def test_the_demo_keeps_one_key_and_rewrites_the_env_file_for_the_current_url(settings):
    settings.LEADS_PUBLIC_API_URL = "http://127.0.0.1:18701"
    call_command("seed_demo", stdout=StringIO())
    key = LeadEncryptionKey.objects.get(partner__slug="demo", retired_at__isnull=True)
    settings.LEADS_PUBLIC_API_URL = "http://127.0.0.1:18702"
    again = StringIO()
    call_command("seed_demo", stdout=again)

    assert LeadEncryptionKey.objects.filter(partner__slug="demo").count() == 1
    assert f"exists : phone encryption key {key.kid}" in again.getvalue()
    lines = dict(
        line.split("=", 1)
        for line in demo_partner_env_path().read_text(encoding="utf-8").splitlines()
        if "=" in line
    )
    assert lines["CAREOS_API_URL"] == '"http://127.0.0.1:18702"'
    assert lines["CAREOS_PLATFORM"] == '"demo"'
    assert lines["CAREOS_KEY_ID"] == f'"{key.kid}"'
    assert lines["CAREOS_API_KEY"] == f'"{read_demo_credentials()["partnerApiKey"]}"'
    assert "PRIVATE" not in demo_partner_env_path().read_text(encoding="utf-8")
