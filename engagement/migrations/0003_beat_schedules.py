"""Beat schedules (django-celery-beat): reminders, deferred messages, scheduled campaigns."""

from django.db import migrations

TASKS = [
    ("engagement: dispatch due reminders", "engagement.tasks.dispatch_due_reminders", 60),
    ("engagement: release deferred messages", "engagement.tasks.release_deferred_messages", 60),
    ("engagement: start due campaigns", "engagement.tasks.start_due_campaigns", 60),
]


def seed(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds in TASKS:
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True}
        )


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, _, _ in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("engagement", "0002_seed_templates"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
