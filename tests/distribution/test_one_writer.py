"""One writer of lead ownership (issue 12, point 4): every assignment goes through
distribution's writer, which resets the new owner's clocks, records why and tells them; a lead
typed by the salesperson who met the customer is theirs in the creating transaction; nothing
outside distribution writes Lead.owner."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.contrib.admin import site as admin_site
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from factories import UserFactory
from rest_framework.test import APIClient

from distribution import services, sweeper
from distribution.models import LeadRouting, Notification, RoutingState
from leads.models import Lead, LeadAssignment, Task
from leads.ownership import lead_created
from tests.distribution.floor import at, floor, new_lead, rule

ROOT = Path(__file__).resolve().parents[2]


def routed(store, strategy="round_robin_reassign", **fields):
    """A lead routed at 10:00 on the floor's Monday to Ann, with a 20-minute reassignment clock."""
    team, manager, people = floor(store, names=("ann", "bob", "cat"))
    rule(store, team=team, strategy=strategy, response_minutes=20, **fields)
    lead = new_lead(store, received_at=at(10))
    assert services.lead_route(lead_id=lead.pk, now=at(10))
    lead.refresh_from_db()
    assert lead.owner == people["ann"]
    assert LeadRouting.objects.get(lead=lead).response_due_at == at(10, 20)
    return team, manager, people, lead


# --- a manager's assignment ---------------------------------------------------------------------


def test_after_a_manager_assigns_on_the_lead_page_the_sweeper_past_the_old_deadline_leaves_the_lead(client, store):
    """Before: leads.services.lead_assign left Ann's 10:20 deadline, so the sweeper 'reassigned'
    the lead away from Bob, whom the manager had just chosen, and nobody told Bob."""
    _, manager, people, lead = routed(store)
    client.force_login(manager.user)
    response = client.post(reverse("leads:assign", args=[lead.pk]), {"owner": people["bob"].pk})
    assert response.status_code == 302
    lead.refresh_from_db()
    routing = LeadRouting.objects.get(lead=lead)
    assert lead.owner == people["bob"]
    assert (routing.response_due_at, routing.warn_at, routing.state) == (None, None, RoutingState.ASSIGNED)
    assert routing.assigned_at is not None and routing.assigned_at > at(10)

    sweeper.sweep(now=at(11))

    lead.refresh_from_db()
    assert lead.owner == people["bob"]
    last = lead.assignments.order_by("pk").last()
    assert (last.from_staff, last.to_staff, last.assigned_by) == (people["ann"], people["bob"], manager)
    assert "Assigned by" in last.reason
    told = Notification.objects.get(staff=people["bob"], lead=lead)
    assert "Max Manager gave you a lead" in told.text
    # The follow-up moved with the lead.
    assert not Task.objects.filter(lead=lead, staff=people["ann"], completed_at__isnull=True, canceled_at__isnull=True).exists()
    assert Task.objects.filter(lead=lead, staff=people["bob"]).exists()


def test_assigning_through_the_api_resets_the_clock_and_tells_the_new_owner(store):
    _, manager, people, lead = routed(store)
    client = APIClient()
    client.force_authenticate(manager.user)
    response = client.post(f"/api/v1/leads/{lead.pk}/assign/", {"owner": people["cat"].pk, "reason": "Speaks Spanish."},
                           format="json")
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == people["cat"].pk
    assert LeadRouting.objects.get(lead=lead).response_due_at is None
    assert sweeper.responses_due(now=at(12)) == 0
    assert Lead.objects.get(pk=lead.pk).owner == people["cat"]
    assert lead.assignments.order_by("pk").last().reason == "Speaks Spanish."
    assert Notification.objects.filter(staff=people["cat"], lead=lead, kind="new_lead").exists()


