"""The live event log: what publish writes, who receives it (store, role, team), what a
reconnecting stream replays, and that the write paths announce their changes."""

from __future__ import annotations

import json
import select

import psycopg
import pytest
from django.db import connection, transaction
from factories import GroupFactory, StaffFactory, StoreFactory

from distribution import services as distribution_services
from distribution.models import NotificationKind
from live import events
from live.events import Scope
from live.models import LiveEvent
from org.models import Role

pytestmark = pytest.mark.django_db


def _wide(store_id: int, topic: str = events.ROUTING) -> dict:
    return {"id": 1, "store": store_id, "staff": None, "topic": topic}


def _personal(staff_id: int, store_id: int, topic: str = events.NOTIFICATION) -> dict:
    return {"id": 1, "store": store_id, "staff": staff_id, "topic": topic}


@pytest.fixture
def two_groups(org, store, other_store):
    """store and other_store in one group (org's people are in store), a third store elsewhere."""
    other_store.group = store.group
    other_store.save(update_fields=["group"])
    elsewhere = StoreFactory(group=GroupFactory())
    people = dict(org)
    people["south_agent"] = StaffFactory(store=other_store, role=Role.INTERNET_AGENT)
    people["south_manager"] = StaffFactory(store=other_store, role=Role.SALES_MANAGER)
    people["south_receptionist"] = StaffFactory(store=other_store, role=Role.RECEPTIONIST)
    people["far_admin"] = StaffFactory(store=elsewhere, role=Role.ADMIN)
    return people, store, other_store, elsewhere


class TestScope:
    def test_a_salesperson_hears_only_of_their_own_things(self, two_groups):
        people, north, south, _ = two_groups
        scope = events.scope_for(people["agent"].user)
        assert scope.staff_id == people["agent"].pk
        assert scope.accepts(_personal(people["agent"].pk, north.pk))
        assert not scope.accepts(_personal(people["agent2"].pk, north.pk))  # a teammate's bell
        assert not scope.accepts(_wide(north.pk))  # the board and the manager queue are not theirs
        assert scope.stores == {}

    def test_the_receptionist_hears_of_her_stores_board_only(self, two_groups):
        people, north, south, _ = two_groups
        scope = events.scope_for(people["receptionist"].user)
        assert scope.accepts(_wide(north.pk))
        assert not scope.accepts(_wide(south.pk))
        assert not scope.accepts(_personal(people["south_receptionist"].pk, south.pk))
        assert not scope.accepts(_wide(north.pk, topic=events.BELL))  # a store-wide topic nobody registered

    def test_a_manager_hears_of_their_store_not_the_sister_store(self, two_groups):
        people, north, south, _ = two_groups
        north_manager = events.scope_for(people["manager"].user)
        south_manager = events.scope_for(people["south_manager"].user)
        assert north_manager.accepts(_wide(north.pk)) and not north_manager.accepts(_wide(south.pk))
        assert south_manager.accepts(_wide(south.pk)) and not south_manager.accepts(_wide(north.pk))

    def test_the_group_admin_hears_of_every_store_of_the_group_and_no_other(self, two_groups):
        people, north, south, elsewhere = two_groups
        admin = events.scope_for(people["admin"].user)
        assert admin.accepts(_wide(north.pk)) and admin.accepts(_wide(south.pk))
        assert not admin.accepts(_wide(elsewhere.pk))
        far = events.scope_for(people["far_admin"].user)
        assert far.accepts(_wide(elsewhere.pk)) and not far.accepts(_wide(north.pk))

    def test_a_superuser_without_a_store_hears_of_every_store(self, two_groups, django_user_model):
        _, north, _, elsewhere = two_groups
        root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
        scope = events.scope_for(root)
        assert scope.staff_id is None and scope.stores[events.ROUTING] is None
        assert scope.accepts(_wide(elsewhere.pk)) and scope.accepts(_wide(north.pk))

    def test_an_inactive_staff_member_hears_nothing(self, two_groups):
        people, north, _, _ = two_groups
        people["agent"].is_active = False
        people["agent"].save(update_fields=["is_active"])
        user = type(people["agent"].user).objects.get(pk=people["agent"].user_id)
        assert events.scope_for(user).empty

    def test_the_rows_condition_says_the_same_as_accepts(self, two_groups):
        people, north, south, elsewhere = two_groups
        rows = [
            events.publish(store_id=north.pk, topic=events.ROUTING),
            events.publish(store_id=south.pk, topic=events.ROUTING),
            events.publish(store_id=elsewhere.pk, topic=events.ROUTING),
            events.publish(store_id=north.pk, topic=events.NOTIFICATION, staff_id=people["manager"].pk),
            events.publish(store_id=north.pk, topic=events.NOTIFICATION, staff_id=people["agent"].pk),
            events.publish(store_id=north.pk, topic=events.BELL, staff_id=people["receptionist"].pk),
        ]
        for who in ("agent", "manager", "receptionist", "admin", "south_manager", "far_admin"):
            scope = events.scope_for(people[who].user)
            by_rows = set(LiveEvent.objects.filter(scope.q()).values_list("pk", flat=True))
            by_accepts = {row.pk for row in rows if scope.accepts(events.payload(row))}
            assert by_rows == by_accepts, who
            assert by_rows, who  # everyone hears of something here


