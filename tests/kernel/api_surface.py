"""The API as its OpenAPI schema describes it, and a client for any of its operations: lets a
test walk every operation the schema declares, so a new endpoint is covered without editing
the test."""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from rest_framework.test import APIClient

from partners.models import Partner
from rbac.models import User
from tests.clients import SignedInAPIClient
from tests.partners.factories import PartnerFactory, make_api_key


@cache
def openapi_schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator(urlconf="careos.urls").get_schema(request=None, public=True)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def has_path_parameters(self) -> bool:
        return "{" in self.path

    def parameters(self, location: str) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == location]

    def parameter(self, location: str, name: str) -> dict[str, Any] | None:
        return next((p for p in self.parameters(location) if p["name"] == name), None)

    @property
    def for_partners(self) -> bool:
        return any("ApiKeyAuth" in requirement for requirement in self.spec.get("security", []))


def operations() -> Iterator[Operation]:
    for path, item in openapi_schema()["paths"].items():
        for method, spec in item.items():
            if isinstance(spec, dict) and "responses" in spec:
                yield Operation(method=method, path=path, spec=spec)


class Clients:
    """A partner credential holding every scope its tier allows, and a platform superuser's
    session: together they reach every operation."""

    def __init__(self) -> None:
        partner = PartnerFactory(tier=Partner.Tier.ENTERPRISE)
        self.partner = SignedInAPIClient()
        self.partner.credentials(HTTP_X_API_KEY=make_api_key(partner=partner).secret)
        self.staff = SignedInAPIClient()
        self.staff.force_login(
            User.objects.create_superuser(username="contract-admin", password=None)
        )

    def for_operation(self, operation: Operation) -> APIClient:
        return self.partner if operation.for_partners else self.staff
