"""Sign-in throttling (issue 14: 30 wrong passwords, then the right one, logged in).

Failed sign-ins lock an account after 5 and an address after 20, for 15 minutes; the locked page
is the sign-in form answering 429 with a message saying how long and who can help; a manager or
an admin unlocks; a success forgives only that person's own failures from that address.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from factories import StaffFactory

from org.models import Role

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

RIGHT = "pw-for-tests-1"
HERE = "203.0.113.10"
T0 = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


def sign_in(client: Client, username: str, password: str, address: str = HERE, path: str = "/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in_as(client: Client) -> str | None:
    response = client.get("/leads/")
    return response.context["user"].username if response.status_code == 200 else None


def test_thirty_wrong_passwords_then_the_right_one_is_refused(org):
    client = Client()
    statuses = [sign_in(client, "agent", f"guess-{i}").status_code for i in range(30)]
    # The form says "wrong" four times; the fifth failure locks, and every try after it is refused.
    assert statuses[:4] == [200] * 4 and set(statuses[4:]) == {429}

    response = sign_in(client, "agent", RIGHT)

    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed sign-ins. Try again in 15 minutes or ask a manager/admin to unlock." in text
    assert 'name="password"' in text  # still the sign-in page, with the message as its error
    assert signed_in_as(client) is None


def test_an_account_locks_whatever_addresses_the_guesses_come_from(org):
    for i in range(5):
        sign_in(Client(), "agent", "wrong", address=f"198.51.100.{i}")
    assert sign_in(Client(), "agent", RIGHT, address="198.51.100.99").status_code == 429
    # Other accounts are not affected.
    other = Client()
    assert sign_in(other, "agent2", RIGHT, address="198.51.100.99").status_code == 302


def test_an_address_locks_after_twenty_failures_across_accounts(org):
    client = Client()
    for i in range(19):
        sign_in(client, f"nobody-{i}", "wrong")
    # 19 failures spread over accounts: one person's typos in a shared showroom lock nobody out.
    assert sign_in(Client(), "agent", RIGHT).status_code == 302

    sign_in(client, "nobody-19", "wrong")

    assert sign_in(Client(), "agent2", RIGHT).status_code == 429
    # The same people from another address are not locked.
    assert sign_in(Client(), "agent2", RIGHT, address="198.51.100.1").status_code == 302


def test_the_lock_lasts_the_cool_off_and_says_how_long_is_left(org):
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(5):
            sign_in(Client(), "agent", "wrong")
        clock.shift(dt.timedelta(minutes=10))
        refused = sign_in(Client(), "agent", RIGHT)
        assert refused.status_code == 429 and "Try again in 5 minutes" in refused.content.decode()
        # A refused try while locked does not restart the wait.
        clock.shift(dt.timedelta(minutes=5, seconds=1))
        client = Client()
        assert sign_in(client, "agent", RIGHT).status_code == 302
        assert signed_in_as(client) == "agent"


def test_a_success_forgives_only_the_persons_own_failures_from_that_address(org):
    client = Client()
    for _ in range(4):
        sign_in(client, "agent", "wrong")
    assert sign_in(client, "agent", RIGHT).status_code == 302
    client.post("/logout/")
    # Forgiven: four more typos do not lock (eight in a row without the success would have).
    for _ in range(4):
        assert sign_in(client, "agent", "wrong").status_code == 200
    assert sign_in(client, "agent", RIGHT).status_code == 302

    # Guesses at someone else's account from this address are not forgiven by the agent's success.
    guesser = Client()
    for _ in range(4):
        sign_in(guesser, "director", "wrong")
    assert sign_in(Client(), "agent", RIGHT).status_code == 302
    assert sign_in(guesser, "director", "wrong").status_code == 429
    assert sign_in(Client(), "director", RIGHT, address="198.51.100.1").status_code == 429


def test_the_admin_sign_in_is_throttled_too(org):
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", RIGHT)
    client = Client()
    for _ in range(5):
        response = sign_in(client, superuser.username, "wrong", path="/admin/login/")
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed sign-ins." in text and "Django administration" in text
    assert sign_in(client, superuser.username, RIGHT, path="/admin/login/").status_code == 429


def test_an_admin_unlocks_in_axes_admin(org):
    for _ in range(5):
        sign_in(Client(), "agent", "wrong")
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "another-pw-1")
    admin = Client()
    admin.force_login(superuser)
    changelist = admin.get("/admin/axes/accessattempt/")
    assert changelist.status_code == 200 and "agent" in changelist.content.decode()

    admin.post("/admin/axes/accessattempt/", {
        "action": "delete_selected", "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
        "post": "yes",
    })

    assert not AccessAttempt.objects.exists()
    assert sign_in(Client(), "agent", RIGHT).status_code == 302


def lock(username: str) -> None:
    for i in range(5):
        sign_in(Client(), username, "wrong", address=f"198.51.100.{i}")


def test_a_manager_sees_and_unlocks_their_own_people_on_the_schedules_page(org):
    lock("agent")  # on the manager's team
    lock("agent2")  # on another team
    manager = Client()
    manager.force_login(org["manager"].user)

    page = manager.get("/schedules/").content.decode()
    assert page.count("Sign-in locked") == 1 and f"/schedules/{org['agent'].pk}/unlock-sign-in/" in page

    response = manager.post(f"/schedules/{org['agent'].pk}/unlock-sign-in/")
    assert response.status_code == 302
    assert sign_in(Client(), "agent", RIGHT).status_code == 302
    # Not someone else's people, nor another store's.
    assert manager.post(f"/schedules/{org['agent2'].pk}/unlock-sign-in/").status_code == 403
    assert sign_in(Client(), "agent2", RIGHT).status_code == 429
    elsewhere = StaffFactory(role=Role.INTERNET_AGENT)
    lock(elsewhere.user.username)
    assert manager.post(f"/schedules/{elsewhere.pk}/unlock-sign-in/").status_code == 404
    assert sign_in(Client(), elsewhere.user.username, RIGHT).status_code == 429


def test_a_director_unlocks_anyone_of_the_store_but_an_agent_unlocks_nobody(org):
    lock("agent2")
    agent = Client()
    agent.force_login(org["agent"].user)
    assert "Unlock sign-in" not in agent.get("/schedules/").content.decode()
    assert agent.post(f"/schedules/{org['agent2'].pk}/unlock-sign-in/").status_code == 403

    director = Client()
    director.force_login(org["director"].user)
    assert director.post(f"/schedules/{org['agent2'].pk}/unlock-sign-in/").status_code == 302
    assert sign_in(Client(), "agent2", RIGHT).status_code == 302
