"""Browser pages through Django's test client: login, lead list and detail, logging contacts,
status changes, entering a lead, the public web form, the health check and query counts."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import itertools
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from factories import ContactEventFactory, CustomerEmailFactory, CustomerPhoneFactory, LeadFactory, StaffFactory

from leads.models import ContactEvent, EvidenceLevel, IntakeChannel, Lead, LeadStatus, LeadVehicle, RejectedIntake

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


@pytest.fixture
def browser_for(client):
    def log_in(staff):
        client.force_login(staff.user)
        return client

    return log_in


@pytest.fixture
def agent_lead(org, lead_for):
    lead = lead_for(owner=org["agent"], provider="CarGurus", comments="Does it have heated seats?")
    lead.customer.first_name, lead.customer.last_name = "Maria", "Lopez"
    lead.customer.save()
    CustomerPhoneFactory(customer=lead.customer, number="+13125550142")
    CustomerEmailFactory(customer=lead.customer, email="maria@example.com")
    LeadVehicle.objects.create(lead=lead, condition="used", year=2021, make="Toyota", model="RAV4", stock_number="U1234")
    return lead


def text_of(response) -> str:
    return response.content.decode()


# --- Login ----------------------------------------------------------------------------------------


def test_login_page_and_login(client, org):
    page = client.get("/login/")
    assert page.status_code == 200
    assert 'name="username"' in text_of(page) and 'name="password"' in text_of(page)

    refused = client.post("/login/", {"username": "agent", "password": "wrong"})
    assert refused.status_code == 200 and "errorlist" in text_of(refused)

    response = client.post("/login/", {"username": "agent", "password": "pw-for-tests-1"})
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").url == "/today/"  # a salesperson's day starts on Today
    assert client.get("/leads/").status_code == 200


def test_pages_need_login(client, agent_lead):
    for url in ["/leads/", f"/leads/{agent_lead.pk}/", "/leads/new/"]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


# --- Lead list ------------------------------------------------------------------------------------


def listed(response) -> set[int]:
    assert response.status_code == 200
    return {lead.pk for lead in response.context["page"]}


@pytest.fixture
def list_leads(org, lead_for, agent_lead):
    return {
        "maria": agent_lead,
        "pool": lead_for(in_claim_pool=True, source_type="oem", status=LeadStatus.CONTACTED),
        "other_agent": lead_for(owner=org["agent2"]),
    }


@pytest.mark.parametrize(
    ("role", "query", "expected"),
    [
        ("agent", "", {"maria", "pool"}),
        ("director", "", {"maria", "pool", "other_agent"}),
        ("director", "?q=lopez", {"maria"}),
        ("director", "?q=312-555-0142", {"maria"}),
        ("director", "?q=maria@example.com", {"maria"}),
        ("director", "?status=contacted", {"pool"}),
        ("director", "?source_type=oem", {"pool"}),
        ("director", "?owner=none", {"pool"}),
        ("agent", "?owner=me", {"maria"}),
        ("director", "?q=lopez&status=contacted", set()),
    ],
)
def test_lead_list_search_and_filters(browser_for, org, list_leads, role, query, expected):
    response = browser_for(org[role]).get(f"/leads/{query}")
    assert listed(response) == {list_leads[name].pk for name in expected}


def test_lead_list_shows_customer_vehicle_and_owner(browser_for, org, list_leads):
    html = text_of(browser_for(org["agent"]).get("/leads/"))
    assert "Maria Lopez" in html and "2021 Toyota RAV4" in html
    assert f'href="/leads/{list_leads["maria"].pk}/"' in html
    assert f'href="/leads/{list_leads["other_agent"].pk}/"' not in html


def test_lead_list_pages(browser_for, org, lead_for, monkeypatch):
    monkeypatch.setattr("leads.views.PAGE_SIZE", 2)
    leads = [lead_for(received_at=timezone.now() - dt.timedelta(minutes=i)) for i in range(3)]
    client = browser_for(org["director"])
    first = client.get("/leads/")
    assert [lead.pk for lead in first.context["page"]] == [leads[0].pk, leads[1].pk]
    assert "page=2" in text_of(first)
    assert [lead.pk for lead in client.get("/leads/?page=2").context["page"]] == [leads[2].pk]
    assert client.get("/leads/?page=abc").status_code == 404


# --- Lead detail, log, status --------------------------------------------------------------------


def test_lead_detail_shows_customer_vehicles_and_timeline(browser_for, org, agent_lead):
    ContactEventFactory(lead=agent_lead, staff=org["agent"], body="Sent the window sticker.")
    response = browser_for(org["agent"]).get(f"/leads/{agent_lead.pk}/")
    assert response.status_code == 200
    html = text_of(response)
    for expected in ["Maria", "Lopez", "(312) 555-0142", "maria@example.com", "2021 Toyota RAV4", "Stock U1234",
                     "Does it have heated seats?", "Sent the window sticker.", "Mark contacted"]:
        assert expected in html


def log_note(client, lead, body: str, *, htmx: bool = False):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/leads/{lead.pk}/log/", {"channel": "note", "body": body}, headers=headers)


def test_log_note_plain_post_redirects_to_the_timeline(browser_for, org, agent_lead):
    client = browser_for(org["agent"])
    response = log_note(client, agent_lead, "Customer asked for a Saturday test drive.")
    assert response.status_code == 302 and response.url == f"/leads/{agent_lead.pk}/"
    event = ContactEvent.objects.get()
    assert (event.lead, event.staff, event.evidence_level) == (agent_lead, org["agent"], EvidenceLevel.SELF_REPORTED)
    assert "Customer asked for a Saturday test drive." in text_of(client.get(response.url))


def test_log_note_with_htmx_returns_the_timeline_block(browser_for, org, agent_lead):
    response = log_note(browser_for(org["agent"]), agent_lead, "Texted from my cell.", htmx=True)
    assert response.status_code == 200
    html = text_of(response)
    assert html.lstrip().startswith('<div id="timeline-block"') and "<html" not in html
    assert "Texted from my cell." in html
    assert ContactEvent.objects.get().evidence_level == EvidenceLevel.SELF_REPORTED


def test_log_call_from_personal_phone_is_flagged(browser_for, org, agent_lead):
    client = browser_for(org["agent"])
    data = {"channel": "call", "outcome": "connected", "outside_company_channels": "on"}
    response = client.post(f"/leads/{agent_lead.pk}/log/", data)
    assert response.status_code == 302
    event = ContactEvent.objects.get()
    assert (event.channel, event.outcome, event.outside_company_channels) == ("call", "connected", True)
    assert "personal phone" in text_of(client.get(response.url))


def test_invalid_log_shows_the_error_and_stores_nothing(browser_for, org, agent_lead):
    response = log_note(browser_for(org["agent"]), agent_lead, "   ")
    assert response.status_code == 422
    assert "A note needs some text." in text_of(response)
    assert "Maria" in text_of(response)  # the whole page again, with the form error
    assert not ContactEvent.objects.exists()


HTMX_DEFAULT_RESPONSE_HANDLING = [
    {"code": "204", "swap": False}, {"code": "[23]..", "swap": True}, {"code": "[45]..", "swap": False, "error": True},
]


def htmx_swaps(page_html: str, status: int) -> bool:
    """Whether htmx 2, configured by the page's htmx-config meta tag (else its defaults), swaps an
    answer with this status into the page, as its responseHandling rules decide."""
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']*)'", page_html)
    config = json.loads(html_lib.unescape(meta.group(1))) if meta else {}
    for rule in config.get("responseHandling", HTMX_DEFAULT_RESPONSE_HANDLING):
        if re.search(rule["code"], str(status)):
            return bool(rule.get("swap"))
    return False


def test_invalid_log_with_htmx_shows_the_error_in_place_and_stores_nothing(browser_for, org, agent_lead):
    client = browser_for(org["agent"])
    response = log_note(client, agent_lead, "", htmx=True)
    assert response.status_code < 500
    assert "A note needs some text." in text_of(response)
    assert text_of(response).lstrip().startswith('<div id="timeline-block"')
    assert not ContactEvent.objects.exists()
    # htmx 2 leaves 4xx answers unswapped unless configured: the error must actually reach the page.
    assert htmx_swaps(text_of(client.get(f"/leads/{agent_lead.pk}/")), response.status_code)


def test_status_change_from_the_detail_page(browser_for, org, agent_lead):
    client = browser_for(org["agent"])
    response = client.post(f"/leads/{agent_lead.pk}/status/", {"status": "contacted"}, follow=True)
    assert response.status_code == 200 and "Status changed to contacted." in text_of(response)
    agent_lead.refresh_from_db()
    assert agent_lead.status == LeadStatus.CONTACTED

    refused = client.post(f"/leads/{agent_lead.pk}/status/", {"status": "sold"}, follow=True)
    assert refused.status_code == 200 and "This lead is contacted now" in text_of(refused)
    agent_lead.refresh_from_db()
    assert agent_lead.status == LeadStatus.CONTACTED


@pytest.mark.parametrize("role", ["agent", "director", "admin"])
@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [("get", "", None), ("post", "log/", {"channel": "note", "body": "hi"}), ("post", "status/", {"status": "lost"})],
)
def test_another_stores_lead_pages_are_404(browser_for, org, other_store, role, method, suffix, data):
    lead = LeadFactory(store=other_store, owner=StaffFactory(store=other_store))
    response = getattr(browser_for(org[role]), method)(f"/leads/{lead.pk}/{suffix}", data)
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW and not ContactEvent.objects.exists()


def test_another_agents_lead_is_404_to_an_agent(browser_for, org, lead_for):
    lead = lead_for(owner=org["agent2"])
    assert browser_for(org["agent"]).get(f"/leads/{lead.pk}/").status_code == 404


# --- New lead -------------------------------------------------------------------------------------


def new_lead(client, **fields):
    data = {"source_type": "walk_in", "first_name": "Sam", "last_name": "Carter", "phone": "(312) 555-0177",
            "make": "Ford", "model": "F-150", "year": "2024", "condition": "new"}
    data.update(fields)
    return client.post("/leads/new/", data)


@pytest.mark.parametrize(("role", "owned"), [("retail", True), ("agent", True), ("director", False), ("receptionist", False)])
def test_new_lead_form_creates_a_lead(browser_for, org, store, role, owned):
    client = browser_for(org[role])
    assert client.get("/leads/new/").status_code == 200

    response = new_lead(client)

    lead = Lead.objects.get()
    assert (lead.store, lead.source_type, lead.intake_channel) == (store, "walk_in", IntakeChannel.MANUAL)
    assert lead.created_by == org[role]
    assert lead.owner == (org[role] if owned else None)
    assert str(lead.vehicles.get()) == "2024 Ford F-150"
    assert response.status_code == 302
    assert response.url in (f"/leads/{lead.pk}/", "/leads/")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"phone": "not a phone"}, "is not a phone number"),
        ({"phone": "555-0100"}, "is not a valid phone number"),
        ({"email": "sam@", "phone": ""}, "is not an email address"),
        ({"first_name": "", "last_name": "", "phone": ""}, "Give at least a name"),
    ],
)
def test_new_lead_form_shows_errors(browser_for, org, fields, error):
    response = new_lead(browser_for(org["retail"]), **fields)
    assert response.status_code == 200
    assert error in text_of(response) and "errorlist" in text_of(response)
    assert not Lead.objects.exists()


# --- Public web form ------------------------------------------------------------------------------


def web_form_post(client, slug: str = "north-motors", **fields):
    data = {"first_name": "Dana", "last_name": "Wu", "phone": "(312) 555-0188", "email": "dana@example.com",
            "vehicle": "2024 Civic", "comments": "Lease offers?", "website": ""}
    data.update(fields)
    return client.post(f"/f/{slug}/", data)


def test_web_form_page_is_public(client, store):
    response = client.get("/f/north-motors/")
    assert response.status_code == 200 and "Contact North Motors" in text_of(response)


def test_web_form_creates_a_dealer_website_lead(client, store):
    response = web_form_post(client)
    assert response.status_code == 200
    assert "leads/web_form_thanks.html" in [t.name for t in response.templates]
    lead = Lead.objects.get()
    assert (lead.store, lead.source_type, lead.intake_channel) == (store, "dealer_website", IntakeChannel.WEB_FORM)
    assert lead.customer.full_name == "Dana Wu"
    assert str(lead.vehicles.get()) == "2024 Civic" and lead.comments == "Lease offers?"


def test_web_form_honeypot_thanks_the_bot_and_stores_only_a_rejection(client, store):
    response = web_form_post(client, website="http://spam.example")
    assert response.status_code == 200
    assert "leads/web_form_thanks.html" in [t.name for t in response.templates]
    assert not Lead.objects.exists()
    rejected = RejectedIntake.objects.get()
    assert (rejected.store, rejected.channel, rejected.reason) == (store, IntakeChannel.WEB_FORM, "honeypot")


@pytest.mark.parametrize(
    ("fields", "error"),
    [({"phone": "", "email": ""}, "Give a phone number or an email address"), ({"phone": "12"}, "is not a")],
)
def test_web_form_errors_are_shown(client, store, fields, error):
    response = web_form_post(client, **fields)
    assert response.status_code == 400 and error in text_of(response)
    assert not Lead.objects.exists()


def test_web_form_rate_limit(client, store, settings):
    settings.WEB_FORM_RATE = "2/m"
    assert [web_form_post(client, phone=f"(312) 555-01{i}0").status_code for i in range(2)] == [200, 200]

    response = web_form_post(client, phone="(312) 555-0190")

    assert response.status_code == 429
    assert "Too many submissions" in text_of(response)
    assert Lead.objects.count() == 2
    other_ip = client.post("/f/north-motors/", {"first_name": "A", "last_name": "B", "email": "a@example.com"},
                           REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 200 and Lead.objects.count() == 3


def test_web_form_of_unknown_or_disabled_store_is_404(client, store):
    assert client.get("/f/no-such-store/").status_code == 404
    store.web_form_enabled = False
    store.save()
    assert web_form_post(client).status_code == 404
    assert not Lead.objects.exists()


# --- Health check ---------------------------------------------------------------------------------


def test_healthz(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok"}


# --- Query counts ---------------------------------------------------------------------------------


def add_leads(store, org, count: int) -> None:
    """Leads of every kind of owner, each with a vehicle of interest and a trade-in."""
    owners = itertools.cycle([org["agent"], org["agent2"], org["retail"], None])
    leads = [LeadFactory(store=store, owner=next(owners)) for _ in range(count)]
    LeadVehicle.objects.bulk_create(
        LeadVehicle(lead=lead, make=make, model="Base", interest=interest)
        for lead in leads
        for make, interest in [("Toyota", "buy"), ("Honda", "trade-in")]
    )


def test_browser_lead_list_query_count_does_not_grow_with_leads(browser_for, org, store):
    client = browser_for(org["director"])
    counts = []
    for more in (5, 35):
        add_leads(store, org, more)
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/leads/")
        counts.append((len(captured), len(response.context["page"])))
    (few, shown_few), (many, shown_many) = counts
    assert (shown_few, shown_many) == (5, 40)
    assert many == few


def test_lead_page_to_do_lists_only_open_tasks_not_the_cadence_a_two_way_call_canceled(browser_for, org, agent_lead):
    """Seed 002 follow-up: after a two-way call ends the cadence, its canceled tasks leave the
    lead page's To do; the keep-in-touch task planned by the call stays."""
    from followup import services as followup
    from leads import services
    from leads.models import Task, TaskKind

    followup.lead_owner_changed(lead=agent_lead, owner_id=org["agent"].pk)
    cadence = list(Task.objects.filter(lead=agent_lead, kind=TaskKind.CADENCE))
    assert cadence and all(task.is_open for task in cadence)
    services.contact_event_log(staff=org["agent"], lead=agent_lead, channel="call", outcome="connected",
                               spoke_with_customer=True, talk_minutes=6, body="Talked about the RAV4")
    canceled = Task.objects.filter(lead=agent_lead, kind=TaskKind.CADENCE, canceled_at__isnull=False)
    assert canceled.count() >= 1
    done = Task.objects.filter(lead=agent_lead, completed_at__isnull=False)
    still_open = [t for t in Task.objects.filter(lead=agent_lead) if t.is_open]

    page = browser_for(org["agent"]).get(f"/leads/{agent_lead.pk}/")
    assert page.status_code == 200
    shown = {task.pk for task in page.context["open_tasks"]}
    assert shown == {task.pk for task in still_open}
    assert not shown & set(canceled.values_list("pk", flat=True))
    assert not shown & set(done.values_list("pk", flat=True))
    card = re.search(r'id="open-tasks">(.*?)</ul>', text_of(page), re.S)
    assert "New-lead cadence" not in (card.group(1) if card else "")


def test_lead_page_to_do_flags_a_task_past_due_and_not_one_still_to_come(browser_for, org, agent_lead):
    """The To do card's "overdue" flag: it compared the timeuntil filter's output with
    "0 minutes", but Django writes "0\xa0minutes" (a non-breaking space), so no task was ever
    flagged. A task due an hour ago is overdue; one due in an hour is not."""
    from leads.models import Task, TaskKind

    now = timezone.now()
    for hours, reason in [(-1, "Past due"), (1, "Still to come")]:
        Task.objects.create(store=agent_lead.store, customer=agent_lead.customer, lead=agent_lead, staff=org["agent"],
                            kind=TaskKind.FOLLOW_UP, due_at=now + dt.timedelta(hours=hours), reason=reason)
    page = browser_for(org["agent"]).get(f"/leads/{agent_lead.pk}/")
    card = re.search(r'id="open-tasks">(.*?)</ul>', page.content.decode(), re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", card, re.S)
    assert len(items) == 2
    past, coming = sorted(items, key=lambda item: "Still to come" in item)
    assert "Past due" in past and 'class="pill flag">overdue' in past
    assert "Still to come" in coming and "overdue" not in coming
