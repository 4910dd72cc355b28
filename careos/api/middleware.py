"""API 404s are problem+json in development too.

With ``DEBUG`` on, Django answers a URL that resolves to nothing (and an ``Http404`` from a
view that is not DRF's) with its HTML debug page instead of calling ``handler404``; for API
paths this puts the API's own 404 in place of that page. With ``DEBUG`` off ``handler404`` has
answered already and nothing changes. Listed after ``CommonMiddleware``, which still redirects
a path missing its trailing slash.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from careos.api.exceptions import handler404, is_api_path


class ApiNotFoundMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and is_api_path(request)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return handler404(request)
        return response
