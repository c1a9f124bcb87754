"""API-wide error handling: every refusal is a 4xx that names the field, never a 500."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    return drf_exception_handler(exc, context)


def scoped_choice(selector):
    """A filter on a related object that accepts only objects the caller may see (selector is a
    function of org.scoping), so an id of another store is "not a valid choice", exactly like
    an id that does not exist: a filter cannot be used to learn which ids exist elsewhere."""
    return django_filters.ModelChoiceFilter(queryset=lambda request: selector(request.user) if request else None)
