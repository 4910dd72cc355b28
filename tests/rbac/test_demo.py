import io
import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from rbac import demo
from rbac.models import AuditEvent, Clinic, Membership, Role, User

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

    client = Client()
    assert client.login(username="admin", password="careos-demo")
    assert client.get(reverse("admin:index")).status_code == 200

    # Recorded for `make run`'s banner and CI's authenticated schemathesis run.
    data = json.loads((tmp_path / "demo-credentials.json").read_text())
    assert (data["adminUsername"], data["adminPassword"]) == ("admin", "careos-demo")


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
