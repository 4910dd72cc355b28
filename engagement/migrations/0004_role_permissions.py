"""Engagement permissions on the system role templates (and their clinic clones)."""

from django.db import migrations

from rbac.migration_helpers import grant_template_permissions

_READ = [
    "engagement.view_messagetemplate",
    "engagement.view_reminder",
    "engagement.view_patienttask",
]
_CARE = [
    *_READ,
    "engagement.add_reminder",
    "engagement.change_reminder",
    "engagement.add_patienttask",
    "engagement.view_message",
]
_ADMIN = [
    *_CARE,
    "engagement.add_messagetemplate",
    "engagement.change_messagetemplate",
    "engagement.view_campaign",
    "engagement.add_campaign",
    "engagement.change_campaign",
    "engagement.view_optout",
    "engagement.add_optout",
]
GRANTS = {
    "specialist": [*_CARE, "engagement.add_messagetemplate", "engagement.change_messagetemplate"],
    "support_agent": [*_READ, "engagement.view_message"],
    "supervisor": [*_CARE, "engagement.view_campaign", "engagement.view_optout"],
    "clinic_admin": _ADMIN,
}


def forwards(apps, schema_editor):
    grant_template_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("engagement", "0003_beat_schedules"), ("rbac", "0002_role_templates")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
