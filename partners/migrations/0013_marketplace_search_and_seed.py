"""The marketplace's search indexes (PostgreSQL only: the pg_trgm extension, a GIN index on the
weighted search vector and a trigram GIN index on the name; SQLite searches with icontains),
its categories, the ``app.installed`` / ``app.uninstalled`` events, the trending beat job, and
the clinic admin's permission to install, uninstall and review apps."""

from django.db import migrations

from rbac.migration_helpers import grant_template_permissions

CATEGORIES = [
    ("scheduling", "Scheduling", "Appointments, calendars and reminders."),
    ("billing", "Billing & payments", "Invoicing, claims and payment collection."),
    ("crm", "CRM", "Patient relationships and marketing pipelines."),
    ("communication", "Communication", "Messaging, calls and patient outreach."),
    ("telehealth", "Telehealth", "Video visits and remote care."),
    ("ehr", "Records & EHR", "Clinical records and data exchange."),
    ("analytics", "Analytics", "Reports and dashboards."),
    ("accounting", "Accounting", "Bookkeeping and finance."),
    ("other", "Other", "Everything else."),
]

EVENT_TYPES = [
    (
        "app.installed",
        "A clinic installed your marketplace listing: its admin consented to the app's scopes.",
        {
            "installationId": "ins_…",
            "listingId": "lst_…",
            "applicationId": "app_…",
            "clinicId": "cln_…",
            "scopes": ["read:leads"],
            "installedAt": "2026-11-22T10:00:00Z",
        },
    ),
    (
        "app.uninstalled",
        "A clinic uninstalled your listing; the app's tokens for that clinic are revoked.",
        {
            "installationId": "ins_…",
            "listingId": "lst_…",
            "applicationId": "app_…",
            "clinicId": "cln_…",
            "uninstalledAt": "2026-11-23T09:30:00Z",
        },
    ),
]

TASK = "partners.marketplace_trending"
SCHEDULE_NAME = "partners: marketplace trending scores"

POSTGRES_FORWARDS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS partners_listing_search_gin "
    "ON partners_marketplacelisting USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS partners_listing_name_trgm "
    "ON partners_marketplacelisting USING gin (name gin_trgm_ops)",
]
POSTGRES_BACKWARDS = [
    "DROP INDEX IF EXISTS partners_listing_name_trgm",
    "DROP INDEX IF EXISTS partners_listing_search_gin",
]


def search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_FORWARDS:
            schema_editor.execute(statement)


def search_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_BACKWARDS:
            schema_editor.execute(statement)


def seed(apps, schema_editor):
    Category = apps.get_model("partners", "MarketplaceCategory")
    for position, (slug, name, description) in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )
    EventType = apps.get_model("partners", "EventType")
    for name, description, example in EVENT_TYPES:
        EventType.objects.update_or_create(
            name=name, defaults={"description": description, "payload_example": example}
        )
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=900, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=SCHEDULE_NAME, defaults={"task": TASK, "interval": interval, "enabled": True}
    )
    grant_template_permissions(apps, {"clinic_admin": ["partners.manage_marketplace_apps"]})


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name=SCHEDULE_NAME
    ).delete()
    apps.get_model("partners", "EventType").objects.filter(
        name__in=[name for name, _, _ in EVENT_TYPES]
    ).delete()
    apps.get_model("partners", "MarketplaceCategory").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0012_marketplace"),
        ("rbac", "0002_role_templates"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(search_indexes, search_indexes_drop),
        migrations.RunPython(seed, unseed),
    ]
