from django.db import migrations

from rbac.migration_helpers import create_role_templates


class Migration(migrations.Migration):
    dependencies = [
        ("rbac", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_role_templates, migrations.RunPython.noop)]
