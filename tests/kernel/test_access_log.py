"""gunicorn's access log holds no phone number or email (careos/gunicorn_logging.py).

A real gunicorn serves the app, started as ``make run`` starts it, and is asked an admin search
for a phone number and for an email (the redirect to the sign-in page repeats the search in its
``Location``), with a search page as referer, and an API list filtered by phone.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from careos.logging import REDACTED, mask_query_string, mask_url
from scripts.run_platform import web_argv

ROOT = Path(__file__).resolve().parents[2]
PHONE = "+14155550122"
EMAIL = "jane.doe@example.com"
# Every atom that can hold a URL or a secret, beside gunicorn's default ones.
LOG_FORMAT = '%(h)s "%(r)s" %(s)s "%(f)s" q="%(q)s" loc="%({location}o)s" ck="%({cookie}i)s"'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port, log = free_port(), tmp_path / "access.log"
    argv = web_argv(sys.executable, bind=f"127.0.0.1:{port}", workers=1)
    argv[argv.index("--access-logfile") + 1] = str(log)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
    }
    env.update(DEBUG="true", VAR_DIR=str(tmp_path / "var"))
    process = subprocess.Popen(
        [*argv, "--access-logformat", LOG_FORMAT],
        cwd=tmp_path,  # not the checkout: its gunicorn.conf.py must not be what applies
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not _answers(f"{base}/healthz"):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"gunicorn did not start: {process.communicate()[1]!r}")
            time.sleep(0.2)
        yield base, log
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_searches_for_a_phone_or_email_leave_neither_in_the_access_log(gunicorn):
    base, log = gunicorn
    searches = [f"/admin/rbac/user/?q={quote(value)}&p=2" for value in (PHONE, EMAIL)]
    with httpx.Client(base_url=base, timeout=10) as client:
        for search in searches:
            response = client.get(
                search,
                headers={"Referer": f"{base}/admin/rbac/user/?q={EMAIL}", "Cookie": "sessionid=s3"},
            )
            assert response.status_code == 302  # to the sign-in page, the search in ``next``
            assert "/admin/login/?next=" in response.headers["Location"]
        client.get(f"/api/v1/leads?phone={quote(PHONE)}&ordering=-created")
    deadline = time.monotonic() + 10
    while log.read_text().count("/api/v1/leads") < 1 and time.monotonic() < deadline:
        time.sleep(0.1)

    text = log.read_text()
    admin = [line for line in text.splitlines() if "/admin/rbac/user/" in line]
    api = [line for line in text.splitlines() if "/api/v1/leads" in line]
    assert len(admin) == 2 and len(api) == 1, text
    for needle in ("4155550122", "jane", "example.com", "%40", "s3"):
        assert needle not in text, f"{needle!r} in the access log:\n{text}"
    for line in admin:
        assert f'"GET /admin/rbac/user/?q={REDACTED}&p=2 HTTP/1.1" 302' in line
        assert '"http://127.0.0.1:' in line and f'/admin/rbac/user/?q={REDACTED}"' in line
        assert f'q="q={REDACTED}&p=2"' in line
        assert f'loc="/admin/login/?next={REDACTED}"' in line
        assert f'ck="{REDACTED}"' in line
    assert f'"GET /api/v1/leads?phone={REDACTED}&ordering=-created HTTP/1.1"' in api[0]


@pytest.mark.parametrize(
    ("query", "masked"),
    [
        ("", ""),
        ("q=%2B14155550122", f"q={REDACTED}"),
        ("p=3&o=-1.2&q=a%40b.co", f"p=3&o=-1.2&q={REDACTED}"),
        ("%2B14155550122", REDACTED),  # a bare value is a name: masked when it is not a name
        ("status__exact=open&flag", f"status__exact={REDACTED}&flag"),
    ],
)
def test_query_values_are_masked_but_paging(query, masked):
    assert mask_query_string(query) == masked


def test_the_rest_of_a_url_is_redacted_too():
    assert mask_url("/x/jane@example.com/?cursor=abc") == f"/x/{REDACTED}/?cursor=abc"
