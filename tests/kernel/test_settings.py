"""careos/settings.py: what it reads (and README.md documents), and what importing it does.

Each scenario imports the settings in a fresh interpreter with an environment of its own, as a
newcomer's shell or a deployment would; this process's settings were imported long ago.
"""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_SOURCE = ROOT / "careos" / "settings.py"
README = ROOT / "README.md"
READERS = {"production_secret", "production_secret_list"}


def variables_settings_read() -> set[str]:
    """Names passed to ``env.<type>("NAME", ...)`` and ``production_secret*("NAME", ...)``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(SETTINGS_SOURCE.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        first, func = node.args[0], node.func
        reads_env = (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "env"
        ) or (isinstance(func, ast.Name) and func.id in READERS)
        if reads_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def variables_readme_documents() -> set[str]:
    """The names in the first column of every table of README.md's Settings section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("| `") and len(cells) > 2:
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[1]))
    return names


def test_the_readme_documents_exactly_the_variables_settings_read():
    read, documented = variables_settings_read(), variables_readme_documents()
    assert len(read) > 100  # the scan found the settings' reads
    assert not documented - read, f"documented but never read: {sorted(documented - read)}"
    assert not read - documented, f"read but not in README.md: {sorted(read - documented)}"


def settings_in_fresh_process(
    tmp_path: Path, env: dict[str, str], script: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` after importing the settings, in ``tmp_path``, with only ``env`` (and
    PATH/HOME) as the environment: no variable of this test run leaks in."""
    base = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    program = "import careos.settings as settings\n" + script
    return subprocess.run(
        [sys.executable, "-c", program],
        cwd=tmp_path,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def settings_values(tmp_path: Path, env: dict[str, str], *names: str) -> dict[str, Any]:
    script = (
        "import json\n"
        f"values = {{name: getattr(settings, name, None) for name in {names!r}}}\n"
        "print(json.dumps(values, default=str))"
    )
    completed = settings_in_fresh_process(tmp_path, env, script)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_importing_the_settings_creates_no_directory(tmp_path):
    var_dir = tmp_path / "var"
    for debug in ("true", "false"):
        env = {"VAR_DIR": str(var_dir), "DEBUG": debug}
        if debug == "false":
            env |= {name: "x" * 40 for name in _production_secrets()}
            env["FIELD_ENCRYPTION_KEYS"] = "dGVzdGtleXRlc3RrZXl0ZXN0a2V5dGVzdGtleTAwMDA="
        completed = settings_in_fresh_process(tmp_path, env)
        assert completed.returncode == 0, completed.stderr
        assert list(tmp_path.iterdir()) == [], "importing the settings created files"


def _production_secrets() -> set[str]:
    source = SETTINGS_SOURCE.read_text(encoding="utf-8")
    return set(re.findall(r'production_secret(?:_list)?\(\s*"([A-Z0-9_]+)"', source))


def test_setup_creates_the_sqlite_folder_and_the_static_root(tmp_path):
    var_dir = tmp_path / "var"
    completed = settings_in_fresh_process(
        tmp_path, {"VAR_DIR": str(var_dir), "DEBUG": "true"}, "import django\ndjango.setup()"
    )
    assert completed.returncode == 0, completed.stderr
    # The broker's folders are made by the broker when it is used (tests/kernel/test_celery.py).
    assert sorted(p.name for p in var_dir.iterdir()) == ["static"]


def test_development_defaults_need_nothing_from_the_environment(tmp_path):
    values = settings_values(
        tmp_path,
        {"VAR_DIR": str(tmp_path / "var"), "DEBUG": "true"},
        "PUBLIC_BASE_URL",
        "LEADS_PUBLIC_API_URL",
        "SUPPORT_CSAT_URL",
        "ENGAGEMENT_PUBLIC_BASE_URL",
        "STRIPE_WEBHOOK_SECRET",
        "BILLING_PROVIDER_WEBHOOK_SECRET",
        "OAUTH2_PROVIDER",
        "CELERY_BROKER_TRANSPORT_OPTIONS",
        "PARTNER_LEAD_INGEST_RATE_LIMIT",
    )
    assert values["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    assert values["LEADS_PUBLIC_API_URL"] == "http://127.0.0.1:8000"
    assert values["ENGAGEMENT_PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"
    assert values["SUPPORT_CSAT_URL"] == "http://127.0.0.1:8000/support/csat/"
    # Webhooks can be signed and verified locally without configuring anything.
    assert values["STRIPE_WEBHOOK_SECRET"] and values["BILLING_PROVIDER_WEBHOOK_SECRET"]
    assert values["OAUTH2_PROVIDER"]["ALLOWED_REDIRECT_URI_SCHEMES"] == ["http", "https"]
    folders = values["CELERY_BROKER_TRANSPORT_OPTIONS"]
    for option in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert Path(folders[option]).is_relative_to(tmp_path / "var" / "broker"), option
    assert values["PARTNER_LEAD_INGEST_RATE_LIMIT"] is None  # removed: nothing read it


def test_one_base_url_names_the_instance_and_each_link_can_be_overridden(tmp_path):
    env = {"VAR_DIR": str(tmp_path / "var"), "DEBUG": "true"}
    env["PUBLIC_BASE_URL"] = "https://careos.example.com"
    names = ("LEADS_PUBLIC_API_URL", "SUPPORT_CSAT_URL", "ENGAGEMENT_PUBLIC_BASE_URL")
    assert settings_values(tmp_path, env, *names) == {
        "LEADS_PUBLIC_API_URL": "https://careos.example.com",
        "SUPPORT_CSAT_URL": "https://careos.example.com/support/csat/",
        "ENGAGEMENT_PUBLIC_BASE_URL": "https://careos.example.com",
    }
    env |= {
        "LEADS_PUBLIC_API_URL": "https://api.careos.example.com",
        "SUPPORT_CSAT_URL": "https://help.careos.example.com/csat/",
        "ENGAGEMENT_PUBLIC_BASE_URL": "https://hooks.careos.example.com",
    }
    assert settings_values(tmp_path, env, *names) == {name: env[name] for name in names}


def test_oauth_redirect_uri_schemes_takes_effect(tmp_path):
    env = {"VAR_DIR": str(tmp_path / "var"), "DEBUG": "true"}
    env["OAUTH_REDIRECT_URI_SCHEMES"] = "https,com.example.app"
    values = settings_values(tmp_path, env, "OAUTH2_PROVIDER")
    assert values["OAUTH2_PROVIDER"]["ALLOWED_REDIRECT_URI_SCHEMES"] == [
        "https",
        "com.example.app",
    ]


def test_without_debug_a_missing_webhook_secret_stops_start_up(tmp_path):
    env = {"VAR_DIR": str(tmp_path / "var"), "DEBUG": "false"}
    env |= {name: "x" * 40 for name in _production_secrets() - {"STRIPE_WEBHOOK_SECRET"}}
    env["FIELD_ENCRYPTION_KEYS"] = "dGVzdGtleXRlc3RrZXl0ZXN0a2V5dGVzdGtleTAwMDA="
    completed = settings_in_fresh_process(tmp_path, env)
    assert completed.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET is not set" in completed.stderr


def test_a_refused_request_is_logged_once_without_traceback_in_development(tmp_path):
    """Django's own DEBUG console handler would print each django.* record a second time."""
    script = """
import logging
import django
django.setup()
log = logging.getLogger("django.request")
for status in (403, 500):
    try:
        raise PermissionError(f"status {status}")
    except PermissionError:
        log.warning("Refused with %s", status, exc_info=True, extra={"status_code": status})
"""
    completed = settings_in_fresh_process(
        tmp_path, {"VAR_DIR": str(tmp_path / "var"), "DEBUG": "true"}, script
    )
    assert completed.returncode == 0, completed.stderr
    log = completed.stderr
    assert log.count("Refused with 403") == 1
    assert log.count("Refused with 500") == 1
    # A client's error is one line; a server error keeps its traceback.
    assert log.count("Traceback") == 1
    assert log.index("Traceback") > log.index("Refused with 500")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:8000", "is not an https URL"),
        ("https://localhost", "names this machine"),
        ("https://127.0.0.2:8443", "names this machine"),
        ("https://[::1]", "names this machine"),
        ("careos.example.com", "is not an https URL"),
    ],
)
def test_check_deploy_wants_the_public_https_address(settings, url, problem):
    settings.PUBLIC_BASE_URL = url
    errors = [m for m in run_checks(include_deployment_checks=True) if m.id == "careos.E001"]
    assert len(errors) == 1
    assert problem in errors[0].msg


def test_check_deploy_accepts_a_public_https_address(settings):
    settings.PUBLIC_BASE_URL = "https://careos.example.com"
    assert not [m for m in run_checks(include_deployment_checks=True) if m.id == "careos.E001"]
    # Development serves on loopback: the check is for deployments only.
    settings.DEBUG, settings.PUBLIC_BASE_URL = True, "http://127.0.0.1:8000"
    assert not [m for m in run_checks(include_deployment_checks=True) if m.id == "careos.E001"]
