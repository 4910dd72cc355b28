"""SLA sweep on N open tickets (PostgreSQL): time, queries, ratio to one full table scan.

Usage (a scratch database; the script migrates it and removes its rows afterwards):

    createdb -h 127.0.0.1 -U postgres support_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/support_bench \\
        .venv/bin/python bench/sla_sweep.py [--tickets 100000]

Tickets are bulk-inserted with one INSERT … SELECT generate_series. Of the open tickets, 0.5%
reach a warning instant and 0.5% a due instant since the last sweep; 20% were warned by an
earlier sweep (their flag is set); the rest are due later. One sweep is timed and its queries
counted, then a second sweep shows nothing is claimed twice. The baseline is one sequential scan
of the ticket table reading every row (``SELECT sum(length(subject))``), in the same run. The
same measurement at a tenth of the size shows the query count does not depend on ticket count.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careos.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from careos.crypto import encrypt_str  # noqa: E402
from rbac.models import Clinic  # noqa: E402
from support.models import Ticket  # noqa: E402
from support.services.sweep import sla_sweep  # noqa: E402

PREFIX = "tkt_bench_"

INSERT = """
INSERT INTO support_ticket (
    created_at, updated_at, public_id, clinic_id, requester_kind, partner_tier, subject,
    description, priority, status, channel, language, region, category, idempotency_key,
    sla_paused_seconds, next_response_paused_seconds, reopened_count, escalation_level,
    first_response_due_at, first_response_warn_at, first_response_warned_at,
    resolution_due_at, resolution_warn_at
)
SELECT
    %(now)s - interval '1 hour', %(now)s, %(prefix)s || i, %(clinic)s, 'patient', '', %(subject)s,
    '', 'normal', CASE WHEN i %% 2 = 0 THEN 'new' ELSE 'open' END, 'api', 'en', 'NY', '', '',
    0, 0, 0, 0,
    CASE WHEN i %% 200 = 1 THEN %(now)s - interval '30 seconds'
         ELSE %(now)s + (i %% 5000) * interval '1 minute' + interval '1 hour' END,
    CASE WHEN i %% 200 = 0 THEN %(now)s - interval '30 seconds'
         WHEN i %% 5 = 2 THEN %(now)s - interval '2 hours'
         ELSE %(now)s + (i %% 5000) * interval '1 minute' + interval '10 minutes' END,
    CASE WHEN i %% 5 = 2 OR i %% 200 = 1 THEN %(now)s - interval '2 hours' END,
    %(now)s + interval '3 days', %(now)s + interval '2 days'
FROM generate_series(1, %(count)s) AS i
"""


def insert(count: int, clinic: Clinic) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT,
            {
                "now": timezone.now(),
                "prefix": PREFIX,
                "clinic": clinic.pk,
                "subject": encrypt_str("Benchmark ticket"),
                "count": count,
            },
        )
        cursor.execute("ANALYZE support_ticket")


def full_scan_seconds() -> float:
    with connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.execute("SELECT sum(length(subject)) FROM support_ticket")
        cursor.fetchone()
        return time.perf_counter() - start


def measure(count: int, clinic: Clinic) -> dict[str, float]:
    Ticket.objects.filter(public_id__startswith=PREFIX).delete()
    insert(count, clinic)
    scan = min(full_scan_seconds() for _ in range(3))
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        with transaction.atomic():  # the batches are queued on commit, not run here
            result = sla_sweep()
        elapsed = time.perf_counter() - start
    claimed = sum(len(v) for v in result.warned.values()) + sum(
        len(v) for v in result.breached.values()
    )
    again = sla_sweep()
    reclaimed = sum(len(v) for v in again.warned.values()) + sum(
        len(v) for v in again.breached.values()
    )
    return {
        "tickets": Ticket.objects.filter(public_id__startswith=PREFIX).count(),
        "sweep_ms": elapsed * 1000,
        "queries": len(queries.captured_queries),
        "claimed": claimed,
        "reclaimed": reclaimed,
        "scan_ms": scan * 1000,
        "ratio": elapsed / scan,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("run this on PostgreSQL (DATABASE_URL=postgres://...)")
    call_command("migrate", verbosity=0)
    clinic, _ = Clinic.objects.get_or_create(slug="bench-clinic", defaults={"name": "Bench"})
    try:
        rows = [measure(max(args.tickets // 10, 1), clinic), measure(args.tickets, clinic)]
    finally:
        Ticket.objects.filter(public_id__startswith=PREFIX).delete()
    print(
        f"{'tickets':>8} {'sweep ms':>9} {'queries':>8} {'claimed':>8} {'again':>6} "
        f"{'scan ms':>8} {'sweep/scan':>10}"
    )
    for row in rows:
        print(
            f"{row['tickets']:>8} {row['sweep_ms']:>9.1f} {row['queries']:>8} "
            f"{row['claimed']:>8} {row['reclaimed']:>6} {row['scan_ms']:>8.1f} "
            f"{row['ratio']:>10.2f}"
        )
    small, large = rows
    print(
        f"queries independent of ticket count: {small['queries'] == large['queries']}; "
        f"ratio at {large['tickets']} tickets: {large['ratio']:.2f} (target <= 10)"
    )


if __name__ == "__main__":
    main()