class TestPublish:
    def test_the_row_and_its_payload(self, store, org):
        event = events.publish(store_id=store.pk, topic=events.NOTIFICATION, staff_id=org["agent"].pk, lead_id=42,
                               data={"kind": "new_lead"})
        row = LiveEvent.objects.get(pk=event.pk)
        assert (row.store_id, row.staff_id, row.topic, row.lead_id, row.data) == (
            store.pk, org["agent"].pk, "notification", 42, {"kind": "new_lead"})
        assert events.payload(row) == {"id": row.pk, "store": store.pk, "staff": org["agent"].pk,
                                       "topic": "notification", "lead": 42, "data": {"kind": "new_lead"}}

    def test_a_notification_is_announced_to_its_person(self, store, org):
        note = distribution_services.notify(staff_id=org["agent"].pk, store=store, lead=None,
                                            kind=NotificationKind.NEW_LEAD, text="New lead: Pat", sms=False)
        event = LiveEvent.objects.get(topic=events.NOTIFICATION)
        assert event.staff_id == org["agent"].pk
        assert event.data == {"kind": "new_lead", "text": "New lead: Pat", "note": note.pk}

    def test_reading_notifications_tells_the_bell_in_other_tabs_only_when_something_was_unread(self, store, org):
        agent = org["agent"]
        distribution_services.notify(staff_id=agent.pk, store=store, lead=None, kind=NotificationKind.TASK,
                                     text="Call back", sms=False)
        assert distribution_services.notifications_read(staff=agent) == 1
        assert distribution_services.notifications_read(staff=agent) == 0
        assert list(LiveEvent.objects.filter(topic=events.BELL).values_list("staff_id", flat=True)) == [agent.pk]

    def test_the_available_switch_tells_the_board(self, store, org):
        distribution_services.staff_available_set(org["agent"], False)
        event = LiveEvent.objects.get(topic=events.ROUTING)
        assert (event.store_id, event.staff_id) == (store.pk, None)


@pytest.mark.django_db(transaction=True)
class TestNotifyAtCommit:
    """PostgreSQL delivers the NOTIFY at commit: a rolled-back change announces nothing."""

    @pytest.fixture
    def listener(self):
        params = connection.get_connection_params()
        conninfo = psycopg.conninfo.make_conninfo(
            **{k: v for k, v in params.items() if k in ("dbname", "host", "port", "user", "password") and v})
        conn = psycopg.connect(conninfo, autocommit=True)
        conn.execute(f'LISTEN "{events.CHANNEL}"')
        yield conn
        conn.close()

    @staticmethod
    def _received(conn, wait: float) -> list[dict]:
        got = []
        select.select([conn.fileno()], [], [], wait)
        for note in conn.notifies(timeout=0.2, stop_after=None):
            got.append(json.loads(note.payload))
        return got

    def test_delivered_at_commit_not_before(self, listener, store):
        with transaction.atomic():
            event = events.publish(store_id=store.pk, topic=events.ROUTING, lead_id=7)
            assert self._received(listener, 0.3) == []
        received = self._received(listener, 2)
        assert [e["id"] for e in received] == [event.pk]
        assert received[0]["lead"] == 7 and received[0]["staff"] is None

    def test_a_rolled_back_change_announces_nothing(self, listener, store):
        with pytest.raises(RuntimeError), transaction.atomic():
            events.publish(store_id=store.pk, topic=events.ROUTING, lead_id=7)
            raise RuntimeError("the change failed")
        assert self._received(listener, 0.5) == []
        assert not LiveEvent.objects.exists()


