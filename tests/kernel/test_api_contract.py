"""The OpenAPI schema states the limits the server enforces, and the two agree: the
Idempotency-Key's pattern and length, what a text field refuses, list lengths, the body size
limit, JSON-only bodies, the CSRF token a session needs to change anything."""

import re

import jsonschema_rs
import pytest
from django.conf import settings as django_settings
from django.core.validators import URLValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from careos.api.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH, idempotency_key_valid
from careos.api.patterns import NO_NUL_PATTERN, NOT_BLANK_PATTERN, WHITESPACE_CLASS, url_pattern
from careos.api.serializers import Serializer
from rbac.models import User
from tests.clients import SignedInAPIClient
from tests.kernel.api_surface import openapi_schema, operations

IDEMPOTENCY_KEY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
    "pattern": "^[!-~]+$",
}


def _schema_accepts_key(key: str) -> bool:
    schema = IDEMPOTENCY_KEY_SCHEMA
    return (
        schema["minLength"] <= len(key) <= schema["maxLength"]
        and re.fullmatch(schema["pattern"], key) is not None
    )


def test_every_operation_taking_an_idempotency_key_states_its_pattern_and_length():
    taking = [op for op in operations() if op.parameter("header", "Idempotency-Key")]
    assert {str(op) for op in taking} >= {
        "POST /api/v1/leads/ingest",
        "POST /api/v1/payments/bookings",
        "POST /api/v1/payments/payments/{payment_id}/refunds",
        "POST /api/v1/support/tickets",
        "POST /api/v1/engagement/templates",
    }
    for operation in taking:
        assert operation.method == "post"
        assert operation.parameter("header", "Idempotency-Key")["schema"] == (
            IDEMPOTENCY_KEY_SCHEMA
        ), str(operation)


# A shared machine: no per-example deadline, generation may be slow.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300) | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7F)))
def test_the_idempotency_key_pattern_is_the_one_the_server_checks(key: str):
    assert _schema_accepts_key(key) == idempotency_key_valid(key)


def test_whitespace_class_is_what_python_strips():
    whitespace = re.compile(f"[{WHITESPACE_CLASS}]")
    for code in range(0x110000):
        char = chr(code)
        assert bool(whitespace.fullmatch(char)) == char.isspace(), hex(code)


def _drf_accepts(value: str, *, allow_blank: bool) -> bool:
    try:
        serializers.CharField(allow_blank=allow_blank).run_validation(value)
    except serializers.ValidationError:
        return False
    return True


# A shared machine: no per-example deadline, generation may be slow.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text() | st.sampled_from(["", " ", "\x1f", "\u3000a ", "a\x00", "\n"]))
def test_text_patterns_state_what_a_text_field_refuses(value: str):
    not_blank = re.fullmatch(NOT_BLANK_PATTERN, value) is not None
    assert not_blank == _drf_accepts(value, allow_blank=False)
    blank_allowed = value == "" or re.fullmatch(NO_NUL_PATTERN, value) is not None
    assert blank_allowed == _drf_accepts(value, allow_blank=True)


URL_PATTERN = url_pattern(URLValidator.schemes)
URI_FORMAT = jsonschema_rs.validator_for({"type": "string", "format": "uri"}, validate_formats=True)


class UrlInput(Serializer):
    url = serializers.URLField()


def _server_takes_url(value: str) -> bool:
    return UrlInput(data={"url": value}).is_valid()


# A shared machine: no per-example deadline, generation may be slow.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(URL_PATTERN, fullmatch=True))
def test_every_url_the_pattern_matches_the_server_and_format_uri_take(url: str):
    assert _server_takes_url(url)
    assert URI_FORMAT.is_valid(url)


# A shared machine: no per-example deadline, generation may be slow.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text()
    | st.sampled_from(["https://0.com", "HTTP://Example.COM:8080/a?b#c", " https://a.com"])
    | st.builds(lambda host: f"https://{host}.com/", st.text(min_size=1))
    | st.builds(lambda path: f"https://a.com/{path}", st.text())
)
def test_the_server_takes_a_url_exactly_when_the_pattern_matches(value: str):
    assert _server_takes_url(value) == bool(re.fullmatch(URL_PATTERN, value))


