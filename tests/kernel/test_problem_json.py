import logging

import pytest
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.kernel.urls")]

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(f"/problems/{code}")
    assert body["title"]
    assert body["detail"]
    return body


def test_validation_error_lists_each_field_in_camel_case(api_client):
    response = api_client.post(
        "/api/test/profile",
        {"dateOfBirth": "not-a-date", "address": {"postalCode": "1234567"}, "phoneNumbers": ["x"]},
        format="json",
    )
    body = assert_problem(response, 400, "validation_error")
    errors = {error["field"]: error for error in body["errors"]}
    assert set(errors) == {"firstName", "dateOfBirth", "address.postalCode", "phoneNumbers.0"}
    assert errors["firstName"]["code"] == "required"
    assert errors["dateOfBirth"]["code"] == "invalid"
    assert errors["address.postalCode"]["code"] == "max_length"
    assert all(error["message"] for error in errors.values())
    assert body["instance"] == "/api/test/profile"


def test_non_field_validation_error_has_an_empty_field(api_client):
    response = api_client.post(
        "/api/test/profile",
        {
            "firstName": "nobody",
            "dateOfBirth": "1990-01-01",
            "address": {"postalCode": "12345"},
            "phoneNumbers": [],
        },
        format="json",
    )
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"] == [
        {"field": "", "code": "invalid", "message": "This profile is not acceptable."}
    ]


def test_malformed_json_is_a_problem(api_client):
    response = api_client.post(
        "/api/test/profile", data="{not json", content_type="application/json"
    )
    assert_problem(response, 400, "malformed_request")


def test_drf_404(api_client):
    response = api_client.get("/api/test/clinics/cln_doesnotexist")
    assert_problem(response, 404, "not_found")


def test_unknown_api_url_is_404_problem(api_client):
    response = api_client.get("/api/v1/no-such-thing/")
    body = assert_problem(response, 404, "not_found")
    assert body["instance"] == "/api/v1/no-such-thing/"


def test_unknown_non_api_url_is_the_normal_404_page(api_client):
    response = api_client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/nothing", "/o/no-such-thing/"])
def test_unknown_api_url_is_404_problem_in_development_too(api_client, settings, path):
    # With DEBUG on, Django answers with its HTML debug page unless the API's 404 replaces it.
    settings.DEBUG = True
    body = assert_problem(api_client.get(path), 404, "not_found")
    assert body["instance"] == path


def test_in_development_non_api_404s_and_slash_redirects_are_django_s(api_client, settings):
    settings.DEBUG = True
    page = api_client.get("/no-such-page")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
    redirect = api_client.get("/api/docs")
    assert (redirect.status_code, redirect["Location"]) == (301, "/api/docs/")


def test_method_not_allowed(api_client):
    response = api_client.delete("/api/test/profile")
    body = assert_problem(response, 405, "method_not_allowed")
    assert "DELETE" in body["detail"]
    assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_unauthenticated_is_401_with_credentials_missing(api_client):
    response = api_client.get("/api/test/private")
    body = assert_problem(response, 401, "credentials_missing")
    assert "WWW-Authenticate" in response
    assert body["detail"]


def test_authenticated_passes(api_client, django_user_model):
    api_client.force_authenticate(django_user_model.objects.create_user(username="u"))
    assert api_client.get("/api/test/private").status_code == 200


def test_500_from_a_drf_view_leaks_nothing(api_client, caplog):
    with caplog.at_level(logging.ERROR, logger="careos.api"):
        response = api_client.get("/api/test/broken")
    body = assert_problem(response, 500, "internal_error")
    text = response.content.decode()
    for leak in ("boom", "hunter2", "Traceback", "RuntimeError", "secret.py"):
        assert leak not in text
    assert set(body) == {"type", "title", "status", "detail", "code", "instance"}
    # ...but it is logged for us.
    assert any(record.exc_info for record in caplog.records)


def test_500_from_a_plain_django_api_view_is_problem_json():
    client = APIClient(raise_request_exception=False)
    response = client.get("/api/test/broken-django")
    assert_problem(response, 500, "internal_error")
    assert b"abc123" not in response.content
    assert b"boom" not in response.content


def test_domain_error_maps_to_its_status_and_code(api_client):
    response = api_client.post("/api/test/conflict", {}, format="json")
    body = assert_problem(response, 409, "conflict")
    assert body["detail"] == "The invoice is already paid."
    assert body["currentStatus"] == "paid"


def test_throttled_is_429_with_retry_after(api_client):
    response = api_client.get("/api/test/throttled")
    body = assert_problem(response, 429, "rate_limited")
    assert response["Retry-After"] == "42"
    assert body["retryAfter"] == 42
