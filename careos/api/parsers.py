"""JSON request bodies parsed with limits, for DRF and for views that read a raw body (webhooks).

Python's ``json`` recurses once per nesting level, so a body of a few thousand ``[`` raises
``RecursionError``; it also accepts integers of any size, which no column can hold. Bodies are
therefore checked for nesting depth before they are parsed, and every integer must fit the widest
column (a signed 64-bit ``bigint``); narrower columns are the serializers' business.
"""

import re
from array import array
from itertools import accumulate
from typing import Any

from django.conf import settings
from djangorestframework_camel_case.parser import CamelCaseJSONParser as _CamelCaseJSONParser
from djangorestframework_camel_case.util import underscoreize
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

from careos.errors import DomainError

INTEGER_MIN = -(2**63)
INTEGER_MAX = 2**63 - 1

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_AS_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")
# An integer needs 19 digits or more to leave the 64-bit range; a body without such a run of
# digits (the usual case) is not walked.
_LONG_DIGITS = re.compile(rb"\d{19}")


def _nesting_exceeds(raw: bytes, limit: int) -> bool:
    """Whether arrays/objects in ``raw`` nest deeper than ``limit`` at any point (also in an
    invalid body, where the parser would recurse as deep before failing), without recursion."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    # Brackets inside strings do not nest: drop escapes, then strings, then all but brackets,
    # which become +1 and -1 (signed bytes) for a running sum of the depth.
    steps = _STRING.sub(b"", _ESCAPE.sub(b"", raw)).translate(_AS_STEPS, _NOT_BRACKET)
    return max(accumulate(array("b", steps)), default=0) > limit


def _out_of_range_integer(data: Any) -> tuple[list[str], int] | None:
    """The path and value of the first integer outside the 64-bit range, if any."""
    stack: list[tuple[Any, list[str]]] = [(data, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            stack.extend((item, [*path, str(key)]) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, [*path, str(index)]) for index, item in enumerate(value))
        elif isinstance(value, int) and not INTEGER_MIN <= value <= INTEGER_MAX:
            return path, value
    return None


def _range_error(path: list[str], value: int) -> DomainError:
    if value > INTEGER_MAX:
        code, message = "max_value", f"Ensure this value is less than or equal to {INTEGER_MAX}."
    else:
        code, message = "min_value", f"Ensure this value is greater than or equal to {INTEGER_MIN}."
    # The field as the client wrote it (the body's own keys: camelCase for the API, the
    # provider's names in a webhook), in the shape of every ``validation_error``.
    return DomainError(
        "One or more fields are invalid.",
        code="validation_error",
        extra={"errors": [{"field": ".".join(path), "code": code, "message": message}]},
    )


def json_loads_bounded(raw: bytes, *, encoding: str = "utf-8") -> Any:
    """Parse a JSON body within the limits above.

    Raises ``ParseError`` (``malformed_request``: not JSON, not in ``encoding``, ``NaN`` or
    ``Infinity``, nested deeper than ``API_JSON_MAX_DEPTH``) or a ``validation_error``
    ``DomainError`` naming the field whose integer is out of range.
    """
    if encoding.lower().replace("-", "") != "utf8":
        try:
            raw = raw.decode(encoding).encode("utf-8", "surrogatepass")
        except (LookupError, UnicodeError) as exc:
            raise ParseError(f"JSON parse error - the body is not valid {encoding}.") from exc
    limit = settings.API_JSON_MAX_DEPTH
    if _nesting_exceeds(raw, limit):
        raise ParseError(f"JSON parse error - arrays and objects nest deeper than {limit} levels.")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=json.strict_constant)
    except ValueError as exc:  # also UnicodeDecodeError, and integers with too many digits
        raise ParseError(f"JSON parse error - {exc}") from exc
    if _LONG_DIGITS.search(raw):
        found = _out_of_range_integer(data)
        if found is not None:
            raise _range_error(*found)
    return data


class CamelCaseJSONParser(_CamelCaseJSONParser):
    """camelCase JSON in, snake_case data out, parsed by :func:`json_loads_bounded`."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        return underscoreize(
            json_loads_bounded(stream.read(), encoding=encoding), **self.json_underscoreize
        )
