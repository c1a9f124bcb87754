"""Who may see what: the one place every view, API endpoint and admin list asks.

- a salesperson (internet agent, retail, fleet): their own leads and the store's claim pool;
- a sales manager: their teams' leads plus the store's unassigned leads (they assign them);
- an internet director: the whole store;
- a receptionist: only what her board needs: the store's unassigned leads and today's leads;
- an admin / dealer principal: every store of the group; a Django superuser: everything.

Anything outside the scope is simply absent from the queryset, so a lookup by id answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Model, Q, QuerySet

from org.models import Role, Staff, Store, Team

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Viewer:
    user_id: int
    staff: Staff | None
    everything: bool = False

    @property
    def role(self) -> str | None:
        return self.staff.role if self.staff else None

    @property
    def is_group_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_store_wide(self) -> bool:
        return self.role in (Role.INTERNET_DIRECTOR, Role.ADMIN) or self.everything

    @property
    def is_manager(self) -> bool:
        return self.role == Role.SALES_MANAGER

    @property
    def is_receptionist(self) -> bool:
        return self.role == Role.RECEPTIONIST

    def managed_team_ids(self) -> list[int]:
        if not self.staff:
            return []
        return list(Team.objects.filter(manager=self.staff).values_list("id", flat=True))


def viewer_for(user) -> Viewer:
    """The viewer for a request's user, cached on the user object for the request."""
    cached = getattr(user, "_dealercrm_viewer", None)
    if cached is not None:
        return cached
    if not user or not user.is_authenticated:
        viewer = Viewer(user_id=0, staff=None)
    else:
        # The class's descriptor: a SimpleLazyObject (a session's request.user) has none.
        descriptor = getattr(type(user), "staff", None)
        related = getattr(descriptor, "related", None)
        if related is not None and related.is_cached(user):
            # Read with the API token (org.authentication), store included; None: not staff.
            staff = related.get_cached_value(user)
            staff = staff if staff is not None and staff.is_active else None
        else:
            # order_by("pk"): the model's default ordering would join the user table just to sort one row.
            staff = Staff.objects.select_related("store").filter(user_id=user.pk, is_active=True).order_by("pk").first()
        if staff is not None:
            staff.user = user  # already loaded by authentication
        viewer = Viewer(user_id=user.pk, staff=staff, everything=bool(user.is_superuser and staff is None))
    user._dealercrm_viewer = viewer
    return viewer


def stores_for(user) -> QuerySet[Store]:
    viewer = viewer_for(user)
    if viewer.everything:
        return Store.objects.all()
    if viewer.staff is None:
        return Store.objects.none()
    if viewer.is_group_admin:
        return Store.objects.filter(group_id=viewer.staff.store.group_id)
    return Store.objects.filter(pk=viewer.staff.store_id)


def store_q(viewer: Viewer, path: str = "store") -> Q:
    """The stores a viewer works in, as a condition on a row's `path` (a store foreign key)."""
    if viewer.everything:
        return Q()
    if viewer.staff is None:
        return Q(pk__in=[])
    if viewer.is_group_admin:
        return Q(**{f"{path}__group_id": viewer.staff.store.group_id})
    return Q(**{f"{path}_id": viewer.staff.store_id})


def staff_for(user) -> QuerySet[Staff]:
    return Staff.objects.filter(store_q(viewer_for(user)))


def teams_for(user) -> QuerySet[Team]:
    return Team.objects.filter(store_q(viewer_for(user)))

# Model -> the function of a user giving the rows of that model the user may see. Org registers
# its own; each app above registers its models in its AppConfig.ready (leads.apps, ...), so
# org imports no app above it.
_scopes: dict[type[Model], Callable[..., QuerySet]] = {}


def scope_register(model: type[M], rule: Callable[..., QuerySet[M]]) -> None:
    """An app says who sees the rows of one of its models (a function of the user)."""
    _scopes[model] = rule


def scoped(user, model: type[M]) -> QuerySet[M]:
    """The viewer's queryset for any scoped model; the admin and generic views use this."""
    rule = _scopes.get(model)
    if rule is None:
        raise LookupError(f"{model.__name__} has no scope rule; register one with org.scoping.scope_register")
    return rule(user)


scope_register(Store, stores_for)
scope_register(Staff, staff_for)
scope_register(Team, teams_for)


def page_store(request, viewer: Viewer) -> Store:
    """The store a store-level page is about: ?store= (or a posted store) among the stores the
    user may see, else their own store, else (a superuser) the first. Anything else is a 404."""
    from django.http import Http404

    stores = stores_for(request.user)
    wanted = request.POST.get("store") or request.GET.get("store")
    if wanted:
        if not str(wanted).isdigit():
            raise Http404("No such store.")
        store = stores.filter(pk=int(wanted)).first()
        if store is None:
            raise Http404("No such store.")
        return store
    if viewer.staff is not None:
        return viewer.staff.store
    store = stores.order_by("name").first()
    if store is None:
        raise Http404("No store.")
    return store


def can_manage_store(user, store: Store) -> bool:
    """Directors and admins configure a store; others only work in it."""
    viewer = viewer_for(user)
    return viewer.is_store_wide and stores_for(user).filter(pk=store.pk).exists()


def schedules_editable(user, people) -> set[int]:
    """Whose schedules (of `people`) the user may change: directors and admins anyone's in their
    stores; a sales manager the people of the teams they manage."""
    viewer = viewer_for(user)
    visible = set(stores_for(user).filter(pk__in={p.store_id for p in people}).values_list("pk", flat=True))
    managed = set(viewer.managed_team_ids()) if viewer.is_manager else set()
    return {
        p.pk for p in people
        if p.store_id in visible and (viewer.everything or viewer.is_store_wide or (p.team_id is not None and p.team_id in managed))
    }


def can_edit_schedule(user, staff: Staff) -> bool:
    return staff.pk in schedules_editable(user, [staff])


def can_assign_leads(user) -> bool:
    viewer = viewer_for(user)
    return viewer.everything or viewer.is_store_wide or viewer.is_manager or viewer.is_receptionist
