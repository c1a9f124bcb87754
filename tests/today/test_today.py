"""The salesperson's Today page: the queue's four sections in order, scoped to its owner, overdue
flags, tasks that tick off, setting an appointment, and a bounded number of queries.

The tests run on real time. So that "today" has room on both sides of now, the store is put in a
fixed-offset zone where it is about noon (Etc/GMT-N), open 08:00-20:00 every day.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from factories import (
    ContactEventFactory,
    CustomerEmailFactory,
    CustomerPhoneFactory,
    LeadFactory,
    StaffFactory,
)

from distribution.models import LeadRouting, RoutingState
from leads.models import (
    Appointment,
    AppointmentStatus,
    Channel,
    ContactEvent,
    Customer,
    CustomerPhone,
    Direction,
    EvidenceLevel,
    IntakeChannel,
    Lead,
    LeadStatus,
    LeadVehicle,
    Outcome,
    SourceType,
    Task,
    TaskKind,
)
from org.models import Role
from tests.coverage.test_deals import install

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

OPEN_8_TO_8 = {day: [["08:00", "20:00"]] for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}


def noon_zone(now: dt.datetime | None = None) -> str:
    """An IANA fixed-offset zone in which it is now 12:xx."""
    now = now or timezone.now()
    offset = 12 - now.astimezone(dt.UTC).hour  # -11 .. 12
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # Etc/GMT-3 is UTC+3


def local_today(store, hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.now().astimezone(store.tz).date()
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=store.tz)


@pytest.fixture
def noon_store(store):
    store.time_zone = noon_zone()
    store.business_hours = OPEN_8_TO_8
    store.save(update_fields=["time_zone", "business_hours"])
    assert timezone.now().astimezone(ZoneInfo(store.time_zone)).hour == 12
    return store


def client_for(staff) -> Client:
    client = Client()
    client.force_login(staff.user)
    return client


def text(html: str) -> str:
    return " ".join(strip_tags(html).split())


def sections(html: str) -> dict[str, str]:
    """Each section's HTML by its id, checking they come in the required order."""
    ids = ["sec-new", "sec-tasks", "sec-coverage", "sec-appointments"]
    starts = [html.index(f'id="{name}"') for name in ids]
    assert starts == sorted(starts), "sections out of order"
    ends = starts[1:] + [len(html)]
    return {name: html[start:end] for name, start, end in zip(ids, starts, ends, strict=True)}


def coverage_url_of(section: str) -> str:
    """The URL the coverage section's shell loads itself from as soon as the page shows."""
    match = re.search(r'hx-get="([^"]+)" hx-trigger="load" hx-swap="outerHTML"', section)
    assert match, "the coverage section does not load itself"
    return match.group(1).replace("&amp;", "&")


def row_of(html: str, name: str) -> str:
    """The queue row (an <li class="t-row">) that names the customer."""
    chunks = [chunk for chunk in html.split('<li class="t-row')[1:] if name in chunk]
    assert len(chunks) == 1, f"{len(chunks)} rows name {name}"
    return '<li class="t-row' + chunks[0]


def lead_of(store, owner, first: str, last: str = "Shopper", phone: str | None = None, **kwargs) -> Lead:
    lead = LeadFactory(store=store, owner=owner, customer__first_name=first, customer__last_name=last, **kwargs)
    if phone:
        CustomerPhoneFactory(customer=lead.customer, number=phone)
    return lead


def task_for(lead, due_at, channel=Channel.CALL, kind=TaskKind.CADENCE, staff=None, step_day=0, reason="") -> Task:
    return Task.objects.create(
        store=lead.store, customer=lead.customer, lead=lead, staff=staff or lead.owner, kind=kind, channel=channel,
        step_day=step_day if kind == TaskKind.CADENCE else None, due_at=due_at,
        reason=reason or f"{channel or 'follow up'} · day {step_day + 1}",
    )


