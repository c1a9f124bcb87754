"""Telephony numbers: the demo store's Twilio numbers, answered by the telephony sandbox."""

from __future__ import annotations

from org.models import Role, Staff, Store
from telephony.models import DealerNumber, NumberPurpose


def create_dealer_numbers(store_id: int) -> None:
    """The demo store's Twilio numbers (answered by the telephony sandbox): the main line, a
    line per internet agent, and tracking numbers for two lead sources, so a phone-up on one
    gets its source."""
    store = Store.objects.get(pk=store_id)
    code = str(store.main_phone)[2:5]
    numbers = [DealerNumber(store=store, number=f"+1{code}5550150", purpose=NumberPurpose.MAIN)]
    agents = Staff.objects.filter(store=store, role=Role.INTERNET_AGENT).order_by("pk")
    numbers += [
        DealerNumber(store=store, number=f"+1{code}55501{51 + i}", purpose=NumberPurpose.AGENT, staff=agent)
        for i, agent in enumerate(agents)
    ]
    # A call to a tracking number is a phone-up (it rings on the board, seed 003); the provider says
    # which listing or button it came from.
    numbers += [
        DealerNumber(store=store, number=f"+1{code}5550170", purpose=NumberPurpose.TRACKING,
                     source_type="phone_up", provider="Cars.com listing"),
        DealerNumber(store=store, number=f"+1{code}5550171", purpose=NumberPurpose.TRACKING,
                     source_type="phone_up", provider="Website call button"),
    ]
    DealerNumber.objects.bulk_create(numbers)
