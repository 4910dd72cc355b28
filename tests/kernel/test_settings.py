"""careos/settings.py: what importing it does (and what setting Django up does).

Each scenario imports the settings in a fresh interpreter with an environment of its own, as a
newcomer's shell or a deployment would; this process's settings were imported long ago.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_SOURCE = ROOT / "careos" / "settings.py"


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


def settings_values(tmp_path: Path, env: dict[str, str], *names: str) -> dict[str, Any]:
    script = (
        "import json\n"
        f"values = {{name: getattr(settings, name, None) for name in {names!r}}}\n"
        "print(json.dumps(values, default=str))"
    )
    completed = settings_in_fresh_process(tmp_path, env, script)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


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