@pytest.mark.parametrize(
    "url",
    [
        "https://0.a",
        "https://" + "a" * 60 + (".a" + "b" * 60) * 4 + ".com",
        "httpS://\u00aep.\u00cb.xn--0LtEpKV.:889",
        "https://a.com/caf\u00e9",
        "https://a.com/a b",
        "https://a.com/?q=[1]",
        "https://[:::1]/",
        "mailto:a@b.co",
    ],
)
def test_urls_the_server_refuses_the_pattern_refuses(url: str):
    """Regressions (schemathesis): ``format: uri`` took the first two, which Django's validator
    refuses; Django's validator took the others, which ``format: uri`` refuses."""
    assert not _server_takes_url(url)
    assert not re.fullmatch(URL_PATTERN, url)


@pytest.mark.parametrize(
    "url",
    [
        "https://partner.example.com/hooks/careos?v=2#x",
        "https://internal-lb-1234567890.us-east-1.elb.amazonaws.com:8443/hook",
        "http://127.0.0.1:8000/",
        "http://[::1]:8000/",
        "https://[2001:db8::1.2.3.4]/",
        "http://localhost/",
        "https://user:secret@xn--bcher-kva.example/caf%C3%A9",
        "HTTPS://Example.COM",
    ],
)
def test_urls_clients_use_match_the_pattern(url: str):
    assert re.fullmatch(URL_PATTERN, url)
    assert URI_FORMAT.is_valid(url)
    assert _server_takes_url(url)


@pytest.mark.django_db
def test_an_api_url_field_refuses_what_format_uri_refuses(partner_api_client):
    """Regression (schemathesis): a non-ASCII URL was stored, then answered against a
    response schema saying ``format: uri``."""
    client = partner_api_client(scopes=["manage:partner"])
    body = {"name": "App", "clientType": "confidential", "grantType": "authorization-code"}
    refused = client.post(
        "/api/v1/partners/me/applications",
        {**body, "webhookUrls": ["https://hooks.example.com/caf\u00e9"]},
        format="json",
    )
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["errors"]] == ["webhookUrls.0"]
    taken = client.post(
        "/api/v1/partners/me/applications",
        {**body, "webhookUrls": ["https://hooks.example.com/caf%C3%A9"]},
        format="json",
    )
    assert taken.status_code == 201, taken.content


@pytest.mark.django_db
def test_a_blank_allowed_url_field_still_takes_the_empty_string():
    """Regression (schemathesis): the URL check refused a partner's empty ``website``."""
    client = SignedInAPIClient()
    client.force_login(User.objects.create_superuser(username="url-admin", password=None))
    response = client.post(
        "/api/v1/partners/admin/partners",
        {"name": "Acme", "slug": "acme", "partnerType": "referral_platform", "website": ""},
        format="json",
    )
    assert response.status_code == 201, response.content


def test_request_text_fields_carry_their_pattern():
    components = openapi_schema()["components"]["schemas"]
    contact = components["ContactRequest"]["properties"]
    assert contact["name"]["pattern"] == NOT_BLANK_PATTERN
    assert contact["title"]["oneOf"] == [
        {"type": "string", "pattern": NO_NUL_PATTERN, "maxLength": 120},
        {"type": "string", "maxLength": 0},
    ]
    # Fields with a pattern or format of their own keep it; responses carry none.
    assert components["BookingCreateRequest"]["properties"]["priceTier"]["pattern"] == (
        "^[-a-zA-Z0-9_]+$"
    )
    assert "pattern" not in contact["email"]
    assert "pattern" not in components["Contact"]["properties"]["name"]


def _unbounded_strings(schema: dict, path: str):
    if "oneOf" in schema:
        for branch in schema["oneOf"]:
            yield from _unbounded_strings(branch, path)
        return
    if schema.get("readOnly"):
        return
    if schema.get("type") == "string":
        pattern = schema.get("pattern", "")
        bounded_pattern = pattern and not re.search(r"[*+]|\{\d+,\}", pattern)
        dated = schema.get("format") in ("date", "date-time")
        if "maxLength" not in schema and "enum" not in schema and not bounded_pattern and not dated:
            yield path
    if schema.get("type") == "array":
        yield from _unbounded_strings(schema.get("items", {}), f"{path}[]")
    for name, prop in schema.get("properties", {}).items():
        yield from _unbounded_strings(prop, f"{path}.{name}")


def test_every_string_a_request_body_takes_states_its_maximum_length():
    components = openapi_schema()["components"]["schemas"]
    unbounded = [
        path
        for name, schema in components.items()
        if name.endswith("Request")
        for path in _unbounded_strings(schema, name)
    ]
    assert not unbounded


