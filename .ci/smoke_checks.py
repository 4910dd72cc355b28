"""Checks for the smoke run in ``.ci/run`` (standard library only).

    python .ci/smoke_checks.py wait --timeout 120 --pid PID URL...
    python .ci/smoke_checks.py docs BASE_URL
    python .ci/smoke_checks.py admin BASE_URL CREDENTIALS_JSON
    python .ci/smoke_checks.py session BASE_URL CREDENTIALS_JSON
    python .ci/smoke_checks.py credential CREDENTIALS_JSON KEY
    python .ci/smoke_checks.py schemathesis-report REPORT_DIR EXIT_CODE
    python .ci/smoke_checks.py schemathesis-coverage REPORT_DIR...

Each prints what it checked and exits non-zero with a message saying what is wrong.
"""

import argparse
import http.cookiejar
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPResponse
from pathlib import Path

# The demo admin's one-time codes (RFC 6238), from the same module ``make run``'s banner names.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts.demo_totp import totp_code

# Hosts that would mean the docs page loads code from the internet instead of our static files.
CDN_PATTERN = re.compile(r"""(src|href)=["'](https?:)?//""", re.IGNORECASE)
ASSET_PATTERN = re.compile(r"""(?:src|href)=["'](/static/[^"']+)["']""")


class CheckFailed(Exception):
    pass


def fetch(
    url: str, *, opener: urllib.request.OpenerDirector | None = None, data: bytes | None = None
) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=data)
    if data is not None:
        request.add_header("Referer", url)
    open_url = opener.open if opener is not None else urllib.request.urlopen
    try:
        response: HTTPResponse = open_url(request, timeout=10)
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()
    with response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for(urls: list[str], *, timeout: float, pid: int | None) -> None:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    last: dict[str, str] = {}
    while pending:
        if pid is not None and not process_alive(pid):
            raise CheckFailed(f"the run command (pid {pid}) exited before it was ready")
        for url in list(pending):
            try:
                status, _, _ = fetch(url)
            except (urllib.error.URLError, OSError) as error:
                last[url] = str(error)
                continue
            last[url] = f"HTTP {status}"
            if status == 200:
                print(f"ok: {url} answered 200")
                pending.remove(url)
        if pending and time.monotonic() > deadline:
            details = ", ".join(f"{url} ({last.get(url, 'no answer')})" for url in pending)
            raise CheckFailed(f"not ready after {timeout:.0f}s: {details}")
        if pending:
            time.sleep(1)


def check_docs(base_url: str) -> None:
    status, _, body = fetch(f"{base_url}/api/docs/")
    if status != 200:
        raise CheckFailed(f"/api/docs/ answered {status}")
    html = body.decode("utf-8", errors="replace")
    external = CDN_PATTERN.findall(html)
    if external:
        raise CheckFailed(f"/api/docs/ loads assets from outside the server: {external}")
    assets = sorted(set(ASSET_PATTERN.findall(html)))
    if not any("swagger-ui" in asset and asset.endswith(".js") for asset in assets):
        raise CheckFailed(f"/api/docs/ does not load Swagger UI from /static/: {assets}")
    for asset in assets:
        status, _, content = fetch(f"{base_url}{asset}")
        if status != 200 or not content:
            raise CheckFailed(f"{asset} answered {status} with {len(content)} bytes")
        print(f"ok: {asset} ({len(content)} bytes)")
    print("ok: /api/docs/ is served with no CDN")


def _csrf(jar: http.cookiejar.CookieJar) -> str:
    return next((cookie.value for cookie in jar if cookie.name == "csrftoken"), "")


