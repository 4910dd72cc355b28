"""Request guards that answer before a view (or the database) sees an input it cannot take."""

from collections.abc import Callable
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse

from careos.api.exceptions import PayloadTooLarge, error_response

GetResponse = Callable[[HttpRequest], HttpResponse]


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_large(request: HttpRequest) -> HttpResponse:
    return error_response(
        request,
        status_code=PayloadTooLarge.status_code,
        code=PayloadTooLarge.default_code,
        detail=(
            f"{PayloadTooLarge.default_detail} "
            f"The limit is {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        ),
    )


class RequestBodyLimitMiddleware:
    """413 ``payload_too_large`` for a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``.

    No endpoint takes file uploads, so the whole body counts (Django alone would count only the
    non-file parts of a multipart body, and stream files to disk without a limit).
    A declared ``Content-Length`` over the limit is refused before anything reads the body. A
    body whose size was not declared (chunked) fails when a view reads it: Django raises
    ``RequestDataTooBig``, which DRF views turn into the same 413 in the exception handler and
    other views (OAuth, admin) into a 413 here.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _declared_length(request) > limit:
            return _too_large(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return _too_large(request)
        return None


class NulByteMiddleware:
    """A NUL byte in the URL never reaches the database (PostgreSQL refuses it in text, so a
    lookup would fail with an error): in the path it names nothing (404); in the query string
    it is a malformed request (400)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info:
            raise Http404("No resource at this URL.")
        # The raw query string: parsing request.GET here could itself fail (too many fields).
        if "\x00" in unquote_plus(request.META.get("QUERY_STRING", "")):
            return error_response(
                request,
                status_code=400,
                code="malformed_request",
                detail="The query string contains a NUL byte.",
            )
        return self.get_response(request)
