"""Sign-in throttling on top of django-axes: who is locked out, for how long, what they are told,
and who may unlock them.

Failed sign-ins are counted per account and per address (org.clientip) over the cool-off
(settings.AXES_COOLOFF_TIME). An account locks after AXES_FAILURE_LIMIT failures, an address after
LOGIN_ADDRESS_FAILURE_LIMIT: higher, because a showroom's staff share one public address and one
person's typos must not lock everyone out. A successful sign-in forgives that person's own failures
from that address only: failures someone made against the account from elsewhere, and the
address's failures on other accounts, keep counting (axes' own reset on success would wipe the
address's count and let anyone with one valid account keep guessing another's password).

Unlocking is an admin's (axes' admin pages, every store) or a manager's for the people whose
schedule they manage (the schedules page), through staff_unlock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.forms.utils import ErrorList
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from org.models import Staff
from org.scoping import can_edit_schedule


def cool_off() -> timedelta:
    return settings.AXES_COOLOFF_TIME


def _failures(attempts) -> int:
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


def weighted_failures(*, by_account: int, by_address: int) -> int:
    """The number axes compares with AXES_FAILURE_LIMIT: an account's own count, or the address's
    scaled so that LOGIN_ADDRESS_FAILURE_LIMIT failures from one address reach the same limit."""
    return max(by_account, by_address * settings.AXES_FAILURE_LIMIT // settings.LOGIN_ADDRESS_FAILURE_LIMIT)


class SigninHandler(AxesDatabaseHandler):
    """axes' database handler with a limit per address of its own and a narrower reset on success."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        # AXES_LOCKOUT_PARAMETERS is ["username", "ip_address"]: one queryset each, in that order.
        by_account, by_address = self.get_user_attempts(request, credentials)
        return weighted_failures(by_account=_failures(by_account), by_address=_failures(by_address))

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        AccessAttempt.objects.filter(username=user.get_username(), ip_address=request.axes_ip_address).delete()


def _minutes_until_expired(latest: datetime | None, now: datetime) -> int:
    if latest is None:
        return 1
    return max(1, math.ceil((latest + cool_off() - now).total_seconds() / 60))


def minutes_left(*, username: str | None, ip_address: str | None, now: datetime | None = None) -> int:
    """Whole minutes until the latest failure counted against this account or address ages out
    of the cool-off (an upper bound: older failures may age out sooner and unlock it earlier)."""
    now = now or timezone.now()
    latest = AccessAttempt.objects.filter(
        Q(username=username) | Q(ip_address=ip_address), attempt_time__gte=now - cool_off()
    ).aggregate(latest=Max("attempt_time"))["latest"]
    return _minutes_until_expired(latest, now)


def lockout_message(minutes: int) -> str:
    return (
        f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''} "
        "or ask a manager/admin to unlock."
    )


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page it was (ours or the admin's) with the lockout as its
    form error, answered 429; anything without a form gets the message alone, also 429."""
    message = lockout_message(minutes_left(
        username=get_client_username(request, credentials), ip_address=getattr(request, "axes_ip_address", None),
    ))
    status = settings.AXES_HTTP_RESPONSE_CODE
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    if isinstance(original_response, TemplateResponse) and form is not None and form.is_bound:
        # The form said "wrong username or password": say why the right one would not do either.
        form._errors[NON_FIELD_ERRORS] = ErrorList([message], error_class="nonfield")
        response = TemplateResponse(request, original_response.template_name, context, status=status)
        return response.render()
    if request.path.startswith("/api/") or "json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


# --- Seen and unlocked by managers ------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    failures: int
    minutes_left: int


def lockouts_for(people: list[Staff], *, now: datetime | None = None) -> dict[int, Lockout]:
    """The people (by staff pk) whose account is locked now, in one query."""
    now = now or timezone.now()
    by_username = {person.user.get_username(): person.pk for person in people}
    rows = (
        AccessAttempt.objects.filter(username__in=list(by_username), attempt_time__gte=now - cool_off())
        .values("username").annotate(failures=Sum("failures_since_start"), latest=Max("attempt_time"))
    )
    return {
        by_username[row["username"]]: Lockout(
            failures=row["failures"],
            minutes_left=_minutes_until_expired(row["latest"], now),
        )
        for row in rows
        if row["failures"] >= settings.AXES_FAILURE_LIMIT
    }


@transaction.atomic
def staff_unlock(*, staff: Staff, by) -> int:
    """Forget the failed sign-ins counted against this person's account (from any address), so
    they can sign in now. Only someone who may change their schedule may (their sales manager,
    the store's director, an admin). Returns how many attempt records were removed."""
    if not can_edit_schedule(by, staff):
        raise PermissionDenied("Only the store's director, admins and the person's sales manager unlock a sign-in.")
    count, _ = AccessAttempt.objects.filter(username=staff.user.get_username()).delete()
    return count
