"""What the OpenAPI schema says beyond drf-spectacular's defaults, so it states every limit the
server enforces: the problem+json error responses of every operation, the request size
limits, what a text field refuses (``TextFieldExtension``), list lengths, and the CSRF token a
session needs for a change (``SessionWithCsrfScheme``)."""

from typing import Any

from django.conf import settings
from django.core.validators import EmailValidator, RegexValidator
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from gunicorn.config import LimitRequestLine

from careos.api.patterns import (
    NO_NUL_OR_EMPTY_PATTERN,
    NO_NUL_PATTERN,
    NOT_BLANK_PATTERN,
    url_validators_pattern,
)

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine-readable error code."},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "required": ["type", "title", "status", "detail", "code"],
    "additionalProperties": True,
}

_ERROR_STATUSES = {
    "400": "Invalid request",
    "401": "Missing or invalid credentials",
    "403": "Not allowed",
    "404": "Not found",
    "405": "Method not allowed",
    "406": "Not acceptable",
    "409": "Conflict",
    "413": "Request body too large (over DATA_UPLOAD_MAX_MEMORY_SIZE)",
    "415": "Unsupported media type",
    "422": "Unprocessable (e.g. an Idempotency-Key reused for another request)",
    "429": "Rate limited",
    "500": "Internal error",
}


def add_problem_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status_code, description in _ERROR_STATUSES.items():
                operation["responses"].setdefault(
                    status_code,
                    {
                        "description": description,
                        "content": {"application/problem+json": {"schema": ref}},
                    },
                )
    return result


def document_request_limits(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The size limits a request meets before any view: the body (Django's
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``, 413 problem+json) and the request line, method, path and
    query string together (gunicorn's ``limit_request_line``, 414 text/html from gunicorn
    itself), in the API description, as ``x-max-request-body-bytes`` and
    ``x-max-request-line-bytes``, and as documented responses."""
    body_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    line_limit = LimitRequestLine.default
    info = result.setdefault("info", {})
    info["description"] = (
        f"{info.get('description', '')} Request bodies are limited to {body_limit} bytes (413), "
        f"the request line (method, path and query string) to {line_limit} bytes (414, "
        "answered by the web server in text/html)."
    ).strip()
    info["x-max-request-body-bytes"] = body_limit
    info["x-max-request-line-bytes"] = line_limit
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    too_long = {
        "description": f"Request line longer than {line_limit} bytes",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"].setdefault("414", too_long)
            if "requestBody" in operation:
                operation["x-max-request-body-bytes"] = body_limit
                operation["responses"].setdefault(
                    "413",
                    {
                        "description": f"Request body larger than {body_limit} bytes",
                        "content": problem,
                    },
                )
    return result


def require_bodies_with_required_properties(
    result: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    """A request body given as an inline schema (``extend_schema(request={media: {...}})``) is
    marked required when that schema requires properties; drf-spectacular only infers it for
    serializers."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body or body.get("required"):
                continue
            schemas = [media.get("schema", {}) for media in body.get("content", {}).values()]
            if schemas and all(schema.get("required") for schema in schemas):
                body["required"] = True
    return result


def forbid_nul_in_url_parameters(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A NUL byte anywhere in the URL is refused before any view (``NulByteMiddleware``: 400 in
    the query string, 404 in the path): every free-text query and path parameter says so with a
    pattern. Parameters with an enum, a format or a pattern of their own already exclude it."""
    patterns = {"query": NO_NUL_OR_EMPTY_PATTERN, "path": NO_NUL_PATTERN}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                pattern = patterns.get(parameter.get("in"))
                if (
                    pattern
                    and schema.get("type") == "string"
                    and not {"enum", "format", "pattern"} & schema.keys()
                ):
                    schema["pattern"] = pattern
    return result


class TextFieldExtension(OpenApiSerializerFieldExtension):
    """A DRF ``CharField`` in a request refuses NUL characters and, unless blank is allowed,
    a value that is only whitespace (it trims the value first): the schema says so with a
    ``pattern``. A URL field states the URLs the server takes the same way (``format: uri``
    alone takes ``https://0.a`` or a 300-character host name, which Django's validator refuses,
    and refuses the non-ASCII ones it takes; the kernel's serializers enforce this pattern).
    Fields with a pattern or format of
    their own (regex, slug, email) keep it. A blank-allowed field gets a pattern for non-empty
    values; drf-spectacular adds the empty string as the other ``oneOf`` branch."""

    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if direction != "request" or field.read_only or schema.get("type") != "string":
            return schema
        url = url_validators_pattern(field.validators)
        if url:
            schema["pattern"] = url
            return schema
        constrained = any(isinstance(v, RegexValidator | EmailValidator) for v in field.validators)
        if not constrained and not {"pattern", "format", "enum"} & set(schema):
            schema["pattern"] = NO_NUL_PATTERN if field.allow_blank else NOT_BLANK_PATTERN
        return schema


class _ListLengthExtension(OpenApiSerializerFieldExtension):
    """A list in a request states the lengths the server enforces: ``allow_empty=False`` as
    ``minItems: 1`` (a ``ListSerializer``'s ``min_length``/``max_length`` too, which are not
    validators and so escape drf-spectacular)."""

    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if direction != "request" or schema.get("type") != "array":
            return schema
        minimum = getattr(field, "min_length", None) or 0
        if not getattr(field, "allow_empty", True):
            minimum = max(minimum, 1)
        if minimum:
            schema["minItems"] = max(schema.get("minItems", 0), minimum)
        maximum = getattr(field, "max_length", None)
        if maximum is not None:
            schema["maxItems"] = min(schema.get("maxItems", maximum), maximum)
        return schema


class ListFieldLengthExtension(_ListLengthExtension):
    target_class = "rest_framework.fields.ListField"


class ListSerializerLengthExtension(_ListLengthExtension):
    target_class = "rest_framework.serializers.ListSerializer"


def _csrf_header_name() -> str:
    meta_name = settings.CSRF_HEADER_NAME.removeprefix("HTTP_")
    return "X-CSRFToken" if meta_name == "X_CSRFTOKEN" else meta_name.replace("_", "-")


class SessionWithCsrfScheme(OpenApiAuthenticationExtension):
    """A session (``sessionid`` cookie) reads; to change anything it also needs the CSRF token,
    in the ``csrftoken`` cookie and the ``X-CSRFToken`` header (DRF's ``SessionAuthentication``
    enforces it), which drf-spectacular's own scheme leaves out."""

    target_class = "rest_framework.authentication.SessionAuthentication"
    match_subclasses = True
    priority = 1
    name = ["cookieAuth", "csrfCookie", "csrfHeader"]

    def get_security_requirement(self, auto_schema: AutoSchema) -> dict[str, list[Any]]:
        if auto_schema.method in ("GET", "HEAD", "OPTIONS"):
            return {"cookieAuth": []}
        return {"cookieAuth": [], "csrfCookie": [], "csrfHeader": []}

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, Any]]:
        return [
            {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME},
            {
                "type": "apiKey",
                "in": "cookie",
                "name": settings.CSRF_COOKIE_NAME,
                "description": "The CSRF token cookie the site sets; needed with a session "
                "to change anything.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": _csrf_header_name(),
                "description": "The value of the CSRF cookie; needed with a session to change "
                "anything.",
            },
        ]
