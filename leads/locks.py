"""Transaction-scoped advisory locks shared by intake and imports."""

from __future__ import annotations

from django.db import connection

from org.models import Store


def identities_lock(store: Store, keys: list[str]) -> None:
    """Serialize concurrent intake of the same person or the same provider lead id.

    Transaction-scoped advisory locks, taken in sorted order so two intakes never deadlock:
    a resend racing the original, or two sites posting one new customer at once, then see
    each other's rows instead of creating a second lead or a second customer.
    """
    with connection.cursor() as cursor:
        # One round trip; the inner ORDER BY fixes the order the locks are taken in.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (SELECT k FROM unnest(%s::text[]) AS k ORDER BY k) AS keys",
            [[f"intake:{store.pk}:{key}" for key in sorted(set(keys))]],
        )
