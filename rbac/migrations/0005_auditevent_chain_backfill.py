"""Chain the events written before the chain existed, oldest first, as if written in order.

The append-only triggers are lifted for this one transaction (the migration runs as the owner
role): it is the only UPDATE the audit log ever receives.
"""

from django.db import migrations

from rbac.audit_chain import HASHED_FIELDS, chain_name, entry_hash
from rbac.db import audit_triggers_install, audit_triggers_remove

BATCH = 1000


def backfill(apps, schema_editor):
    AuditEvent = apps.get_model("rbac", "AuditEvent")
    events = AuditEvent.objects.using(schema_editor.connection.alias)
    if not events.filter(chain_seq__isnull=True).exists():
        return
    audit_triggers_remove(schema_editor.connection)
    heads: dict[str, tuple[int, str]] = {}
    pending = []
    rows = (
        events.filter(chain_seq__isnull=True)
        .order_by("occurred_at", "id")
        .values("id", *(f for f in HASHED_FIELDS if f not in ("chain", "chain_seq")))
    )
    for row in rows.iterator(chunk_size=BATCH):
        chain = chain_name(clinic_id=row["clinic_id"], partner_ref=row["partner_ref"])
        seq, prev = heads.get(chain, (0, ""))
        row.update(chain=chain, chain_seq=seq + 1)
        digest = entry_hash(values=row, prev_hash=prev)
        heads[chain] = (seq + 1, digest)
        pending.append(
            AuditEvent(
                id=row["id"], chain=chain, chain_seq=seq + 1, prev_hash=prev, entry_hash=digest
            )
        )
        if len(pending) >= BATCH:
            events.bulk_update(pending, ["chain", "chain_seq", "prev_hash", "entry_hash"])
            pending = []
    if pending:
        events.bulk_update(pending, ["chain", "chain_seq", "prev_hash", "entry_hash"])
    audit_triggers_install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("rbac", "0004_auditevent_chain_fields")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
