"""A 100,000-recipient SMS campaign sent by real Celery workers (PostgreSQL + Redis, console SMS).

    createdb -h 127.0.0.1 -U postgres engagement_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/engagement_bench \\
    REDIS_URL=redis://127.0.0.1:6379/4 DEBUG=true \\
        .venv/bin/python bench/campaign.py [--recipients 100000] [--concurrency 2]

Prints the campaign's messages/s, the worker's peak memory (VmHWM of the worker processes), the
queries per batch at two batch sizes, and the ratio of the campaign's throughput to a plain bulk
insert of the same number of messages (same encrypted columns) measured in the same run.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careos.settings")
# The benchmark measures sending: no quiet hours, no frequency cap, console SMS.
BENCH_ENV = {
    "ENGAGEMENT_QUIET_HOURS_START": "00:00",
    "ENGAGEMENT_QUIET_HOURS_END": "00:00",
    "ENGAGEMENT_CAMPAIGN_CAP_COUNT": "0",
    "SMS_BACKEND": "engagement.channels.sms_console.ConsoleSMSTransport",
    "CELERY_TASK_ALWAYS_EAGER": "false",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(BENCH_ENV)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._server import celery_worker  # noqa: E402
from careos.actors import system_actor  # noqa: E402
from engagement.models import Campaign, Message, MessageAttempt, PatientTask  # noqa: E402
from engagement.services.campaigns import (  # noqa: E402
    campaign_cancel,
    campaign_create,
    campaign_launch,
    campaign_send_batch,
)
from rbac.models import (  # noqa: E402
    Clinic,
    ConsentRecord,
    Membership,
    Role,
    User,
    phone_blind_index,
)
from rbac.services import clinic_create  # noqa: E402

ACTOR = system_actor("bench")
CHUNK = 2000


def log(text: str) -> None:
    print(text, flush=True)


def reset() -> Clinic:
    MessageAttempt.objects.all().delete()
    Message.objects.all().delete()
    PatientTask.objects.all().delete()
    Campaign.objects.all().delete()
    existing = Clinic.objects.filter(slug="bench").first()
    if existing is not None:  # patients, memberships and consents are reused between runs
        return existing
    return clinic_create(
        name="Bench Clinic",
        slug="bench",
        timezone="UTC",
        languages=["en", "es", "fr"],
        regions=[],
        actor=ACTOR,
    )


def seed_patients(clinic: Clinic, count: int) -> None:
    existing = User.objects.filter(username__startswith="bench-").count()
    role = Role.objects.get(clinic=clinic, slug="patient")
    now = timezone.now()
    languages = ["en", "es", "fr"]
    for start in range(existing, count, CHUNK):
        users = []
        for n in range(start, min(start + CHUNK, count)):
            phone = f"+1555{n:07d}"
            users.append(
                User(
                    username=f"bench-{n}",
                    kind=User.Kind.PATIENT,
                    phone=phone,
                    phone_index=phone_blind_index(phone),
                    first_name=f"Pat{n}",
                    preferred_language=languages[n % 3],
                    timezone="UTC",
                )
            )
        User.objects.bulk_create(users)
        log(f"  patients {min(start + CHUNK, count):,}/{count:,}")
    patients = (
        User.objects.filter(username__startswith="bench-")
        .exclude(memberships__clinic=clinic)
        .values_list("pk", flat=True)
    )
    page: list[int] = []
    for pk in patients.iterator(chunk_size=CHUNK):
        page.append(pk)
        if len(page) == CHUNK:
            enrol(page, clinic=clinic, role=role, now=now)
            page = []
    if page:
        enrol(page, clinic=clinic, role=role, now=now)


def enrol(pks: list[int], *, clinic: Clinic, role: Role, now: object) -> None:
    Membership.objects.bulk_create([Membership(user_id=pk, clinic=clinic, role=role) for pk in pks])
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                patient_id=pk,
                clinic=clinic,
                consent_type=ConsentRecord.Type.MARKETING,
                status=ConsentRecord.Status.CONFIRMED,
                text="May we send you preventive care messages?",
                recorded_by="bench",
                given_at=now,
                confirmed_at=now,
            )
            for pk in pks
        ]
    )


def bulk_insert_baseline(count: int) -> float:
    """Plain bulk insert of ``count`` messages with the same encrypted columns."""
    patients = list(
        User.objects.filter(username__startswith="bench-").values_list("pk", flat=True)[:count]
    )
    started = time.perf_counter()
    for start in range(0, len(patients), 1000):
        Message.objects.bulk_create(
            [
                Message(
                    channel="sms",
                    purpose="bench_baseline",
                    template_key="wellness_campaign",
                    recipient_id=pk,
                    to_address=f"+1555{pk:07d}",
                    recipient_index=f"{pk:064d}",
                    subject="A message from Bench Clinic",
                    body=f"Hi Pat{pk}, Bench Clinic invites you to book your preventive "
                    "check-up. Reply STOP to opt out.",
                    dedupe_key="baseline",
                    status="sent",
                )
                for pk in patients[start : start + 1000]
            ]
        )
    elapsed = time.perf_counter() - started
    Message.objects.filter(purpose="bench_baseline").delete()
    return elapsed


def queries_per_batch(clinic: Clinic) -> dict[int, int]:
    counts = {}
    for size in (100, 1000):
        campaign = campaign_create(
            clinic=clinic,
            name=f"probe {size}",
            channel="sms",
            template_key="wellness_campaign",
            actor=ACTOR,
        )
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
        with CaptureQueriesContext(connection) as queries:
            handled = campaign_send_batch(campaign_id=campaign.pk, batch_size=size)
        assert handled == size
        counts[size] = len(queries)
        campaign_cancel(campaign=campaign, actor=ACTOR)
        Message.objects.filter(campaign=campaign).delete()
    return counts


def worker_pids(root: int) -> list[int]:
    pids = [root]
    for pid in pids:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        pids.extend(int(c) for c in children)
    return pids


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        raise SystemExit("set DATABASE_URL (PostgreSQL) and REDIS_URL")

    call_command("migrate", verbosity=0)
    clinic = reset()
    log(f"seeding {args.recipients:,} patients (reused when present)")
    seed_patients(clinic, args.recipients)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh bulk-loaded tables: what autovacuum would do
    audience = Membership.objects.filter(clinic=clinic).count()
    log(f"audience: {audience:,} patients with marketing consent")

    counts = queries_per_batch(clinic)
    log(f"queries per batch: {counts[100]} at 100 recipients, {counts[1000]} at 1,000")

    baseline = bulk_insert_baseline(audience)
    log(
        f"baseline bulk insert of {audience:,} messages: {baseline:.1f}s "
        f"({audience / baseline:,.0f} messages/s)"
    )

    from careos.celery import app

    app.control.purge()
    env = {**os.environ, **BENCH_ENV}
    with celery_worker(
        concurrency=args.concurrency,
        name="bench-campaign",
        env=env,
        prefetch_multiplier=1,
        settle=4,
    ) as worker:
        campaign = campaign_create(
            clinic=clinic,
            name="bench",
            channel="sms",
            template_key="wellness_campaign",
            actor=ACTOR,
        )
        started = time.perf_counter()
        campaign_launch(campaign=campaign, actor=ACTOR)
        peak = 0.0
        while True:
            time.sleep(0.5)
            peak = max([peak, *(peak_rss_mb(p) for p in worker_pids(worker.pid))])
            campaign.refresh_from_db()
            if campaign.status == Campaign.Status.COMPLETED:
                pending = Message.objects.filter(
                    campaign=campaign, status__in=["queued", "sending"]
                )
                if not pending.exists():
                    break
            if worker.poll() is not None:
                raise SystemExit("the worker died")
        elapsed = time.perf_counter() - started
        peak = max([peak, *(peak_rss_mb(p) for p in worker_pids(worker.pid))])

    sent = Message.objects.filter(campaign=campaign, status="sent").count()
    rate = sent / elapsed
    ratio = (sent / elapsed) / (audience / baseline)
    log("")
    log(
        f"campaign: {sent:,} sent in {elapsed:.1f}s by {args.concurrency} worker processes "
        f"= {rate:,.0f} messages/s ({campaign.batches_done} batches)"
    )
    log(f"worker peak memory (largest process VmHWM): {peak:.0f} MB  (target < 300 MB)")
    log(f"queries per batch: {counts[100]} / {counts[1000]} (100 / 1,000 recipients; constant)")
    log(f"ratio to bulk insert: {ratio:.2f}  (target >= 0.3)")


if __name__ == "__main__":
    main()
