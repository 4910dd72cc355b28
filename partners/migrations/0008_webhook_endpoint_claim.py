"""Webhook delivery claims per endpoint (the endpoint lease), no longer per message: the
``sending`` state and its lease columns go, with the indexes no query uses any more."""

import django.db.models.deletion
from django.db import migrations, models


def sending_back_to_pending(apps, schema_editor):  # type: ignore[no-untyped-def]
    # A message caught mid-send by the upgrade is sent again (at least once, same webhook-id).
    apps.get_model("partners", "WebhookMessage").objects.filter(status="sending").update(
        status="pending"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0007_webhook_beat_schedules"),
    ]

    operations = [
        migrations.RunPython(sending_back_to_pending, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="webhookmessage",
            name="partners_we_endpoin_80b978_idx",
        ),
        migrations.RemoveIndex(
            model_name="webhookmessage",
            name="partners_whmsg_due_idx",
        ),
        migrations.RemoveIndex(
            model_name="webhookmessage",
            name="partners_whmsg_lease_idx",
        ),
        migrations.RemoveField(
            model_name="webhookmessage",
            name="claim_token",
        ),
        migrations.RemoveField(
            model_name="webhookmessage",
            name="lease_expires_at",
        ),
        migrations.AlterField(
            model_name="webhookmessage",
            name="event",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="messages",
                to="partners.platformevent",
            ),
        ),
        migrations.AlterField(
            model_name="webhookmessage",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("delivered", "Delivered"),
                    ("failed", "Failed (dead letter)"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
        migrations.AddIndex(
            model_name="webhookmessage",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["endpoint", "next_attempt_at"],
                name="partners_whmsg_pending_idx",
            ),
        ),
    ]
