"""The migrations that encrypt plain columns convert existing rows in place (and back), and the
helper they share is safe to re-run."""

from datetime import UTC, datetime

import pytest
from django.apps import apps as live_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from careos.crypto import decrypt_str
from careos.encryption_migrations import encrypt_columns
from careos.models import IdempotencyRecord
from engagement.models import Reminder
from rbac.db_roles import connected_as_owner
from rbac.models import User


def raw(model, pk, column: str) -> str:  # type: ignore[no-untyped-def]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name(column)} FROM {table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return str(cursor.fetchone()[0])


def set_raw(model, pk, column: str, value: str) -> None:  # type: ignore[no-untyped-def]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {connection.ops.quote_name(column)} = %s WHERE id = %s",  # noqa: S608
            [value, pk],
        )


@pytest.mark.django_db
def test_the_helper_encrypts_once_and_reverses():
    record = IdempotencyRecord.objects.create(
        owner_ref="usr_1", key="k", method="POST", path="/x", request_hash="h"
    )
    set_raw(IdempotencyRecord, record.pk, "response_body", '{"title": "Asthma"}')
    forwards, backwards = encrypt_columns("careos", {"idempotencyrecord": ["response_body"]})

    forwards(live_apps, None)
    token = raw(IdempotencyRecord, record.pk, "response_body")
    assert "Asthma" not in token and decrypt_str(token) == '{"title": "Asthma"}'
    assert IdempotencyRecord.objects.get().response_body == {"title": "Asthma"}
    forwards(live_apps, None)  # a re-run (after an interruption) changes nothing
    assert raw(IdempotencyRecord, record.pk, "response_body") == token

    backwards(live_apps, None)
    assert raw(IdempotencyRecord, record.pk, "response_body") == '{"title": "Asthma"}'


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    # Migrations change the schema: as the owner role where one is configured (PostgreSQL).
    with connected_as_owner():
        executor = MigrationExecutor(connection)
        executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_existing_rows_are_encrypted_by_the_migrations():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    patient = User.objects.create(username="p", kind=User.Kind.PATIENT)
    try:
        old = (
            _migrate(
                [
                    ("engagement", "0006_reminder_rrule_at_most_hourly"),
                    ("careos", "0002_idempotency_prune_schedule"),
                ]
            )
            .loader.project_state(
                [
                    ("engagement", "0006_reminder_rrule_at_most_hourly"),
                    ("careos", "0002_idempotency_prune_schedule"),
                ]
            )
            .apps
        )
        OldReminder = old.get_model("engagement", "Reminder")
        OldRecord = old.get_model("careos", "IdempotencyRecord")
        reminder = OldReminder.objects.create(
            patient_id=patient.pk,
            title="Asthma inhaler",
            starts_at=datetime(2030, 1, 1, tzinfo=UTC),
        )
        record = OldRecord.objects.create(
            owner_ref="usr_1",
            key="k",
            method="POST",
            path="/x",
            request_hash="h",
            response_status=201,
            response_body={"instructions": "Asthma inhaler", "n": 1},
        )
        assert raw(Reminder, reminder.pk, "title") == "Asthma inhaler"
    finally:
        _migrate(leaves)

    assert "Asthma" not in raw(Reminder, reminder.pk, "title")
    assert Reminder.objects.get(pk=reminder.pk).title == "Asthma inhaler"
    assert "Asthma" not in raw(IdempotencyRecord, record.pk, "response_body")
    assert IdempotencyRecord.objects.get(pk=record.pk).response_body == {
        "instructions": "Asthma inhaler",
        "n": 1,
    }
