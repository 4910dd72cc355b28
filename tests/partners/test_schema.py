"""The OpenAPI schema documents the partner endpoints, their security schemes and scopes."""

import pytest

pytestmark = pytest.mark.django_db


def test_schema_lists_partner_endpoints_with_their_scopes(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    assert "write:leads" in schemes["OAuth2"]["flows"]["clientCredentials"]["scopes"]
    keys = schema["paths"]["/api/v1/partners/me/keys"]
    assert {"OAuth2": ["read:partner"]} in keys["get"]["security"]
    assert {"OAuth2": ["manage:partner"]} in keys["post"]["security"]
    assert {"ApiKeyAuth": []} in keys["post"]["security"]
    admin = schema["paths"]["/api/v1/partners/admin/partners"]["get"]
    assert all("OAuth2" not in requirement for requirement in admin["security"])
    for path in (
        "/api/v1/partners/me/usage",
        "/api/v1/partners/me/applications/{application_id}/submit",
        "/api/v1/partners/me/oauth-clients",
        "/api/v1/partners/admin/applications/{application_id}/{action}",
    ):
        assert path in schema["paths"]
