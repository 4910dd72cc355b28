"""Lead ingest against its floor, in one run, under gunicorn on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres leads_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench \\
    REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/ingest.py [--seconds 3] [--rounds 5] [--workers 4] \\
        [--clients 16]

One gunicorn (sync workers, persistent database connections, DEBUG off) serves both:

* ingest: ``POST /api/v1/leads/ingest``, the real thing (decrypt, normalise, hash check, new
  patient, lead, consent, audit, referral payment, ``lead.created`` event, welcome SMS queued to
  Celery over Redis);
* floor: ``POST /bench/floor`` (bench/ingest_floor.py, a URLconf only this benchmark serves):
  the same key authentication and rate limiting, JSON parsing, one RSA-OAEP decrypt with the
  same 2048-bit key, and as many single-row INSERTs in one transaction as one ingest makes
  (counted before the run);
* ormfloor (informative): ``POST /bench/orm-floor``, the floor's authentication and decrypt, then
  the same rows an ingest writes, through the Django ORM into the real tables and nothing else:
  a bound on what any ORM-based ingest can reach.

``--clients`` concurrent clients (a separate process, one connection per request as gunicorn's
sync workers close them) send distinct leads (own sourceLeadId and phone, encrypted before the
clock starts). The scenarios alternate in slices over ``--rounds`` rounds; the median round
counts. Prints the statements one ingest makes, the rates, p50/p99 latency, the ratios
ingest/floor and ormfloor/floor, and a single client's ingest p50.
Targets (issue 15): statements per ingest <= 10, ratio >= 0.35, ingest p99 < 150 ms at 16
clients on a quiet machine.
"""

import argparse
import base64
import hashlib
import http.client
import json
import multiprocessing
import os
import random
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import bench_environment, gunicorn, migrate_and_setup, require_services

SLUG = "bench-leads"
BENCH_ENV = {
    "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-secret-key-0123456789abcdefghijklmnop"),
    "FIELD_ENCRYPTION_KEYS": os.environ.get(
        "FIELD_ENCRYPTION_KEYS", "dGVzdGtleXRlc3RrZXl0ZXN0a2V5dGVzdGtleTAwMDA="
    ),
    "BLIND_INDEX_KEY": os.environ.get("BLIND_INDEX_KEY", "bench-blind-index-key"),
    "PARTNER_API_KEY_HASH_KEY": os.environ.get("PARTNER_API_KEY_HASH_KEY", "bench-key-hash"),
    "AUDIT_CHAIN_KEY": os.environ.get("AUDIT_CHAIN_KEY", "bench-audit-chain-key"),
    "PARTNER_RATE_LIMIT_KEY_PREFIX": "bench-leads:",
    # The limiter runs on every request; the load just never reaches it.
    "LEADS_INGEST_RATE_LIMIT_PER_MINUTE": "100000000",
    # Welcome SMS are queued at once (no quiet-hours deferral), to Celery; no worker runs.
    "ENGAGEMENT_QUIET_HOURS_START": "00:00",
    "ENGAGEMENT_QUIET_HOURS_END": "00:00",
    "CELERY_TASK_ALWAYS_EAGER": "false",
    # No provider is reached: console backends, placeholder secrets for the DEBUG-off checks.
    "SMS_BACKEND": "engagement.channels.sms_console.ConsoleSMSTransport",
    "PUSH_BACKEND": "engagement.channels.push_console.ConsolePushTransport",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "PAYMENTS_STRIPE_BACKEND": "console",
    "STRIPE_SECRET_KEY": "sk_test_bench",
    "STRIPE_WEBHOOK_SECRET": "whsec_bench",
    "BILLING_PROVIDER_BACKEND": "console",
    "BILLING_PROVIDER_SECRET_KEY": "bench-billing",
    "BILLING_PROVIDER_WEBHOOK_SECRET": "bench-billing-webhook",
}
STATEMENTS_TARGET = 10
RATIO_TARGET = 0.35
P99_TARGET_MS = 150
PATHS = {"ingest": "/api/v1/leads/ingest", "floor": "/bench/floor", "ormfloor": "/bench/orm-floor"}


