"""Support permissions on the role templates, and the per-minute SLA sweep beat schedule."""

from django.db import migrations

from rbac.migration_helpers import grant_template_permissions

WORK = ["support.work_ticket", "support.view_ticket", "support.change_ticket"]
GRANTS = {
    "support_agent": WORK,
    "supervisor": [*WORK, "support.supervise_ticket"],
    "clinic_admin": [
        *WORK,
        "support.supervise_ticket",
        "support.view_slapolicy",
        "support.change_slapolicy",
        "support.view_businesscalendar",
        "support.change_businesscalendar",
    ],
}
SWEEP_NAME = "support: SLA sweep (warnings, breaches, auto-close)"


def grant(apps, schema_editor):
    grant_template_permissions(apps, GRANTS)


def seed_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.update_or_create(
        name=SWEEP_NAME,
        defaults={"task": "support.sla_sweep", "interval": interval, "enabled": True},
    )


def unseed_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0001_initial"),
        ("rbac", "0002_role_templates"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
        migrations.RunPython(seed_schedule, unseed_schedule),
    ]
