"""A field takes only the JSON type the schema states: DRF would turn ``123`` into ``"123"`` or
read ``"yes"`` as ``true``; CareOS's serializers refuse them, at any depth, and every project
serializer derives from the kernel's. Bodies are JSON only."""

import importlib
import inspect
import pkgutil

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from careos.api.filters import QueryFilters
from careos.api.serializers import ModelSerializer, Serializer

PROJECT_PACKAGES = ("careos", "rbac", "engagement", "partners", "payments", "leads", "support")
NOT_A_STRING = [123, 1.5, True, False, ["a"], {"a": "b"}]


def errors_of(response) -> dict[str, str]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "validation_error"
    return {error["field"]: error["code"] for error in body["errors"]}


@pytest.mark.django_db
@pytest.mark.urls("tests.kernel.urls")
class TestStrictJsonTypes:
    URL = "/api/test/strict"

    def post(self, client: APIClient, body: dict):
        return client.post(self.URL, body, format="json")

    @pytest.mark.parametrize("value", NOT_A_STRING)
    def test_a_string_field_refuses_any_other_json_type(self, api_client, value):
        assert errors_of(self.post(api_client, {"name": value})) == {"name": "invalid"}

    @pytest.mark.parametrize("value", [123, True])
    def test_subclasses_of_the_string_field_refuse_them_too(self, api_client, value):
        assert errors_of(self.post(api_client, {"name": "a", "email": value})) == {
            "email": "invalid"
        }

    def test_list_items_dict_values_and_nested_fields_are_checked(self, api_client):
        body = {
            "name": "a",
            "tags": ["ok", 7],
            "labels": {"colour": "red", "size": 3},
            "label": {"text": False},
            "notes": [{"text": "fine"}, {"text": 1.5}],
        }
        assert errors_of(self.post(api_client, body)) == {
            "tags.1": "invalid",
            "labels.size": "invalid",
            "label.text": "invalid",
            "notes.1.text": "invalid",
        }

    def test_type_errors_are_reported_with_the_other_field_errors(self, api_client):
        assert errors_of(self.post(api_client, {"name": 5, "count": "many"})) == {
            "name": "invalid",
            "count": "invalid",
        }

    def test_strings_and_allowed_nulls_pass_unchanged(self, api_client):
        body = {"name": " Ada ", "nickname": None, "tags": ["x"], "labels": {"k": "v"}}
        response = self.post(api_client, body)
        assert response.status_code == 200, response.content
        assert response.json() == {
            "name": "Ada",
            "nickname": None,
            "tags": ["x"],
            "labels": {"k": "v"},
        }

    @pytest.mark.parametrize("value", ["true", 1, 0, "yes", None])
    def test_a_boolean_field_takes_only_true_or_false(self, api_client, value):
        assert errors_of(self.post(api_client, {"name": "a", "active": value})) == {
            "active": "null" if value is None else "invalid"
        }

    @pytest.mark.parametrize("value", ["42", 4.5, True])
    def test_an_integer_field_takes_only_a_whole_json_number(self, api_client, value):
        assert errors_of(self.post(api_client, {"name": "a", "count": value})) == {
            "count": "invalid"
        }

    @pytest.mark.parametrize("value", ["0.5", False])
    def test_a_number_field_takes_only_a_json_number(self, api_client, value):
        assert errors_of(self.post(api_client, {"name": "a", "ratio": value})) == {
            "ratio": "invalid"
        }

    def test_numbers_and_booleans_of_their_own_type_pass(self, api_client):
        body = {"name": "a", "active": False, "count": 3.0, "ratio": 1}
        response = self.post(api_client, body)
        assert response.status_code == 200, response.content
        assert response.json() == {"name": "a", "active": False, "count": 3, "ratio": 1.0}

    @pytest.mark.parametrize("format_", ["multipart", "form"])
    def test_bodies_are_json_only(self, api_client, format_):
        if format_ == "form":
            response = api_client.post(
                self.URL, "name=a", content_type="application/x-www-form-urlencoded"
            )
        else:
            response = api_client.post(self.URL, {"name": "a"}, format="multipart")
        assert response.status_code == 415
        assert response.json()["code"] == "unsupported_media_type"

    def test_model_serializers_are_strict_too(self, api_client):
        response = api_client.post(
            "/api/test/strict-clinic", {"name": 42, "slug": "s"}, format="json"
        )
        assert errors_of(response) == {"name": "invalid"}


def _project_serializers() -> list[type]:
    for package_name in PROJECT_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if ".migrations" in module.name or module.name.endswith(".tests"):
                continue
            importlib.import_module(module.name)
    found, pending = [], [serializers.BaseSerializer]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in PROJECT_PACKAGES and inspect.isclass(cls):
            found.append(cls)
    return found


def test_every_project_serializer_derives_from_the_kernel_bases():
    project = _project_serializers()
    assert len(project) > 50
    stray = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in project
        if not issubclass(cls, Serializer | ModelSerializer | QueryFilters)
        and cls.__module__ not in ("careos.api.serializers", "careos.api.filters")
    ]
    assert not stray, "derive these from careos.api.serializers.Serializer/ModelSerializer"


@pytest.mark.django_db
def test_a_partner_endpoint_refuses_a_number_for_a_text_field(partner_api_client):
    """Regression (schemathesis): ``{"title": 0}`` was stored as ``"0"``."""
    client = partner_api_client(scopes=["manage:partner"])
    response = client.post(
        "/api/v1/partners/me/contacts",
        {"role": "technical", "name": "Ada", "email": "ada@example.com", "title": 0},
        format="json",
    )
    assert errors_of(response) == {"title": "invalid"}
    assert not client.partner.contacts.exists()