def talk(lead, staff, when):
    """A recorded, answered 6-minute call: a verified two-way contact."""
    return ContactEventFactory(
        lead=lead, staff=staff, channel="call", direction="outbound", outcome="connected", talk_seconds=372,
        answered_by_person=True, evidence_level=EvidenceLevel.VERIFIED, occurred_at=when,
        call_sid=f"CA{lead.pk:08d}{int(when.timestamp()):024d}",
    )


def new_routed(lead, minutes_ago: int = 12, *, response_due_in: int | None = None) -> LeadRouting:
    now = timezone.now()
    started = now - dt.timedelta(minutes=minutes_ago)
    return LeadRouting.objects.create(
        lead=lead, store=lead.store, state=RoutingState.ASSIGNED, rule_name="Everything", strategy="round_robin",
        assigned_at=started, clock_started_at=started, breach_at=started + dt.timedelta(minutes=20),
        response_due_at=now + dt.timedelta(minutes=response_due_in) if response_due_in else None,
    )


# --- the page -----------------------------------------------------------------------------------------


def test_the_four_sections_come_in_order_each_with_its_customer(noon_store, org):
    agent = org["agent"]
    now = timezone.now()
    install(noon_store, "internet-72h", Role.INTERNET_AGENT, now - dt.timedelta(days=60))
    fresh = lead_of(noon_store, agent, "Nadia", "Newlead", "+13125550101", received_at=now - dt.timedelta(minutes=12))
    new_routed(fresh, 12)
    follow = lead_of(noon_store, agent, "Theo", "Taskman", "+13125550102", status=LeadStatus.CONTACTED,
                     received_at=now - dt.timedelta(days=2))
    task_for(follow, now - dt.timedelta(hours=1), step_day=2)
    covered = lead_of(noon_store, agent, "Cora", "Coverage", "+13125550103", status=LeadStatus.CONTACTED,
                      received_at=now - dt.timedelta(days=4))
    talk(covered, agent, now - dt.timedelta(hours=70))  # 72 h window: ends in 2 h
    Task.objects.filter(lead=covered).delete()  # the keep-in-touch task the call planned (see the next test)
    visit = lead_of(noon_store, agent, "Abe", "Appointment", "+13125550104", status=LeadStatus.APPOINTMENT_SET,
                    received_at=now - dt.timedelta(days=3))
    Appointment.objects.create(store=noon_store, lead=visit, customer=visit.customer, staff=agent,
                               starts_at=local_today(noon_store, 16, 30))

    client = client_for(agent)
    response = client.get(reverse("leads_today:today"))

    assert response.status_code == 200
    parts = sections(response.content.decode())
    assert "Nadia Newlead" in parts["sec-new"] and "Theo Taskman" not in parts["sec-new"]
    assert "Theo Taskman" in parts["sec-tasks"] and "Nadia Newlead" not in parts["sec-tasks"]
    assert "Abe Appointment" in parts["sec-appointments"] and "4:30 PM" in parts["sec-appointments"]
    # The new lead's running clock: since its clock started, late at the store's limit.
    assert re.search(r'class="clock" data-since="[^"]+" data-breach="[^"]+"', parts["sec-new"])
    # Coverage is judged as soon as the page shows, into its place (the third section).
    coverage_url = coverage_url_of(parts["sec-coverage"])
    listed = {int(i) for i in coverage_url.split("listed=")[1].split(",")}
    assert listed == {fresh.customer_id, follow.customer_id}  # the page's rows, flagged there if need be
    assert "Cora Coverage" not in parts["sec-coverage"]
    answer = client.get(coverage_url, HTTP_HX_REQUEST="true").content.decode()
    assert answer.lstrip().startswith('<section class="card t-sec t-sec-coverage" id="sec-coverage"')
    assert "Cora Coverage" in answer and "covered until" in text(answer) and "hx-get" not in answer.split("</h2>")[0]
    assert re.search(r'<a href="#sec-coverage" id="stat-coverage" class="stat warn" hx-swap-oob="true"><strong>1</strong>', answer)


