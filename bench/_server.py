"""What the benchmarks share: the checkout they run from, a production-like environment, a
migrated database, and the processes they start (gunicorn, a Celery worker) with a clean stop.

Every path is relative to this checkout; nothing here names a machine's folders.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.production_env import production_env  # noqa: E402

# DEBUG off with a generated value for every production secret (the platform refuses to start
# without them), plain HTTP on loopback, quiet logs.
PRODUCTION_LIKE = {
    "DJANGO_SETTINGS_MODULE": "careos.settings",
    "DEBUG": "false",
    **production_env(),
    "SECURE_SSL_REDIRECT": "false",
    "LOG_LEVEL": "WARNING",
    "LOG_FORMAT": "text",
}


def bench_environment(overrides: Mapping[str, str] | None = None) -> None:
    """Fill this process's environment for a benchmark: ``overrides`` and the production-like
    defaults, under whatever the caller's shell already set."""
    for name, value in {**PRODUCTION_LIKE, **(overrides or {})}.items():
        os.environ.setdefault(name, value)


def require_services(*, redis: bool = True) -> None:
    """Exit with the reason unless DATABASE_URL names PostgreSQL (and REDIS_URL is set)."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    if redis and not os.environ.get("REDIS_URL"):
        raise SystemExit("Set REDIS_URL (see the docstring).")


def migrate_and_setup() -> None:
    """Migrate the benchmark's database, then set Django up in this process."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen, *, timeout: float = 30) -> None:
    """SIGTERM to the process's session (its children too), SIGKILL if it outlives timeout."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def _answers(port: int, path: str) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False


@contextmanager
def gunicorn(
    *, workers: int, env: Mapping[str, str] | None = None, ready_path: str = "/healthz"
) -> Iterator[int]:
    """gunicorn (sync workers, as production) on a free loopback port, yielded once it answers
    ``ready_path``; stopped on exit."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "careos.wsgi",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=dict(env if env is not None else os.environ),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers(port, ready_path):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start (see its output above)")
            time.sleep(0.1)
        yield port
    finally:
        stop(server)


@contextmanager
def celery_worker(
    *,
    concurrency: int,
    name: str,
    env: Mapping[str, str] | None = None,
    prefetch_multiplier: int = 4,
    settle: float = 3.0,
) -> Iterator[subprocess.Popen]:
    """A Celery worker (prefork, ``concurrency`` processes; Celery's default prefetch unless
    given), yielded after ``settle`` seconds so its start-up is not measured; stopped on exit."""
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "careos",
            "worker",
            "--concurrency",
            str(concurrency),
            "--pool",
            "prefork",
            f"--prefetch-multiplier={prefetch_multiplier}",
            "--loglevel",
            os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=dict(env if env is not None else os.environ),
        start_new_session=True,
    )
    try:
        time.sleep(settle)
        if worker.poll() is not None:
            raise SystemExit("the Celery worker did not start (see its output above)")
        yield worker
    finally:
        stop(worker)
