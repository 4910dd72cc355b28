#!/usr/bin/env python3
"""Run the whole platform in the foreground: web (gunicorn), one Celery worker and Celery beat.

``make run`` installs the virtualenv and then runs this script with it. It migrates the database,
seeds the demo data (``manage.py seed_demo``), starts the three processes, prints the admin URL
and the demo login once the web server answers, and prefixes each line of output with the
process it came from. Ctrl-C or SIGTERM stops all three (SIGKILL after a grace period); if one of
them dies, the others are stopped too and the exit status is non-zero.

Only the standard library is used: this runs before anything else is known to work.
``DEBUG`` defaults to ``true`` (development) and ``PUBLIC_BASE_URL`` to the address it serves
on; set them in the environment to override. With ``DATABASE_URL`` and ``REDIS_URL`` set, the
same command runs on PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 15.0
READY_TIMEOUT_SECONDS = 90.0
# Shown when no demo superuser was seeded; README.md shows the same command.
CREATE_SUPERUSER = "DEBUG=true .venv/bin/python manage.py createsuperuser"
_PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class StopRequested(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_output_lock = threading.Lock()


def say(message: str) -> None:
    with _output_lock:
        sys.stdout.write(f"{message}\n")
        sys.stdout.flush()


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if this launcher is killed without cleaning up."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _pump(name: str, stream: IO[bytes]) -> None:
    prefix = f"{name:<6} | "
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace").rstrip("\n")
        say(prefix + line)
    stream.close()


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    # Ignore the next stop signals before raising: a second SIGTERM (the process group's and
    # make's) arriving before the handler below would otherwise interrupt the clean stop.
    for other in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)
    raise StopRequested(signum)


def run_step(argv: list[str], env: dict[str, str]) -> None:
    say(f"==> {' '.join(argv[1:])}")
    completed = subprocess.run(argv, cwd=ROOT, env=env, check=False)
    if completed.returncode != 0:
        say(f"!! `{' '.join(argv[1:])}` failed with exit status {completed.returncode}")
        sys.exit(completed.returncode)


def start(child: Child, env: dict[str, str]) -> None:
    # Own process group: Ctrl-C reaches only this launcher, which then stops the children in
    # order (one signal each) instead of every process receiving SIGINT at once.
    child.process = subprocess.Popen(
        child.argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        process_group=0,
        # Safe: no other thread exists yet (the output readers start after every Popen).
        preexec_fn=_die_with_parent,
    )


def stop_all(children: list[Child]) -> None:
    for child in children:
        if child.alive:
            assert child.process is not None
            say(f"==> stopping {child.name} (pid {child.process.pid})")
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            say(f"!! {child.name} did not stop in {STOP_GRACE_SECONDS:.0f}s; killing it")
            os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
    for child in children:
        if child.reader is not None:
            child.reader.join(timeout=2)


def first_exited(children: list[Child]) -> Child | None:
    for child in children:
        if child.process is not None and child.process.poll() is not None:
            return child
    return None


def local_url(host: str, port: int) -> str:
    """Where this machine reaches the server: a wildcard bind (0.0.0.0, ::) on loopback, since
    a request to the wildcard address itself names a host ALLOWED_HOSTS does not list."""
    if host in ("0.0.0.0", "::"):  # noqa: S104 - compared with, not bound to
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def web_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def var_dir(env: dict[str, str]) -> Path:
    return Path(env.get("VAR_DIR") or ROOT / "var")


def shown_path(path: Path) -> str:
    """``path`` as a command run from the checkout can use it (relative inside it)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def demo_credentials(env: dict[str, str]) -> dict[str, object]:
    try:
        data = json.loads((var_dir(env) / "demo-credentials.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def backend_names(env: dict[str, str]) -> tuple[str, str]:
    """What runs underneath, without printing URLs (they may hold passwords)."""
    database_url = env.get("DATABASE_URL", "")
    database = database_url.split(":", 1)[0] if database_url else "sqlite (embedded)"
    broker_url = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL", "")
    broker = broker_url.split(":", 1)[0] if broker_url else "filesystem (embedded)"
    return database, broker


def banner(base_url: str, env: dict[str, str]) -> str:
    database, broker = backend_names(env)
    credentials = demo_credentials(env)
    username = credentials.get("adminUsername")
    if username:
        login = f"{username} / {credentials.get('adminPassword', '(see seed_demo output above)')}"
        if credentials.get("adminTotpSecret"):
            login += (
                f", then the code from `.venv/bin/python scripts/demo_totp.py`"
                f" (or add TOTP key {credentials['adminTotpSecret']} to an authenticator app)"
            )
    else:
        login = f"none yet: no demo superuser was seeded (create one: {CREATE_SUPERUSER})"
    lines = [
        "",
        "=" * 72,
        f"CareOS is running  (DEBUG={env['DEBUG']}, database: {database}, broker: {broker})",
        f"  Admin:        {base_url}/admin/",
        f"  Demo login:   {login}",
        f"  API docs:     {base_url}/api/docs/  (OpenAPI schema: /api/schema/)",
        f"  Probes:       {base_url}/healthz (liveness), /readyz (readiness)",
    ]
    if credentials.get("partnerApiKey"):
        lines.append(
            f"  Demo partner: X-API-Key: {credentials['partnerApiKey']}  "
            f"X-Platform: {credentials.get('partnerSlug', 'demo')}"
        )
    partner_env = var_dir(env) / "demo-partner.env"
    if partner_env.is_file():
        lines.append(
            f"  Send a lead:  set -a && . {shown_path(partner_env)} && set +a && "
            ".venv/bin/python docs/examples/send_lead.py"
        )
    lines += ["Press Ctrl-C to stop web, worker and beat.", "=" * 72, ""]
    return "\n".join(lines)


def web_argv(python: str, *, bind: str, workers: int) -> list[str]:
    """gunicorn as ``make run`` starts it: sync workers, access log on stdout, query strings in
    that log masked like the app's logs (careos/gunicorn_logging.py)."""
    return [
        python,
        "-m",
        "gunicorn",
        "careos.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--graceful-timeout",
        "10",
        "--no-control-socket",
        "--access-logfile",
        "-",
        "--logger-class",
        "careos.gunicorn_logging.RedactingGunicornLogger",
    ]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2"))
    )
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=int(os.environ.get("CELERY_WORKER_CONCURRENCY", "2")),
    )
    parser.add_argument(
        "--skip-setup", action="store_true", help="do not migrate and seed before starting"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env["PYTHONUNBUFFERED"] = "1"
    python = sys.executable
    base_url = local_url(args.host, args.port)
    # Links and partner setup lines (the demo partner's env file) name this server.
    env.setdefault("PUBLIC_BASE_URL", base_url)

    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)

    children = [
        Child("web", web_argv(python, bind=f"{args.host}:{args.port}", workers=args.web_workers)),
        Child(
            "worker",
            [
                python,
                "-m",
                "celery",
                "--app",
                "careos",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(args.worker_concurrency),
            ],
        ),
        Child(
            "beat",
            [
                python,
                "-m",
                "celery",
                "--app",
                "careos",
                "beat",
                "--loglevel",
                "INFO",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
            ],
        ),
    ]

    try:
        if not args.skip_setup:
            run_step([python, "manage.py", "migrate", "--noinput"], env)
            run_step([python, "manage.py", "seed_demo"], env)
        say(f"==> starting web on {base_url}, a Celery worker and Celery beat")
        for child in children:
            start(child, env)
        for child in children:
            assert child.process is not None and child.process.stdout is not None
            child.reader = threading.Thread(
                target=_pump, args=(child.name, child.process.stdout), daemon=True
            )
            child.reader.start()

        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        ready = False
        while True:
            exited = first_exited(children)
            if exited is not None:
                assert exited.process is not None
                say(f"!! {exited.name} exited with status {exited.process.returncode}")
                stop_all(children)
                return 1
            if not ready and web_answers(f"{base_url}/healthz"):
                ready = True
                say(banner(base_url, env))
            elif not ready and time.monotonic() > deadline:
                say(f"!! web did not answer {base_url}/healthz in {READY_TIMEOUT_SECONDS:.0f}s")
                stop_all(children)
                return 1
            time.sleep(0.5)
    except StopRequested as stop:
        # Stopping must not be interrupted by a second Ctrl-C.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        say(f"==> {stop} received: stopping web, worker and beat")
        stop_all(children)
        say("==> stopped")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
