"""Beat schedules of events and webhooks (django-celery-beat rows, editable in admin)."""

from django.db import migrations

SCHEDULES = [
    # (task name, periodic task name, every seconds)
    ("partners.webhooks_sweep", "partners: webhook sweep (retries, outbox, expired leases)", 10),
    ("partners.events_prune", "partners: prune events past retention", 3600),
]


def seed(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for task, name, seconds in SCHEDULES:
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True}
        )


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[name for _, name, _ in SCHEDULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0006_seed_event_types"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
