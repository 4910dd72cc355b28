import io
import json
import logging
from collections.abc import Iterator

import pytest

from careos.logging import REDACTED, JsonFormatter, RedactSecretsFilter


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger wired like production: redaction filter + JSON formatter on the handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.kernel.logging")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_output_is_one_json_object_per_line(log):
    logger, stream = log
    logger.info("lead %s ingested", "lead_abc", extra={"partner": "ptr_1", "count": 3})
    logger.warning("second")
    first, second = lines(stream)
    assert first["message"] == "lead lead_abc ingested"
    assert first["level"] == "INFO"
    assert first["logger"] == "tests.kernel.logging"
    assert first["partner"] == "ptr_1"
    assert first["count"] == 3
    assert first["time"].endswith("+00:00")
    assert second["level"] == "WARNING"


@pytest.mark.parametrize(
    "secret",
    [
        "+1 (555) 123-4567",
        "+15551234567",
        "pat.smith+care@example.com",
        "ck_live_9f8e7d6c5b4a3210",
        "sk_test_abcdefghijklmnop",
        "whsec_abcdefghijklmnop",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
    ],
)
def test_phi_and_credentials_in_messages_are_redacted(log, secret):
    logger, stream = log
    logger.info("calling %s now", secret)
    [entry] = lines(stream)
    assert secret not in stream.getvalue()
    assert REDACTED in entry["message"]


@pytest.mark.parametrize(
    "key",
    [
        "phone",
        "email",
        "first_name",
        "last_name",
        "full_name",
        "patient_name",
        "date_of_birth",
        "dob",
        "ssn",
        "api_key",
        "password",
        "client_secret",
        "access_token",
        "authorization",
        "diagnosis",
        "clinical_notes",
        "home_address",
    ],
)
def test_phi_named_extra_keys_are_redacted(log, key):
    logger, stream = log
    logger.info("event", extra={key: "Jane Roe", "lead_id": "lead_123"})
    [entry] = lines(stream)
    assert entry[key] == REDACTED
    assert entry["lead_id"] == "lead_123"
    assert "Jane Roe" not in stream.getvalue()


def test_nested_extra_values_are_redacted(log):
    logger, stream = log
    logger.info(
        "webhook",
        extra={
            "request": {"headers": {"Authorization": "Bearer abcdefghijklmnop"}, "id": "evt_1"},
            "contacts": [{"email": "a@example.com"}, "call +15551234567"],
        },
    )
    [entry] = lines(stream)
    assert entry["request"] == {"headers": {"Authorization": REDACTED}, "id": "evt_1"}
    assert entry["contacts"] == [{"email": REDACTED}, f"call {REDACTED}"]


def test_exception_text_is_redacted(log):
    logger, stream = log
    try:
        raise ValueError("no user with email jane@example.com")
    except ValueError:
        logger.exception("lookup failed")
    [entry] = lines(stream)
    assert "ValueError" in entry["exception"]
    assert "jane@example.com" not in stream.getvalue()


def test_settings_use_the_filter_on_every_handler(settings):
    for handler in settings.LOGGING["handlers"].values():
        assert "redact" in handler["filters"]
    assert settings.LOGGING["filters"]["redact"]["()"] == "careos.logging.RedactSecretsFilter"
    assert settings.LOGGING["formatters"]["json"]["()"] == "careos.logging.JsonFormatter"