def test_a_customer_due_for_follow_up_whose_coverage_ends_is_one_row_flagged(noon_store, org):
    agent = org["agent"]
    now = timezone.now()
    install(noon_store, "internet-72h", Role.INTERNET_AGENT, now - dt.timedelta(days=60))
    lead = lead_of(noon_store, agent, "Flo", "Flagged", "+13125550105", status=LeadStatus.CONTACTED,
                   received_at=now - dt.timedelta(days=4))
    talk(lead, agent, now - dt.timedelta(hours=70))  # plans a keep-in-touch task, overdue by now

    client = client_for(agent)
    page = client.get(reverse("leads_today:today")).content.decode()
    answer = client.get(coverage_url_of(sections(page)["sec-coverage"]), HTTP_HX_REQUEST="true").content.decode()
    # Asked without the page's list (a bookmark, a retry), it works the list out again.
    assert client.get(reverse("leads_today:coverage")).content.decode() == answer

    row = row_of(sections(page)["sec-tasks"], "Flo Flagged")
    assert "Keep in touch" in row and "overdue" in text(row)
    slot = f'<span class="cov-slot" id="cov-c{lead.customer_id}">'
    assert slot in row  # empty until the coverage answer fills it
    assert re.search(rf'<span class="cov-slot" id="cov-c{lead.customer_id}" hx-swap-oob="true"><span class="cov-flag"', answer)
    assert "coverage ends" in text(answer)
    section = answer.split("</section>")[0]
    assert "Flo Flagged" not in section and "1 more is flagged above" in text(section)
    assert "<strong>1</strong> coverage ending" in answer


def test_the_new_lead_clock_is_red_past_the_limit_and_shows_the_reassignment_countdown(noon_store, org):
    agent = org["agent"]
    late = lead_of(noon_store, agent, "Larry", "Late", "+13125550111")
    new_routed(late, 35)  # limit 20 min: breached
    moving = lead_of(noon_store, agent, "Mona", "Moving", "+13125550112")
    new_routed(moving, 3, response_due_in=7)

    new = sections(client_for(agent).get(reverse("leads_today:today")).content.decode())["sec-new"]

    late_row = row_of(new, "Larry Late")
    assert 'class="clock late"' in late_row and "past the limit" in late_row and "is-late" in late_row
    assert "data-moves=" not in late_row
    moving_row = row_of(new, "Mona Moving")
    assert "data-moves=" in moving_row and "moves on in" in moving_row and 'class="clock late"' not in moving_row
    assert new.index("Larry Late") < new.index("Mona Moving")  # the most urgent first


def test_a_first_attempt_moves_a_new_lead_out_of_the_first_section(noon_store, org):
    agent = org["agent"]
    lead = lead_of(noon_store, agent, "Fay", "First", "+13125550121")
    new_routed(lead, 5)
    task_for(lead, timezone.now() - dt.timedelta(minutes=5), channel=Channel.CALL)
    task_for(lead, timezone.now() - dt.timedelta(minutes=5), channel=Channel.TEXT)
    client = client_for(agent)
    before = client.get(reverse("leads_today:today")).content.decode()
    assert "Fay First" in sections(before)["sec-new"]
    assert "Calls <strong>0</strong>" in before

    ContactEventFactory(lead=lead, staff=agent, channel=Channel.CALL, direction=Direction.OUTBOUND,
                        outcome=Outcome.NO_ANSWER, evidence_level=EvidenceLevel.SELF_REPORTED)

    after = client.get(reverse("leads_today:today")).content.decode()
    assert "Calls <strong>1</strong>" in after  # today's figures are cached, but never past a new event
    parts = sections(after)
    assert "Fay First" not in parts["sec-new"]
    tasks = parts["sec-tasks"]
    assert "Fay First" in tasks  # the text is still due; the call ticked off
    row = row_of(tasks, "Fay First")
    assert re.search(r'class="tchip done"[^>]*>.*?Call', row) and re.search(r'class="tchip overdue"[^>]*>Text', row)