class TestReplay:
    def test_what_was_missed_and_only_what_is_theirs(self, store, org):
        agent = org["agent"]
        seen = events.publish(store_id=store.pk, topic=events.NOTIFICATION, staff_id=agent.pk)
        mine = events.publish(store_id=store.pk, topic=events.TODAY, staff_id=agent.pk, lead_id=3)
        events.publish(store_id=store.pk, topic=events.NOTIFICATION, staff_id=org["agent2"].pk)
        events.publish(store_id=store.pk, topic=events.ROUTING)
        replay = events.replay(events.scope_for(agent.user), seen.pk)
        assert replay.complete
        assert [e["id"] for e in replay.events] == [mine.pk]

    def test_it_reaches_back_over_rows_that_committed_out_of_id_order(self, store, org):
        agent = org["agent"]
        late = events.publish(store_id=store.pk, topic=events.NOTIFICATION, staff_id=agent.pk)
        seen = events.publish(store_id=store.pk, topic=events.NOTIFICATION, staff_id=agent.pk)
        # `late` took its id first but committed after `seen` reached the browser.
        replay = events.replay(events.scope_for(agent.user), seen.pk)
        assert [e["id"] for e in replay.events] == [late.pk]

    def test_an_event_gone_from_the_log_asks_for_a_full_reload(self, store, org):
        replay = events.replay(events.scope_for(org["agent"].user), 999_999)
        assert not replay.complete and replay.events == []

    def test_from_the_start_when_the_log_was_empty(self, store, org):
        event = events.publish(store_id=store.pk, topic=events.BELL, staff_id=org["agent"].pk)
        replay = events.replay(events.scope_for(org["agent"].user), 0)
        assert replay.complete and [e["id"] for e in replay.events] == [event.pk]

    def test_too_much_missed_asks_for_a_full_reload(self, store, org, monkeypatch):
        monkeypatch.setattr(events, "REPLAY_LIMIT", 3)
        agent = org["agent"]
        seen = events.publish(store_id=store.pk, topic=events.BELL, staff_id=agent.pk)
        for _ in range(4):
            events.publish(store_id=store.pk, topic=events.BELL, staff_id=agent.pk)
        replay = events.replay(events.scope_for(agent.user), seen.pk)
        assert not replay.complete and len(replay.events) == 3


def test_scope_q_of_an_empty_scope_matches_nothing(store):
    events.publish(store_id=store.pk, topic=events.ROUTING)
    assert not LiveEvent.objects.filter(Scope(staff_id=None).q()).exists()


def test_the_listening_connection_is_named_and_may_go_around_a_pooler(settings):
    from psycopg.conninfo import conninfo_to_dict

    from live import hub

    settings.LIVE_DATABASE_URL = ""
    own = conninfo_to_dict(hub._conninfo())
    assert own["dbname"] == connection.settings_dict["NAME"]
    assert own["application_name"] == hub.APPLICATION_NAME
    settings.LIVE_DATABASE_URL = "postgresql://listener@db.internal:5433/crm"
    direct = conninfo_to_dict(hub._conninfo())
    assert (direct["host"], direct["port"], direct["dbname"], direct["user"], direct["application_name"]) == (
        "db.internal", "5433", "crm", "listener", hub.APPLICATION_NAME)
