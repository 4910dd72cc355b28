"""Cursor pagination for every list: ``?cursor=`` from ``next``, page size ``?pageSize=``.

``pageSize`` is a whole number from 1 to ``max_page_size``, given at most once; anything else
is refused with 400 ``invalid_page_size`` (DRF's own pagination silently falls back to the
default or clips to the maximum, which hides a client's mistake). The schema states the range.

A cursor that was not issued by a page (not base64, or a position that is not a value of the
ordering field) is 400 ``invalid_cursor``; it never reaches the database.
"""

import re
from base64 import b64decode
from typing import Any
from urllib import parse

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection, models
from rest_framework import exceptions
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

# ASCII digits only (``int`` also reads other scripts' digits), few enough to stay cheap.
_DIGITS = re.compile(r"[0-9]{1,9}")


class InvalidPageSize(exceptions.ValidationError):
    problem_code = "invalid_page_size"


class InvalidCursor(exceptions.APIException):
    status_code = 400
    default_code = "invalid_cursor"
    default_detail = "The cursor is invalid: pass the next or previous link of a page unchanged."


class StrictCursorPagination(CursorPagination):
    page_size_query_param = "pageSize"
    max_page_size = 200

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        self._model = getattr(queryset, "model", None)
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request: Request) -> int:
        name = self.page_size_query_param
        values = request.query_params.getlist(name)
        if not values:
            return self.page_size
        value = values[0]
        if len(values) == 1 and _DIGITS.fullmatch(value):
            size = int(value)
            if 1 <= size <= self.max_page_size:
                return size
        raise InvalidPageSize(
            {
                name: [
                    exceptions.ErrorDetail(
                        f"{name} must be given once, as a whole number from 1 to "
                        f"{self.max_page_size}.",
                        code="invalid_page_size",
                    )
                ]
            }
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's decoding, strict: exactly the fields ``encode_cursor`` writes, once each."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            querystring = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True, strict_parsing=True)
            if not tokens.keys() <= {"o", "r", "p"} or any(len(v) > 1 for v in tokens.values()):
                raise ValueError("not a cursor this API issued")
            offset = int(tokens.get("o", ["0"])[0])
            reverse = tokens.get("r", ["0"])[0]
            if offset < 0 or reverse not in ("0", "1"):
                raise ValueError("not a cursor this API issued")
        except (TypeError, ValueError) as exc:  # binascii.Error and UnicodeError are ValueErrors
            raise InvalidCursor() from exc
        position = tokens.get("p", [None])[0]
        if position is not None:
            self._check_position(position)
        return Cursor(
            offset=min(offset, self.offset_cutoff), reverse=reverse == "1", position=position
        )

    def _check_position(self, position: str) -> None:
        if "\x00" in position:
            raise InvalidCursor()
        field = self._ordering_field()
        if field is None:
            return
        try:
            field.get_db_prep_value(field.to_python(position), connection=connection)
        except (ValidationError, ValueError, TypeError, OverflowError) as exc:
            raise InvalidCursor() from exc

    def _ordering_field(self) -> models.Field | None:
        name = self.ordering[0].lstrip("-")
        if self._model is None:
            return None
        try:
            field = self._model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        return field if isinstance(field, models.Field) else None


class CreatedCursorPagination(StrictCursorPagination):
    """Newest first, stable under inserts."""

    ordering = ("-created_at", "-pk")
