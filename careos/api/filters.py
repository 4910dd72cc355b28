"""Query-string filters of list endpoints: one declaration for the server and the schema.

Declare the filters of a list as a ``QueryFilters`` serializer with snake_case fields, read them
with ``query_filters(Filters, request)`` (a dict with snake_case keys, absent filters left out)
and document them with ``@extend_schema(parameters=[Filters])``: drf-spectacular turns each
field into a camelCase query parameter, so the schema states exactly what the server checks.

Every filter follows the same rules:

- the parameter is camelCase, like every name of the API (``?sourceLeadId=``);
- it is given at most once (400, code ``repeated``);
- it is never empty: ``?status=`` is refused (400, code ``blank``) rather than read as "no
  filter", so a client that forgot to fill a value in learns it at once;
- the field validates the value: an unknown ``ChoiceField`` value is 400 ``invalid_choice``,
  a malformed date 400 ``invalid``.

Query parameters the serializer does not declare (``cursor``, ``pageSize``, …) are not its
business and are left alone.
"""

import re
from typing import Any

from djangorestframework_camel_case.util import camelize_re, underscore_to_camel
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.fields import Field
from rest_framework.request import Request


def _camel(name: str) -> str:
    return re.sub(camelize_re, underscore_to_camel, name)


class QueryFilters(serializers.Serializer):
    """The filters of one list. Not a ``careos.api.serializers.Serializer``: a query string is
    text, so its fields parse their values (``?days=7``) rather than check JSON types."""

    def get_fields(self) -> dict[str, Field]:
        fields: dict[str, Field] = {}
        for name, field in super().get_fields().items():
            public = _camel(name)
            if public != name and field.source is None:
                field.source = name  # validated_data keeps the snake_case name
            fields[public] = field
        return fields

    def to_internal_value(self, data: Any) -> Any:
        given: dict[str, str] = {}
        errors: dict[str, list[ErrorDetail]] = {}
        for name in self.fields:
            values = data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])
            values = values if isinstance(values, list) else [values]
            if not values:
                continue
            if len(values) > 1:
                errors[name] = [ErrorDetail("Give this filter once.", code="repeated")]
            elif not str(values[0]).strip():
                errors[name] = [
                    ErrorDetail(
                        "This filter may not be empty; leave it out to not filter.", code="blank"
                    )
                ]
            else:
                given[name] = values[0]
        if errors:
            raise ValidationError(errors)
        # A plain dict: DRF reads an empty value in a QueryDict as "not given".
        return super().to_internal_value(given)


def query_filters(filters: type[QueryFilters], request: Request) -> dict[str, Any]:
    """The validated filters of this request, keyed by field name (absent filters left out)."""
    serializer = filters(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