def test_assigning_outside_the_rules_pool_is_refused_naming_why_on_the_page_and_in_the_api(client, store):
    """The rule's pool binds a manager too (the manager-assigns strategy picks among its pool);
    a lead no rule took may go to any active salesperson of the store."""
    from tests.distribution.floor import agent

    _, manager, people, lead = routed(store)
    outsider = agent(store, None, "otto")
    api = APIClient()
    api.force_authenticate(manager.user)
    response = api.post(f"/api/v1/leads/{lead.pk}/assign/", {"owner": outsider.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"owner": ["Otto Agent is not in this lead's pool (rule “Everything”)."]}

    client.force_login(manager.user)
    page = client.post(reverse("leads:assign", args=[lead.pk]), {"owner": outsider.pk}, follow=True)
    assert "Otto Agent is not in this lead&#x27;s pool" in page.content.decode()
    lead.refresh_from_db()
    assert lead.owner == people["ann"] and lead.assignments.count() == 1


# --- a lead typed by its owner ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_lead_typed_by_its_salesperson_is_theirs_in_the_creating_transaction(client, store, monkeypatch):
    from distribution import tasks

    _, _, people = floor(store, names=("ann", "bob"))
    rule(store, staff=[people["bob"]])  # the router would give it to Bob
    sent = []
    monkeypatch.setattr(tasks.lead_route_task, "apply_async", lambda *a, **k: sent.append((a, k)))
    seen = []

    def inside(sender, lead, **kwargs):
        # Distribution's receiver ran first (connected at start-up): in the same transaction
        # the lead is already Ann's, with its history and routing row.
        seen.append((
            connection.in_atomic_block,
            Lead.objects.filter(pk=lead.pk).values_list("owner_id", flat=True).get(),
            LeadAssignment.objects.filter(lead_id=lead.pk).count(),
        ))

    lead_created.connect(inside, dispatch_uid="test-inside")
    try:
        client.force_login(people["ann"].user)
        response = client.post(reverse("leads:new"), {"source_type": "walk_in", "first_name": "Walk",
                                                      "last_name": "In", "phone": "312-555-0199"})
    finally:
        lead_created.disconnect(dispatch_uid="test-inside")
    assert response.status_code == 302
    lead = Lead.objects.get(customer__last_name="In")
    assert seen == [(True, people["ann"].pk, 1)]
    assert sent == []  # no routing nudge
    assert lead.owner == people["ann"] and lead.routing_due_at is None and lead.routed_at is not None
    (history,) = lead.assignments.all()
    assert (history.from_staff, history.to_staff, history.reason) == (None, people["ann"], "Entered by its owner.")
    routing = LeadRouting.objects.get(lead=lead)
    assert (routing.state, routing.response_due_at, routing.breach_at is not None) == (RoutingState.ASSIGNED, None, True)
    assert Task.objects.filter(lead=lead, staff=people["ann"]).exists()  # the cadence started
    assert not Notification.objects.filter(lead=lead).exists()  # nobody is told what they did themselves
    # The sweeper has nothing to route.
    assert sweeper.route_due(now=at(23)) == 0
    assert Lead.objects.get(pk=lead.pk).owner == people["ann"]


# --- the admin ---------------------------------------------------------------------------------


def test_the_admin_cannot_write_a_leads_owner(store):
    lead = new_lead(store)
    request = RequestFactory().get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    model_admin = admin_site._registry[Lead]
    assert "owner" in model_admin.get_readonly_fields(request, lead)
    assert "owner" not in model_admin.get_form(request, lead).base_fields


# --- nobody else writes Lead.owner ------------------------------------------------------------

WRITERS = {"update", "create", "get_or_create", "update_or_create", "Lead", "LeadFactory"}
OWNER = {"owner", "owner_id"}
SKIP_DIRS = {".venv", "tests", "migrations", "bench", "distribution", "node_modules", "static"}
SKIP_FILES = {Path("devtools/demo/simulation.py")}  # bulk-loads a demo store's history


def owner_writes(source: str) -> list[int]:
    """Line numbers that write Lead.owner: `x.owner = ...`, `.update(owner=...)`,
    `.create(owner_id=...)`, `Lead(owner=...)`, `save(update_fields=[..."owner"...])`,
    `bulk_update(..., ["owner"])`, `setattr(x, "owner", ...)`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and part.attr in OWNER and isinstance(part.ctx, ast.Store):
                    found.append(node.lineno)
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in WRITERS and any(k.arg in OWNER for k in node.keywords):
            found.append(node.lineno)
        fields = [k.value for k in node.keywords
                  if k.arg == "update_fields" or (k.arg == "fields" and name == "bulk_update")]
        if name == "bulk_update" and len(node.args) > 1:
            fields.append(node.args[1])
        if name == "setattr" and len(node.args) > 1:
            fields.append(node.args[1])
        for value in fields:
            if any(isinstance(c, ast.Constant) and c.value in OWNER for c in ast.walk(value)):
                found.append(node.lineno)
    return sorted(found)


def test_the_scan_finds_the_old_ways_of_writing_an_owner():
    old = '''
locked.owner = to_staff
lead.owner_id = original.owner_id
locked.save(update_fields=["owner", "in_claim_pool"])
Lead.objects.filter(pk=1, owner=None).update(owner=staff)
Lead.objects.filter(pk__in=ids).update(owner_id=2)
Lead(store=store, owner=agent)
Lead.objects.bulk_update(leads, ["owner"])
setattr(lead, "owner_id", 3)
a, lead.owner = 1, None
'''
    assert owner_writes(old) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert owner_writes("Lead.objects.filter(owner=staff).update(status='lost')\nx = lead.owner_id") == []


def test_no_module_outside_distribution_writes_a_leads_owner():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if SKIP_DIRS & set(relative.parts[:-1]) or relative in SKIP_FILES:
            continue
        offenders += [f"{relative}:{line}" for line in owner_writes(path.read_text())]
    assert offenders == [], "Lead.owner is written by distribution.services alone (leads asks through leads.ownership)"


def test_leads_code_on_the_ownership_path_does_not_import_distribution():
    for name in ("leads/services.py", "leads/ownership.py", "leads/api.py"):
        tree = ast.parse((ROOT / name).read_text())
        imported = {
            node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
        } | {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        bad = sorted(m for m in imported if m == "distribution" or m.startswith("distribution."))
        if name == "leads/api.py":
            bad = [m for m in bad if m != "distribution.serializers"]  # shapes only, left alone
        assert bad == [], (name, bad)
