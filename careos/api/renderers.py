from djangorestframework_camel_case.render import CamelCaseJSONRenderer as _CamelCaseJSONRenderer


class CamelCaseJSONRenderer(_CamelCaseJSONRenderer):
    """camelCase JSON; also answers clients that accept only ``application/problem+json``."""

    json_underscoreize = {"no_underscore_before_number": True}
