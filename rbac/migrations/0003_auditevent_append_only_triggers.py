from django.db import migrations

from rbac.db import audit_triggers_install, audit_triggers_remove


def install(apps, schema_editor):
    audit_triggers_install(schema_editor.connection)


def remove(apps, schema_editor):
    audit_triggers_remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("rbac", "0002_role_templates")]

    operations = [migrations.RunPython(install, remove)]
