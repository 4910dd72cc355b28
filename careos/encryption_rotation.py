"""Re-encrypt every ``EncryptedTextField`` value under the newest key (FIELD_ENCRYPTION_KEYS[0]).

Rows are read in primary-key batches as raw stored tokens (no decryption on load) and each stale
row is written with a conditional UPDATE that matches its old tokens, so a value someone changed
meanwhile (already under the newest key) is never overwritten. Safe to stop and re-run.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from careos.crypto import DecryptionError, is_encrypted_with_newest_key, rotate_token
from careos.fields import EncryptedTextField

DEFAULT_BATCH_SIZE = 500


@dataclass
class RotationStats:
    model: str
    fields: tuple[str, ...]
    scanned: int = 0
    rotated: int = 0
    conflicts: int = 0  # changed by someone else between read and write; already current
    undecryptable: list[Any] = field(default_factory=list)  # pks no configured key can read


def encrypted_models() -> list[tuple[type[models.Model], tuple[str, ...]]]:
    """Every concrete model with ``EncryptedTextField`` columns, and those field names."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        names = tuple(
            f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
        )
        if names:
            found.append((model, names))
    return found


def _raw(name: str) -> Cast:
    # Selected as plain text, so the field's from_db_value (decryption) does not run.
    return Cast(name, output_field=models.TextField())


@dataclass
class Batch:
    scanned: int
    last_pk: Any
    stale: list[tuple[Any, dict[str, str]]]  # (pk, {field: raw token not under the newest key})


def read_batch(
    model: type[models.Model], fields: tuple[str, ...], *, after_pk: Any, limit: int
) -> Batch:
    """Up to ``limit`` rows after ``after_pk`` (by pk), with the tokens that need rotating."""
    queryset = model._base_manager.order_by("pk").annotate(
        **{f"_raw_{name}": _raw(name) for name in fields}
    )
    if after_pk is not None:
        queryset = queryset.filter(pk__gt=after_pk)
    rows = list(queryset.values_list("pk", *(f"_raw_{name}" for name in fields))[:limit])
    stale = []
    for pk, *tokens in rows:
        old = {
            name: token
            for name, token in zip(fields, tokens, strict=True)
            if token and not is_encrypted_with_newest_key(token)
        }
        if old:
            stale.append((pk, old))
    return Batch(scanned=len(rows), last_pk=rows[-1][0] if rows else None, stale=stale)


def rotate_row(model: type[models.Model], *, pk: Any, old_tokens: dict[str, str]) -> bool:
    """Write the re-encrypted tokens if the row still holds ``old_tokens``; False if it changed.

    Raises ``DecryptionError`` if a token cannot be read with any configured key.
    """
    new_values = {
        name: models.Value(rotate_token(token), output_field=models.TextField())
        for name, token in old_tokens.items()
    }
    unchanged = model._base_manager.filter(pk=pk).alias(
        **{f"_raw_{name}": _raw(name) for name in old_tokens}
    )
    unchanged = unchanged.filter(**{f"_raw_{name}": token for name, token in old_tokens.items()})
    return unchanged.update(**new_values) == 1


def rotate_model(
    model: type[models.Model],
    fields: tuple[str, ...],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Callable[[RotationStats], None] | None = None,
) -> RotationStats:
    """Rotate one model; ``on_progress`` gets the running totals after each batch."""
    stats = RotationStats(model=model._meta.label, fields=fields)
    after_pk: Any = None
    while True:
        batch = read_batch(model, fields, after_pk=after_pk, limit=batch_size)
        if not batch.scanned:
            return stats
        with transaction.atomic():
            for pk, old_tokens in batch.stale:
                try:
                    if rotate_row(model, pk=pk, old_tokens=old_tokens):
                        stats.rotated += 1
                    else:
                        stats.conflicts += 1
                except DecryptionError:
                    stats.undecryptable.append(pk)
        stats.scanned += batch.scanned
        after_pk = batch.last_pk
        if on_progress:
            on_progress(stats)


def rotate_all(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Callable[[RotationStats], None] | None = None,
) -> list[RotationStats]:
    """Rotate every encrypted column of every installed model; returns one summary per model."""
    return [
        rotate_model(model, fields, batch_size=batch_size, on_progress=on_progress)
        for model, fields in encrypted_models()
    ]
