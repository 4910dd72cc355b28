"""``Idempotency-Key`` for creating POSTs: decorate the view method with ``@idempotent``.

- first request with a key: runs the view; a success (< 400) is stored with the key;
- same key, same request: the stored response again, with ``Idempotent-Replayed: true``;
- same key, different method/path/body: 422 ``idempotency_key_reused``;
- same key while the first is still running: 409 ``idempotency_in_progress``;
- a failed request (an error response or an exception) stores nothing: the key can be retried.

Keys are scoped to an owner (the partner, else the user), so two owners never share a key.
Requests without an owner (anonymous) are processed without idempotency.
"""

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from careos.api.exceptions import problem_response
from careos.idempotency import idempotency_claim, idempotency_complete, idempotency_release
from careos.models import IdempotencyRecord

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_KEY_MAX_LENGTH = 255
# Printable ASCII without the space (0x21-0x7e): the same class for the server and the schema.
IDEMPOTENCY_KEY_PATTERN = "^[!-~]+$"
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=IDEMPOTENCY_KEY_HEADER,
    type={
        "type": "string",
        "minLength": 1,
        "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
        "pattern": IDEMPOTENCY_KEY_PATTERN,
    },
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        f"A unique key (1-{IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters, no spaces) "
        "for this create. Retrying with the same key and body returns the original response "
        "instead of creating again."
    ),
)
_VALID_KEY = re.compile(rf"[!-~]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}")
_STORED_HEADERS = ("Location",)

OwnerRef = Callable[[Request], str | None]
ViewMethod = Callable[..., Response]


def idempotency_key_valid(key: str) -> bool:
    return _VALID_KEY.fullmatch(key) is not None


def invalid_idempotency_key_response() -> Response:
    return problem_response(
        status_code=400,
        code="idempotency_key_invalid",
        detail=f"Idempotency-Key must be 1-{IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII "
        "characters, without spaces.",
    )


def default_owner_ref(request: Request) -> str | None:
    """The partner the credential acts for (``request.auth.partner_ref``), else the user."""
    partner_ref = getattr(request.auth, "partner_ref", "")
    if partner_ref:
        return str(partner_ref)
    return getattr(request.user, "public_id", None) or None


def request_fingerprint(request: Request) -> str:
    payload = json.dumps(
        [request.method, request.path, request.data],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _as_rendered(data: Any) -> Any:
    # Stored as the renderer would encode it (full-precision datetimes, decimals as strings).
    return json.loads(json.dumps(data, cls=JSONEncoder))


def _answer_existing(record: IdempotencyRecord, *, request_hash: str) -> Response:
    if record.request_hash != request_hash:
        return problem_response(
            status_code=422,
            code="idempotency_key_reused",
            detail="This Idempotency-Key was already used for a different request.",
        )
    if record.response_status is None:
        return problem_response(
            status_code=409,
            code="idempotency_in_progress",
            detail="A request with this Idempotency-Key is still being processed.",
            headers={"Retry-After": "1"},
        )
    return Response(
        record.response_body,
        status=record.response_status,
        headers={**record.response_headers, REPLAYED_HEADER: "true"},
    )


def idempotent(
    view_method: ViewMethod | None = None, *, owner_ref: OwnerRef = default_owner_ref
) -> Any:
    """Decorate a DRF view's ``post``/``create``: ``@idempotent`` or
    ``@idempotent(owner_ref=lambda request: ...)``."""

    def decorate(method: ViewMethod) -> ViewMethod:
        @functools.wraps(method)
        def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
            owner = owner_ref(request) if key is not None else None
            if key is None or owner is None:
                return method(view, request, *args, **kwargs)
            if not idempotency_key_valid(key):
                return invalid_idempotency_key_response()
            request_hash = request_fingerprint(request)
            record, claimed = idempotency_claim(
                owner_ref=owner,
                key=key,
                method=request.method or "",
                path=request.path,
                request_hash=request_hash,
            )
            if not claimed:
                return _answer_existing(record, request_hash=request_hash)
            try:
                # The view's writes and the stored response commit together, or not at all.
                with transaction.atomic():
                    response = method(view, request, *args, **kwargs)
                    if response.status_code < 400:
                        idempotency_complete(
                            record=record,
                            status=response.status_code,
                            body=_as_rendered(getattr(response, "data", None)),
                            headers={h: response[h] for h in _STORED_HEADERS if h in response},
                        )
                        return response
            except BaseException:
                idempotency_release(record=record)
                raise
            idempotency_release(record=record)
            return response

        return extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])(wrapper)

    return decorate(view_method) if view_method is not None else decorate
