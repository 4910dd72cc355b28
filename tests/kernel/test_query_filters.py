"""Query-string filters: camelCase, each given once, never empty, validated by their field; an
unknown enum value is a 400 on the kernel's mechanism and on every enum filter of the API."""

import pytest
from rest_framework.test import APIClient

from rbac.models import Clinic
from tests.kernel.api_surface import Clients, operations

URL = "/api/test/clinic-list"


def assert_filter_refused(response, field: str, code: str) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]


@pytest.mark.django_db
@pytest.mark.urls("tests.kernel.urls")
class TestKernelFilters:
    @pytest.fixture(autouse=True)
    def clinics(self) -> None:
        Clinic.objects.create(name="North", slug="north", timezone="UTC")
        Clinic.objects.create(name="South", slug="south", timezone="America/New_York")

    def names(self, response) -> list[str]:
        assert response.status_code == 200, response.content
        return sorted(clinic["name"] for clinic in response.json()["results"])

    def test_filters_apply_under_their_camel_case_names(self, api_client: APIClient):
        assert self.names(api_client.get(URL, {"timezone": "UTC"})) == ["North"]
        assert self.names(api_client.get(URL, {"nameContains": "out"})) == ["South"]
        assert self.names(api_client.get(URL)) == ["North", "South"]

    def test_an_unknown_enum_value_is_refused(self, api_client: APIClient):
        assert_filter_refused(
            api_client.get(URL, {"timezone": "Mars/Olympus"}), "timezone", "invalid_choice"
        )

    @pytest.mark.parametrize("value", ["", "   "])
    def test_an_empty_filter_is_refused_not_ignored(self, api_client: APIClient, value: str):
        assert_filter_refused(api_client.get(URL, {"timezone": value}), "timezone", "blank")
        assert_filter_refused(api_client.get(URL, {"nameContains": value}), "nameContains", "blank")
        assert_filter_refused(api_client.get(URL, {"createdAfter": value}), "createdAfter", "blank")

    def test_a_filter_given_twice_is_refused(self, api_client: APIClient):
        assert_filter_refused(
            api_client.get(f"{URL}?timezone=UTC&timezone=UTC"), "timezone", "repeated"
        )

    def test_a_value_its_field_refuses_is_reported_under_the_camel_case_name(
        self, api_client: APIClient
    ):
        assert_filter_refused(
            api_client.get(URL, {"nameContains": "x" * 51}), "nameContains", "max_length"
        )
        assert_filter_refused(
            api_client.get(URL, {"createdAfter": "yesterday"}), "createdAfter", "invalid"
        )

    def test_parameters_it_does_not_declare_are_not_its_business(self, api_client: APIClient):
        assert self.names(api_client.get(URL, {"name_contains": "", "other": "x"})) == [
            "North",
            "South",
        ]


def _enum_filters() -> list[tuple]:
    return [
        (operation, parameter)
        for operation in operations()
        if operation.method == "get"
        for parameter in operation.parameters("query")
        if "enum" in parameter["schema"]
    ]


def test_the_api_declares_its_enum_filters_with_their_values():
    """The schema's enum filters are the ones CareOS declares (a guard for the test below)."""
    declared = {(str(op), p["name"]) for op, p in _enum_filters()}
    assert {
        ("GET /api/v1/leads", "status"),
        ("GET /api/v1/partners/admin/partners", "tier"),
        ("GET /api/v1/partners/admin/partners", "partnerType"),
        ("GET /api/v1/partners/admin/applications", "status"),
        ("GET /api/v1/payments/partner-payments", "status"),
        ("GET /api/v1/support/tickets/queue", "sla"),
        ("GET /api/v1/webhooks/messages", "status"),
        ("GET /api/v1/engagement/messages", "channel"),
    } <= declared
    for _, parameter in _enum_filters():
        assert parameter["schema"]["minLength"] == 1


@pytest.mark.django_db
def test_every_enum_filter_refuses_an_unknown_value_and_accepts_a_known_one():
    clients = Clients()
    wrong = []
    for operation, parameter in _enum_filters():
        assert not operation.has_path_parameters, f"{operation}: extend this test"
        client = clients.for_operation(operation)
        name = parameter["name"]
        known = client.get(operation.path, {name: parameter["schema"]["enum"][0]})
        if known.status_code != 200:
            wrong.append(f"{operation} {name}: a known value answered {known.status_code}")
        for value in ("no-such-value", ""):
            response = client.get(operation.path, {name: value})
            errors = response.json().get("errors", [])
            if response.status_code != 400 or [e["field"] for e in errors] != [name]:
                wrong.append(f"{operation} {name}={value!r}: {response.status_code} {errors}")
    assert not wrong
