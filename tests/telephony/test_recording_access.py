"""Who may play a recording of a call nobody on staff answered by name (the main line took it)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from factories import LeadFactory

from telephony.models import Call

pytestmark = pytest.mark.django_db


@pytest.fixture
def main_line_call(store, org, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    lead = LeadFactory(store=store, owner=org["agent"])
    call = Call.objects.create(
        store=store, call_sid="CA" + "1" * 32, direction="inbound", staff=None, customer=lead.customer, lead=lead,
        customer_number="+13125550142", status="completed",
    )
    call.recording_file.save("main-line.wav", ContentFile(b"RIFF....WAVEfmt "), save=True)
    return call


@pytest.mark.parametrize(("who", "status"), [("agent", 200), ("manager", 200), ("director", 200), ("agent2", 404)])
def test_the_leads_owner_and_their_manager_can_play_a_main_line_call(client, org, main_line_call, who, status):
    client.force_login(org[who].user)
    response = client.get(f"/telephony/twilio/voice/calls/{main_line_call.pk}/recording/")
    assert response.status_code == status


def test_admin_manages_dealer_numbers_of_its_own_group_only(client, org, other_store):
    from telephony.models import DealerNumber

    mine = DealerNumber.objects.create(store=org["agent"].store, number="+13125550150", purpose="main")
    theirs = DealerNumber.objects.create(store=other_store, number="+13125550160", purpose="main")
    user = org["admin"].user
    user.is_staff = True
    user.is_superuser = False
    user.save()
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="telephony"))
    client.force_login(user)
    page = client.get("/admin/telephony/dealernumber/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "(312) 555-0150" in html or "+13125550150" in html
    assert "555-0160" not in html and "+13125550160" not in html
    assert client.get(f"/admin/telephony/dealernumber/{theirs.pk}/change/").status_code in (302, 404)
    assert mine.pk != theirs.pk
