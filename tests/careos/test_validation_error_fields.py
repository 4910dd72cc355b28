"""Validation errors name each field in camelCase (found by schemathesis: it was a 500)."""

from rest_framework.exceptions import ErrorDetail, ValidationError

from careos.api.exceptions import flatten_validation_errors, problem_exception_handler


def test_nested_field_paths_are_camel_case():
    detail = {
        "source_lead_id": [ErrorDetail("This field is required.", code="required")],
        "contact_info": {"phone_number": [ErrorDetail("Invalid.", code="invalid")]},
        "non_field_errors": [ErrorDetail("Bad pair.", code="bad_pair")],
    }

    assert flatten_validation_errors(detail) == [
        {"field": "sourceLeadId", "code": "required", "message": "This field is required."},
        {"field": "contactInfo.phoneNumber", "code": "invalid", "message": "Invalid."},
        {"field": "", "code": "bad_pair", "message": "Bad pair."},
    ]


def test_validation_error_becomes_a_400_problem():
    response = problem_exception_handler(
        ValidationError({"first_name": ["Too long."]}), {"request": None}
    )

    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert response.data["code"] == "validation_error"
    assert response.data["errors"] == [
        {"field": "firstName", "code": "invalid", "message": "Too long."}
    ]
