"""Beat schedules (django-celery-beat); operators change the times in the admin."""

from django.db import migrations

# name, task, crontab (minute, hour, day_of_month, day_of_week) or None with an interval in seconds
TASKS = [
    ("payments: requeue stale Stripe events", "payments.tasks.requeue_stale_stripe_events", None, 600),
    ("payments: retry unsent refunds", "payments.tasks.retry_pending_refunds", None, 300),
    ("payments: specialist payouts", "payments.tasks.run_specialist_payouts", ("0", "6", "*", "1"), None),
    ("payments: partner referral payments", "payments.tasks.process_partner_payments", ("0", "7", "1", "*"), None),
    ("payments: partner invoices and payouts", "payments.tasks.run_partner_billing", ("0", "5", "1", "*"), None),
    ("payments: subscription billing", "payments.tasks.run_subscription_billing", ("0", "8", "*", "*"), None),
]


def seed(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, cron, seconds in TASKS:
        defaults = {"task": task, "enabled": True, "interval": None, "crontab": None}
        if cron is not None:
            minute, hour, day_of_month, day_of_week = cron
            defaults["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_month=day_of_month,
                month_of_year="*",
                day_of_week=day_of_week,
                timezone="UTC",
            )
        else:
            defaults["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=seconds, period="seconds"
            )
        PeriodicTask.objects.update_or_create(name=name, defaults=defaults)


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[t[0] for t in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
