"""Helpers for the bad-input tests (issue 12): a refused request is a problem and writes
nothing."""

import re
from functools import cache
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from drf_spectacular.generators import SchemaGenerator

PROBLEM = "application/problem+json"
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL enforces this; SQLite stores it"
)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["detail"]
    return body


def rows() -> dict[str, int]:
    """Rows per table, to show a refused request wrote nothing anywhere."""
    return {model._meta.label: model._base_manager.count() for model in apps.get_models()}


@cache
def api_schema() -> dict[str, Any]:
    """The OpenAPI schema: its paths are the endpoints a sweep must cover."""
    return SchemaGenerator().get_schema(request=None, public=True)


def concrete(path: str, value: str = "x_1") -> str:
    """``/a/{id}/b`` with ``value`` for every path parameter."""
    return re.sub(r"\{[^}]+\}", value, path)
