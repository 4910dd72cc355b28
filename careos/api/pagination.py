"""Cursor pagination for every list: ``?cursor=`` from ``next``, page size ``?pageSize=``.

``pageSize`` is a whole number from 1 to ``max_page_size``, given at most once; anything else
is refused with 400 ``invalid_page_size`` (DRF's own pagination silently falls back to the
default or clips to the maximum, which hides a client's mistake). The schema states the range.
"""

import re
from typing import Any

from rest_framework import exceptions
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

# ASCII digits only (``int`` also reads other scripts' digits), few enough to stay cheap.
_DIGITS = re.compile(r"[0-9]{1,9}")


class InvalidPageSize(exceptions.ValidationError):
    problem_code = "invalid_page_size"


class StrictCursorPagination(CursorPagination):
    page_size_query_param = "pageSize"
    max_page_size = 200

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


class CreatedCursorPagination(StrictCursorPagination):
    """Newest first, stable under inserts."""

    ordering = ("-created_at", "-pk")
