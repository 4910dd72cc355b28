"""Issuing and rendering N patient invoices (HTML + PDF) vs rendering the same template to HTML
only, in the same run; PDF time per invoice; peak memory per batch (it must stay flat).

Usage (a scratch database; the script migrates it and adds one clinic per run):

    createdb -h 127.0.0.1 -U postgres invoices_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/invoices_bench \\
        .venv/bin/python bench/invoices.py [--invoices 1000] [--batch 100]

Setup (not timed): a clinic with a catalogue (two services, a discount code, a tax rate), N
bookings priced by ``booking_create`` and a succeeded payment each. Then, per invoice and in
batches of ``--batch``:

1. full: ``invoice_issue`` (the gapless number from the clinic's locked counter row, the
   snapshot, the audit row; the patient has no email address, so no message is queued), then
   ``invoice_html`` and ``invoice_pdf`` (ReportLab);
2. baseline: ``invoice_html`` of the same invoice again: the same template rendered to HTML only.

Printed: per-invoice milliseconds of each step, the ratio full / HTML-only, the PDF time per
invoice, and per batch the peak traced memory (``tracemalloc``, reset each batch) and the
process's resident set size: both flat means nothing accumulates across invoices.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careos.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import reset_queries  # noqa: E402
from django.utils import timezone  # noqa: E402

from careos.actors import system_actor  # noqa: E402
from payments.models import (  # noqa: E402
    CatalogueService,
    ClinicBillingProfile,
    DiscountCode,
    Payment,
    TaxRate,
)
from payments.services.bookings import booking_create  # noqa: E402
from payments.services.catalogue import price_set  # noqa: E402
from payments.services.invoice_render import invoice_html, invoice_pdf  # noqa: E402
from payments.services.invoices import invoice_issue  # noqa: E402
from payments.services.pricing import ServiceOrder  # noqa: E402
from rbac.models import User  # noqa: E402
from rbac.services import clinic_create  # noqa: E402

ACTOR = system_actor("bench.invoices")


def rss_mib() -> float:
    """The resident set size now (Linux ``/proc``), MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def setup(count: int) -> list[int]:
    stamp = time.time_ns()
    clinic = clinic_create(
        name=f"Bench Clinic {stamp}",
        slug=f"bench-invoices-{stamp}",
        timezone="UTC",
        languages=["en", "es"],
        regions=["NY"],
        actor=ACTOR,
    )
    ClinicBillingProfile.objects.create(
        clinic=clinic,
        legal_name="Bench Clinic LLC",
        tax_id="EIN 00-0000000",
        address="1 Bench Way\nNew York, NY 10001",
        jurisdiction="US-NY",
        invoice_prefix="BENCH",
    )
    since = timezone.now() - timedelta(days=1)
    services = []
    for code, category, amount in (("visit", "consultation", 12000), ("lab", "laboratory", 3500)):
        service = CatalogueService.objects.create(
            clinic=clinic, code=code, category=category, name_en=code.title(), name_es=code
        )
        price_set(service=service, amount=amount, currency="USD", actor=ACTOR, effective_from=since)
        services.append(service)
    TaxRate.objects.create(
        clinic=clinic,
        jurisdiction="US-NY",
        name="NY sales tax",
        rate="8.875",
        exempt_categories=["laboratory"],
        effective_from=since,
    )
    DiscountCode.objects.create(clinic=clinic, code="BENCH", kind="percent", percent=10)
    patients = [
        User.objects.create_user(
            username=f"bench-{stamp}-{lang}", kind=User.Kind.PATIENT, preferred_language=lang
        )
        for lang in ("en", "es")
    ]
    orders = [
        ServiceOrder(service_id=services[0].public_id),
        ServiceOrder(service_id=services[1].public_id, quantity=2),
    ]
    payments = []
    for n in range(count):
        booking = booking_create(
            patient=patients[n % 2],
            clinic=clinic,
            items=orders,
            discount_code="BENCH",
            starts_at=timezone.now() + timedelta(days=2),
            actor=ACTOR,
        )
        payment = Payment.objects.create(
            booking=booking,
            amount=booking.total_amount,
            currency=booking.currency,
            status=Payment.Status.SUCCEEDED,
            paid_at=timezone.now(),
        )
        payments.append(payment.pk)  # ids only: nothing of a booking stays in memory
        if n % 100 == 99:
            reset_queries()
    return payments


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    print(f"setup: {args.invoices} paid bookings …", flush=True)
    payments = setup(args.invoices)
    timings: dict[str, list[float]] = {"issue": [], "html": [], "pdf": [], "html_only": []}
    pdf_bytes = 0
    print(
        f"{'batch':>7} {'full ms/inv':>12} {'html-only ms/inv':>17} {'pdf ms/inv':>11} "
        f"{'peak traced MiB':>16} {'rss MiB':>8}"
    )
    tracemalloc.start()
    for start in range(0, len(payments), args.batch):
        tracemalloc.reset_peak()
        batch = payments[start : start + args.batch]
        full = html_only = pdf_time = 0.0
        for payment_pk in batch:
            payment = Payment.objects.select_related("booking__clinic", "booking__patient").get(
                pk=payment_pk
            )
            t0 = time.perf_counter()
            invoice = invoice_issue(payment=payment, actor=ACTOR)
            t1 = time.perf_counter()
            invoice_html(invoice)
            t2 = time.perf_counter()
            pdf_bytes += len(invoice_pdf(invoice).content)
            t3 = time.perf_counter()
            invoice_html(invoice)
            t4 = time.perf_counter()
            timings["issue"].append(t1 - t0)
            timings["html"].append(t2 - t1)
            timings["pdf"].append(t3 - t2)
            timings["html_only"].append(t4 - t3)
            full += t3 - t0
            html_only += t4 - t3
            pdf_time += t3 - t2
        reset_queries()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        n = len(batch)
        print(
            f"{start + n:>7} {1000 * full / n:>12.2f} {1000 * html_only / n:>17.2f} "
            f"{1000 * pdf_time / n:>11.2f} {peak:>16.2f} {rss_mib():>8.1f}",
            flush=True,
        )
    tracemalloc.stop()

    def ms(key: str) -> float:
        return 1000 * statistics.mean(timings[key])

    full = ms("issue") + ms("html") + ms("pdf")
    print()
    print(f"invoices: {len(payments)} (numbers 1-{len(payments)}, one clinic)")
    print(f"issue (number + snapshot + audit): {ms('issue'):.2f} ms/invoice")
    print(
        f"HTML: {ms('html'):.2f} ms/invoice; PDF: {ms('pdf'):.2f} ms/invoice "
        f"(median {1000 * statistics.median(timings['pdf']):.2f}), "
        f"{pdf_bytes / len(payments) / 1024:.1f} KiB each"
    )
    print(
        f"full (issue + HTML + PDF): {full:.2f} ms/invoice; HTML only: {ms('html_only'):.2f} "
        f"ms/invoice; ratio full / HTML only: {full / ms('html_only'):.1f}x"
    )


if __name__ == "__main__":
    main()
