"""The people and the store: the demo dealer group ("Lakeside Toyota") or the benchmark's
groups of stores, their teams, users, staff and weekly shifts (seeds 000/001), created through
the ORM with bulk_create, and the admins' permissions. The simulation works from the
StoreContext each store gets here."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission

from org.models import DealerGroup, Role, Shift, Staff, Store, Team, default_business_hours

from .reference import FIRST_NAMES, GROUP_NAMES, LAST_NAMES, REGIONS, STORE_BRANDS, Region
from .timekeeping import Calendar, Span, calendar_for, clock_time, hhmm, hours_by_weekday

DEMO_PASSWORD = "demo1234"
DEMO_GROUP_NAME, DEMO_GROUP_SLUG = "Lakeside Auto Group", "lakeside-auto-group"
DEMO_STORE_NAME, DEMO_STORE_SLUG = "Lakeside Toyota", "lakeside-toyota"
ADMIN_GROUP_NAME = "Dealer admins"
ADMIN_APPS = ["org", "leads", "coverage", "distribution", "telephony"]
# Seeds 001/002: 7-9 agents each get 60-80 internet/phone leads a month.
AGENTS_PER_STORE = 9


@dataclass
class Person:
    staff_id: int
    username: str
    first_name: str
    last_name: str
    role: str
    team: str
    shifts: list[Span | None]  # by weekday, 0 = Monday

    @property
    def days_off(self) -> list[int]:
        return [day for day, span in enumerate(self.shifts) if span is None]


@dataclass
class StoreSpec:
    name: str
    slug: str
    group_index: int
    brand: str
    region: Region
    username_prefix: str
    website: str


@dataclass
class StoreContext:
    spec: StoreSpec
    store_id: int
    calendar: Calendar
    hours: list[Span | None]  # store open hours by weekday
    people: list[Person] = field(default_factory=list)

    def by_role(self, role: str) -> list[Person]:
        return [p for p in self.people if p.role == role]


OPEN_SHIFT = (hhmm("09:00"), hhmm("17:30"))
CLOSE_SHIFT = (hhmm("11:30"), hhmm("20:00"))
SATURDAY = (hhmm("09:00"), hhmm("18:00"))


def floor_schedule(index: int, day_off: int | None) -> list[Span | None]:
    """Sales floor: alternating opening/closing shifts, Saturdays, the store closed on Sunday."""
    shifts: list[Span | None] = []
    for weekday in range(7):
        if weekday == 6 or weekday == day_off:
            shifts.append(None)
        elif weekday == 5:
            shifts.append(SATURDAY)
        else:
            shifts.append(OPEN_SHIFT if (index + weekday) % 2 == 0 else CLOSE_SHIFT)
    return shifts


def office_schedule(start: str, end: str, saturday: Span | None = None) -> list[Span | None]:
    return [(hhmm(start), hhmm(end))] * 5 + [saturday, None]


def clip_to_hours(shifts: list[Span | None], hours: list[Span | None]) -> list[Span | None]:
    """A shift never runs outside the store's open hours (Shift requires starts < ends)."""
    clipped: list[Span | None] = []
    for span, open_span in zip(shifts, hours, strict=True):
        if span is None or open_span is None:
            clipped.append(None)
            continue
        start, end = max(span[0], open_span[0]), min(span[1], open_span[1])
        clipped.append((start, end) if start < end else None)
    return clipped


