"""The OpenAPI schema's error answers, documented in one place.

Every operation gets the refusals it can really give, in the shapes DRF answers them, unless its
own `extend_schema` already documents that status:

- 400 `ValidationError` when it writes (the services refuse what the state does not allow, with
  a message), reads a body or query parameters (field name -> messages, or `detail` for a body
  that does not parse);
- 401 `Error` when it needs a signed-in caller;
- 403 `Error` when it writes (a session without its CSRF token, and the role checks of every
  write) or a permission class beyond "signed in" guards it;
- 404 `Error` when its path names an object, or it pages (a page that is not a number);
- 415 `Error` when it reads a body in the media types it lists only.

A read that refuses some roles in its code says so with `responses={403: ERROR}`.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What was refused and why.")

    class Meta:
        ref_name = "Error"


class ValidationErrorSerializer(serializers.Serializer):
    """Only documents DRF's validation answer; its schema is VALIDATION_ERROR_SCHEMA."""

    class Meta:
        ref_name = "ValidationError"


ERROR = ErrorSerializer
VALIDATION_ERROR = ValidationErrorSerializer

VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "The request's mistakes: each field's name with a list of messages (`non_field_errors` for "
        "the request as a whole; nested objects and lists follow the body's shape), or `detail` "
        "for a body that cannot be parsed."
    ),
    "additionalProperties": {},
    "example": {"phone": ["Enter a valid phone number."]},
}

WRITES = {"POST", "PUT", "PATCH"}
UNSAFE_METHODS = {*WRITES, "DELETE"}
DESCRIPTIONS = {
    "400": "The request is invalid; the body names each problem.",
    "401": "No valid credentials were given.",
    "403": "The caller may not do this.",
    "404": "Not found, or not in the caller's stores (or a page that is not a number or past the last).",
    "415": "The body's Content-Type is not one the operation reads.",
}


class ValidationErrorExtension(OpenApiSerializerExtension):
    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema, direction):
        return VALIDATION_ERROR_SCHEMA


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._error_codes(operation):
            if code not in responses:
                responses[code] = self._error_response(code)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_codes(self, operation) -> list[str]:
        parameters = operation.get("parameters", [])
        codes = []
        if self.method in WRITES or "requestBody" in operation or any(p["in"] == "query" for p in parameters):
            codes.append("400")
        permissions = [type(p) for p in self.view.get_permissions()]
        if not all(p is AllowAny for p in permissions):
            codes.append("401")
            if self.method in UNSAFE_METHODS or any(p not in (IsAuthenticated, AllowAny) for p in permissions):
                codes.append("403")
        if any(p["in"] == "path" for p in parameters) or self._pages():
            codes.append("404")
        if "requestBody" in operation and all(parser.media_type != "*/*" for parser in self.view.get_parsers()):
            codes.append("415")
        return codes

    def _pages(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def _error_response(self, code: str) -> dict:
        response = self._get_response_for_code(VALIDATION_ERROR if code == "400" else ERROR, code)
        response["description"] = DESCRIPTIONS[code]
        return response
