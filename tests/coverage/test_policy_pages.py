"""Coverage policy pages: the versions per role, a new version from a preset, two versions compared."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from dealcoverage.models import CoveragePolicy
from dealcoverage.presets import preset
from org.models import Role
from tests.coverage.test_deals import install

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def text(html: str) -> str:
    return " ".join(strip_tags(html).split())


def client_for(staff) -> Client:
    client = Client()
    client.force_login(staff.user)
    return client


def local_input(moment: dt.datetime, store) -> str:
    return timezone.localtime(moment, store.tz).strftime("%Y-%m-%dT%H:%M")


def form_data(preset_name: str, store, effective_from: dt.datetime, **changes) -> dict:
    params = preset(preset_name).to_dict()
    data = {
        "store": store.pk, "role": params["role"], "preset": preset_name, "name": params["name"], "note": "",
        "keeps_alive": params["keeps_alive"], "window_hours": params["window_hours"],
        "min_evidence": params["min_evidence"], "share_when_other_closes": params["share_when_other_closes"],
        "min_talk_seconds": params["min_talk_seconds"], "effective_from": local_input(effective_from, store),
    }
    if params["initial_two_way_required"]:
        data["initial_two_way_required"] = "on"
    if params["pause_on_days_off"]:
        data["pause_on_days_off"] = "on"
    data.update(changes)
    return data


@pytest.fixture
def history(store):
    now = timezone.now().replace(second=0, microsecond=0)
    old = install(store, "internet-new-7d", Role.INTERNET_AGENT, now - dt.timedelta(days=200))
    current = install(store, "internet-72h", Role.INTERNET_AGENT, now - dt.timedelta(days=20))
    install(store, "retail-3d", Role.RETAIL, now - dt.timedelta(days=200))
    return old, current


def test_the_list_shows_the_version_in_force_and_the_history_in_plain_words(store, org, history):
    old, current = history
    response = client_for(org["director"]).get(reverse("coverage_policies:list"))
    assert response.status_code == 200
    html = response.content.decode()
    row = re.search(rf'<tr class="in-force" data-version="{current.pk}">(.*?)</tr>', html, re.S)
    assert row, "the version in force is highlighted"
    assert (
        "two-way contact required first; only two-way contact keeps it alive; 72 h; verified only; half deal; "
        "window pauses on days off: no" in text(row.group(1))
    )
    assert f'data-version="{old.pk}"' in html and "168 h" in text(html)
    assert f"?a={old.pk}&amp;b={current.pk}" in html


def test_a_director_creates_a_version_from_a_preset_with_an_edit(store, org, history):
    _old, current = history
    moment = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(days=1)
    client = client_for(org["director"])
    # Loading the preset fills the form without saving anything.
    loaded = client.post(reverse("coverage_policies:new"), {"store": store.pk, "preset": "internet-72h", "load_preset": "1"})
    assert loaded.status_code == 200 and 'value="72"' in loaded.content.decode()
    response = client.post(
        reverse("coverage_policies:new"),
        form_data("internet-72h", store, moment, window_hours="120", name="internet-120h", note="Longer window"),
        follow=True,
    )
    assert response.redirect_chain and response.redirect_chain[-1][0].startswith(reverse("coverage_policies:list"))
    created = CoveragePolicy.objects.get(store=store, role=Role.INTERNET_AGENT, version=current.version + 1)
    assert created.window_hours == 120 and created.keeps_alive == "two_way" and created.initial_two_way_required
    assert created.min_evidence == "verified" and not created.pause_on_days_off and created.name == "internet-120h"
    assert created.effective_from == moment and created.created_by == org["director"]
    assert created.note == "Longer window"
    shown = text(response.content.decode())
    assert f"Version {created.version} of Internet agent policy from" in shown


def test_a_duplicate_effective_from_is_a_form_error_and_nothing_is_saved(store, org, history):
    _old, current = history
    before = CoveragePolicy.objects.count()
    response = client_for(org["director"]).post(
        reverse("coverage_policies:new"), form_data("internet-5d", store, current.effective_from)
    )
    assert response.status_code == 200
    assert "effective_from" in response.context["form"].errors
    assert CoveragePolicy.objects.count() == before


def test_a_window_longer_than_a_year_is_a_form_error_as_in_the_judge(store, org, history):
    """The form holds to the same bound as the API (dealcoverage.engine.MAX_WINDOW_HOURS, 8760 h)."""
    before = CoveragePolicy.objects.count()
    response = client_for(org["director"]).post(
        reverse("coverage_policies:new"),
        form_data("internet-72h", store, timezone.now() + dt.timedelta(days=1), window_hours="8761"),
    )
    assert response.status_code == 200
    assert "window_hours" in response.context["form"].errors
    assert CoveragePolicy.objects.count() == before


@pytest.mark.parametrize("who", ["agent", "manager", "retail", "receptionist"])
def test_only_directors_and_admins_see_the_policy_pages(store, org, history, who):
    old, current = history
    client = client_for(org[who])
    assert client.get(reverse("coverage_policies:list")).status_code == 403
    assert client.get(reverse("coverage_policies:new")).status_code == 403
    assert client.get(reverse("coverage_policies:compare"), {"a": old.pk, "b": current.pk}).status_code == 403
    assert client_for(org["admin"]).get(reverse("coverage_policies:list")).status_code == 200


def test_another_stores_version_is_not_found_in_compare(store, other_store, org, history):
    _old, current = history
    foreign = install(other_store, "internet-5d", Role.INTERNET_AGENT, timezone.now() - dt.timedelta(days=3))
    response = client_for(org["director"]).get(reverse("coverage_policies:compare"), {"a": current.pk, "b": foreign.pk})
    assert response.status_code == 404


def test_compare_highlights_exactly_the_differing_fields(store, org, history):
    old, current = history  # internet-new-7d (168 h) vs internet-72h (72 h): the name and the window
    response = client_for(org["director"]).get(reverse("coverage_policies:compare"), {"a": old.pk, "b": current.pk})
    assert response.status_code == 200
    html = response.content.decode()
    highlighted = set(re.findall(r'<tr class="differs" data-field="([a-z_]+)">', html))
    assert highlighted == {"name", "window_hours"}
    assert len(re.findall(r'data-field="', html)) == 8
    assert "2 differences highlighted" in text(html)
