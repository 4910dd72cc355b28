"""Payments permissions on the system role templates (and their clinic clones)."""

from django.db import migrations

from rbac.migration_helpers import grant_template_permissions

_VIEW = ["payments.view_booking", "payments.view_payment", "payments.view_refund"]
GRANTS = {
    "billing": [*_VIEW, "payments.add_refund", "payments.refund_payment", "payments.change_booking"],
    "clinic_admin": [*_VIEW, "payments.add_booking", "payments.change_booking"],
    "specialist": ["payments.view_booking", "payments.change_booking"],
    "support_agent": ["payments.view_booking"],
}


def forwards(apps, schema_editor):
    grant_template_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [("payments", "0003_message_templates"), ("rbac", "0002_role_templates")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