def _prepare() -> tuple[str, str, str, int, int]:
    """Migrate; an active partner with an agreement, an API key and an encryption key; the
    floor's table; the number of INSERTs and of statements one ingest makes. Returns (secret,
    kid, pem, inserts, statements).
    """
    migrate_and_setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from careos.actors import system_actor
    from leads.models import LeadEncryptionKey
    from leads.services.ingest import ConsentInput, LeadIngestInput, lead_ingest
    from leads.services.keys import encryption_key_create
    from partners.models import Partner
    from partners.services import credentials, lifecycle, profile

    actor = system_actor("bench")
    partner = Partner.objects.filter(slug=SLUG).first()
    if partner is None:
        partner = lifecycle.partner_create(
            name="Bench Leads", slug=SLUG, partner_type="referral_platform", actor=actor
        )
        partner = lifecycle.partner_activate(partner=partner, actor=actor)
        profile.agreement_create(
            partner=partner,
            version="bench",
            referral_fee_minor=2500,
            currency="USD",
            effective_from=timezone.localdate() - timedelta(days=1),
            actor=actor,
        )
    key = LeadEncryptionKey.objects.filter(partner=partner, retired_at__isnull=True).first()
    if key is None:
        key = encryption_key_create(partner=partner, actor=actor).key
    secret = credentials.api_key_generate(
        partner=partner, name="bench", scopes=["write:leads"], actor=actor
    ).secret
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_ingest_floor (id bigserial PRIMARY KEY, "
            "source_lead_id varchar(128) NOT NULL, n integer NOT NULL, value text NOT NULL)"
        )
        cursor.execute("TRUNCATE bench_ingest_floor")

    body = _lead(key.kid, key.public_key_pem, random.SystemRandom())
    data = LeadIngestInput(
        source_lead_id=body["sourceLeadId"],
        encrypted_phone=body["encryptedPhone"],
        key_id=body["keyId"],
        phone_hash=body["phoneHash"],
        business_category=body["businessCategory"],
        need=body["need"],
        first_name=body["firstName"],
        language=body["language"],
        location_state=body["locationState"],
        country=body["country"],
        consent=ConsentInput(
            given=True,
            text=body["consent"]["text"],
            method="sms",
            timestamp=datetime.now(UTC),
        ),
    )
    principal_actor = system_actor("bench-count")
    with CaptureQueriesContext(connection) as queries:
        lead_ingest(partner=partner, data=data, actor=principal_actor)
    inserts = sum(1 for q in queries.captured_queries if q["sql"].startswith("INSERT"))
    return secret, key.kid, key.public_key_pem, inserts, len(queries.captured_queries)


def _phone(rng: random.Random) -> str:
    import phonenumbers

    while True:
        candidate = f"+1{rng.choice(['202', '213', '312', '415', '617', '718'])}" + str(
            rng.randint(2_000_000, 9_999_999)
        )
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate


def _lead(kid: str, pem: str, rng: random.Random) -> dict:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    phone = _phone(rng)
    public = serialization.load_pem_public_key(pem.encode())
    ciphertext = public.encrypt(  # type: ignore[union-attr]
        phone.encode(),
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    return {
        "sourceLeadId": f"bench_{uuid.uuid4().hex}",
        "encryptedPhone": base64.b64encode(ciphertext).decode(),
        "keyId": kid,
        "phoneHash": hashlib.sha256(phone.encode()).hexdigest(),
        "firstName": "Maria",
        "businessCategory": "caregiver",
        "need": "Need caregiver for mom",
        "language": rng.choice(["en", "es", "fr"]),
        "locationState": "CA",
        "country": "US",
        "consent": {
            "given": True,
            "text": "Reply YES to let Bench share your number with CareOS.",
            "method": "sms",
            "timestamp": datetime.now(UTC).isoformat(),
        },
    }


def _load(port, path, headers, bodies, seconds, clients, out) -> None:  # type: ignore[no-untyped-def]
    """In its own process: ``clients`` threads send their own pre-built bodies."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    per_client = len(bodies) // clients
    deadline = time.perf_counter() + seconds

    def worker(index: int) -> None:
        mine = bodies[index * per_client : (index + 1) * per_client]
        for body in mine:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 201:
                    latencies[index].append(time.perf_counter() - started)
                else:
                    errors[index] += 1
            except OSError:
                errors[index] += 1
            finally:
                conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = [value for values in latencies for value in values]
    out.put((len(flat) / elapsed, flat, sum(errors), len(flat) >= per_client * clients))


def _measure(port, path, headers, bodies, seconds, clients, warm_up=False):  # type: ignore[no-untyped-def]
    queue: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=_load, args=(port, path, headers, bodies, seconds, clients, queue)
    )
    process.start()
    rate, latencies, errors, ran_out = queue.get(timeout=seconds + 120)
    process.join()
    if errors:
        raise SystemExit(f"{errors} requests to {path} failed")
    if ran_out and not warm_up:
        raise SystemExit(f"{path}: pre-built leads ran out before the time was up")
    return rate, latencies


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--max-rate", type=int, default=1500, help="leads to pre-build per second")
    args = parser.parse_args()
    require_services()
    bench_environment(BENCH_ENV)
    secret, kid, pem, inserts, statements = _prepare()
    verdict = "ok" if statements <= STATEMENTS_TARGET else "ABOVE"
    print(
        f"one ingest makes {statements} statements (target <= {STATEMENTS_TARGET}: {verdict}), "
        f"{inserts} of them single-row INSERTs; the floor makes as many INSERTs",
        flush=True,
    )

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.ingest_settings",
        "BENCH_FLOOR_INSERTS": str(inserts),
    }
    headers = {"X-API-Key": secret, "X-Platform": SLUG, "Content-Type": "application/json"}
    rng = random.SystemRandom()  # new phones every run: every lead is a new patient
    per_slice = int(args.max_rate * args.seconds)

    def bodies(count: int) -> list[bytes]:
        return [json.dumps(_lead(kid, pem, rng)).encode() for _ in range(count)]

    results: dict[str, list[tuple[float, list[float]]]] = {name: [] for name in PATHS}
    with gunicorn(workers=args.workers, env=env) as port:
        for path in PATHS.values():  # warm every worker's connections and key caches
            _measure(port, path, headers, bodies(args.clients * 20), 1.0, args.clients, True)
        for round_number in range(1, args.rounds + 1):
            line = []
            for name, path in PATHS.items():
                rate, latencies = _measure(
                    port, path, headers, bodies(per_slice), args.seconds, args.clients
                )
                results[name].append((rate, latencies))
                line.append(
                    f"{name} {rate:6.0f}/s p50 {_percentile(latencies, 0.5) * 1000:5.1f} ms "
                    f"p99 {_percentile(latencies, 0.99) * 1000:5.1f} ms"
                )
            ratio = results["ingest"][-1][0] / results["floor"][-1][0]
            print(
                f"round {round_number}: " + " | ".join(line) + f" | ratio {ratio:.2f}", flush=True
            )
        _, single = _measure(port, PATHS["ingest"], headers, bodies(per_slice), args.seconds, 1)

    print(f"\nmedians over {args.rounds} rounds of {args.seconds:g}s, {args.clients} clients:")
    summary = {}
    for name in PATHS:
        rate = statistics.median(rate for rate, _ in results[name])
        latencies = [value for _, values in results[name] for value in values]
        summary[name] = (rate, _percentile(latencies, 0.5), _percentile(latencies, 0.99))
        print(
            f"{name:7} {rate:7.0f} leads/s  p50 {summary[name][1] * 1000:6.1f} ms  "
            f"p99 {summary[name][2] * 1000:6.1f} ms"
        )
    ratio = summary["ingest"][0] / summary["floor"][0]
    p99 = summary["ingest"][2] * 1000
    print(
        f"ratio ingest/floor {ratio:.2f} (target >= {RATIO_TARGET}: "
        f"{'ok' if ratio >= RATIO_TARGET else 'BELOW'}); ingest p99 {p99:.1f} ms "
        f"(target < {P99_TARGET_MS} ms: {'ok' if p99 < P99_TARGET_MS else 'ABOVE'})"
    )
    print(f"single client: ingest p50 {_percentile(single, 0.5) * 1000:.1f} ms")
    bound = summary["ormfloor"][0] / summary["floor"][0]
    print(f"ratio ormfloor/floor {bound:.2f} (informative: the ORM's own bound for the ingest)")


if __name__ == "__main__":
    main()