def test_lists_state_their_lengths():
    components = openapi_schema()["components"]["schemas"]
    scopes = components["ApiKeyCreateRequest"]["properties"]["scopes"]
    assert scopes["minItems"] == 1
    items = components["BookingCreateRequest"]["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, 20)


@pytest.mark.django_db
def test_the_server_refuses_the_empty_list_the_schema_refuses(partner_api_client):
    client = partner_api_client(scopes=["manage:partner"])
    response = client.post("/api/v1/partners/me/keys", {"name": "k", "scopes": []}, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["scopes"]


def test_the_request_size_limits_are_stated():
    schema = openapi_schema()
    body_limit = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert schema["info"]["x-max-request-body-bytes"] == body_limit
    assert schema["info"]["x-max-request-line-bytes"] == 4094  # gunicorn's limit_request_line
    assert f"limited to {body_limit} bytes" in schema["info"]["description"]
    with_body = [op for op in operations() if "requestBody" in op.spec]
    assert len(with_body) > 30
    for operation in with_body:
        assert operation.spec["x-max-request-body-bytes"] == body_limit, str(operation)
        assert "413" in operation.spec["responses"], str(operation)
    for operation in operations():
        assert list(operation.spec["responses"]["414"]["content"]) == ["text/html"], str(operation)


def test_request_bodies_are_json_except_twilio_forms():
    forms = {
        "POST /api/v1/engagement/twilio/inbound": ["From", "Body"],
        "POST /api/v1/engagement/twilio/status": ["MessageSid", "MessageStatus"],
    }
    for operation in operations():
        body = operation.spec.get("requestBody")
        if body is None:
            continue
        if str(operation) in forms:
            assert body["required"] is True
            form = body["content"]["application/x-www-form-urlencoded"]["schema"]
            assert form["required"] == forms[str(operation)]
            assert operation.parameter("header", "X-Twilio-Signature")["required"] is True
        else:
            assert list(body["content"]) == ["application/json"], str(operation)


def test_a_session_needs_the_csrf_token_to_change_anything():
    session_only = [
        op
        for op in operations()
        if any("cookieAuth" in requirement for requirement in op.spec.get("security", []))
    ]
    assert session_only
    for operation in session_only:
        requirement = next(r for r in operation.spec["security"] if "cookieAuth" in r)
        expected = (
            {"cookieAuth"}
            if operation.method == "get"
            else {
                "cookieAuth",
                "csrfCookie",
                "csrfHeader",
            }
        )
        assert set(requirement) == expected, str(operation)
    schemes = openapi_schema()["components"]["securitySchemes"]
    assert schemes["csrfCookie"] == {**schemes["csrfCookie"], "in": "cookie", "name": "csrftoken"}
    assert schemes["csrfHeader"] == {**schemes["csrfHeader"], "in": "header", "name": "X-CSRFToken"}


@pytest.mark.django_db
def test_the_server_refuses_a_session_change_without_the_csrf_token():
    client = SignedInAPIClient(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser(username="csrf-admin", password=None))
    response = client.post(
        "/api/v1/partners/admin/partners",
        {"name": "Acme", "slug": "acme", "partnerType": "referral_platform"},
        format="json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def _excludes_nul(schema: dict) -> bool:
    if schema.get("type") != "string" or "format" in schema:
        return True
    if "enum" in schema:
        return all("\x00" not in value for value in schema["enum"])
    pattern = schema.get("pattern")
    return pattern is not None and re.fullmatch(pattern, "a\x00") is None


def test_every_url_parameter_excludes_the_nul_byte_the_server_refuses():
    """NulByteMiddleware refuses a NUL anywhere in the path or query string: a schema that
    allowed one would describe a request the server always refuses."""
    allowing = [
        f"{operation} {parameter['in']} {parameter['name']}"
        for operation in operations()
        for location in ("query", "path")
        for parameter in operation.parameters(location)
        if not _excludes_nul(parameter.get("schema", {}))
    ]
    assert allowing == []


@pytest.mark.django_db
def test_an_empty_query_parameter_stays_allowed_and_a_nul_is_refused(partner_api_client):
    applications = next(
        op for op in operations() if str(op) == "GET /api/v1/partners/me/applications"
    )
    cursor = applications.parameter("query", "cursor")["schema"]
    assert re.fullmatch(cursor["pattern"], "")
    client = partner_api_client(scopes=["read:partner"])
    assert client.get("/api/v1/partners/me/applications?cursor=").status_code == 200
    response = client.get("/api/v1/partners/me/applications?cursor=%00")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"
