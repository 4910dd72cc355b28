"""Beat schedule of the Stripe catalogue mirror's sweep (a no-op unless
PAYMENTS_STRIPE_CATALOGUE_SYNC is on); operators change the interval in the admin."""

from django.db import migrations

NAME = "payments: mirror the catalogue to Stripe"


def seed(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=900, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "payments.tasks.sync_stripe_catalogue",
            "enabled": True,
            "interval": interval,
            "crontab": None,
        },
    )


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0009_invoice_message_templates"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
