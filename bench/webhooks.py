"""Webhook delivery throughput: real Celery workers on Redis vs a plain signed-POST loop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/webhooks \\
    REDIS_URL=redis://127.0.0.1:6379/3 \\
    python bench/webhooks.py [--events 10000] [--endpoints 3] [--workers 3]

One run measures, against the same local receiver (a separate process):

1. baseline: one process signs and POSTs every (event, endpoint) pair in a loop with the same
   pooled client the workers use (``careos.http.safe_client``);
2. platform: ``publish_event`` for every event, then Celery workers fan out, claim, sign, send
   and record each delivery; timed from the first publish until the last message is
   ``delivered`` in the database.

Prints deliveries per second for both, the ratio, and the messages lost (never received) and
duplicated (received more than once) by webhook-id. Targets: ratio >= 0.5, 0 lost, 0 duplicated.
"""

import argparse
import http.server
import json
import multiprocessing
import os
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import bench_environment, celery_worker

BENCH_ENV = {
    "OUTBOUND_HTTP_ALLOW_PRIVATE": "true",  # the receiver is on loopback
    "OUTBOUND_HTTP_REQUIRE_HTTPS": "false",
    "CELERY_TASK_ALWAYS_EAGER": "false",
}


# --- the receiver: counts webhook-ids per path, in its own process ---


