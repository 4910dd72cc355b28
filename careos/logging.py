"""Structured logging that never writes PHI or secrets.

The JSON formatter emits one object per line with the record's ``extra`` fields; the redaction
filter masks values of sensitive keys and anything shaped like a credential or phone number.
"""

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

# Keys whose values are never logged: credentials, and PHI (names, contact details, dates of
# birth, identifiers, addresses, clinical content).
SENSITIVE_KEYS = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|authorization|cookie|"
    r"phone|email|(first|last|full|given|family|middle|patient|legal)_?name|"
    r"dob|birth|ssn|mrn|insurance|address|street|postal|zip_?code|"
    r"diagnos|clinical|symptom|medical|medication|treatment_?notes?|"
    r"ciphertext|encrypted)",
    re.IGNORECASE,
)
_VALUE_PATTERNS = [
    re.compile(r"\b(ck|whsec|sk|pk|rk)_(live|test)?_?[A-Za-z0-9]{8,}"),
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\+?\d[\d\s().-]{8,}\d"),
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
]
REDACTED = "[redacted]"

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact_text(text: str) -> str:
    for pattern in _VALUE_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


# Query parameters whose values are shown in access logs: paging, ordering and format only.
# Every other value is masked (admin searches, API filters, ``next`` URLs carry PHI).
SHOWN_QUERY_PARAMS = frozenset(
    {"p", "o", "e", "all", "page", "cursor", "ordering", "lang", "version", "format", "_popup"}
)
_PARAM_NAME = re.compile(r"[A-Za-z_][\w.\-\[\]]{0,63}")


def mask_query_string(query: str) -> str:
    """``q=%2B1415…&p=2`` → ``q=[redacted]&p=2``: names kept (unless odd), values masked."""
    if not query:
        return query
    pieces = []
    for piece in query.split("&"):
        name, sep, value = piece.partition("=")
        if not _PARAM_NAME.fullmatch(name):
            name = REDACTED
        if value and name not in SHOWN_QUERY_PARAMS:
            value = REDACTED
        pieces.append(f"{name}{sep}{value}")
    return "&".join(pieces)


def mask_url(url: str) -> str:
    """A URL or path with its query string masked (``mask_query_string``) and any phone number
    or email left in the rest redacted."""
    base, sep, query = url.partition("?")
    return redact_text(base) + sep + mask_query_string(query)


def redact_value(key: str, value: Any) -> Any:
    if SENSITIVE_KEYS.search(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, v) for v in value]
    return value


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _RESERVED:
                setattr(record, key, redact_value(key, value))
        return True


class ClientErrorTracebackFilter(logging.Filter):
    """Django logs a request refused with ``PermissionDenied`` (403) with its traceback: for a
    client's error one line is enough, and a traceback in the log should mean a fault of ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        status_code = getattr(record, "status_code", None)
        client_error = isinstance(status_code, int) and 400 <= status_code < 500
        if client_error and record.name.startswith("django."):
            record.exc_info = None
            record.exc_text = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED:
                payload[key] = value
        if record.exc_info:
            payload["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)
