"""Data migrations that move a plain text column to ``EncryptedTextField`` (or back).

Use after the ``AlterField`` that makes the column an encrypted field::

    from careos.encryption_migrations import encrypt_columns

    operations = [
        migrations.AlterField("reminder", "title", EncryptedTextField(max_length=200)),
        migrations.RunPython(*encrypt_columns("engagement", {"reminder": ["title"]})),
    ]

Values are read and written raw (cast to text, so the field neither decrypts nor encrypts them
on the way), in primary-key batches; a value that already decrypts is left alone, so a re-run
after an interruption is safe. Reversing decrypts them back to plain text.
"""

from collections.abc import Callable
from typing import Any

from django.db import models
from django.db.models.functions import Cast

from careos.crypto import DecryptionError, decrypt_str, encrypt_str

BATCH_SIZE = 500
MigrationFunction = Callable[[Any, Any], None]


def _is_token(value: str) -> bool:
    try:
        decrypt_str(value)
    except DecryptionError:
        return False
    return True


def _convert(
    apps: Any, app_label: str, columns: dict[str, list[str]], change: Callable[[str], str | None]
) -> None:
    for model_name, fields in columns.items():
        model = apps.get_model(app_label, model_name)
        manager = model._base_manager
        for name in fields:
            raw = f"_raw_{name}"
            queryset = manager.annotate(**{raw: Cast(name, models.TextField())}).order_by("pk")
            after = None
            while True:
                page = queryset if after is None else queryset.filter(pk__gt=after)
                rows = list(page.values_list("pk", raw)[:BATCH_SIZE])
                if not rows:
                    break
                for pk, value in rows:
                    new = change(value) if value else None
                    if new is not None:
                        manager.filter(pk=pk).update(
                            **{name: models.Value(new, output_field=models.TextField())}
                        )
                after = rows[-1][0]


def encrypt_columns(
    app_label: str, columns: dict[str, list[str]]
) -> tuple[MigrationFunction, MigrationFunction]:
    """``(forwards, backwards)`` for ``RunPython``: encrypt ``{model: [field, ...]}`` in place."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        _convert(apps, app_label, columns, lambda v: None if _is_token(v) else encrypt_str(v))

    def backwards(apps: Any, schema_editor: Any) -> None:
        _convert(apps, app_label, columns, lambda v: decrypt_str(v) if _is_token(v) else None)

    return forwards, backwards