def staff_plan() -> list[tuple[str, str, str | None, list[Span | None]]]:
    """(username suffix, role, team number or None, weekly shifts) for one store.

    3 teams, each with a sales manager, 3 internet agents and 4-5 retail salespeople (seeds
    000 and 001); 2 fleet, a receptionist, the internet director and an admin. Day-off
    weekdays rotate so the floor is covered every day: agent1 has Monday off (seed 001).
    """
    plan: list[tuple[str, str, str | None, list[Span | None]]] = []
    plan.append(("director", Role.INTERNET_DIRECTOR, None, office_schedule("08:30", "18:00", (hhmm("09:00"), hhmm("14:00")))))
    for i in range(3):
        plan.append((f"manager{i + 1}", Role.SALES_MANAGER, str(i), floor_schedule(i, (i * 2 + 1) % 6)))
    for i in range(9):
        plan.append((f"agent{i + 1}", Role.INTERNET_AGENT, str(i // 3), floor_schedule(i, i % 6)))
    for i in range(14):
        # One retail salesperson per team works six days (only Sunday, when the store is closed, off).
        day_off = None if i in (2, 6, 10) else (i + 2) % 6
        plan.append((f"retail{i + 1}", Role.RETAIL, str(i % 3), floor_schedule(i, day_off)))
    for i in range(2):
        plan.append((f"fleet{i + 1}", Role.FLEET, None, office_schedule("08:30", "17:30")))
    plan.append(("receptionist", Role.RECEPTIONIST, None, floor_schedule(0, 2)[:5] + [SATURDAY, None]))
    plan.append(("admin", Role.ADMIN, None, office_schedule("08:00", "17:00")))
    return plan



def store_specs(large: bool, n_stores: int) -> tuple[list[tuple[str, str]], list[StoreSpec]]:
    """(group name, slug) pairs and the stores: the demo's one store, or `n_stores` benchmark
    stores in groups of ten across the regions and brands."""
    if not large:
        region = REGIONS[0]
        spec = StoreSpec(DEMO_STORE_NAME, DEMO_STORE_SLUG, 0, "Toyota", region, "", "lakesidetoyota.example")
        return [(DEMO_GROUP_NAME, DEMO_GROUP_SLUG)], [spec]
    width = max(2, len(str(n_stores)))
    groups: list[tuple[str, str]] = []
    specs: list[StoreSpec] = []
    per_group = 10
    used_names: set[str] = set()
    for i in range(n_stores):
        group_index = i // per_group
        if group_index >= len(groups):
            name = GROUP_NAMES[group_index % len(GROUP_NAMES)]
            if group_index >= len(GROUP_NAMES):
                name = f"{name} {group_index // len(GROUP_NAMES) + 1}"
            groups.append((name, f"bench-g{group_index + 1:0{width}d}"))
        region = REGIONS[i % len(REGIONS)]
        brand = STORE_BRANDS[(i // len(REGIONS) + i) % len(STORE_BRANDS)]
        place = region.city_names[(i // len(REGIONS)) % len(region.city_names)]
        name = f"{place} {brand}"
        if name in used_names:
            name = f"{name} {i + 1}"
        used_names.add(name)
        slug = f"s{i + 1:0{width}d}"
        website = f"{place.lower().replace(' ', '')}{brand.lower()}.example"
        specs.append(StoreSpec(name, slug, group_index, brand, region, f"{slug}-", website))
    return groups, specs


def create_organization(groups: list[tuple[str, str]], specs: list[StoreSpec], rng: random.Random,
                         start: int, now: int) -> list[StoreContext]:
    """Groups, stores, teams, users, staff and shifts in a few bulk inserts; one StoreContext a
    store, its people carrying their staff ids."""
    User = get_user_model()
    group_rows = DealerGroup.objects.bulk_create([DealerGroup(name=n, slug=s) for n, s in groups])
    stores = Store.objects.bulk_create([
        Store(group=group_rows[spec.group_index], name=spec.name, slug=spec.slug, time_zone=spec.region.time_zone,
              business_hours=default_business_hours(), main_phone=f"+1{spec.region.staff_codes[0]}5550100")
        for spec in specs
    ])
    # Names first: each team is named after its sales manager.
    plans = []
    teams: list[Team] = []
    for store, _spec in zip(stores, specs, strict=True):
        used_names: set[tuple[str, str]] = set()
        entries = []
        for suffix, role, team_key, shifts in staff_plan():
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            while (first, last) in used_names or (role == Role.SALES_MANAGER and any(
                    r == Role.SALES_MANAGER and n[1] == last for _, r, _, _, n in entries)):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            used_names.add((first, last))
            entries.append((suffix, role, team_key, shifts, (first, last)))
        plans.append(entries)
        teams += [Team(store=store, name=f"Team {names[1]}") for _, role, _, _, names in entries
                  if role == Role.SALES_MANAGER]
    teams = Team.objects.bulk_create(teams)
    password = make_password(DEMO_PASSWORD)  # hashed once: PBKDF2 per user would take minutes
    users, staff, contexts = [], [], []
    calendars: dict[str, Calendar] = {}
    for store_index, (store, spec) in enumerate(zip(stores, specs, strict=True)):
        hours = hours_by_weekday(store.business_hours)
        ctx = StoreContext(spec, store.pk, calendar_for(spec.region.time_zone, start, now, calendars), hours)
        contexts.append(ctx)
        store_teams = teams[store_index * 3:store_index * 3 + 3]
        desk_code, cell_code = spec.region.staff_codes
        for slot, (suffix, role, team_key, shifts, (first, last)) in enumerate(plans[store_index], start=1):
            username = f"{spec.username_prefix}{suffix}"
            users.append(User(
                username=username, first_name=first, last_name=last, password=password,
                email=f"{first.lower()}.{''.join(c for c in last.lower() if c.isalpha())}@{spec.website}",
                is_staff=role in (Role.ADMIN, Role.INTERNET_DIRECTOR),
            ))
            team = store_teams[int(team_key)] if team_key is not None else None
            staff.append(Staff(store=store, role=role, team=team, desk_phone=f"+1{desk_code}55501{slot:02d}",
                               cell_phone=f"+1{cell_code}55501{slot:02d}"))
            ctx.people.append(Person(0, username, first, last, role, team.name if team else "",
                                     clip_to_hours(shifts, hours)))
    taken = set(User.objects.filter(username__in=[u.username for u in users]).values_list("username", flat=True))
    if taken:
        raise ValueError(f"these usernames already exist: {', '.join(sorted(taken)[:10])}")
    users = User.objects.bulk_create(users)
    for user, member in zip(users, staff, strict=True):
        member.user = user
    staff = Staff.objects.bulk_create(staff)
    people = [p for ctx in contexts for p in ctx.people]
    shifts = []
    for member, person in zip(staff, people, strict=True):
        person.staff_id = member.pk
        for weekday, span in enumerate(person.shifts):
            if span is not None:
                shifts.append(Shift(staff=member, weekday=weekday, starts=clock_time(span[0]), ends=clock_time(span[1])))
    Shift.objects.bulk_create(shifts, batch_size=5_000)
    # Each team's manager is the sales manager on it.
    by_team: dict[int, Staff] = {m.team_id: m for m in staff if m.role == Role.SALES_MANAGER}
    for team in teams:
        team.manager = by_team[team.pk]
    Team.objects.bulk_update(teams, ["manager"])
    grant_admin_permissions(
        [u for u, m in zip(users, staff, strict=True) if m.role in (Role.ADMIN, Role.INTERNET_DIRECTOR)]
    )
    return contexts


def grant_admin_permissions(users) -> None:
    """Admins use the Django admin (is_staff); what they see there is scoped to their group
    by org.scoping, the permissions only open the pages."""
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP_NAME)
    group.permissions.add(*Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
    Through = get_user_model().groups.through
    Through.objects.bulk_create([Through(user_id=u.pk, group_id=group.pk) for u in users], ignore_conflicts=True)
