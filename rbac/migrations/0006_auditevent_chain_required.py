from django.db import migrations, models

from rbac.db import audit_triggers_install, audit_triggers_remove


def triggers_reinstall(apps, schema_editor):
    """SQLite rebuilds a table to alter it, dropping its triggers (0004 and the steps above):
    the append-only triggers are put back (on PostgreSQL, replaced by the same)."""
    audit_triggers_remove(schema_editor.connection)
    audit_triggers_install(schema_editor.connection)


class Migration(migrations.Migration):
    """Every event is a link of its chain, and a chain has one event per number."""

    dependencies = [("rbac", "0005_auditevent_chain_backfill")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="chain_seq",
            field=models.PositiveBigIntegerField(editable=False),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("chain", "chain_seq"), name="rbac_audit_chain_seq"
            ),
        ),
        migrations.RunPython(triggers_reinstall, migrations.RunPython.noop),
    ]
