"""The follow-up cadence page: the grid of days and channels, save / reset / add and remove rows,
refusals as form errors with nothing saved, who may do what, the plain-language summary and the
preview of when a lead (and a walk-in) would get each task."""

from __future__ import annotations

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from factories import LeadFactory, StoreFactory, UserFactory

from dealcoverage.presets import preset
from dealcoverage.services import POLICY_FIELDS, policy_version_create
from followup import cadence as timing
from followup import services as followup
from leads.models import Cadence, SourceType
from org.models import Role

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

PAGE = reverse("leads_cadence:edit")
PREVIEW = reverse("leads_cadence:preview")
CHICAGO = ZoneInfo("America/Chicago")
DEFAULT_SENTENCE = ("Call, text and email every day for 5 days until a two-way contact, "
                    "then a keep-in-touch task every 48 h.")


def text(response) -> str:
    """The page as a person reads it: tags removed, entities decoded, whitespace collapsed."""
    body = response.content.decode().replace("<wbr>", "")  # a line-break hint, not a space
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def client_for(client, staff):
    client.force_login(staff.user)
    return client


def grid(*rows, every="", margin=24, store=None, **extra) -> dict:
    """POST data for the grid: rows of (page day, "call text email")."""
    data = {"keep_in_touch_every_hours": every, "keep_in_touch_margin_hours": margin, **extra}
    if store is not None:
        data["store"] = store.pk
    for index, (day, channels) in enumerate(rows):
        data[f"day_{index}"] = day
        for channel in channels.split():
            data[f"{channel}_{index}"] = "1"
    return data


def saved_steps(store) -> list[tuple[int, str]]:
    return sorted(followup.cadence_steps(store))


def internet_policy(store, name="internet-72h"):
    params = {k: v for k, v in preset(name).to_dict().items() if k in POLICY_FIELDS}
    return policy_version_create(store=store, role=Role.INTERNET_AGENT, created_by=None,
                                 effective_from=timezone.now() - dt.timedelta(days=30), **params)


# --- reading ----------------------------------------------------------------------------------------


def test_a_store_without_its_own_cadence_shows_the_seed_001_default_as_a_grid(client, org):
    response = client_for(client, org["director"]).get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    page = text(response)
    assert DEFAULT_SENTENCE in page
    assert "The default (seed 001)" in page
    assert [int(d) for d in re.findall(r'name="day_\d+" id="day_\d+" value="(\d+)"', body)] == [1, 2, 3, 4, 5]
    assert len(re.findall(r'name="(?:call|text|email)_\d+"[^>]* checked', body)) == 15
    assert "arrival day" in page and "Save cadence" in page and "Reset to the default (seed 001)" in page
    # No internet-agent coverage policy: a blank spacing means the 48 h default.
    assert "Blank: every 48 h now (the default: no internet-agent coverage policy is in force)." in page


def test_the_blank_spacing_shows_the_coverage_window_minus_the_margin(client, org, store):
    internet_policy(store)  # 72 h window
    followup.cadence_save(store=store, steps=[(0, "call")], keep_in_touch_every_hours=60, keep_in_touch_margin_hours=24)
    page = text(client_for(client, org["director"]).get(PAGE))
    assert "Call on the day the lead arrives until a two-way contact, then a keep-in-touch task every 60 h." in page
    # Saved as 60 h, but what a blank would give is shown next to the field.
    assert "Blank: every 48 h now (the internet agents' 72 h coverage window minus the 24 h margin)." in page
    assert Cadence.objects.get(store=store).keep_in_touch_every_hours == 60  # the what-if left nothing behind


# --- saving ----------------------------------------------------------------------------------------


def test_saving_a_grid_replaces_the_steps_and_says_it_in_one_sentence(client, org, store):
    data = grid(("1", "call text email"), ("2", "call text"), ("4", "call"), ("6", ""), store=store)
    response = client_for(client, org["director"]).post(PAGE, data)
    assert response.status_code == 302 and response["Location"] == f"{PAGE}?store={store.pk}"
    assert saved_steps(store) == [(0, "call"), (0, "email"), (0, "text"), (1, "call"), (1, "text"), (3, "call")]
    cadence = Cadence.objects.get(store=store)
    assert (cadence.keep_in_touch_every_hours, cadence.keep_in_touch_margin_hours) == (None, 24)
    page = text(client.get(response["Location"]))
    assert ("Call, text and email on the day the lead arrives; call and text on day 2; call on day 4 "
            "until a two-way contact, then a keep-in-touch task every 48 h.") in page
    assert "Cadence saved" in page
    assert "The default (seed 001)" not in page