def test_a_lead_entered_by_hand_with_no_routing_is_new_until_attempted(noon_store, org):
    agent = org["agent"]
    lead_of(noon_store, agent, "Hank", "Hand", "+13125550131", intake_channel=IntakeChannel.MANUAL,
            source_type=SourceType.WALK_IN)
    page = client_for(agent).get(reverse("leads_today:today")).content.decode()
    assert "Hank Hand" in sections(page)["sec-new"]


def test_only_the_agent_s_own_leads_and_tasks_appear(noon_store, org):
    agent, other = org["agent"], org["agent2"]
    now = timezone.now()
    mine = lead_of(noon_store, agent, "Mine", "Customer", status=LeadStatus.CONTACTED)
    task_for(mine, now - dt.timedelta(minutes=30))
    theirs = lead_of(noon_store, other, "Theirs", "Customer", status=LeadStatus.CONTACTED)
    task_for(theirs, now - dt.timedelta(minutes=30))
    task_for(theirs, now - dt.timedelta(minutes=30), channel=Channel.EMAIL)
    new_routed(lead_of(noon_store, other, "Theirs", "Newlead"), 5)
    Appointment.objects.create(store=noon_store, lead=theirs, customer=theirs.customer, staff=other,
                               starts_at=local_today(noon_store, 15))
    # A task of the other agent on the agent's own customer is not the agent's either.
    task_for(mine, now - dt.timedelta(minutes=10), channel=Channel.EMAIL, staff=other)

    page = client_for(agent).get(reverse("leads_today:today")).content.decode()

    assert "Mine Customer" in sections(page)["sec-tasks"]
    assert "Theirs" not in page
    mine_row = row_of(page, "Mine Customer")
    assert 'class="tchip' in mine_row and "Email: " not in mine_row and "Call: overdue" in mine_row


def test_overdue_tasks_are_flagged_and_later_ones_are_not(noon_store, org):
    agent = org["agent"]
    now = timezone.now()
    late = lead_of(noon_store, agent, "Olive", "Overdue", status=LeadStatus.CONTACTED)
    task_for(late, now - dt.timedelta(hours=2, minutes=5))
    later = lead_of(noon_store, agent, "Luke", "Later", status=LeadStatus.CONTACTED)
    task_for(later, local_today(noon_store, 17))
    tomorrow = lead_of(noon_store, agent, "Tom", "Tomorrow", status=LeadStatus.CONTACTED)
    task_for(tomorrow, local_today(noon_store, 10) + dt.timedelta(days=1))

    page = client_for(agent).get(reverse("leads_today:today")).content.decode()
    tasks = sections(page)["sec-tasks"]

    assert tasks.count('id="row-task-') == 2 and "Tomorrow" not in tasks
    olive = row_of(tasks, "Olive Overdue")
    assert "is-late" in olive and "overdue 2 h" in text(olive)
    luke = row_of(tasks, "Luke Later")
    assert "is-late" not in luke and "5:00 PM" in luke and "overdue" not in luke
    assert tasks.index("Olive Overdue") < tasks.index("Luke Later")
    assert "1 overdue" in text(page)


def test_a_customer_s_call_text_and_email_of_a_cadence_day_are_one_row(noon_store, org):
    agent = org["agent"]
    lead = lead_of(noon_store, agent, "Trio", "Tasks", "+13125550141", status=LeadStatus.CONTACTED)
    CustomerEmailFactory(customer=lead.customer)
    due = timezone.now() - dt.timedelta(minutes=20)
    for channel in (Channel.CALL, Channel.TEXT, Channel.EMAIL):
        task_for(lead, due, channel=channel, step_day=1)

    tasks = sections(client_for(agent).get(reverse("leads_today:today")).content.decode())["sec-tasks"]

    assert tasks.count('id="row-task-') == 1 and "Trio Tasks" in row_of(tasks, "Trio Tasks")
    assert len(re.findall(r'class="tchip overdue"', tasks)) == 3
    assert "New-lead cadence, day 2" in tasks
    for act in ("call", "text", "email", "log", "appointment"):
        assert f'data-act="{act}"' in tasks


