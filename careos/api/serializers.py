"""Base serializers of the API: every project serializer derives from ``Serializer`` or
``ModelSerializer`` here (a kernel test checks it).

DRF converts between JSON types on the way in: a ``CharField`` turns ``123`` into ``"123"``, a
``BooleanField`` reads ``"yes"`` or ``1`` as ``true``, an ``IntegerField`` reads ``"42"``. A client
that sends a number where the schema says string has a bug worth telling it about, and a value
that changes type on the way in is not what the schema promises. So a field here takes only the
JSON type the schema states, and anything else is refused with the field's own ``invalid``
error ("Not a valid string.", "Must be a valid boolean.", …). Query strings are text throughout
and are left as they are. A URL field also takes only a URL matching the pattern the schema
publishes for it (``careos.api.patterns.url_pattern``: RFC 3986 and Django's rules at once).

The schema side of the same fields: see ``careos.api.schema.TextFieldExtension``.
"""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.fields import Field
from rest_framework.utils import html

from careos.api.patterns import url_regex, url_validators_pattern
from careos.phi import phi_shown


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _has_its_type(field: Field, value: Any) -> bool:
    if isinstance(field, serializers.CharField):
        return isinstance(value, str)
    if isinstance(field, serializers.BooleanField):
        return isinstance(value, bool)
    if isinstance(field, serializers.IntegerField):
        # JSON Schema's integer is any number without a fraction: 3.0 is one.
        return _is_number(value) and float(value).is_integer()
    if isinstance(field, serializers.FloatField):
        return _is_number(value)
    return True


def _is_published_url(field: Field, value: str) -> bool:
    pattern = url_validators_pattern(field.validators)
    if pattern is None or value == "":
        return True  # not a URL field, or an empty value its ``allow_blank`` decides on
    # Untrimmed: a URL with spaces around it is not one (format: uri says so too).
    return url_regex(pattern).fullmatch(value) is not None


def _type_errors(field: Field, value: Any) -> Any:
    """The errors of a JSON value given to ``field`` that is not of the field's JSON type (or,
    for a URL field, not a URL of the published pattern)."""
    if value is None:
        return None  # the field's own ``allow_null`` decides
    wrong_url = (
        isinstance(field, serializers.URLField)
        and isinstance(value, str)
        and not _is_published_url(field, value)
    )
    if not _has_its_type(field, value) or wrong_url:
        return [ErrorDetail(str(field.error_messages["invalid"]), code="invalid")]
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        errors = {i: e for i, item in enumerate(value) if (e := _type_errors(field.child, item))}
        return errors or None
    if isinstance(field, serializers.DictField) and isinstance(value, Mapping):
        errors = {k: e for k, item in value.items() if (e := _type_errors(field.child, item))}
        return errors or None
    return None


class StrictJsonTypesMixin:
    """String, boolean and number fields (also as list or dict items) take only their own
    JSON type."""

    def to_internal_value(self, data: Any) -> Any:
        type_errors: dict[str, Any] = {}
        if isinstance(data, Mapping) and not html.is_html_input(data):
            for field in self._writable_fields:  # type: ignore[attr-defined]
                if field.field_name in data:
                    errors = _type_errors(field, data[field.field_name])
                    if errors:
                        type_errors[field.field_name] = errors
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except ValidationError as exc:
            if not type_errors or not isinstance(exc.detail, dict):
                raise
            raise ValidationError({**exc.detail, **type_errors}) from exc
        if type_errors:
            raise ValidationError(type_errors)
        return value


class Serializer(StrictJsonTypesMixin, serializers.Serializer):
    pass


class ModelSerializer(StrictJsonTypesMixin, serializers.ModelSerializer):
    """``Meta.phi_patient``: the path to the patient whose health information the output
    holds (``"patient"``, ``"booking__patient"``; ``careos.phi.SELF`` for a user), with
    ``Meta.phi_clinic`` the path to the row's clinic. Each object serialized is then noted as
    shown, and the request writes one audit event naming every patient (``careos.phi``)."""

    def to_representation(self, instance: Any) -> Any:
        meta = getattr(self, "Meta", None)
        patient_path = getattr(meta, "phi_patient", None)
        if patient_path:
            phi_shown(
                [instance],
                patient_path=patient_path,
                clinic_path=getattr(meta, "phi_clinic", None),
                via="api",
            )
        return super().to_representation(instance)