def admin_login(
    base_url: str, *, username: str, password: str, totp_secret: str = ""
) -> http.cookiejar.CookieJar:
    """Sign in through the admin login form, then (for an account that can see PHI) the second
    step with a code from ``totp_secret``; the jar holds the session and CSRF cookies."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    fetch(f"{base_url}/admin/login/", opener=opener)
    form = urllib.parse.urlencode(
        {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": _csrf(jar),
            "next": "/admin/",
        }
    ).encode()
    status, _, page = fetch(f"{base_url}/admin/login/?next=/admin/", opener=opener, data=form)
    # A code is used once (and the one before may have been used by the last sign-in): the
    # next time step's code is accepted too; django-otp waits 1 s after a wrong one.
    for offset in (0, 1):
        if b'id="mfa-verify-form"' not in page:
            break
        if not totp_secret:
            raise CheckFailed(f"{username!r} needs a one-time code but no TOTP key is recorded")
        form = urllib.parse.urlencode(
            {
                "code": totp_code(totp_secret, offset_steps=offset),
                "csrfmiddlewaretoken": _csrf(jar),
                "next": "/admin/",
            }
        ).encode()
        if offset:
            time.sleep(1.5)
        status, _, page = fetch(f"{base_url}/accounts/mfa/", opener=opener, data=form)
    if status != 200 or b'id="logout-form"' not in page:
        raise CheckFailed(f"demo login {username!r} did not reach the admin index (HTTP {status})")
    return jar


def print_session(base_url: str, credentials_file: Path) -> None:
    """The demo admin's signed-in session for schemathesis, as ``CAREOS_SESSION_ID=…`` and
    ``CAREOS_CSRF_TOKEN=…`` lines (the schema's ``cookieAuth``, ``csrfCookie`` and
    ``csrfHeader``); nothing when no demo admin is recorded."""
    credentials = read_credentials(credentials_file)
    username, password = credentials.get("adminUsername"), credentials.get("adminPassword")
    if not username or not password:
        return
    jar = admin_login(
        base_url,
        username=str(username),
        password=str(password),
        totp_secret=str(credentials.get("adminTotpSecret") or ""),
    )
    cookies = {cookie.name: cookie.value for cookie in jar}
    print(f"CAREOS_SESSION_ID={cookies.get('sessionid', '')}")
    print(f"CAREOS_CSRF_TOKEN={cookies.get('csrftoken', '')}")


def check_admin(base_url: str, credentials_file: Path) -> None:
    status, _, _ = fetch(f"{base_url}/admin/login/")
    if status != 200:
        raise CheckFailed(f"/admin/login/ answered {status}")
    status, _, css = fetch(f"{base_url}/static/admin/css/base.css")
    if status != 200 or not css:
        raise CheckFailed(f"admin static /static/admin/css/base.css answered {status}")
    print("ok: admin login page and admin static files")

    credentials = read_credentials(credentials_file)
    username, password = credentials.get("adminUsername"), credentials.get("adminPassword")
    if not username or not password:
        print("note: no demo superuser recorded (rbac/demo.py not there yet): login not tried")
        return
    admin_login(
        base_url,
        username=str(username),
        password=str(password),
        totp_secret=str(credentials.get("adminTotpSecret") or ""),
    )
    print(f"ok: demo login {username!r} (password and one-time code) reaches the admin index")


def read_credentials(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def _latest_report(report_dir: Path) -> dict:
    reports = sorted(report_dir.glob("*.json"))
    if not reports:
        raise CheckFailed(f"schemathesis wrote no JSON report in {report_dir}")
    return json.loads(reports[-1].read_text(encoding="utf-8"))


def check_schemathesis_report(report_dir: Path, exit_code: int) -> None:
    """One run: it passed and tested every operation it selected."""
    if not sorted(report_dir.glob("*.json")):
        raise CheckFailed(f"schemathesis wrote no JSON report in {report_dir} (exit {exit_code})")
    report = _latest_report(report_dir)
    operations = report.get("operations", {})
    total = operations.get("total", 0)
    if total == 0 and not report.get("errors"):
        # Schemathesis exits 2 on a schema with no operations; that is not a failure of ours.
        print("ok: the schema defines no API operations yet: nothing for schemathesis to test")
        return
    if exit_code != 0:
        raise CheckFailed(f"schemathesis failed (exit {exit_code}); see its output above")
    untested = {
        key: operations.get(key, 0) for key in ("errored", "skipped") if operations.get(key, 0)
    }
    selected = operations.get("selected", total)
    if operations.get("tested") != selected or untested:
        raise CheckFailed(
            f"not every operation was tested: {operations} "
            f"(skip reasons: {operations.get('skip_reasons')})"
        )
    print(f"ok: schemathesis tested all {selected} operations it selected (of {total})")


def check_schemathesis_coverage(report_dirs: list[Path]) -> None:
    """The runs together selected every operation of the schema."""
    counts = [_latest_report(d).get("operations", {}) for d in report_dirs]
    total = counts[0].get("total", 0)
    selected = sum(c.get("selected", 0) for c in counts)
    if selected != total:
        raise CheckFailed(f"the schemathesis runs selected {selected} of {total} operations")
    print(f"ok: the schemathesis runs together tested all {total} operations")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    wait = sub.add_parser("wait")
    wait.add_argument("--timeout", type=float, default=120.0)
    wait.add_argument("--pid", type=int)
    wait.add_argument("urls", nargs="+")
    docs = sub.add_parser("docs")
    docs.add_argument("base_url")
    admin = sub.add_parser("admin")
    admin.add_argument("base_url")
    admin.add_argument("credentials", type=Path)
    session = sub.add_parser("session")
    session.add_argument("base_url")
    session.add_argument("credentials", type=Path)
    credential = sub.add_parser("credential")
    credential.add_argument("credentials", type=Path)
    credential.add_argument("key")
    report = sub.add_parser("schemathesis-report")
    report.add_argument("report_dir", type=Path)
    report.add_argument("exit_code", type=int)
    coverage = sub.add_parser("schemathesis-coverage")
    coverage.add_argument("report_dirs", type=Path, nargs="+")
    args = parser.parse_args(argv)

    try:
        if args.command == "wait":
            wait_for(args.urls, timeout=args.timeout, pid=args.pid)
        elif args.command == "docs":
            check_docs(args.base_url.rstrip("/"))
        elif args.command == "admin":
            check_admin(args.base_url.rstrip("/"), args.credentials)
        elif args.command == "session":
            print_session(args.base_url.rstrip("/"), args.credentials)
        elif args.command == "credential":
            value = read_credentials(args.credentials).get(args.key)
            print(value if isinstance(value, str) else "")
        elif args.command == "schemathesis-report":
            check_schemathesis_report(args.report_dir, args.exit_code)
        elif args.command == "schemathesis-coverage":
            check_schemathesis_coverage(args.report_dirs)
    except (CheckFailed, urllib.error.URLError, OSError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