def test_spacing_and_margin_are_saved(client, org, store):
    data = grid(*[(str(d), "call") for d in (1, 2, 3, 5, 8)], every=36, margin=12, store=store)
    assert client_for(client, org["director"]).post(PAGE, data).status_code == 302
    cadence = Cadence.objects.get(store=store)
    assert (cadence.keep_in_touch_every_hours, cadence.keep_in_touch_margin_hours) == (36, 12)
    assert text(client.get(PAGE)).count("Call on days 1–3, 5 and 8 until a two-way contact, then a keep-in-touch "
                                        "task every 36 h.") == 1


def test_a_grid_with_nothing_ticked_is_refused_and_nothing_changes(client, org, store):
    followup.cadence_save(store=store, steps=[(0, "call"), (2, "text")])
    response = client_for(client, org["director"]).post(PAGE, grid(("1", ""), ("2", ""), store=store))
    assert response.status_code == 422
    page = text(response)
    assert "Not saved: fix what is marked below." in page
    assert "A cadence needs at least one step (a day and a channel)." in page
    assert saved_steps(store) == [(0, "call"), (2, "text")]


def test_a_spacing_not_longer_than_the_margin_is_refused_on_its_field(client, org, store):
    response = client_for(client, org["director"]).post(PAGE, grid(("1", "call"), every=24, margin=24, store=store))
    assert response.status_code == 422
    assert re.search(r'has-error">\s*<label for="id_keep_in_touch_every_hours"', response.content.decode())
    assert "The spacing must be longer than the margin." in text(response)
    assert not Cadence.objects.exists()


@pytest.mark.parametrize(("day", "message"), [
    ("0", "Days run from Day 1 (the day the lead arrives) to Day 61 (60 days later)."),
    ("62", "Days run from Day 1 (the day the lead arrives) to Day 61 (60 days later)."),
    ("soon", "Give the day as a number."),
    ("1", "Day 1 is in the grid twice: tick its channels on one row."),
])
def test_bad_days_are_marked_on_their_row_and_nothing_is_saved(client, org, store, day, message):
    response = client_for(client, org["director"]).post(PAGE, grid(("1", "call"), (day, "text"), store=store))
    assert response.status_code == 422
    assert message in text(response)
    assert 'class="has-error" id="row-1"' in response.content.decode()
    assert not Cadence.objects.exists()


def test_the_last_day_a_cadence_reaches_is_day_61(client, org, store):
    response = client_for(client, org["director"]).post(PAGE, grid(("1", "call"), ("61", "email"), store=store))
    assert response.status_code == 302
    assert saved_steps(store) == [(0, "call"), (60, "email")]


