import io
import json
from base64 import b32encode

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from rbac import demo
from rbac.models import AuditEvent, Clinic, Membership, Role, User
from scripts.demo_totp import totp_code

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_demo_login_works(settings, tmp_path):
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    first = io.StringIO()
    demo.seed(stdout=first)
    counts = (
        User.objects.count(),
        Clinic.objects.count(),
        Role.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.count(),
    )
    second = io.StringIO()
    demo.seed(stdout=second)
    assert counts == (
        User.objects.count(),
        Clinic.objects.count(),
        Role.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.count(),
    )
    assert "created: superuser admin / password careos-demo" in first.getvalue()
    assert "exists : superuser admin / password careos-demo" in second.getvalue()
    assert "created" not in second.getvalue()

    clinic = Clinic.objects.get(name="CareOS Demo Clinic")
    assert clinic.timezone == "America/New_York"
    assert clinic.languages == ["en", "es"] and clinic.regions == ["NY", "NJ"]
    assert clinic.roles.count() == 6
    assert set(
        Membership.objects.filter(clinic=clinic, is_active=True).values_list(
            "user__username", "role__slug"
        )
    ) == {("demo.specialist", "specialist"), ("demo.agent", "support_agent")}

    # Recorded for `make run`'s banner and CI's authenticated schemathesis run: the password
    # and the key of the admin's authenticator device (the admin can see PHI).
    data = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert (data["adminUsername"], data["adminPassword"]) == ("admin", "careos-demo")
    (device,) = TOTPDevice.objects.filter(user__username="admin")  # one, after two seeds
    assert device.confirmed and data["adminTotpSecret"] == b32encode(device.bin_key).decode()

    # Both sign-in steps with what was recorded, as a person (or CI) does.
    client = Client()
    with time_machine.travel(timezone.now(), tick=False):
        response = client.post(
            reverse("admin:login"), {"username": "admin", "password": "careos-demo"}
        )
        assert response.status_code == 302
        assert client.get(reverse("admin:index"))["Location"].startswith(reverse("mfa-verify"))
        response = client.post(
            reverse("mfa-verify"), {"code": totp_code(data["adminTotpSecret"]), "next": "/admin/"}
        )
        assert response.status_code == 302
        assert client.get(reverse("admin:index")).status_code == 200


def test_seed_restores_a_changed_demo_admin(settings, tmp_path):
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    demo.seed(stdout=io.StringIO())
    admin = User.objects.get(username="admin")
    admin.is_superuser = False
    admin.set_password("something-else-entirely")
    admin.save()
    demo.seed(stdout=io.StringIO())
    admin.refresh_from_db()
    assert admin.is_superuser and admin.check_password("careos-demo")


def test_seed_demo_command_runs_rbac_demo_twice(settings, tmp_path):
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    for _ in range(2):
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
    assert "exists : clinic CareOS Demo Clinic" in out.getvalue()
    assert Clinic.objects.filter(name="CareOS Demo Clinic").count() == 1
    assert User.objects.filter(username="admin", is_superuser=True).count() == 1
