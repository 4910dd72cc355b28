"""Schemathesis hooks of CI's run (``.ci/run`` points ``SCHEMATHESIS_HOOKS`` at this file).

First, a workaround: CPython 3.11 keeps the AST conversion's recursion depth in
interpreter-wide state, so two threads parsing at once fail with "SystemError: AST constructor
recursion depth mismatch" (python/cpython#106905). Schemathesis's workers are threads, and
hypothesis parses lambda sources to describe strategies: ``ast.parse`` is serialised here.

Then one hook: the refusals of a schema-valid request (positive_data_acceptance, ST202) that are
right although the schema cannot state the rule behind them, each named with its reason. They
are recognised by the stable ``code`` of the problem+json answer, so any other refusal of a
schema-valid request (a limit the schema leaves out) still fails the run.
"""

import ast
import threading
from typing import Any

import schemathesis

_parse = ast.parse
_parse_lock = threading.Lock()


def _serialised_parse(*args: Any, **kwargs: Any) -> ast.AST:
    with _parse_lock:
        return _parse(*args, **kwargs)


ast.parse = _serialised_parse  # type: ignore[assignment]

# Problem codes of rules on something other than the request's own shape.
RULES_THE_SCHEMA_CANNOT_STATE = {
    "idempotency_key_reused": "an Idempotency-Key is unique per request (its description says "
    "so); schemathesis draws the same short keys for different bodies",
    "unknown_key_id": "keyId must name one of the partner's encryption keys",
    "template_exists": "a template's key is unique per language",
    "template_invalid": "a template's texts may use only the variables it declares",
    "application_invalid": "only a complete application (redirect URIs, scopes) is submitted",
    "invalid_expiry": "an expiry must be in the future",
    "invalid_signature": "a webhook body must carry the provider's signature of it",
    "clinic_not_found": "clinicId must name an existing clinic",
    "scope_not_allowed": "a key's scopes must be ones the partner's tier allows",
    "unknown_event_type": "event types must be in the event catalog (GET /api/v1/event-types)",
    "invalid_cursor": "a cursor is an opaque token from a page's next or previous link",
    "invalid_webhook_url": "a URL we call must resolve to a public address (SSRF guard); "
    "the generated host names do not resolve",
    "push_subscription_invalid": "as invalid_webhook_url, for a browser's push endpoint",
    "invalid_assignee": "a ticket is assigned only to an agent of the ticket's clinic",
    "internal_note_forbidden": "only agents may add internal notes (a role rule)",
    "rrule_too_frequent": "a reminder's RRULE may recur at most hourly (RFC 5545 semantics)",
    "invalid_phone": "a phone must be a valid number by libphonenumber's per-country rules",
    "invalid_image": "an uploaded image must be a readable PNG, JPEG or WebP of the kind's "
    "dimensions (a square logo of 64 px at least, a screenshot of 320x200 at least)",
    "image_too_large": "an uploaded image has byte, side and pixel limits the file's content "
    "decides, not its schema",
    "listing_invalid": "a listing's categories must exist and its scopes be its application's; "
    "only a complete listing is submitted",
    "install_invalid": "an install's redirect URI must be one the app registered",
    # payments' catalogue pricing: a booking names catalogue services, never amounts.
    "amount_not_allowed": "a booking body holds no amount anywhere (prices come from the "
    "clinic's catalogue); undeclared properties named like amounts are refused",
    "discount_code_invalid": "a discount code must be one the clinic defined, in its currency",
    "discount_code_expired": "a discount code is used before it expires",
    "discount_code_exhausted": "a discount code is used at most its limit of times",
    "price_not_available": "a booked service needs a price in force in the tier asked for",
    "currency_mismatch": "the services of one booking are priced in one currency",
}
# Field error codes of a 400 validation_error, for the same kind of rule.
FIELD_RULES_THE_SCHEMA_CANNOT_STATE = {
    "unique": "a value that must be unique (a slug) is taken",
    "overflow": "a date-time whose UTC instant falls outside years 1-9999 (year 1 with a "
    "positive offset): JSON Schema has no bound for a date-time",
    "in_future": "a consent's timestamp may not lie ahead of the server's clock (5 minutes of "
    "skew allowed): a bound that moves with time, which a schema cannot state",
    "invalid_phone": "a phone must be a valid number by libphonenumber's per-country rules",
}
# The body of the application actions depends on the `action` path parameter: `reject` takes a
# reason, the others notes.
REJECT_NEEDS_A_REASON = (
    "POST /api/v1/partners/admin/applications/{application_id}/{action}",
    "reason",
    "required",
)


# The kernel's JSON parser refuses an integer beyond 64 bits anywhere in a body (no column
# holds one), undeclared properties included: the schema bounds every declared integer, but JSON
# Schema cannot bound the numbers of properties it does not declare.
BEYOND_64_BITS = ("9223372036854775807", "-9223372036854775808")


def _beyond_64_bits(error: dict[str, Any]) -> bool:
    message = str(error.get("message") or "")
    return error.get("code") in ("min_value", "max_value") and message.rstrip(".").endswith(
        BEYOND_64_BITS
    )


def _explained(operation: str, error: dict[str, Any]) -> bool:
    code = error.get("code")
    return (
        code in FIELD_RULES_THE_SCHEMA_CANNOT_STATE
        or _beyond_64_bits(error)
        or (operation, error.get("field"), code) == REJECT_NEEDS_A_REASON
    )


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but a refused schema-valid request refused for a rule named above."""
    if failure.code != "ST202":
        return True
    try:
        problem = response.json()
    except ValueError:
        return True
    if not isinstance(problem, dict):
        return True
    if problem.get("code") in RULES_THE_SCHEMA_CANNOT_STATE:
        return False
    errors = problem.get("errors") or []
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    return not (
        problem.get("code") == "validation_error"
        and errors
        and all(_explained(operation, error) for error in errors)
    )
