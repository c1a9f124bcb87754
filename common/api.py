"""API-wide error handling: every refusal is a 4xx that names the field, never a 500."""

from __future__ import annotations

import django_filters
from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, SuspiciousOperation):
        # Django's own refusals of a request (too many fields, a body over its limits): the
        # same 400 in JSON naming the limit, not the HTML error page.
        exc = exceptions.ParseError(str(exc))
    return drf_exception_handler(exc, context)


def page_not_found(request, exception):
    """An address under /api/ that no route matches (an id that is not a number) answers 404 in
    JSON like every other API refusal; pages keep Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def scoped_choice(selector):
    """A filter on a related object that accepts only objects the caller may see (selector is a
    function of org.scoping), so an id of another store is "not a valid choice", exactly like
    an id that does not exist: a filter cannot be used to learn which ids exist elsewhere."""
    return django_filters.ModelChoiceFilter(queryset=lambda request: selector(request.user) if request else None)
