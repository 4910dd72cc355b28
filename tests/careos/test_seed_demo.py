"""``manage.py seed_demo`` and the demo-credentials helpers, with fake app demo modules."""

import io
import json
import sys
from types import ModuleType
from typing import Any, TextIO

import pytest
from django.core.management import call_command

from careos.demo import read_demo_credentials, record_demo_credentials
from careos.management.commands import seed_demo
from rbac.models import Clinic


def run_seed_demo() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def fake_demo_module(monkeypatch: pytest.MonkeyPatch, app: str, seed: Any) -> None:
    """Register ``<app>.demo`` with ``seed`` as if the app shipped a demo.py."""
    if app not in sys.modules:
        monkeypatch.setitem(sys.modules, app, ModuleType(app))
    module = ModuleType(f"{app}.demo")
    module.seed = seed  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, f"{app}.demo", module)


def clinic_seed(*, stdout: TextIO) -> None:
    clinic, created = Clinic.objects.get_or_create(name="Demo Clinic")
    stdout.write(f"{'created' if created else 'exists'}: clinic {clinic.name}")
    record_demo_credentials(adminUsername="admin", adminPassword="demo-pass")


def test_nothing_seeded_when_no_app_has_a_demo_module(monkeypatch, db):
    monkeypatch.setattr(seed_demo, "DEMO_APPS", ("careos_no_such_app",))

    output = run_seed_demo()

    assert "Nothing was seeded: no app has a demo module" in output


def test_seeds_each_app_in_layer_order_and_is_idempotent(monkeypatch, db):
    calls: list[str] = []

    def partner_seed(*, stdout: TextIO) -> None:
        calls.append("fake_partners")
        stdout.write("created: partner demo key")
        record_demo_credentials(partnerApiKey="pk_demo")

    def rbac_seed(*, stdout: TextIO) -> None:
        calls.append("fake_rbac")
        clinic_seed(stdout=stdout)

    fake_demo_module(monkeypatch, "fake_rbac", rbac_seed)
    fake_demo_module(monkeypatch, "fake_partners", partner_seed)
    monkeypatch.setattr(
        seed_demo, "DEMO_APPS", ("fake_rbac", "careos_no_such_app", "fake_partners")
    )
    monkeypatch.setattr(seed_demo, "ADMIN_APP", "fake_rbac")

    first = run_seed_demo()
    second = run_seed_demo()

    assert calls == ["fake_rbac", "fake_partners", "fake_rbac", "fake_partners"]
    assert first.index("fake_rbac:") < first.index("fake_partners:")
    assert "created: clinic Demo Clinic" in first
    assert "exists: clinic Demo Clinic" in second
    assert "Demo data seeded by: fake_rbac, fake_partners." in second
    assert "No demo superuser" not in first
    assert Clinic.objects.filter(name="Demo Clinic").count() == 1
    assert read_demo_credentials() == {
        "adminUsername": "admin",
        "adminPassword": "demo-pass",
        "partnerApiKey": "pk_demo",
    }


def test_warns_when_the_admin_app_has_no_demo_module(monkeypatch, db):
    fake_demo_module(monkeypatch, "fake_partners", lambda *, stdout: stdout.write("ok"))
    monkeypatch.setattr(seed_demo, "DEMO_APPS", ("fake_partners",))
    monkeypatch.setattr(seed_demo, "ADMIN_APP", "careos_no_such_app")

    output = run_seed_demo()

    assert "No demo superuser: careos_no_such_app/demo.py does not exist yet" in output


def test_a_failing_demo_module_rolls_back_its_rows(monkeypatch, db):
    def broken_seed(*, stdout: TextIO) -> None:
        Clinic.objects.create(name="Half seeded")
        raise RuntimeError("demo module bug")

    fake_demo_module(monkeypatch, "fake_rbac", broken_seed)
    monkeypatch.setattr(seed_demo, "DEMO_APPS", ("fake_rbac",))

    with pytest.raises(RuntimeError, match="demo module bug"):
        run_seed_demo()
    assert not Clinic.objects.filter(name="Half seeded").exists()


def test_an_import_error_inside_a_demo_module_is_not_hidden(monkeypatch, db, tmp_path):
    package = tmp_path / "fake_broken_app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "demo.py").write_text("import careos_missing_dependency  # noqa\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(seed_demo, "DEMO_APPS", ("fake_broken_app",))

    with pytest.raises(ModuleNotFoundError, match="careos_missing_dependency"):
        run_seed_demo()
    for name in ("fake_broken_app.demo", "fake_broken_app"):
        sys.modules.pop(name, None)


def test_record_demo_credentials_merges_keys(_demo_credentials_in_tmp):
    record_demo_credentials(adminUsername="admin")
    merged = record_demo_credentials(partnerApiKey="pk_1")
    record_demo_credentials(partnerApiKey="pk_2")

    assert merged == {"adminUsername": "admin", "partnerApiKey": "pk_1"}
    assert json.loads(_demo_credentials_in_tmp.read_text()) == {
        "adminUsername": "admin",
        "partnerApiKey": "pk_2",
    }
    assert _demo_credentials_in_tmp.stat().st_mode & 0o077 == 0


def test_read_demo_credentials_without_a_file_is_empty():
    assert read_demo_credentials() == {}
