"""Beat schedule: flush partner usage counters (Redis → PartnerUsageDaily) every minute."""

from django.db import migrations

TASK_NAME = "partners: flush API usage counters"


def seed(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "partners.tasks.flush_partner_usage",
            "interval": every_minute,
            "enabled": True,
            "description": "Moves per-partner API usage counted in Redis into the database.",
        },
    )


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0003_contacts_agreements_applications"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
