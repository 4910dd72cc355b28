"""Every API error as ``application/problem+json`` (RFC 9457) with a stable ``code``.

Nothing from an unexpected exception (trace, SQL, secret) reaches the client: it is logged and
answered with a generic 500 problem.
"""

import logging
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from djangorestframework_camel_case.util import camelize_re, underscore_to_camel
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from careos.errors import DomainError

logger = logging.getLogger("careos.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"

_TITLES = {
    400: "The request is invalid",
    401: "Authentication is required",
    403: "You do not have permission to do this",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "The request cannot be processed",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is larger than this server accepts."


class UnstorableValue(exceptions.APIException):
    """The database refused a value that validation let through (a last line of defence)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_value"
    default_detail = "A value in the request is out of range or cannot be stored."


_DRF_CODES = {
    exceptions.NotAuthenticated: "credentials_missing",
    exceptions.AuthenticationFailed: "credentials_invalid",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ParseError: "malformed_request",
    exceptions.ValidationError: "validation_error",
}


def problem_body(
    *, status_code: int, code: str, detail: str, instance: str = "", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{settings.PROBLEM_TYPE_BASE_URL}{code}",
        "title": _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def problem_response(
    *,
    status_code: int,
    code: str,
    detail: str,
    instance: str = "",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = problem_body(
        status_code=status_code, code=code, detail=detail, instance=instance, **extra
    )
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def _camel_path(parts: list[str]) -> str:
    # The same conversion the camelCase renderer applies to response keys.
    return ".".join(re.sub(camelize_re, underscore_to_camel, part) for part in parts)


def flatten_validation_errors(detail: Any, path: list[str] | None = None) -> list[dict[str, str]]:
    """``{"field": ["msg"]}`` nested structures → ``[{"field", "code", "message"}]``."""
    path = path or []
    errors: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = path if key == "non_field_errors" else [*path, str(key)]
            errors.extend(flatten_validation_errors(value, sub))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                errors.extend(flatten_validation_errors(item, [*path, str(index)]))
            else:
                errors.extend(flatten_validation_errors(item, path))
    else:
        errors.append(
            {
                "field": _camel_path(path),
                "code": getattr(detail, "code", "invalid") or "invalid",
                "message": str(detail),
            }
        )
    return errors


def _code_for(exc: exceptions.APIException) -> str:
    explicit = getattr(exc, "problem_code", None)
    if explicit:
        return explicit
    for exc_class, code in _DRF_CODES.items():
        if isinstance(exc, exc_class):
            return code
    default = getattr(exc, "default_code", "error")
    return default if isinstance(default, str) else "error"


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    instance = request.path if request is not None else ""

    if isinstance(exc, DomainError):
        return problem_response(
            status_code=exc.status,
            code=exc.code,
            detail=exc.detail,
            instance=instance,
            **exc.extra,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # too many fields, and the like: Django's 400
        logger.warning("suspicious request: %s", type(exc).__name__, extra={"path": instance})
        exc = exceptions.ParseError("The request is malformed or exceeds a server limit.")
    elif isinstance(exc, DataError | OverflowError):
        # PostgreSQL's DataError (out of range, NUL byte, too long) or SQLite's OverflowError: the
        # client's input, but its message may quote SQL, so only the log gets it.
        logger.warning("value refused by the database", exc_info=True, extra={"path": instance})
        exc = UnstorableValue()

    if not isinstance(exc, exceptions.APIException):
        logger.exception("unhandled API error", extra={"path": instance})
        return problem_response(
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
            code="internal_error",
            detail="An unexpected error occurred. It has been logged.",
            instance=instance,
        )

    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # DRF turns these into 403 when no authenticator of the view offers a challenge (session
        # auth only); a client without valid credentials must still get 401, with a challenge.
        exc.status_code = status.HTTP_401_UNAUTHORIZED
        if not getattr(exc, "auth_header", None):
            exc.auth_header = 'Bearer realm="api"'

    drf_response = drf_exception_handler(exc, context)
    headers = dict(drf_response.headers.items()) if drf_response is not None else {}
    headers.pop("Content-Type", None)
    code = _code_for(exc)
    extra: dict[str, Any] = dict(getattr(exc, "problem_extra", {}) or {})
    if isinstance(exc, exceptions.ValidationError):
        detail = "One or more fields are invalid."
        extra["errors"] = flatten_validation_errors(exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        detail = "Rate limit exceeded."
        if exc.wait is not None:
            extra["retryAfter"] = int(exc.wait)
    else:
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc)
    return problem_response(
        status_code=exc.status_code,
        code=code,
        detail=detail,
        instance=instance,
        headers=headers,
        **extra,
    )


def is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/o/"))


def problem_json_response(
    request: HttpRequest, *, status_code: int, code: str, detail: str
) -> JsonResponse:
    return JsonResponse(
        problem_body(status_code=status_code, code=code, detail=detail, instance=request.path),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def error_response(
    request: HttpRequest, *, status_code: int, code: str, detail: str
) -> HttpResponse:
    """A problem+json answer on API paths, plain text elsewhere (admin, portal, sign-in)."""
    if is_api_path(request):
        return problem_json_response(request, status_code=status_code, code=code, detail=detail)
    return HttpResponse(detail, status=status_code, content_type="text/plain; charset=utf-8")


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request):
        return problem_json_response(
            request,
            status_code=400,
            code="malformed_request",
            detail="The request is malformed or exceeds a server limit.",
        )
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request):
        return problem_json_response(
            request, status_code=404, code="not_found", detail="No resource at this URL."
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if is_api_path(request):
        return problem_json_response(
            request,
            status_code=500,
            code="internal_error",
            detail="An unexpected error occurred. It has been logged.",
        )
    from django.views.defaults import server_error

    return server_error(request)
