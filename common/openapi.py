"""The OpenAPI document's error responses, as the API really answers them.

drf-standardized-errors documents a 400 only for request bodies (and django-filter filters);
this schema class also documents the 400s of query parameters validated with a serializer
(`common.api.query_params_validate`), a 413 wherever a JSON body is parsed, and a 503 (database
or broker unreachable, with Retry-After) on every operation. Two places where the library's 400
schema and DRF's real answers differ are corrected: see `_determine_fields_with_error_codes`
and `postprocess_item_attrs`.
"""

import re

from django.db import models
from drf_spectacular.plumbing import is_list_serializer, is_serializer
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum
from drf_standardized_errors.openapi_utils import (
    InputDataField,
    get_flat_serializer_fields,
    get_serializer_fields_with_error_codes,
)
from drf_standardized_errors.settings import package_settings
from rest_framework import serializers
from rest_framework.settings import api_settings

METHODS_WITH_BODY = ("POST", "PUT", "PATCH")
_SEPARATOR = package_settings.NESTED_FIELD_SEPARATOR
_NESTED_NON_FIELD_ERRORS = _SEPARATOR + api_settings.NON_FIELD_ERRORS_KEY
# Placeholders the library writes for a list index or a dict key in an `attr`, and what DRF
# writes there instead.
_ITEM_PLACEHOLDERS = {
    package_settings.LIST_INDEX_IN_API_SCHEMA: "[0-9]+",
    package_settings.DICT_KEY_IN_API_SCHEMA: "[^.]+",
}


class AutoSchema(StandardizedErrorsAutoSchema):
    def _query_serializers(self) -> list:
        return [p for p in self.get_override_parameters() if is_serializer(p)]

    def _should_add_validation_error_response(self) -> bool:
        return super()._should_add_validation_error_response() or bool(self._query_serializers())

    def _determine_fields_with_error_codes(self):
        fields = super()._determine_fields_with_error_codes()
        if self.method in METHODS_WITH_BODY:
            # The service behind a view checks what a serializer cannot (unknown ids, names
            # taken, the clinic's last admin) and reports it on the field with DRF's generic
            # code, so any field of a body may carry `invalid`.
            for data_field in fields:
                data_field.error_codes.add("invalid")
        for serializer in self._query_serializers():
            fields += get_serializer_fields_with_error_codes(get_flat_serializer_fields(serializer))
        return _nested_null_and_required_at_the_field(fields)

    def _should_add_error_response(self, responses: dict, status_code: str) -> bool:
        if status_code == "413":
            return (
                super()._should_add_error_response(responses, status_code)
                and self.method in METHODS_WITH_BODY
                and self._should_add_parse_error_response()
            )
        return super()._should_add_error_response(responses, status_code)

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if status_code in ("429", "503") and "Retry-After" not in headers:
            headers["Retry-After"] = {
                "schema": {"type": "integer"},
                "required": status_code == "503",
                "description": "Seconds to wait before trying again.",
            }
        return headers


def _nested_null_and_required_at_the_field(fields: list) -> list:
    """Move a nested serializer's `null` and `required` codes to the attr DRF names them with.

    The library lists them under `patient.non_field_errors`, but DRF reports a missing or null
    nested object as `patient`; only its other errors (not an object, ...) come as
    `patient.non_field_errors`.
    """
    moved = []
    for data_field in fields:
        nested = is_serializer(data_field.field) or is_list_serializer(data_field.field)
        if not (nested and data_field.name.endswith(_NESTED_NON_FIELD_ERRORS)):
            continue
        codes = data_field.error_codes & {"null", "required"}
        if codes:
            data_field.error_codes -= codes
            name = data_field.name.removesuffix(_NESTED_NON_FIELD_ERRORS)
            moved.append(InputDataField(name, data_field.field, codes))
    return [data_field for data_field in fields if data_field.error_codes] + moved


def postprocess_item_attrs(result, generator, request, public):
    """Document list and dict item attrs as DRF writes them: `services.0`, not `services.INDEX`.

    The library's placeholder becomes a pattern, and the discriminator over `attr` goes from the
    errors that have one (a discriminator maps exact values only; `oneOf` still tells them apart).
    """
    schemas = result.get("components", {}).get("schemas", {})
    for schema in schemas.values():
        if "oneOf" not in schema or schema.get("discriminator", {}).get("propertyName") != "attr":
            continue
        patterned = False
        for ref in schema["oneOf"]:
            error = schemas[ref["$ref"].rsplit("/", 1)[-1]]
            attr = error["properties"]["attr"]
            if "pattern" in attr:  # an error component that another union shares, done
                patterned = True
                continue
            parts = (attr.get("enum") or [""])[0].split(_SEPARATOR)
            if not any(part in _ITEM_PLACEHOLDERS for part in parts):
                continue
            pattern = r"\.".join(_ITEM_PLACEHOLDERS.get(part, re.escape(part)) for part in parts)
            error["properties"]["attr"] = {"type": "string", "pattern": f"^{pattern}$"}
            patterned = True
        if patterned:
            del schema["discriminator"]
    return result


class ErrorCode413(models.TextChoices):
    REQUEST_TOO_LARGE = "request_too_large", "The body is over the size limit (1 MB)."


class ErrorCode503(models.TextChoices):
    DATABASE_UNAVAILABLE = "database_unavailable", "The database cannot be reached."
    BROKER_UNAVAILABLE = "broker_unavailable", "The message broker cannot be reached."


def error_response_serializer(
    status_code: int,
    codes: type[models.TextChoices],
    *,
    error_type: type[models.TextChoices] = ClientErrorEnum,
    doc: str = "",
) -> type[serializers.Serializer]:
    """The documented error body of `status_code`: type, then errors of code, detail and attr.

    The classes are named `Error<status>Serializer` and `ErrorResponse<status>Serializer`, which
    gives their OpenAPI components' names; `codes` lists the error codes that status may carry.
    """
    error = type(
        f"Error{status_code}Serializer",
        (serializers.Serializer,),
        {
            "__module__": codes.__module__,
            "code": serializers.ChoiceField(choices=codes.choices),
            "detail": serializers.CharField(),
            "attr": serializers.CharField(allow_null=True),
        },
    )
    return type(
        f"ErrorResponse{status_code}Serializer",
        (serializers.Serializer,),
        {
            "__module__": codes.__module__,
            "__doc__": doc or None,
            "type": serializers.ChoiceField(choices=error_type.choices),
            "errors": error(many=True),
        },
    )


ErrorResponse413Serializer = error_response_serializer(413, ErrorCode413)
ErrorResponse503Serializer = error_response_serializer(
    503,
    ErrorCode503,
    error_type=ServerErrorEnum,
    doc="Retry after the seconds the Retry-After header gives.",
)