def _serve(port_queue: "multiprocessing.Queue[int]") -> None:
    counts: dict[str, Counter[str]] = {}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                counts.setdefault(self.path, Counter())[self.headers["webhook-id"]] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                body = json.dumps({path: dict(c) for path, c in counts.items()}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    port_queue.put(httpd.server_address[1])
    httpd.serve_forever()


def receiver_counts(ports: list[int]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=30) as response:
            counts.update(json.loads(response.read()))
    return counts


def lost_and_duplicated(received: dict[str, int], expected: set[str]) -> tuple[int, int]:
    lost = len(expected - set(received))
    duplicated = sum(count - 1 for msg_id, count in received.items() if count > 1)
    return lost, duplicated


# --- the two runs ---


def run_baseline(
    ports: list[int], events: int, endpoints: int, label: str
) -> tuple[float, int, int]:
    from careos.http import safe_client
    from careos.ids import new_public_id
    from partners.webhooks.signing import new_secret, signed_headers

    client = safe_client(timeout=15)
    secrets_ = [new_secret() for _ in range(endpoints)]
    expected: dict[str, set[str]] = {f"/baseline-{label}/{n}": set() for n in range(endpoints)}
    start = time.perf_counter()
    for i in range(events):
        body = json.dumps(
            {"type": "lead.created", "timestamp": "", "data": {"n": i}}, separators=(",", ":")
        ).encode()
        for n in range(endpoints):
            msg_id = new_public_id("msg")
            headers = signed_headers(
                secrets_=[secrets_[n]], msg_id=msg_id, timestamp=int(time.time()), body=body
            )
            path = f"/baseline-{label}/{n}"
            response = client.post(
                f"http://127.0.0.1:{ports[n]}{path}", content=body, headers=headers
            )
            if response.status_code < 300:
                expected[path].add(msg_id)
    elapsed = time.perf_counter() - start
    counts = receiver_counts(ports)
    lost = duplicated = 0
    for path, ids in expected.items():
        path_lost, path_dup = lost_and_duplicated(counts.get(path, {}), ids)
        lost, duplicated = lost + path_lost, duplicated + path_dup
    return events * endpoints / elapsed, lost, duplicated


def run_platform(ports: list[int], events: int, endpoints: int, timeout: float) -> dict[str, float]:
    from django.db import transaction

    from careos.actors import system_actor
    from partners.models import Partner, WebhookMessage
    from partners.services.events import publish_event
    from partners.services.webhooks import webhook_endpoint_create

    Partner.objects.filter(slug="bench-webhooks").delete()
    partner = Partner.objects.create(
        name="Bench", slug="bench-webhooks", partner_type="technology_app", status="active"
    )
    actor = system_actor("bench")
    for n in range(endpoints):
        webhook_endpoint_create(
            partner=partner, url=f"http://127.0.0.1:{ports[n]}/platform/{n}", actor=actor
        )
    messages = WebhookMessage.objects.filter(endpoint__partner=partner)

    start = time.perf_counter()
    # One transaction: delivery starts at its commit, so publishing (the callers' cost, which
    # the baseline does not have) and delivery are timed apart.
    with transaction.atomic():
        for i in range(events):
            publish_event(event_type="lead.created", owner=partner, payload={"n": i})
    committed = time.perf_counter()
    total = events * endpoints
    deadline = time.monotonic() + timeout
    delivered = 0
    while time.monotonic() < deadline:
        delivered = messages.filter(status=WebhookMessage.Status.DELIVERED).count()
        if delivered >= total:
            break
        time.sleep(0.2)
    done = time.perf_counter()
    time.sleep(1.0)  # anything sent twice would arrive now
    counts = receiver_counts(ports)
    lost = duplicated = 0
    for n, endpoint_id in enumerate(
        partner.webhook_endpoints.order_by("pk").values_list("pk", flat=True)
    ):
        ids = set(messages.filter(endpoint_id=endpoint_id).values_list("public_id", flat=True))
        path_lost, path_dup = lost_and_duplicated(counts.get(f"/platform/{n}", {}), ids)
        lost, duplicated = lost + path_lost, duplicated + path_dup
    # Events that never became messages are lost too.
    lost += total - messages.count()
    return {
        "rate": delivered / (done - committed),
        "end_to_end_rate": delivered / (done - start),
        "elapsed": done - committed,
        "published": committed - start,
        "delivered": delivered,
        "lost": lost,
        "duplicated": duplicated,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=3)
    parser.add_argument("--workers", type=int, default=3, help="Celery worker concurrency")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: the bench uses real workers.")
    bench_environment(BENCH_ENV)

    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command

    from careos.celery import app

    call_command("migrate", verbosity=0)
    app.control.purge()
    cache.clear()  # stale "task queued" flags from an interrupted run

    # One receiver process per endpoint, as endpoints are separate services: a single Python
    # process would serialize concurrent senders on its GIL and favour the one-loop baseline.
    port_queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    receivers = [
        multiprocessing.Process(target=_serve, args=(port_queue,), daemon=True)
        for _ in range(args.endpoints)
    ]
    for receiver in receivers:
        receiver.start()
    ports = [port_queue.get(timeout=10) for _ in receivers]
    try:
        with celery_worker(concurrency=args.workers, name="bench-webhooks"):
            _compare(ports, args)
    finally:
        for receiver in receivers:
            receiver.terminate()


def _compare(ports: list[int], args: argparse.Namespace) -> None:
    total = args.events * args.endpoints
    print(f"{args.events} events x {args.endpoints} endpoints = {total} deliveries")
    # This machine's speed drifts within a run (shared cores): the baseline is measured
    # before and after the platform run and averaged.
    before = run_baseline(ports, args.events, args.endpoints, "before")
    print(f"baseline  signed-POST loop (before): {before[0]:8.0f} deliveries/s")
    result = run_platform(ports, args.events, args.endpoints, args.timeout)
    print(
        f"platform  celery x{args.workers}                : {result['rate']:8.0f} deliveries/s "
        f"({result['delivered']:.0f} delivered {result['elapsed']:.1f}s after the commit; "
        f"publishing took {result['published']:.1f}s, end to end "
        f"{result['end_to_end_rate']:.0f}/s)"
    )
    after = run_baseline(ports, args.events, args.endpoints, "after")
    print(f"baseline  signed-POST loop (after) : {after[0]:8.0f} deliveries/s")
    base_rate = (before[0] + after[0]) / 2
    base_lost, base_dup = before[1] + after[1], before[2] + after[2]
    print(
        f"baseline  mean                     : {base_rate:8.0f} deliveries/s "
        f"(lost {base_lost}, duplicated {base_dup})"
    )
    print(f"ratio platform/baseline            : {result['rate'] / base_rate:8.2f} (target >= 0.5)")
    print(f"platform lost {result['lost']:.0f}, duplicated {result['duplicated']:.0f} (targets 0)")


if __name__ == "__main__":
    main()
