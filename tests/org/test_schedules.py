"""Schedules: typing a week the way a manager writes one, time off, who may change whose
schedule, who is on the floor now, and routing following the saved week."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from factories import ShiftFactory, StaffFactory
from hypothesis import given
from hypothesis import strategies as st

from distribution import services as distribution
from distribution.models import LeadRouting, RoutingState
from org import schedules
from org.models import Role, Shift, TimeOff
from tests.distribution.floor import floor, new_lead, rule

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

T = dt.time
MIDNIGHT = dt.time(23, 59, 59, 999999)


@pytest.mark.parametrize(
    ("typed", "spans"),
    [
        ("9-18", [(T(9), T(18))]),
        ("9:30-17:00", [(T(9, 30), T(17))]),
        ("10am-7pm", [(T(10), T(19))]),
        ("10 AM – 7 p.m.", [(T(10), T(19))]),
        ("9-13, 15-19", [(T(9), T(13)), (T(15), T(19))]),
        # As a paper schedule means it: a bare hour is a dealership's day.
        ("9-6", [(T(9), T(18))]),
        ("9-5", [(T(9), T(17))]),
        ("9 to 5:30", [(T(9), T(17, 30))]),
        ("9.30 till 6", [(T(9, 30), T(18))]),
        ("11-1", [(T(11), T(13))]),
        ("12-9", [(T(12), T(21))]),  # a closer: noon to nine at night
        ("1-9", [(T(13), T(21))]),
        ("9-1, 3-7", [(T(9), T(13)), (T(15), T(19))]),
        ("3-7, 9-1", [(T(9), T(13)), (T(15), T(19))]),
        ("9-9", [(T(9), T(21))]),
        ("8-8", [(T(8), T(20))]),
        ("noon-8", [(T(12), T(20))]),
        ("9-6,", [(T(9), T(18))]),
        # Said exactly: am/pm, 24-hour and zero-padded times, overnight shifts.
        ("06:00-14:00", [(T(6), T(14))]),
        ("0-8", [(T(0), T(8))]),
        ("22-2", [(T(22), T(2))]),
        ("10pm-2am", [(T(22), T(2))]),
        ("9pm-6", [(T(21), T(6))]),
        ("9am-5am", [(T(9), T(5))]),
        ("12pm-12am", [(T(12), MIDNIGHT)]),
        ("14-24", [(T(14), MIDNIGHT)]),
        ("all day", [(T(0), MIDNIGHT)]),
        ("off", []),
        ("Sat off", []),
        ("", []),
        ("  -  ", []),
    ],
)
def test_a_day_is_read_as_a_manager_writes_it(typed, spans):
    assert schedules.day_parse(typed) == spans
    assert schedules.day_parse(schedules.day_text(spans)) == spans  # what the page shows reads back the same


def test_the_week_shows_shifts_exactly_with_am_and_pm():
    assert schedules.day_text([(T(15), T(19)), (T(9), T(13))]) == "9am-1pm, 3pm-7pm"
    assert schedules.day_text([(T(9, 30), T(18))]) == "9:30am-6pm"
    assert schedules.day_text([(T(22), T(2))]) == "10pm-2am"
    assert schedules.day_text([(T(14), MIDNIGHT)]) == "2pm-12am"
    assert schedules.day_text([(T(0), MIDNIGHT)]) == "all day"
    assert schedules.day_text([]) == "off"


minute_times = st.builds(dt.time, st.integers(0, 23), st.integers(0, 59))


@given(st.lists(st.tuples(minute_times, minute_times).filter(lambda span: span[0] != span[1]), max_size=3))
def test_what_the_page_shows_for_any_day_reads_back_the_same(spans):
    expected = sorted((s, MIDNIGHT if e == T(0) else e) for s, e in spans)
    assert schedules.day_parse(schedules.day_text(spans)) == expected


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("9am-9am", "starts and ends at the same time"),
        ("25-3", "“25” is not a time of day"),
        ("9:75-17", "is not a time of day"),
        ("13pm-5pm", "is not a time of day"),
        ("nine to five", "“nine” is not a time of day"),
        ("lunch", "“lunch” is not a shift"),
        ("9-12-15", "is not a shift"),
        ("9-", "“9-” is not a shift"),
    ],
)
def test_a_day_that_is_not_a_shift_says_what_is_wrong(typed, says):
    with pytest.raises(ValueError, match=says):
        schedules.day_parse(typed)


def test_saving_a_week_replaces_it_and_a_bad_day_saves_nothing(store):
    person = StaffFactory(store=store, role=Role.INTERNET_AGENT)
    ShiftFactory(staff=person, weekday=0, starts=T(8), ends=T(17))
    schedules.week_save(staff=person, days={0: "9-18", 1: "9-13, 15-19", 4: "22-2"})
    assert sorted(Shift.objects.filter(staff=person).values_list("weekday", "starts", "ends")) == [
        (0, T(9), T(18)), (1, T(9), T(13)), (1, T(15), T(19)), (4, T(22), T(2)),
    ]
    with pytest.raises(ValidationError) as caught:
        schedules.week_save(staff=person, days={0: "10-19", 2: "9am-9am", 3: "lunch"})
    assert set(caught.value.message_dict) == {"wed", "thu"}
    assert Shift.objects.filter(staff=person).count() == 4  # untouched
    assert Shift.objects.filter(staff=person, weekday=0).get().starts == T(9)


def test_time_off_is_checked(store):
    person = StaffFactory(store=store, role=Role.INTERNET_AGENT)
    day = dt.date(2026, 12, 24)
    one = schedules.time_off_add(staff=person, first_day=day, last_day=None, reason=" Holiday ")
    assert (one.first_day, one.last_day, one.reason) == (day, day, "Holiday")
    with pytest.raises(ValidationError, match="before the first day"):
        schedules.time_off_add(staff=person, first_day=day, last_day=day - dt.timedelta(days=1))
    with pytest.raises(ValidationError, match="at most 366 days"):
        schedules.time_off_add(staff=person, first_day=day, last_day=day + dt.timedelta(days=400))
    assert TimeOff.objects.filter(staff=person).count() == 1


def test_time_off_that_overlaps_or_touches_becomes_one_stretch(store):
    person = StaffFactory(store=store, role=Role.INTERNET_AGENT)
    day = dt.date(2026, 12, 1)
    schedules.time_off_add(staff=person, first_day=day, last_day=day + dt.timedelta(days=4), reason="Vacation")
    schedules.time_off_add(staff=person, first_day=day + dt.timedelta(days=10), last_day=None, reason="Dentist")
    schedules.time_off_add(staff=person, first_day=day + dt.timedelta(days=2), last_day=day + dt.timedelta(days=3))
    schedules.time_off_add(staff=person, first_day=day + dt.timedelta(days=5), last_day=day + dt.timedelta(days=9),
                           reason="Training")
    assert list(TimeOff.objects.filter(staff=person).values_list("first_day", "last_day", "reason")) == [
        (day, day + dt.timedelta(days=10), "Vacation; Dentist; Training"),
    ]


def test_a_schedule_change_retries_the_leads_waiting_for_a_shift(store):
    team, _, people = floor(store, names=("ann",))
    rule(store, team=team)
    sunday = dt.datetime(2026, 11, 29, 12, tzinfo=store.tz)  # the floor works Monday to Saturday
    lead = new_lead(store, received_at=sunday)
    distribution.lead_route(lead_id=lead.pk, now=sunday)
    lead.refresh_from_db()
    assert lead.owner_id is None and LeadRouting.objects.get(lead=lead).state == RoutingState.WAITING
    lead.routing_due_at = sunday + dt.timedelta(days=1)
    lead.save(update_fields=["routing_due_at"])
    before = timezone.now()
    schedules.week_save(staff=people["ann"], days={6: "9-18"})
    lead.refresh_from_db()
    assert before <= lead.routing_due_at <= timezone.now()  # the sweeper's next pass tries it
    assert distribution.lead_route(lead_id=lead.pk, now=sunday)
    lead.refresh_from_db()
    assert lead.owner_id == people["ann"].pk


def test_whereabouts_say_who_is_on_now_and_who_comes_in_next(store):
    now = dt.datetime(2026, 11, 23, 10, 30, tzinfo=store.tz)  # a Monday morning
    on = StaffFactory(store=store, role=Role.INTERNET_AGENT, user__first_name="Ona", user__last_name="On")
    ShiftFactory(staff=on, weekday=0, starts=T(9), ends=T(18))
    later = StaffFactory(store=store, role=Role.RETAIL, user__first_name="Lee", user__last_name="Later")
    ShiftFactory(staff=later, weekday=0, starts=T(13), ends=T(21))
    tomorrow = StaffFactory(store=store, role=Role.RETAIL, user__first_name="Tom", user__last_name="Tuesday")
    ShiftFactory(staff=tomorrow, weekday=1, starts=T(9), ends=T(17))
    away = StaffFactory(store=store, role=Role.INTERNET_AGENT, available=False, user__first_name="Al", user__last_name="Away")
    ShiftFactory(staff=away, weekday=0, starts=T(9), ends=T(18))
    resting = StaffFactory(store=store, role=Role.INTERNET_AGENT, user__first_name="Ray", user__last_name="Rest")
    ShiftFactory(staff=resting, weekday=0, starts=T(9), ends=T(18))
    ShiftFactory(staff=resting, weekday=3, starts=T(9), ends=T(18))
    TimeOff.objects.create(staff=resting, first_day=dt.date(2026, 11, 22), last_day=dt.date(2026, 11, 25))
    nobody = StaffFactory(store=store, role=Role.INTERNET_AGENT, user__first_name="Nia", user__last_name="None")
    off_tomorrow = StaffFactory(store=store, role=Role.RETAIL, user__first_name="Kim", user__last_name="Kept")
    ShiftFactory(staff=off_tomorrow, weekday=1, starts=T(8), ends=T(17))
    ShiftFactory(staff=off_tomorrow, weekday=2, starts=T(11), ends=T(20))
    TimeOff.objects.create(staff=off_tomorrow, first_day=dt.date(2026, 11, 24), last_day=dt.date(2026, 11, 24))
    people = [nobody, resting, away, tomorrow, later, on, off_tomorrow]
    found = [(w.staff.display_name, w.on_now, w.text) for w in schedules.whereabouts(people, store=store, now=now)]
    assert found == [
        ("Ona On", True, "On until 6:00 PM"),
        ("Al Away", False, "On shift, switched to away"),
        ("Lee Later", False, "Next on today 1:00 PM"),
        ("Tom Tuesday", False, "Next on tomorrow 9:00 AM"),
        ("Kim Kept", False, "Next on Wed 11:00 AM"),  # not tomorrow: that is her day off
        ("Ray Rest", False, "Time off through Wed 25 Nov; back Thu 9:00 AM"),
        ("Nia None", False, "No shifts set"),
    ]


# --- pages ---------------------------------------------------------------------------------

def week_url(store):
    return f"{reverse('org_schedules:week')}?store={store.pk}"


def test_everyone_on_staff_sees_the_week_and_who_is_on(client, org, store, other_store):
    for day in range(7):
        ShiftFactory(staff=org["agent"], weekday=day, starts=T(0), ends=MIDNIGHT)
    ShiftFactory(staff=org["agent2"], weekday=2, starts=T(9), ends=T(17, 30))
    StaffFactory(store=other_store, role=Role.INTERNET_AGENT, user__username="elsewhere", user__first_name="Else")
    client.force_login(org["agent2"].user)
    page = client.get(week_url(store))
    assert page.status_code == 200
    body = page.content.decode()
    on_now = body.split('id="on-now"')[1].split("</section>")[0]
    assert org["agent"].display_name in on_now and org["agent2"].display_name not in on_now
    assert "9am-5:30pm" in body and "Else" not in body
    today = timezone.localtime(timezone.now(), store.tz).date()
    TimeOff.objects.create(staff=org["agent2"], first_day=today, last_day=today)
    row = client.get(week_url(store)).content.decode().split(f'id="staff-{org["agent2"].pk}"')[1].split("</tr>")[0]
    assert row.count("time off</span>") == 1  # today's cell, this week
    assert reverse("org_schedules:edit", args=[org["agent"].pk]) not in body  # an agent changes nobody's
    nav = body.split("<nav")[1].split("</nav>")[0]
    assert f'href="{reverse("org_schedules:week")}" class="active"' in nav  # agents find it in their menu
    assert client.get(week_url(other_store)).status_code == 404


def test_a_manager_changes_the_schedule_of_their_team_only(client, org, other_store):
    client.force_login(org["manager"].user)
    mine, not_mine = org["agent"], org["agent2"]
    form = {"mon": "9-18", "tue": "9-18", "wed": "off", "thu": "12-21", "fri": "9-18", "sat": "10-16", "sun": ""}
    answer = client.post(reverse("org_schedules:edit", args=[mine.pk]), form)
    assert answer.status_code == 302
    assert sorted(Shift.objects.filter(staff=mine).values_list("weekday", flat=True)) == [0, 1, 3, 4, 5]
    assert client.post(reverse("org_schedules:edit", args=[not_mine.pk]), form).status_code == 403
    assert not Shift.objects.filter(staff=not_mine).exists()
    stranger = StaffFactory(store=other_store, role=Role.INTERNET_AGENT)
    assert client.get(reverse("org_schedules:edit", args=[stranger.pk])).status_code == 404
    client.force_login(org["agent"].user)
    assert client.get(reverse("org_schedules:edit", args=[mine.pk])).status_code == 403
    client.force_login(org["director"].user)
    assert client.post(reverse("org_schedules:edit", args=[not_mine.pk]), form).status_code == 302


def test_a_mistyped_day_is_a_form_error_and_nothing_is_saved(client, org):
    ShiftFactory(staff=org["agent"], weekday=0, starts=T(8), ends=T(16))
    client.force_login(org["manager"].user)
    answer = client.post(reverse("org_schedules:edit", args=[org["agent"].pk]), {"mon": "9-18", "tue": "lunch"})
    assert answer.status_code == 422
    body = answer.content.decode()
    assert "Nothing was saved" in body and "“lunch” is not a shift" in body
    assert 'value="lunch"' in body  # what was typed stays in the form
    assert list(Shift.objects.filter(staff=org["agent"]).values_list("weekday", "starts")) == [(0, T(8))]


def test_time_off_from_the_page(client, org):
    client.force_login(org["manager"].user)
    url = reverse("org_schedules:time_off_add", args=[org["agent"].pk])
    today = timezone.localdate()
    answer = client.post(url, {"first_day": str(today), "last_day": str(today + dt.timedelta(days=2)), "reason": "Vacation"})
    assert answer.status_code == 302
    off = TimeOff.objects.get(staff=org["agent"])
    assert (off.first_day, off.last_day, off.reason) == (today, today + dt.timedelta(days=2), "Vacation")
    bad = client.post(url, {"first_day": "24/12/2026"}, follow=True)
    assert "“24/12/2026” is not a date" in bad.content.decode()
    bad = client.post(url, {"first_day": str(today), "last_day": str(today - dt.timedelta(days=1))}, follow=True)
    assert "The last day is before the first day." in bad.content.decode()
    assert TimeOff.objects.filter(staff=org["agent"]).count() == 1
    page = client.get(reverse("org_schedules:edit", args=[org["agent"].pk]))
    assert "Vacation" in page.content.decode()
    remove = reverse("org_schedules:time_off_remove", args=[org["agent"].pk, off.pk])
    client.force_login(org["agent"].user)
    assert client.post(remove).status_code == 403
    client.force_login(org["manager"].user)
    assert client.post(remove).status_code == 302
    assert not TimeOff.objects.filter(staff=org["agent"]).exists()


# --- API -----------------------------------------------------------------------------------

def test_the_api_sets_a_week_and_time_off_with_the_same_rules(api_for, org, other_store):
    manager = api_for(org["manager"])
    url = f"/api/v1/staff/{org['agent'].pk}/week/"
    answer = manager.put(url, {"mon": "9-6", "tue": "10pm-2am", "sat": "off"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json() == [{"weekday": 0, "starts": "09:00:00", "ends": "18:00:00"},
                             {"weekday": 1, "starts": "22:00:00", "ends": "02:00:00"}]
    bad = manager.put(url, {"mon": "9am-9am", "wed": "noonish"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()) == {"mon", "wed"} and "same time" in bad.json()["mon"][0]
    assert Shift.objects.filter(staff=org["agent"]).count() == 2  # nothing saved
    assert manager.put(f"/api/v1/staff/{org['agent2'].pk}/week/", {"mon": "9-5"}, format="json").status_code == 403
    stranger = StaffFactory(store=other_store, role=Role.INTERNET_AGENT)
    assert manager.put(f"/api/v1/staff/{stranger.pk}/week/", {"mon": "9-5"}, format="json").status_code == 404

    today = timezone.localdate()
    off_url = f"/api/v1/staff/{org['agent'].pk}/time-off/"
    made = manager.post(off_url, {"first_day": str(today), "reason": "Training"}, format="json")
    assert made.status_code == 201 and made.json()["last_day"] == str(today)
    backwards = manager.post(off_url, {"first_day": str(today), "last_day": str(today - dt.timedelta(days=3))}, format="json")
    assert backwards.status_code == 400 and "before the first day" in backwards.json()["last_day"][0]
    agent = api_for(org["agent"])
    assert [o["reason"] for o in agent.get(off_url).json()] == ["Training"]  # colleagues may look
    assert agent.post(off_url, {"first_day": str(today)}, format="json").status_code == 403
    assert agent.delete(f"{off_url}{made.json()['id']}/").status_code == 403
    assert manager.delete(f"{off_url}{made.json()['id']}/").status_code == 204
    assert not TimeOff.objects.filter(staff=org["agent"]).exists()


# --- the schedule history (the sales board's past targets) -----------------------------------


def _form_data(form) -> dict:
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        key = form.add_prefix(name)
        data[key] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    return data


def test_shifts_edited_in_the_admin_keep_the_history(db, client):
    import datetime as dt

    from django.contrib.auth import get_user_model
    from factories import ShiftFactory, StaffFactory

    from org.models import ScheduleVersion

    person = StaffFactory()
    ShiftFactory(staff=person, weekday=0, starts=dt.time(9), ends=dt.time(17))
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client.force_login(root)
    url = f"/admin/org/staff/{person.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = _form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        for form in formset.forms:
            data.update(_form_data(form))
    shift_prefix = next(i.formset.prefix for i in page.context["inline_admin_formsets"] if i.formset.model.__name__ == "Shift")
    data[f"{shift_prefix}-0-starts"] = "18:00:00"
    data[f"{shift_prefix}-0-ends"] = "02:00:00"
    response = client.post(url, data)
    assert response.status_code == 302, getattr(response, "context", None) and response.context["errors"]
    versions = list(ScheduleVersion.objects.filter(staff=person).order_by("effective_from"))
    assert [v.effective_from for v in versions][0] == ScheduleVersion.BEGINNING
    assert versions[0].as_shifts() == [(0, dt.time(9), dt.time(17))]
    assert versions[-1].as_shifts() == [(0, dt.time(18), dt.time(2))]
