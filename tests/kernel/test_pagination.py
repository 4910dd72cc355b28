"""``pageSize``: a whole number from 1 to the maximum, given once; anything else is a 400
``invalid_page_size`` problem, on the kernel's paginator and on every list of the API."""

import pytest
from rest_framework.test import APIClient

from careos.api.pagination import StrictCursorPagination
from rbac.models import Clinic
from tests.kernel.api_surface import Clients, operations

MAX = StrictCursorPagination.max_page_size
INVALID_PAGE_SIZES = ["0", "-1", "abc", str(MAX + 1), "", "1.5", "1e2", " 5", "٣", "9" * 40]


def assert_invalid_page_size(response) -> None:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_page_size"
    assert [error["field"] for error in body["errors"]] == ["pageSize"]
    assert body["errors"][0]["code"] == "invalid_page_size"


@pytest.mark.django_db
@pytest.mark.urls("tests.kernel.urls")
class TestKernelPaginator:
    URL = "/api/test/clinic-list"

    @pytest.fixture(autouse=True)
    def clinics(self) -> None:
        for n in range(3):
            Clinic.objects.create(name=f"Clinic {n}", slug=f"clinic-{n}")

    @pytest.mark.parametrize("value", INVALID_PAGE_SIZES)
    def test_a_page_size_outside_1_to_max_is_refused(self, api_client: APIClient, value: str):
        assert_invalid_page_size(api_client.get(self.URL, {"pageSize": value}))

    def test_a_page_size_given_twice_is_refused(self, api_client: APIClient):
        assert_invalid_page_size(api_client.get(f"{self.URL}?pageSize=2&pageSize=2"))

    @pytest.mark.parametrize(("value", "count"), [("1", 1), ("2", 2), (str(MAX), 3)])
    def test_a_page_size_within_bounds_sizes_the_page(
        self, api_client: APIClient, value: str, count: int
    ):
        response = api_client.get(self.URL, {"pageSize": value})
        assert response.status_code == 200
        assert len(response.json()["results"]) == count

    def test_without_a_page_size_the_default_applies(self, api_client: APIClient, settings):
        response = api_client.get(self.URL)
        assert response.status_code == 200
        assert len(response.json()["results"]) == 3

    def test_the_next_link_keeps_a_valid_page_size(self, api_client: APIClient):
        first = api_client.get(self.URL, {"pageSize": "2"}).json()
        second = api_client.get(first["next"])
        assert second.status_code == 200
        assert len(second.json()["results"]) == 1


def _lists() -> list:
    return [op for op in operations() if op.method == "get" and op.parameter("query", "pageSize")]


def test_every_list_documents_the_page_size_bounds():
    lists = _lists()
    assert len(lists) > 20
    for operation in lists:
        schema = operation.parameter("query", "pageSize")["schema"]
        assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", 1, MAX), str(
            operation
        )


@pytest.mark.django_db
def test_every_list_refuses_a_page_size_out_of_bounds():
    """Every list reachable without path parameters, as the schema lists them."""
    clients = Clients()
    checked, wrong = [], []
    for operation in _lists():
        if operation.has_path_parameters:
            continue
        client = clients.for_operation(operation)
        ok = client.get(operation.path, {"pageSize": "1"})
        if ok.status_code != 200:
            wrong.append(f"{operation}: pageSize=1 answered {ok.status_code}")
            continue
        for value in ("0", str(MAX + 1), "abc"):
            response = client.get(operation.path, {"pageSize": value})
            if response.status_code != 400 or response.json()["code"] != "invalid_page_size":
                wrong.append(f"{operation}: pageSize={value} answered {response.status_code}")
        checked.append(operation)
    assert not wrong
    assert len(checked) > 15