def test_a_completed_task_disappears_and_a_done_channel_shows_ticked(noon_store, org):
    agent = org["agent"]
    now = timezone.now()
    solo = lead_of(noon_store, agent, "Sol", "Single", "+13125550151", status=LeadStatus.CONTACTED)
    task_for(solo, now - dt.timedelta(minutes=40), channel=Channel.TEXT)
    pair = lead_of(noon_store, agent, "Pat", "Pair", "+13125550152", status=LeadStatus.CONTACTED)
    task_for(pair, now - dt.timedelta(minutes=40), channel=Channel.TEXT)
    task_for(pair, now - dt.timedelta(minutes=40), channel=Channel.CALL)
    client = client_for(agent)
    before = sections(client.get(reverse("leads_today:today")).content.decode())["sec-tasks"]
    assert "Sol Single" in before and "Pat Pair" in before

    for lead in (solo, pair):  # a text sent through the company line: the contact-event hook completes the task
        ContactEventFactory(lead=lead, staff=agent, channel=Channel.TEXT, direction=Direction.OUTBOUND,
                            outcome=Outcome.SENT, evidence_level=EvidenceLevel.VERIFIED, message_sid=f"SM{lead.pk:032d}")

    after = sections(client.get(reverse("leads_today:today")).content.decode())["sec-tasks"]
    assert "Sol Single" not in after
    row = row_of(after, "Pat Pair")
    assert re.search(r'class="tchip done"[^>]*>.*?Text', row) and re.search(r'class="tchip overdue"[^>]*>Call', row)


