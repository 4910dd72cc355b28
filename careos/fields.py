"""Model fields that keep PHI encrypted at rest."""

from typing import Any

from django.db import models

from careos.crypto import decrypt_str, encrypt_str


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; reads return plaintext. Not searchable: pair it with a
    blind index column (see ``careos.crypto.blind_index``) where lookup is needed."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt_str(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_str(value)

    def to_python(self, value: Any) -> str | None:
        return value
