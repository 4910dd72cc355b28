"""Marketplace discovery on PostgreSQL: search p95 against a single-listing GET p95 in the same
run, and the detail's query count against its review count.

Usage (a scratch database; the script migrates it and fills it once, then reuses the data):

    createdb -h 127.0.0.1 -U postgres marketplace_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/marketplace_bench \\
        .venv/bin/python bench/marketplace.py [--listings 20000 --reviews 200000]

Data: ``--listings`` published listings (names, taglines and Markdown descriptions drawn from a
vocabulary of ~3,000 words, so a word matches ~1% of listings), each search vector filled by one
UPDATE, and ``--reviews`` visible reviews from 1,000 clinics, concentrated so that one listing
has 1,000 reviews and others none. Requests go through the whole Django stack in process
(``django.test.Client``: middleware, DRF, serializers; no network): the search is
``GET /api/v1/marketplace/listings?q=…`` with a different query each time (one word, two
words, a misspelt word), the baseline ``GET /api/v1/marketplace/listings/{id}`` of random
listings, interleaved. Target: search p95 at most 3 times the GET's p95; the detail's
queries the same for a listing with 1,000 reviews as for one with none.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careos.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

from scripts.production_env import production_env

for _name, _value in production_env().items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

import django  # noqa: E402

django.setup()

from django.contrib.postgres.search import SearchVector  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from partners.models import (  # noqa: E402
    MarketplaceCategory,
    MarketplaceListing,
    MarketplaceReview,
    Partner,
    PartnerApplication,
)
from partners.services.marketplace.content import markdown_render  # noqa: E402
from rbac.models import Clinic, User  # noqa: E402

WORDS = [
    "sync",
    "calendar",
    "booking",
    "reminder",
    "invoice",
    "claims",
    "ledger",
    "payment",
    "billing",
    "patient",
    "portal",
    "video",
    "telehealth",
    "records",
    "chart",
    "lab",
    "referral",
    "intake",
    "forms",
    "survey",
    "feedback",
    "analytics",
    "dashboard",
    "report",
    "insight",
    "pipeline",
    "campaign",
    "outreach",
    "message",
    "chat",
    "voice",
    "phone",
    "fax",
    "email",
    "inbox",
    "triage",
    "schedule",
    "waitlist",
    "roster",
    "shift",
    "staff",
    "payroll",
    "accounting",
    "tax",
    "audit",
    "consent",
    "privacy",
    "secure",
    "vault",
    "backup",
    "archive",
    "export",
    "import",
    "bridge",
    "connect",
    "link",
    "hub",
    "relay",
    "stream",
    "pulse",
    "beacon",
    "signal",
    "spark",
    "nova",
    "orbit",
    "vertex",
    "apex",
    "summit",
    "harbor",
    "anchor",
    "compass",
    "atlas",
    "prism",
    "quartz",
    "cobalt",
    "amber",
    "coral",
    "cedar",
    "maple",
    "willow",
    "aspen",
    "birch",
    "spruce",
    "falcon",
    "heron",
    "otter",
    "lynx",
    "badger",
    "bison",
    "raven",
    "sparrow",
    "robin",
    "finch",
    "wren",
    "lark",
    "swift",
    "kestrel",
    "osprey",
    "eagle",
    "dental",
    "vision",
    "cardio",
    "derma",
    "ortho",
    "pedia",
    "neuro",
    "onco",
    "radio",
    "physio",
    "therapy",
    "wellness",
    "fitness",
    "nutrition",
    "sleep",
    "mental",
    "care",
    "clinic",
    "health",
    "medic",
    "nurse",
    "doctor",
    "dentist",
    "pharmacy",
    "rx",
    "prescription",
    "refill",
    "inventory",
    "supply",
    "order",
    "shipment",
    "delivery",
    "courier",
    "route",
    "map",
    "geo",
    "translate",
    "language",
    "spanish",
    "french",
    "sign",
    "accessible",
    "simple",
    "smart",
    "quick",
    "instant",
    "auto",
    "bright",
    "clear",
    "easy",
    "lite",
    "pro",
    "plus",
    "max",
    "prime",
    "core",
    "base",
    "one",
    "first",
    "true",
    "open",
    "free",
    "fair",
    "kind",
    "calm",
    "zen",
    "bloom",
    "grow",
    "thrive",
    "rise",
    "lift",
    "boost",
    "flow",
    "wave",
    "tide",
    "stone",
    "river",
    "lake",
    "ocean",
    "forest",
    "meadow",
    "valley",
    "canyon",
    "ridge",
    "peak",
    "trail",
    "path",
    "gate",
    "door",
    "key",
    "lock",
    "shield",
    "guard",
    "watch",
    "alert",
    "notify",
    "ping",
    "ring",
    "bell",
    "chime",
    "tone",
    "note",
    "memo",
    "task",
    "todo",
    "plan",
    "goal",
    "track",
    "trace",
    "log",
]
# Product-like made-up words (ka, lo, vi … combined): with the plain words above, ~3,000 words,
# so a word is in ~1% of the listings, as distinct product names and texts are.
_SYLLABLES = ["ka", "lo", "vi", "ne", "ru", "sa", "to", "mi", "be", "do", "fi", "gu", "ze", "po"]
WORDS = WORDS + [a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in _SYLLABLES][:2760]
PREFIX = "bench-mkt"


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def populate(*, listings: int, reviews: int) -> None:
    if MarketplaceListing.objects.filter(partner__slug=PREFIX).count() >= listings:
        print(f"data: {listings:,} listings exist already; reused")
        return
    rng = random.Random(7)
    print(f"data: creating {listings:,} listings and {reviews:,} reviews …", flush=True)
    started = time.perf_counter()
    with transaction.atomic():
        partner, _ = Partner.objects.get_or_create(
            slug=PREFIX, defaults={"name": "Bench partner", "status": "active"}
        )
        application, _ = PartnerApplication.objects.get_or_create(
            partner=partner, name="Bench app", defaults={"status": "published"}
        )
        categories = list(MarketplaceCategory.objects.all())
        now = timezone.now()
        rows = []
        for i in range(listings):
            name = f"{_text(rng, 1).title()} {_text(rng, 1).title()} {i}"
            description = f"{_text(rng, 25)}.\n\n- **{_text(rng, 3)}**\n- {_text(rng, 6)}"
            rows.append(
                MarketplaceListing(
                    partner=partner,
                    application=application,
                    name=name,
                    tagline=_text(rng, 6),
                    description=description,
                    description_html=markdown_render(description),
                    status="published",
                    published_at=now,
                    scopes=["read:leads"],
                    search_document=f"{name} {description}",
                    rating_average=round(rng.uniform(1, 5), 2),
                    install_count=rng.randint(0, 500),
                )
            )
        created = MarketplaceListing.objects.bulk_create(rows, batch_size=2000)
        through = MarketplaceListing.categories.through
        through.objects.bulk_create(
            [
                through(
                    marketplacelisting_id=listing.pk,
                    marketplacecategory_id=rng.choice(categories).pk,
                )
                for listing in created
            ],
            batch_size=5000,
        )
        MarketplaceListing.objects.filter(partner=partner).update(
            search_vector=SearchVector("name", weight="A", config="english")
            + SearchVector("tagline", weight="B", config="english")
            + SearchVector("search_document", weight="C", config="english")
        )
        clinics = Clinic.objects.bulk_create(
            [Clinic(name=f"Bench clinic {n}", slug=f"{PREFIX}-{n}") for n in range(1000)]
        )
        author, _ = User.objects.get_or_create(username=f"{PREFIX}-author")
        per_listing = len(clinics)
        reviewed = created[: max(reviews // per_listing, 1)]
        MarketplaceReview.objects.bulk_create(
            (
                MarketplaceReview(
                    listing=listing,
                    clinic=clinic,
                    author=author,
                    rating=rng.randint(1, 5),
                    body=_text(rng, 12),
                )
                for listing in reviewed
                for clinic in clinics
            ),
            batch_size=5000,
        )
        for listing in reviewed:
            listing.rating_count = per_listing
        MarketplaceListing.objects.bulk_update(reviewed, ["rating_count"], batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"data: done in {time.perf_counter() - started:.0f} s", flush=True)


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def _query(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        return rng.choice(WORDS)
    if kind < 0.8:
        return f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
    word = rng.choice([w for w in WORDS if len(w) > 5])
    cut = rng.randrange(1, len(word) - 1)
    return word[:cut] + word[cut + 1 :]  # a letter missing


def measure(*, requests: int) -> None:
    client = Client()
    rng = random.Random(11)
    ids = list(
        MarketplaceListing.objects.filter(partner__slug=PREFIX).values_list("public_id", flat=True)
    )
    search, detail = [], []
    for _ in range(20):  # warm up
        client.get("/api/v1/marketplace/listings", {"q": _query(rng)})
        client.get(f"/api/v1/marketplace/listings/{rng.choice(ids)}")
    for _ in range(requests):
        q = _query(rng)
        started = time.perf_counter()
        response = client.get("/api/v1/marketplace/listings", {"q": q})
        search.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content
        listing_id = rng.choice(ids)
        started = time.perf_counter()
        response = client.get(f"/api/v1/marketplace/listings/{listing_id}")
        detail.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content
    search_p95, detail_p95 = _p95(search), _p95(detail)
    print(f"search p95   {search_p95:7.1f} ms (median {statistics.median(search) * 1000:.1f})")
    print(f"GET p95      {detail_p95:7.1f} ms (median {statistics.median(detail) * 1000:.1f})")
    ratio = search_p95 / detail_p95
    print(f"ratio        {ratio:7.2f}  (target ≤ 3): {'met' if ratio <= 3 else 'NOT met'}")

    most = MarketplaceListing.objects.filter(partner__slug=PREFIX).order_by("-rating_count")[0]
    none = MarketplaceListing.objects.filter(partner__slug=PREFIX, rating_count=0)[0]
    counts = {}
    for listing in (most, none):
        client.get(f"/api/v1/marketplace/listings/{listing.public_id}")  # today's row exists
        with CaptureQueriesContext(connection) as queries:
            client.get(f"/api/v1/marketplace/listings/{listing.public_id}")
        counts[listing.rating_count] = len(queries.captured_queries)
    print(f"detail queries by review count: {counts}")
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM partners_marketplacelisting WHERE status = 'published' AND "
            "(search_vector @@ websearch_to_tsquery('english', 'calendar') "
            "OR name %> 'calendr')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print(
        "plan uses the GIN indexes:",
        "partners_listing_search_gin" in plan and "partners_listing_name_trgm" in plan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--reviews", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench/marketplace.py needs PostgreSQL (DATABASE_URL)")
    call_command("migrate", verbosity=0)
    populate(listings=args.listings, reviews=args.reviews)
    measure(requests=args.requests)


if __name__ == "__main__":
    main()