def test_a_follow_up_without_a_channel_is_marked_done_by_hand(noon_store, org):
    agent = org["agent"]
    lead = lead_of(noon_store, agent, "Manny", "Manual", status=LeadStatus.CONTACTED)
    task = task_for(lead, timezone.now() - dt.timedelta(minutes=5), channel="", kind=TaskKind.FOLLOW_UP,
                    reason="Send the trade-in numbers")
    other_task = task_for(lead_of(noon_store, org["agent2"], "Other", "Person"), timezone.now(), channel="",
                          kind=TaskKind.FOLLOW_UP, reason="Not yours")
    client = client_for(agent)
    page = client.get(reverse("leads_today:today")).content.decode()
    assert "Send the trade-in numbers" in page and f'name="task" value="{task.pk}"' in page

    refused = client.post(reverse("leads_today:tasks_done"), {"task": [other_task.pk]}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 404
    other_task.refresh_from_db()
    assert other_task.completed_at is None

    done = client.post(reverse("leads_today:tasks_done"), {"task": [task.pk]}, HTTP_HX_REQUEST="true",
                       HTTP_HX_TARGET="queue")
    assert done.status_code == 200
    task.refresh_from_db()
    assert task.completed_at is not None
    assert "Manny Manual" not in done.content.decode() and 'id="queue"' in done.content.decode()
    assert "Marked 1 task done." in done.content.decode()  # the flash, swapped out of band


def test_appointments_confirm_and_no_show_from_the_queue(noon_store, org):
    agent = org["agent"]
    lead = lead_of(noon_store, agent, "Ava", "Visit", status=LeadStatus.APPOINTMENT_SET)
    later = Appointment.objects.create(store=noon_store, lead=lead, customer=lead.customer, staff=agent,
                                       starts_at=local_today(noon_store, 17))
    past = Appointment.objects.create(store=noon_store, lead=lead, customer=lead.customer, staff=agent,
                                      starts_at=local_today(noon_store, 9))
    client = client_for(agent)

    confirmed = client.post(reverse("leads_today:appointment_confirm", args=[later.pk]), HTTP_HX_REQUEST="true")
    assert confirmed.status_code == 200
    later.refresh_from_db()
    assert later.status == AppointmentStatus.CONFIRMED
    refused = client.post(reverse("leads_today:appointment_no_show", args=[later.pk]), HTTP_HX_REQUEST="true")
    assert "has not started yet" in refused.content.decode()
    client.post(reverse("leads_today:appointment_no_show", args=[past.pk]), HTTP_HX_REQUEST="true")
    past.refresh_from_db()
    assert past.status == AppointmentStatus.NO_SHOW
    assert client.post(reverse("leads_today:appointment_confirm", args=[past.pk + 1000])).status_code == 404


# --- set appointment ----------------------------------------------------------------------------------


def post_appointment(client, lead, starts: dt.datetime | str, **extra):
    value = starts if isinstance(starts, str) else starts.astimezone(lead.store.tz).strftime("%Y-%m-%dT%H:%M")
    return client.post(reverse("leads_today:appointment_set", args=[lead.pk]),
                       {"starts_at": value, "note": "Test drive", **extra}, HTTP_HX_REQUEST="true")


def test_set_an_appointment_from_the_queue(noon_store, org):
    agent = org["agent"]
    lead = lead_of(noon_store, agent, "Sam", "Setter", "+13125550161", status=LeadStatus.CONTACTED)
    client = client_for(agent)

    response = post_appointment(client, lead, local_today(noon_store, 16, 30))

    assert response.status_code == 200
    assert response["HX-Trigger"] == "queue-changed"
    appointment = Appointment.objects.get(lead=lead)
    assert appointment.starts_at == local_today(noon_store, 16, 30) and appointment.staff == agent
    assert appointment.note == "Test drive" and not appointment.outside_hours
    lead.refresh_from_db()
    assert lead.status == LeadStatus.APPOINTMENT_SET
    assert "Appointment set:" in response.content.decode() and "4:30 PM" in response.content.decode()
    page = client.get(reverse("leads_today:today")).content.decode()
    assert "Sam Setter" in sections(page)["sec-appointments"]


def test_an_appointment_in_the_past_is_a_form_error(noon_store, org):
    agent = org["agent"]
    lead = lead_of(noon_store, agent, "Pam", "Past", status=LeadStatus.CONTACTED)
    response = post_appointment(client_for(agent), lead, local_today(noon_store, 9))
    assert response.status_code == 422
    assert "in the past" in response.content.decode()
    assert not Appointment.objects.filter(lead=lead).exists()


def test_an_appointment_outside_store_hours_needs_set_it_anyway(noon_store, org):
    agent = org["agent"]
    lead = lead_of(noon_store, agent, "Otto", "Outside", status=LeadStatus.CONTACTED)
    client = client_for(agent)
    late = local_today(noon_store, 21)

    refused = post_appointment(client, lead, late)
    assert refused.status_code == 422
    body = refused.content.decode()
    assert "outside store hours" in body and 'name="outside_hours_ok"' in body
    assert not Appointment.objects.filter(lead=lead).exists()

    allowed = post_appointment(client, lead, late, outside_hours_ok="on")
    assert allowed.status_code == 200
    appointment = Appointment.objects.get(lead=lead)
    assert appointment.outside_hours and "outside store hours" in allowed.content.decode()


def test_bad_appointment_input_names_what_is_wrong(noon_store, org):
    agent = org["agent"]
    lead = lead_of(noon_store, agent, "Bea", "Bad", status=LeadStatus.CONTACTED)
    client = client_for(agent)
    for value, words in [("", "Pick a date and time."), ("tomorrow-ish", "Give a date and a time")]:
        response = post_appointment(client, lead, value)
        assert response.status_code == 422 and words in response.content.decode()
    plain = client.post(reverse("leads_today:appointment_set", args=[lead.pk]), {"starts_at": "nope"})
    assert plain.status_code == 422 and "Give a date and a time" in plain.content.decode()
    assert not Appointment.objects.filter(lead=lead).exists()


def test_another_store_s_or_another_agent_s_lead_is_404(noon_store, other_store, org):
    agent = org["agent"]
    elsewhere = LeadFactory(store=other_store, owner=StaffFactory(store=other_store), status=LeadStatus.CONTACTED)
    colleague = lead_of(noon_store, org["agent2"], "Col", "League", status=LeadStatus.CONTACTED)
    client = client_for(agent)
    assert client.get(reverse("leads_today:coverage")).status_code == 200
    for lead in (elsewhere, colleague):
        assert post_appointment(client, lead, local_today(noon_store, 16)).status_code == 404
        assert client.get(reverse("leads_today:work", args=[lead.pk])).status_code == 404
    assert not Appointment.objects.exists()


def test_the_work_panel_holds_the_lead_page_forms(noon_store, org):
    agent = org["agent"]
    lead = lead_of(noon_store, agent, "Wanda", "Work", "+13125550171", status=LeadStatus.CONTACTED)
    body = client_for(agent).get(reverse("leads_today:work", args=[lead.pk]), {"do": "appointment"},
                                 HTTP_HX_REQUEST="true").content.decode()
    assert 'data-do="appointment"' in body
    for form in ('id="text-form"', 'id="log-form"', f'id="appt-{lead.pk}"', 'id="timeline"'):
        assert form in body
    assert reverse("telephony:sms-send", args=[lead.pk]) in body
    assert reverse("leads:log", args=[lead.pk]) in body


# --- who sees it ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["agent", "retail"])
def test_home_sends_salespeople_to_today(org, who):
    client = client_for(org[who])
    assert client.get("/").url == reverse("leads_today:today")
    assert client.get(reverse("leads_today:today")).status_code == 200


@pytest.mark.parametrize(("who", "home"), [("manager", "leads_salesboard:board"), ("director", "leads_salesboard:board"),
                                           ("receptionist", "distribution_board:page"), ("admin", "leads_salesboard:board")])
def test_others_start_on_their_own_page_and_are_redirected_from_today(org, who, home):
    client = client_for(org[who])
    assert client.get("/").url == reverse(home)
    response = client.get(reverse("leads_today:today"))
    assert response.status_code == 302 and response.url == reverse("leads:list")
    assert client.get(response.url).status_code == 200
    assert client.get(reverse("leads_today:coverage")).status_code == 404


def test_anonymous_is_sent_to_log_in(db):
    assert Client().get(reverse("leads_today:today")).url.startswith(reverse("login"))


def test_the_page_documents_its_shortcuts(org):
    page = client_for(org["agent"]).get(reverse("leads_today:today")).content.decode()
    assert 'id="shortcuts"' in page and "js/today.js" in page and "css/today.css" in page
    for key in ("j", "k", "c", "t", "e", "l", "a", "o", "r", "?"):
        assert f"<kbd>{key}</kbd>" in page


# --- a full book: 150 active customers ---------------------------------------------------------------


def book(store, agent, customers: int, *, now: dt.datetime) -> None:
    """An agent's book built with bulk inserts (no signals): new leads with routing clocks, contacted
    ones with a cadence day's call, text and email due (some overdue), two-way calls that put some
    near the end of their coverage, and a few appointments today."""
    made = Customer.objects.bulk_create(
        [Customer(store=store, first_name=f"Bulk{i}", last_name=f"Customer{i}") for i in range(customers)]
    )
    CustomerPhone.objects.bulk_create(
        [CustomerPhone(store=store, customer=c, number=f"+1{312 + agent.pk % 500}{i + 1000000:07d}") for i, c in enumerate(made)]
    )
    leads = Lead.objects.bulk_create([
        Lead(store=store, customer=c, owner=agent, source_type=SourceType.THIRD_PARTY, provider="CarGurus",
             provider_lead_id=f"BULK-{agent.pk}-{i}", intake_channel=IntakeChannel.API,
             received_at=now - dt.timedelta(minutes=10 if i % 30 == 0 else 60 * 24 * (1 + i % 4)),
             status=LeadStatus.NEW if i % 30 == 0 else (LeadStatus.APPOINTMENT_SET if i % 25 == 1 else LeadStatus.CONTACTED))
        for i, c in enumerate(made)
    ])
    LeadVehicle.objects.bulk_create(
        [LeadVehicle(lead=lead, condition="new", year=2025, make="Toyota", model="RAV4") for lead in leads]
    )
    LeadRouting.objects.bulk_create([
        LeadRouting(lead=lead, store=store, state=RoutingState.ASSIGNED, clock_started_at=lead.received_at,
                    breach_at=lead.received_at + dt.timedelta(minutes=20),
                    first_attempt_at=None if lead.status == LeadStatus.NEW else lead.received_at + dt.timedelta(minutes=4))
        for lead in leads
    ])
    tasks = []
    for i, lead in enumerate(leads):
        due = now - dt.timedelta(hours=3) if i % 3 == 0 else now + dt.timedelta(minutes=5)
        for channel in (Channel.CALL, Channel.TEXT, Channel.EMAIL):
            tasks.append(Task(store=store, customer_id=lead.customer_id, lead=lead, staff=agent, kind=TaskKind.CADENCE,
                              channel=channel, step_day=1, due_at=due, reason=f"{channel} · day 2"))
    Task.objects.bulk_create(tasks)
    ContactEvent.objects.bulk_create([
        ContactEvent(store=store, customer_id=lead.customer_id, lead=lead, staff=agent, channel=Channel.CALL,
                     direction=Direction.OUTBOUND, outcome=Outcome.CONNECTED, talk_seconds=300, answered_by_person=True,
                     evidence_level=EvidenceLevel.VERIFIED, occurred_at=now - dt.timedelta(hours=50 + i % 40),
                     call_sid=f"CA{lead.pk:032d}")
        for i, lead in enumerate(leads) if lead.status != LeadStatus.NEW
    ])
    Appointment.objects.bulk_create([
        Appointment(store=store, lead=lead, customer_id=lead.customer_id, staff=agent,
                    starts_at=local_today(store, 13 + i % 6))
        for i, lead in enumerate(leads) if lead.status == LeadStatus.APPOINTMENT_SET
    ])


def queries_for(client, url: str, django_assert_max_num_queries, limit: int) -> tuple[int, str]:
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def test_the_query_count_does_not_grow_with_150_active_customers(noon_store, org, django_assert_max_num_queries):
    now = timezone.now()
    install(noon_store, "internet-72h", Role.INTERNET_AGENT, now - dt.timedelta(days=60))
    small, big = org["agent"], org["retail"]
    big.role = Role.INTERNET_AGENT
    big.save(update_fields=["role"])
    book(noon_store, small, 6, now=now)
    book(noon_store, big, 150, now=now)

    small_client, big_client = client_for(small), client_for(big)
    few, _ = queries_for(small_client, reverse("leads_today:today"), django_assert_max_num_queries, 20)
    many, page = queries_for(big_client, reverse("leads_today:today"), django_assert_max_num_queries, 20)
    assert many == few
    parts = sections(page)
    assert parts["sec-new"].count('id="row-new-') == 5
    assert parts["sec-tasks"].count('id="row-task-') == 145
    assert parts["sec-appointments"].count('id="row-appt-') == 6

    small_url = coverage_url_of(sections(small_client.get(reverse("leads_today:today")).content.decode())["sec-coverage"])
    big_url = coverage_url_of(parts["sec-coverage"])
    few, _ = queries_for(small_client, small_url, django_assert_max_num_queries, 12)
    many, answer = queries_for(big_client, big_url, django_assert_max_num_queries, 12)
    assert many == few
    assert answer.count('hx-swap-oob="true"><span class="cov-flag"') > 10  # every customer has a task: flagged in place
    # The htmx refresh of the queue alone is as bounded.
    with django_assert_max_num_queries(20):
        partial = big_client.get(reverse("leads_today:today"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue")
    assert partial.content.decode().lstrip().startswith('<div id="queue"')
