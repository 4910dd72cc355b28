"""Regular expressions the schema publishes and the server enforces alike.

Written for both ECMA-262 (JSON Schema's dialect) and Python's ``re``: no ``\\s``, ``\\d`` or
``\\w`` (the two read them differently at the edges), no lookarounds (generators such as
schemathesis cannot follow them).
"""

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from django.core.validators import URLValidator

# What ``str.strip()`` removes: every character whose ``isspace()`` is true.
WHITESPACE_CLASS = (
    r"\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
# A DRF text field refuses NUL anywhere and, unless blank is allowed, a value that is only
# whitespace (it trims first). A blank-allowed field's empty value is a separate ``oneOf``.
NO_NUL_PATTERN = r"^[^\u0000]+$"
# A query parameter may be given empty (``?q=``): only NUL is refused there.
NO_NUL_OR_EMPTY_PATTERN = r"^[^\u0000]*$"
NOT_BLANK_PATTERN = rf"^[^\u0000]*[^\u0000{WHITESPACE_CLASS}][^\u0000]*$"

# RFC 3986, ASCII only (a host in punycode, other characters percent-encoded).
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_USER = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})"
_USERINFO = rf"(?:{_USER}+(?::{_USER}*)?@)?"
# Django's host rules: labels of letters, digits and inner hyphens under a top-level label of
# letters (or ``xn--``); the 253-character limit kept by shape (at most 6 labels, each of at most
# 40 characters, the last 47).
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,38}[a-zA-Z0-9])?"
_TOP_LABEL = r"(?:[a-zA-Z][a-zA-Z-]{0,45}[a-zA-Z]|[xX][nN]--[a-zA-Z0-9]{0,42}[a-zA-Z0-9])"
# RFC 3986's IPv6address, in brackets.
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{URLValidator.ipv4_re})"
_IPV6 = "|".join(
    [
        rf"(?:{_H16}:){{6}}{_LS32}",
        rf"::(?:{_H16}:){{5}}{_LS32}",
        rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
        rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
        rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
        rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
    ]
)
_HOST = (
    rf"(?:{URLValidator.ipv4_re}|\[(?:{_IPV6})\]"
    rf"|{_LABEL}(?:\.{_LABEL}){{0,4}}\.{_TOP_LABEL}\.?|localhost)"
)


def url_validators_pattern(validators: Iterable[Any]) -> str | None:
    """The URL pattern of a field with these validators (the schemes every ``URLValidator``
    among them allows), or None when none is a ``URLValidator``."""
    schemes = [frozenset(v.schemes) for v in validators if isinstance(v, URLValidator)]
    return _cached_url_pattern(frozenset.intersection(*schemes)) if schemes else None


@cache
def _cached_url_pattern(schemes: frozenset[str]) -> str:
    return url_pattern(schemes)


@cache
def url_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def url_pattern(schemes: Iterable[str]) -> str:
    """A URL both ``format: uri`` (RFC 3986) and Django's ``URLValidator`` take, for these
    schemes: a little stricter than either (no non-ASCII host, at most 6 host labels), so a URL
    that matches is one the server takes and the schema allows."""

    def any_case(text: str) -> str:
        return "".join(f"[{c.upper()}{c}]" if c.isalpha() else re.escape(c) for c in text)

    return (
        rf"^(?:{'|'.join(any_case(scheme) for scheme in sorted(schemes))})://"
        rf"{_USERINFO}{_HOST}(?::[0-9]{{1,5}})?"
        rf"(?:/(?:{_PCHAR}|/)*)?(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?$"
    )
