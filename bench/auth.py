"""Partner authentication overhead: the same trivial endpoint with and without credentials.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/partners \\
    REDIS_URL=redis://127.0.0.1:6379/2 \\
    python bench/auth.py [--seconds 2] [--rounds 7] [--workers 2] [--concurrency 6]

One run, against PostgreSQL under gunicorn (sync workers, persistent DB connections):

1. baseline: ``GET /api/v1/partners/ping`` without credentials;
2. API key: the same endpoint with ``X-API-Key`` (key lookup, scope check, rate limit and usage
   counting: one Redis round trip);
3. OAuth: the same endpoint with ``Authorization: Bearer <access token>``.

The load generator is a separate process on loopback (threads, one connection per request as
gunicorn's sync workers close each one), each scenario for a bounded duration, interleaved in
short slices over ``--rounds`` rounds (so a change in machine load hits every scenario alike);
the median round of each counts, and each round's own ratios are printed too.
Target: both ratios >= 0.7.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import bench_environment, gunicorn, migrate_and_setup, require_services

PATH = "/api/v1/partners/ping"
BENCH_ENV = {"PARTNER_RATE_LIMIT_KEY_PREFIX": "bench:"}


def _prepare() -> tuple[str, str]:
    """Migrate, then an active partner with a key and an OAuth access token (returned)."""
    migrate_and_setup()
    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    from careos.actors import system_actor
    from partners.models import Partner, PartnerApplication
    from partners.services import applications, credentials, lifecycle

    actor = system_actor("bench")
    partner = Partner.objects.filter(slug="bench-auth").first() or lifecycle.partner_create(
        name="Bench", slug="bench-auth", partner_type="technology_app", actor=actor
    )
    if partner.status == Partner.Status.PENDING:
        partner = lifecycle.partner_activate(partner=partner, actor=actor)
    # A limit the load cannot reach: the limiter still runs (counts, checks) on every request.
    partner = lifecycle.partner_update(
        partner=partner, actor=actor, rate_limit_per_minute=100_000_000
    )
    key = credentials.api_key_generate(partner=partner, name="bench", actor=actor).secret
    application = applications.application_create(
        partner=partner,
        name="bench",
        grant_type="client-credentials",
        requested_scopes=["read:partner"],
        actor=actor,
    )
    PartnerApplication.objects.filter(pk=application.pk).update(status="in_review")
    approved = applications.application_approve(application=application, actor=actor)
    token = f"bench-{os.urandom(16).hex()}"
    AccessToken.objects.create(
        application=approved.application.oauth_client.application,
        token=token,
        scope="read:partner",
        expires=timezone.now() + timedelta(hours=1),
    )
    return key, token


def _load(port: int, headers: dict[str, str], seconds: float, concurrency: int, out) -> None:
    """In its own process: ``concurrency`` threads hammer the endpoint for ``seconds``."""
    counts = [0] * concurrency
    errors = [0] * concurrency
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        while time.perf_counter() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", PATH, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    counts[index] += 1
                else:
                    errors[index] += 1
            except OSError:
                errors[index] += 1
            finally:
                conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((sum(counts) / (time.perf_counter() - started), sum(errors)))


def _measure(port: int, headers: dict[str, str], seconds: float, concurrency: int) -> float:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=_load, args=(port, headers, seconds, concurrency, queue)
    )
    process.start()
    rate, errors = queue.get(timeout=seconds + 60)
    process.join()
    if errors:
        raise SystemExit(f"{errors} requests failed with headers {list(headers)}")
    return rate


def _check(port: int, headers: dict[str, str], expect_partner: bool) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", PATH, headers=headers)
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 200, body
    assert (body["partner"] is not None) == expect_partner, body
    if expect_partner:
        assert response.getheader("RateLimit-Limit"), "the limiter did not run (Redis down?)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args()
    require_services()
    bench_environment(BENCH_ENV)
    key, token = _prepare()

    with gunicorn(workers=args.workers, ready_path=PATH) as port:
        scenarios = {
            "unauthenticated": {},
            "api key": {"X-API-Key": key, "X-Platform": "bench-auth"},
            "oauth token": {"Authorization": f"Bearer {token}"},
        }
        _check(port, scenarios["api key"], expect_partner=True)
        _check(port, scenarios["oauth token"], expect_partner=True)
        for headers in scenarios.values():  # warm every worker's connections and caches
            _measure(port, headers, 1.0, args.concurrency)
        rates: dict[str, list[float]] = {name: [] for name in scenarios}
        for round_number in range(1, args.rounds + 1):
            for name, headers in scenarios.items():
                rates[name].append(_measure(port, headers, args.seconds, args.concurrency))
            base = rates["unauthenticated"][-1]
            print(
                f"round {round_number}: unauthenticated {base:6.0f} req/s, "
                f"api key {rates['api key'][-1]:6.0f} ({rates['api key'][-1] / base:.2f}), "
                f"oauth {rates['oauth token'][-1]:6.0f} ({rates['oauth token'][-1] / base:.2f})",
                flush=True,
            )

    median = {name: statistics.median(values) for name, values in rates.items()}
    baseline = median["unauthenticated"]
    print(f"\nmedians over {args.rounds} rounds of {args.seconds:g}s per scenario:")
    print(f"unauthenticated   {baseline:8.0f} req/s  (baseline)")
    for name in ("api key", "oauth token"):
        ratio = median[name] / baseline
        verdict = "ok" if ratio >= 0.7 else "BELOW TARGET"
        print(
            f"{name:16}  {median[name]:8.0f} req/s  ratio {ratio:.2f}  (target >= 0.70: {verdict})"
        )


if __name__ == "__main__":
    main()
