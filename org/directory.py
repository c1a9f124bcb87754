"""Finding a store's staff by the name an export wrote (username, "First Last", "Last, First")."""

from __future__ import annotations

from org.models import Staff, Store


class StaffDirectory:
    """The store's staff by username and by full name ("First Last" and "Last, First")."""

    def __init__(self, store: Store):
        self.by_key: dict[str, Staff] = {}
        for staff in Staff.objects.filter(store=store).select_related("user"):
            user = staff.user
            keys = {user.get_username(), f"{user.first_name} {user.last_name}", f"{user.last_name}, {user.first_name}",
                    f"{user.last_name},{user.first_name}"}
            for key in keys:
                norm = " ".join(key.lower().split())
                if norm.strip(", "):
                    self.by_key.setdefault(norm, staff)

    def find(self, raw: str) -> Staff | None:
        return self.by_key.get(" ".join(raw.lower().split()))
