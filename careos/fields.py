"""Model fields that keep PHI encrypted at rest."""

import json
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


class EncryptedJSONField(EncryptedTextField):
    """A JSON value stored as one Fernet token of its JSON text (``None`` stays NULL); reads
    return the decoded value. Rotated with the other encrypted columns (it is one)."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        text = super().from_db_value(value, expression, connection)
        return None if text is None or text == "" else json.loads(text)

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return super().get_prep_value(json.dumps(value, separators=(",", ":")))

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))
