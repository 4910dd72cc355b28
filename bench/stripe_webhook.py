"""Stripe webhook acknowledgement cost: verify + store + enqueue, against a trivial endpoint.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/payments_bench DEBUG=true \\
    python bench/stripe_webhook.py [--requests 300] [--rounds 5]

In one process, through Django's full middleware stack (``django.test.Client``), interleaved in
rounds so machine load hits both alike:

1. baseline: ``GET /api/v1/partners/ping`` (a DRF view that answers a constant);
2. webhook: ``POST /api/v1/payments/stripe/webhook`` with a correctly signed, new Stripe event
   each time: signature check by the ``stripe`` SDK on the raw body, one ``StripeEvent`` INSERT,
   the Celery enqueue after commit (the configured broker; processing is not timed).

The median round counts. The ratio shows what acknowledging costs over a trivial request; the
target is absolute: a median acknowledgement under 25 ms (Stripe times out after seconds; the work
itself happens in Celery). Most of it is the durable INSERT's commit and the broker publish,
both of which must happen before the 2xx (an acknowledged event must never be lost).
"""

import argparse
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careos.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_bench")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from payments.models import StripeEvent

    call_command("migrate", verbosity=0)
    client = Client()
    secret = settings.STRIPE_WEBHOOK_SECRET
    counter = iter(range(10**9))

    def baseline() -> None:
        assert client.get("/api/v1/partners/ping").status_code == 200

    def webhook() -> None:
        n = next(counter)
        event = {
            "id": f"evt_bench_{time.time_ns()}_{n}",
            "object": "event",
            "created": int(time.time()),
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": f"pi_bench_{n}", "object": "payment_intent"}},
        }
        payload = json.dumps(event).encode()
        stamp = int(time.time())
        mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
        response = client.post(
            "/api/v1/payments/stripe/webhook",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={mac.hexdigest()}",
        )
        assert response.status_code == 200, response.content

    def rate(fn) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        for _ in range(args.requests):
            fn()
        return args.requests / (time.perf_counter() - start)

    for fn in (baseline, webhook):  # warm up
        for _ in range(20):
            fn()
    rounds = []
    for number in range(1, args.rounds + 1):
        base, hook = rate(baseline), rate(webhook)
        rounds.append((base, hook))
        print(f"round {number}: baseline {base:,.0f} req/s, webhook {hook:,.0f} req/s", end="")
        print(f", ratio {hook / base:.2f}")
    base = statistics.median(r[0] for r in rounds)
    hook = statistics.median(r[1] for r in rounds)
    print(f"median: baseline {base:,.0f} req/s, webhook {hook:,.0f} req/s", end="")
    print(f", ratio {hook / base:.2f}, webhook {1000 / hook:.1f} ms per event")
    deleted, _ = StripeEvent.objects.filter(stripe_id__startswith="evt_bench_").delete()
    print(f"cleaned up {deleted} bench events")


if __name__ == "__main__":
    main()
