"""Who is calling an API endpoint: their staff record, and a store they may name (by slug).
Every app's API asks here, so no API module imports another app's."""

from __future__ import annotations

from rest_framework.exceptions import PermissionDenied, ValidationError

from org.scoping import stores_for, viewer_for


def store_for_intake(user, slug: str, field: str = "store"):
    """The store named by slug, if the caller may post leads to it; else a 400 naming the field.

    An unknown store and another group's store get the same answer, so nothing leaks."""
    staff = viewer_for(user).staff
    if staff is not None and staff.store.slug == slug:
        return staff.store  # the usual case, an integration token of the store itself: no query
    store = stores_for(user).filter(slug=slug).first()
    if store is None:
        raise ValidationError({field: [f"Unknown store {slug!r}."]})
    return store


def staff_of_request(request):
    staff = viewer_for(request.user).staff
    if staff is None:
        raise PermissionDenied("This account is not staff of any store.")
    return staff
