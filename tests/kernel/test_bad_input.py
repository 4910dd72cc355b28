"""No request body answers 500 (issue 12): over the size limit, too many fields, deeply nested
JSON, integers no column can hold. URLs: test_bad_urls.py; webhooks and OAuth live with their
apps (tests/payments/test_webhook_bad_input.py, tests/partners/test_oauth_grant_types.py)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_started
from django.db import close_old_connections
from rest_framework.test import APIClient

from careos.models import IdempotencyRecord
from partners.models import Partner
from tests.kernel.bad_input import (
    PROBLEM,
    api_schema,
    assert_problem,
    concrete,
    postgres_only,
    rows,
)
from tests.partners.factories import PartnerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.kernel.urls")]


# --- bodies over DATA_UPLOAD_MAX_MEMORY_SIZE: 413 ------------------------------------------


def test_a_body_over_the_limit_is_413_on_every_endpoint(api_client, settings):
    schema = api_schema()
    big = b'{"a": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    targets = [
        (method, concrete(path))
        for path, operations in schema["paths"].items()
        for method in ("post", "put", "patch")
        if method in operations
    ]
    assert all(
        "413" in operation["responses"]
        for operations in schema["paths"].values()
        for operation in operations.values()
    )
    targets += [("post", "/o/token/"), ("post", "/o/revoke_token/"), ("post", "/o/introspect/")]
    unauthenticated = {
        "/api/v1/payments/stripe/webhook",
        "/api/v1/payments/billing-provider/webhook",
        "/api/v1/support/csat",
        "/api/v1/business/register",
        "/o/token/",
    }
    assert unauthenticated <= {path for _, path in targets}
    before = rows()
    for method, path in targets:
        response = getattr(api_client, method)(path, data=big, content_type="application/json")
        body = assert_problem(response, 413, "payload_too_large")
        assert body["instance"] == path
    assert rows() == before


def test_a_form_over_the_limit_on_an_html_page_is_413_not_500(api_client, settings):
    big = "username=" + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    before = rows()
    response = api_client.post(
        "/admin/login/", data=big, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert rows() == before


@contextmanager
def _database_kept_open() -> Iterator[None]:
    # As Django's test client does: the request must not close the test's connection.
    request_started.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)


def _asgi_post_chunked(path: str, body: bytes, content_type: str) -> tuple[int, dict, bytes]:
    """POST ``body`` without a Content-Length (chunked), as an ASGI server passes it on."""

    async def run() -> tuple[int, dict, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                (b"content-type", content_type.encode()),
                (b"transfer-encoding", b"chunked"),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        communicator = ApplicationCommunicator(ASGIHandler(), scope)
        step = 1 << 20
        for start in range(0, len(body), step):
            await communicator.send_input(
                {
                    "type": "http.request",
                    "body": body[start : start + step],
                    "more_body": start + step < len(body),
                }
            )
        head = await communicator.receive_output(timeout=30)
        content = await communicator.receive_output(timeout=30)
        await communicator.wait(timeout=5)
        return head["status"], dict(head["headers"]), content["body"]

    with _database_kept_open():
        return async_to_sync(run)()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        # A DRF view reads the raw body: the API exception handler answers. (DRF's parsers
        # read nothing without a Content-Length.)
        ("/api/v1/payments/stripe/webhook", "application/json"),
        # A plain Django view (django-oauth-toolkit) reads the form: the middleware answers.
        ("/o/token/", "application/x-www-form-urlencoded"),
    ],
)
def test_a_chunked_body_over_the_limit_is_413_when_the_view_reads_it(path, content_type, settings):
    body = b"grant_type=" + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    before = rows()
    status, headers, content = _asgi_post_chunked(path, body, content_type)
    assert status == 413
    assert headers[b"Content-Type"] == PROBLEM.encode()
    assert b'"payload_too_large"' in content
    assert rows() == before


# --- more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: Django's SuspiciousOperation, a 400 ------


def _many_fields(settings: Any) -> str:
    return "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))


def test_a_form_with_too_many_fields_is_malformed_request(api_client, settings):
    # The OAuth endpoints take forms (RFC 6749); the API takes JSON only (a form is 415).
    before = rows()
    response = api_client.post(
        "/o/token/", data=_many_fields(settings), content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 400, "malformed_request")
    assert rows() == before


def test_a_query_string_with_too_many_fields_is_malformed_request(partner_api_client, settings):
    client = partner_api_client(scopes=["read:partner"])
    response = client.get(f"/api/v1/partners/me/keys?{_many_fields(settings)}")
    assert_problem(response, 400, "malformed_request")


# --- deeply nested JSON: 400 malformed_request, never RecursionError ------------------------


def _post_json(client: APIClient, path: str, raw: str) -> Any:
    return client.post(path, data=raw.encode(), content_type="application/json")


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 5000 + "]" * 5000,
        "[" * 100_000,  # never closed
        '{"a":' * 5000 + "1" + "}" * 5000,
        '{"firstName": ' + "[" * 65 + "]" * 65 + "}",
        '["\\"", ' + "[" * 3000 + "]" * 3000 + "]",  # an escaped quote does not end a string
    ],
    ids=["arrays", "unclosed", "objects", "one-level-too-deep", "after-escaped-quote"],
)
def test_json_nested_too_deep_is_malformed_request(api_client, raw):
    before = rows()
    for path in ("/api/test/profile", "/api/v1/support/csat"):
        body = assert_problem(_post_json(api_client, path, raw), 400, "malformed_request")
        assert "nest deeper than 64 levels" in body["detail"]
    assert rows() == before


def test_json_as_deep_as_the_limit_is_parsed(api_client):
    raw = '{"firstName": ' + "[" * 63 + "]" * 63 + "}"  # 64 levels with the outer object
    body = assert_problem(_post_json(api_client, "/api/test/profile", raw), 400, "validation_error")
    assert "firstName" in {error["field"] for error in body["errors"]}


def test_brackets_inside_strings_do_not_count_as_nesting(api_client):
    raw = (
        '{"firstName": "' + "[{" * 5000 + '\\\\", "dateOfBirth": "1990-01-01", '
        '"address": {"postalCode": "12345"}, "phoneNumbers": []}'
    )
    response = _post_json(api_client, "/api/test/profile", raw)
    assert response.status_code == 200, response.content[:300]


def test_the_depth_limit_is_a_setting(api_client, settings):
    settings.API_JSON_MAX_DEPTH = 3
    raw = '{"address": {"postalCode": [["1"]]}}'  # 4 levels
    body = assert_problem(
        _post_json(api_client, "/api/test/profile", raw), 400, "malformed_request"
    )
    assert "deeper than 3" in body["detail"]


# --- integers no column can hold: 400 naming the field --------------------------------------


@pytest.mark.parametrize(
    ("raw", "field", "code"),
    [
        ('{"address": {"postalCode": 100000000000000000000}}', "address.postalCode", "max_value"),
        ('{"phoneNumbers": ["+1", -9223372036854775809]}', "phoneNumbers.1", "min_value"),
    ],
)
def test_an_integer_beyond_64_bits_anywhere_in_a_body_names_its_field(api_client, raw, field, code):
    body = assert_problem(_post_json(api_client, "/api/test/profile", raw), 400, "validation_error")
    assert body["errors"] == [
        {"field": field, "code": code, "message": body["errors"][0]["message"]}
    ]


def test_64_bit_integers_still_parse(api_client):
    raw = '{"address": {"postalCode": 9223372036854775807}}'
    body = assert_problem(_post_json(api_client, "/api/test/profile", raw), 400, "validation_error")
    assert "address.postalCode" in {error["field"] for error in body["errors"]}
    assert all(error["code"] != "max_value" for error in body["errors"])


@pytest.fixture
def platform_admin(django_user_model) -> APIClient:
    client = APIClient()
    client.force_authenticate(
        django_user_model.objects.create_superuser(username="root", password="pw")
    )
    return client


@pytest.mark.parametrize("value", [10**20, -1])
def test_a_model_serializer_integer_gets_the_columns_range(platform_admin, value):
    partner = PartnerFactory(rate_limit_per_minute=60)
    response = platform_admin.patch(
        f"/api/v1/partners/admin/partners/{partner.public_id}",
        {"rateLimitPerMinute": value},
        format="json",
    )
    body = assert_problem(response, 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["rateLimitPerMinute"]
    assert Partner.objects.get(pk=partner.pk).rate_limit_per_minute == 60


@postgres_only
def test_a_model_serializer_integer_gets_the_postgresql_column_range(platform_admin):
    partner = PartnerFactory(rate_limit_per_minute=60)
    response = platform_admin.patch(
        f"/api/v1/partners/admin/partners/{partner.public_id}",
        {"rateLimitPerMinute": 2**31},  # a PostgreSQL integer column ends at 2**31 - 1
        format="json",
    )
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"][0]["field"] == "rateLimitPerMinute"
    assert body["errors"][0]["code"] == "max_value"
    assert Partner.objects.get(pk=partner.pk).rate_limit_per_minute == 60


@postgres_only
def test_a_value_the_database_refuses_is_400_without_sql(api_client, caplog):
    # Within 64 bits, so the JSON parser lets it through: only the smallint column refuses it.
    response = api_client.post("/api/test/unbounded-status", data={"status": 40000}, format="json")
    body = assert_problem(response, 400, "invalid_value")
    for leak in ("INSERT", "smallint", "careos_idempotencyrecord", "SQLite", "Python int"):
        assert leak not in response.content.decode()
    assert set(body) == {"type", "title", "status", "detail", "code", "instance"}
    assert not IdempotencyRecord.objects.exists()
