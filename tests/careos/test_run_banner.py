"""``make run``'s banner (scripts/run_platform.py) and README.md list the same things."""

import contextlib
import json
import re
from pathlib import Path

import pytest

from scripts import run_platform

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "http://127.0.0.1:18780"


def banner_labels(text: str) -> list[str]:
    return re.findall(r"^  ([A-Z][A-Za-z ]+):", text, flags=re.MULTILINE)


def readme_banner_labels() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("it prints\na banner with:\n", 1)[1].lstrip("\n").split("\n\n", 1)[0]
    return re.findall(r"^- \*\*([A-Za-z ]+)\*\*:", section, flags=re.MULTILINE)


def seeded_var(var_dir: Path) -> None:
    var_dir.mkdir()
    credentials = {
        "adminUsername": "admin",
        "adminPassword": "careos-demo",
        "partnerApiKey": "ck_test_banner",
        "partnerSlug": "demo",
    }
    (var_dir / "demo-credentials.json").write_text(json.dumps(credentials), encoding="utf-8")
    (var_dir / "demo-partner.env").write_text('CAREOS_PLATFORM="demo"\n', encoding="utf-8")


def test_the_banner_shows_what_the_readme_lists(tmp_path):
    seeded_var(tmp_path / "var")
    text = run_platform.banner(BASE_URL, {"DEBUG": "true", "VAR_DIR": str(tmp_path / "var")})

    assert banner_labels(text) == readme_banner_labels()
    assert f"Admin:        {BASE_URL}/admin/" in text
    assert "Demo login:   admin / careos-demo" in text
    assert f"{BASE_URL}/api/docs/  (OpenAPI schema: /api/schema/)" in text
    assert f"{BASE_URL}/healthz (liveness), /readyz (readiness)" in text
    assert "X-API-Key: ck_test_banner" in text and "X-Platform: demo" in text
    # The README's two commands, as one line, with the env file where this run keeps it.
    assert (
        f"set -a && . {tmp_path / 'var' / 'demo-partner.env'} && set +a && "
        ".venv/bin/python docs/examples/send_lead.py"
    ) in text


def test_without_demo_data_the_banner_says_how_to_make_a_superuser(tmp_path):
    text = run_platform.banner(BASE_URL, {"DEBUG": "true", "VAR_DIR": str(tmp_path / "empty")})

    assert "none yet: no demo superuser was seeded" in text
    # The README shows the same command, and it works as shown (see README, Management commands).
    assert run_platform.CREATE_SUPERUSER in text
    assert run_platform.CREATE_SUPERUSER in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Demo partner:" not in text and "Send a lead:" not in text


@pytest.mark.parametrize(
    ("args", "url"),
    [
        (["--port", "18781"], "http://127.0.0.1:18781"),
        # README: make run RUN_ARGS="--host 0.0.0.0 ...": reached (and probed) on loopback.
        (["--host", "0.0.0.0", "--port", "18782"], "http://127.0.0.1:18782"),
        (["--host", "::1", "--port", "18783"], "http://[::1]:18783"),
    ],
)
def test_make_run_points_links_at_itself(monkeypatch, args, url):
    """``PUBLIC_BASE_URL`` defaults to the launcher's own address (links, demo-partner.env)."""
    seen: dict[str, str] = {}

    def record_and_stop(argv: list[str], env: dict[str, str]) -> None:
        seen.update(env)
        raise SystemExit(0)

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setattr(run_platform, "run_step", record_and_stop)
    # The launcher's own Ctrl-C handling stays out of this test process.
    monkeypatch.setattr(run_platform.signal, "signal", lambda *args: None)
    with contextlib.suppress(SystemExit):
        run_platform.main(args)
    assert seen["PUBLIC_BASE_URL"] == url
    assert seen["DEBUG"] == "true"


def test_the_banner_says_how_to_get_the_demo_admins_one_time_code(tmp_path):
    seeded_var(tmp_path / "var")
    path = tmp_path / "var" / "demo-credentials.json"
    path.write_text(
        json.dumps({**json.loads(path.read_text()), "adminTotpSecret": "JBSWY3DPEHPK3PXP"}),
        encoding="utf-8",
    )
    text = run_platform.banner(BASE_URL, {"DEBUG": "true", "VAR_DIR": str(tmp_path / "var")})
    assert (
        "Demo login:   admin / careos-demo, then the code from "
        "`.venv/bin/python scripts/demo_totp.py` (or add TOTP key JBSWY3DPEHPK3PXP"
    ) in text


def test_demo_totp_computes_rfc_6238_codes():
    from scripts.demo_totp import totp_code

    # RFC 6238 appendix B (SHA-1 seed "12345678901234567890"), last 6 of the 8 digits.
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp_code(secret, at=59) == "287082"
    assert totp_code(secret, at=1111111109) == "081804"
    assert totp_code(secret, at=1111111109, offset_steps=1) == totp_code(secret, at=1111111139)
