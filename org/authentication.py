"""API token authentication that reads the caller's staff record and store with the token.

Every API request needs both (org.scoping.viewer_for): DRF's TokenAuthentication reads the
token and user, then the scoping read the staff and store, two statements per request. Here one
fixed statement reads all four (the intake API is the busiest endpoint, bench/distribution.py)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from org import rawsql
from org.models import Staff, Store


class StaffTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, exactly as TokenAuthentication answers it."""

    def authenticate_credentials(self, key):
        token_model, user_model = self.get_model(), get_user_model()
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT {rawsql.columns(token_model, "t")}, {rawsql.columns(user_model, "u")},
                       {rawsql.columns(Staff, "s")}, {rawsql.columns(Store, "st")}
                  FROM {token_model._meta.db_table} t
                  JOIN {user_model._meta.db_table} u ON u.id = t.user_id
                  LEFT JOIN {Staff._meta.db_table} s ON s.user_id = u.id
                  LEFT JOIN {Store._meta.db_table} st ON st.id = s.store_id
                 WHERE t.key = %s
                """,
                [key],
            )
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token_values, user_values, staff_values, store_values = rawsql.split(row, token_model, user_model, Staff, Store)
        token = rawsql.instance(token_model, token_values)
        user = rawsql.instance(user_model, user_values)
        token_model.user.field.set_cached_value(token, user)
        staff = None
        if staff_values[0] is not None:
            staff = rawsql.instance(Staff, staff_values)
            Staff.store.field.set_cached_value(staff, rawsql.instance(Store, store_values))
            Staff.user.field.set_cached_value(staff, user)
        # Cached even when None: viewer_for then knows without a query that this user is not staff.
        user_model.staff.related.set_cached_value(user, staff)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (user, token)