def test_add_and_remove_rows_rerender_the_grid_without_saving(client, org, store):
    director = client_for(client, org["director"])
    data = grid(("1", "call text email"), ("2", "call text"), store=store, action="add")
    response = director.post(PAGE, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert re.findall(r'name="day_(\d+)" id="day_\d+" value="(\d+)"', body) == [("0", "1"), ("1", "2"), ("2", "3")]
    # The new row copies the last row's channels.
    assert 'name="call_2" id="call_2" value="1" checked' in body and 'name="text_2" id="text_2" value="1" checked' in body
    assert 'name="email_2" id="email_2" value="1">' in body
    data = grid(("1", "call"), ("2", "text"), ("3", "email"), store=store, remove="1")
    body = director.post(PAGE, data).content.decode()
    assert re.findall(r'name="day_(\d+)" id="day_\d+" value="(\d+)"', body) == [("0", "1"), ("2", "3")]
    assert not Cadence.objects.exists()


def test_no_row_is_added_after_day_61(client, org, store):
    response = client_for(client, org["director"]).post(PAGE, grid(("61", "call"), store=store, action="add"))
    assert "Day 61 is the last day a cadence can reach." in text(response)
    assert len(re.findall(r'name="day_\d+"', response.content.decode())) == 1


def test_reset_puts_back_the_seed_001_default(client, org, store):
    followup.cadence_save(store=store, steps=[(0, "call")], keep_in_touch_every_hours=96, keep_in_touch_margin_hours=30)
    response = client_for(client, org["director"]).post(PAGE, {"store": store.pk, "action": "reset"})
    assert response.status_code == 302
    assert saved_steps(store) == sorted(timing.DEFAULT_STEPS)
    cadence = Cadence.objects.get(store=store)
    assert (cadence.keep_in_touch_every_hours, cadence.keep_in_touch_margin_hours) == (None, 24)
    assert cadence.name == "New lead: call, text and email daily for 5 days"
    assert DEFAULT_SENTENCE in text(client.get(PAGE))


# --- who may do what ----------------------------------------------------------------------------------


def test_a_sales_manager_reads_it_but_cannot_change_it(client, org, store):
    manager = client_for(client, org["manager"])
    response = manager.get(PAGE)
    assert response.status_code == 200
    page, body = text(response), response.content.decode()
    assert DEFAULT_SENTENCE in page and "the internet director changes it" in page
    assert "Save cadence" not in page and 'id="cadence-form"' not in body
    assert re.search(r'name="day_0" id="day_0" value="1" min="1" max="61" inputmode="numeric" class="day-input" disabled', body)
    assert manager.post(PAGE, grid(("1", "call"), store=store)).status_code == 403
    assert manager.post(PAGE, {"store": store.pk, "action": "reset"}).status_code == 403
    assert not Cadence.objects.exists()


@pytest.mark.parametrize("role", ["agent", "retail", "receptionist"])
def test_salespeople_and_the_receptionist_get_403(client, org, store, role):
    person = client_for(client, org[role])
    assert person.get(PAGE).status_code == 403
    assert person.post(PAGE, grid(("1", "call"), store=store)).status_code == 403
    assert person.post(PREVIEW, {"store": store.pk}).status_code == 403
    assert not Cadence.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_group_admin_picks_the_store_and_another_groups_store_is_404(client, org, store, other_store):
    sister = StoreFactory(group=store.group, name="Sister Motors", slug="sister-motors")
    admin = client_for(client, org["admin"])
    page = text(admin.get(f"{PAGE}?store={sister.pk}"))
    assert "Follow-up cadence Sister Motors" in page and "North Motors" in page  # the store picker
    assert admin.post(PAGE, grid(("1", "text"), store=sister)).status_code == 302
    assert saved_steps(sister) == [(0, "text")] and not Cadence.objects.filter(store=store).exists()
    assert admin.get(f"{PAGE}?store={other_store.pk}").status_code == 404
    assert admin.post(PAGE, grid(("1", "text"), store=other_store)).status_code == 404
    assert admin.get(f"{PAGE}?store=abc").status_code == 404
    # A director of North Motors does not manage its sister store.
    assert client_for(client, org["director"]).get(f"{PAGE}?store={sister.pk}").status_code == 404


# --- the preview ------------------------------------------------------------------------------------


def test_the_preview_lists_each_day_at_the_time_the_lead_arrived(client, org, store):
    page = text(client_for(client, org["director"]).get(f"{PAGE}?at=2026-11-24T14:37"))  # a Tuesday
    assert ("A lead arriving Tue Nov 24, 2:37 PM gets: Tue Nov 24, 2:37 PM call/text/email (now), "
            "Wed Nov 25, 2:37 PM call/text/email, Thu Nov 26, 2:37 PM call/text/email, …") in page
    # The table: day, this lead's time, a walk-in's (no walk-ins yet: 11:00 AM), the tasks.
    assert "Day 1 Tue Nov 24, 2:37 PM now Tue Nov 24, 2:37 PM call/text/email" in page
    assert "Day 2 Wed Nov 25, 2:37 PM Wed Nov 25, 11:00 AM call/text/email" in page
    assert "Day 5 Sat Nov 28, 2:37 PM Sat Nov 28, 11:00 AM call/text/email" in page
    assert "A walk-in's tasks fall at 11:00 AM" in page


def test_the_preview_keeps_tasks_inside_store_hours(client, org, store):
    # Store hours: weekdays 9-8, Saturday 9-6, Sunday closed.
    followup.cadence_save(store=store, steps=[(0, "call"), (1, "text"), (2, "email")])
    director = client_for(client, org["director"])
    # Saturday 7:30 PM, closed: Day 1 waits for Monday's opening; Day 2 is a Sunday, so Monday at
    # the lead's time of day; Day 3 is that Monday.
    page = text(director.get(f"{PAGE}?at=2026-11-28T19:30"))
    assert "Day 1 Mon Nov 30, 9:00 AM at the next opening Mon Nov 30, 9:00 AM call" in page
    assert "Day 2 Mon Nov 30, 7:30 PM the store is closed that day: the next open day Mon Nov 30, 11:00 AM text" in page
    assert "Day 3 Mon Nov 30, 7:30 PM Mon Nov 30, 11:00 AM email" in page
    # Friday 7:45 PM: Saturday closes at 6, so an hour before closing.
    page = text(director.get(f"{PAGE}?at=2026-11-27T19:45"))
    assert "Day 1 Fri Nov 27, 7:45 PM now Fri Nov 27, 7:45 PM call" in page
    assert "Day 2 Sat Nov 28, 5:00 PM moved inside store hours Sat Nov 28, 11:00 AM text" in page


def test_the_preview_shows_the_walk_in_time_from_the_busiest_showroom_hour(client, org, store):
    yesterday = timezone.localtime(timezone.now(), CHICAGO).date() - dt.timedelta(days=1)
    for hour in (16, 16, 10):
        LeadFactory(store=store, source_type=SourceType.WALK_IN,
                    received_at=dt.datetime.combine(yesterday, dt.time(hour, 20), tzinfo=CHICAGO))
    page = text(client_for(client, org["director"]).get(f"{PAGE}?at=2026-11-24T14:37"))
    assert "Day 2 Wed Nov 25, 2:37 PM Wed Nov 25, 4:00 PM call/text/email" in page
    assert "A walk-in's tasks fall at 4:00 PM" in page


def test_the_live_preview_follows_the_unsaved_grid_and_saves_nothing(client, org, store):
    internet_policy(store)
    director = client_for(client, org["director"])
    data = grid(("1", "call"), ("3", "text email"), every="", margin=30, store=store, at="2026-11-24T10:05")
    response = director.post(PREVIEW, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = text(response)
    assert "<html" not in response.content.decode()  # the side panel only
    # 72 h window minus a 30 h margin.
    assert ("Call on the day the lead arrives; text and email on day 3 until a two-way contact, "
            "then a keep-in-touch task every 42 h.") in page
    assert "A lead arriving Tue Nov 24, 10:05 AM gets: Tue Nov 24, 10:05 AM call (now), Thu Nov 26, 10:05 AM text/email" in page
    assert not Cadence.objects.exists()


def test_the_live_preview_explains_a_refusal(client, org, store):
    director = client_for(client, org["director"])
    response = director.post(PREVIEW, grid(("1", "call"), every=10, margin=24, store=store), HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "The spacing must be longer than the margin." in text(response)
    response = director.post(PREVIEW, grid(("1", ""), store=store), HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "A cadence needs at least one step" in text(response)
    response = director.post(PREVIEW, grid(("99", "call"), store=store), HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "Fix the grid to see the summary and the preview." in text(response)
    assert not Cadence.objects.exists()


def test_a_manager_previews_the_saved_cadence(client, org, store):
    followup.cadence_save(store=store, steps=[(0, "call"), (1, "email")], keep_in_touch_every_hours=72)
    manager = client_for(client, org["manager"])
    # A manager's post carries no grid of their own: the saved cadence is previewed.
    response = manager.post(PREVIEW, {"store": store.pk, "at": "2026-11-24T14:37", "day_0": "1", "text_0": "1"},
                            HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = text(response)
    assert "Call on the day the lead arrives; email on day 2 until a two-way contact, then a keep-in-touch task every 72 h." in page
    assert "Wed Nov 25, 2:37 PM email" in page
    assert saved_steps(store) == [(0, "call"), (1, "email")]


def test_an_unreadable_preview_time_is_marked_and_now_is_used(client, org, store):
    response = client_for(client, org["director"]).get(f"{PAGE}?at=tomorrow")
    assert response.status_code == 200
    page = text(response)
    assert "Enter a valid date/time." in page
    now = timezone.localtime(timezone.now(), CHICAGO)
    assert f"A lead arriving {now:%a %b} {now.day}," in page


def test_the_page_is_in_the_nav_for_directors_only(client, org):
    assert f'href="{PAGE}"' in client_for(client, org["director"]).get(PAGE).content.decode()
    assert f'href="{PAGE}"' not in client_for(client, org["manager"]).get(PAGE).content.decode()


def test_a_superuser_without_staff_sees_the_first_store(client, store):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    response = client.get(PAGE)
    assert response.status_code == 200 and "Follow-up cadence North Motors" in text(response)
    assert "Save cadence" in text(response)
