"""The demo logins the `demo_store` command prints: each store's staff by role, with team and
days off."""

from __future__ import annotations

from dataclasses import dataclass

from org.models import WEEKDAYS, Role, Staff, Store


@dataclass
class Login:
    username: str
    name: str
    role: str
    team: str
    days_off: str


def store_logins(store: Store) -> list[Login]:
    role_order = [Role.INTERNET_DIRECTOR, Role.SALES_MANAGER, Role.INTERNET_AGENT, Role.RETAIL, Role.FLEET,
                  Role.RECEPTIONIST, Role.ADMIN]
    members = list(Staff.objects.filter(store=store).select_related("user", "team").prefetch_related("shifts"))
    members.sort(key=lambda m: (role_order.index(m.role) if m.role in role_order else 99, m.user.id))
    return [
        Login(m.user.username, m.user.get_full_name(), m.get_role_display(), m.team.name if m.team else "",
              ", ".join(WEEKDAYS[d].capitalize() for d in sorted(m.days_off())))
        for m in members
    ]


def format_logins(logins: list[Login]) -> str:
    headers = ("username", "name", "role", "team", "days off")
    rows = [(x.username, x.name, x.role, x.team, x.days_off) for x in logins]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
