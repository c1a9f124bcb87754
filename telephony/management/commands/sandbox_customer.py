"""Play a customer against the telephony sandbox: text or call one of a store's dealer numbers.

    ./dev manage sandbox_customer text --store lakeside-toyota --from +13125550142 --to +13125550100 "Still available?"
    ./dev manage sandbox_customer call --store lakeside-toyota --from +13125550142 --to +13125550111
    ./dev manage sandbox_customer call --store lakeside-toyota            # a new caller on the first tracking number
    ./dev manage sandbox_customer call --store lakeside-toyota --nobody-answers --talk 40

The requests go, signed like Twilio's, to the running server at PUBLIC_BASE_URL (start it
first); the command waits for the call to play out and prints every request and answer.
Only while the sandbox is on (TELEPHONY_SANDBOX set; `./dev manage` sets it).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from leads.normalize import phone_to_e164
from org.models import Store
from telephony.models import DealerNumber, NumberPurpose
from telephony.sandbox import drivers
from telephony.twilio import public_url, sandbox_enabled


class Command(BaseCommand):
    help = "Text or call a store's dealer number as a customer, through the telephony sandbox."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        for name, helptext in [("text", "the customer texts a dealer number"),
                               ("call", "the customer calls a dealer number")]:
            action = sub.add_parser(name, help=helptext)
            action.add_argument("--store", required=True, help="slug of the store")
            action.add_argument("--from", dest="from_number", default="",
                                help="the customer's number (call: empty for a new caller)")
            action.add_argument("--to", dest="to_number", default="",
                                help="the dealer number (default: text the main line, call the first tracking number)")
            if name == "text":
                action.add_argument("body", help="what the customer writes")
            else:
                action.add_argument("--nobody-answers", action="store_true", help="nobody at the store picks up")
                action.add_argument("--talk", type=int, default=None, help="talk time in seconds if answered")

    def handle(self, *args, action: str, store: str, from_number: str, to_number: str, **options):
        if not sandbox_enabled():
            raise CommandError("The telephony sandbox is off: set TELEPHONY_SANDBOX=1 to play the customer.")
        store_obj = Store.objects.filter(slug=store).first()
        if store_obj is None:
            raise CommandError(f"Unknown store {store!r}.")
        dealer_number = self.dealer_number(store_obj, to_number, prefer_tracking=action == "call")
        caller = self.phone(from_number, "--from") if from_number else ""
        if action == "text":
            if not caller:
                raise CommandError("Say who texts: --from +1...")
            run = drivers.customer_texts(caller, dealer_number, options["body"])
        else:
            if not caller:
                from telephony.views_sandbox import new_caller_number

                caller = new_caller_number(store_obj)
                self.stdout.write(f"A new caller: {caller}")
            run = drivers.customer_calls(caller, dealer_number, staff_answers=not options["nobody_answers"],
                                         talk_seconds=options["talk"])
        for exchange in run.exchanges:
            status = exchange.status if exchange.status is not None else f"no answer ({exchange.body})"
            self.stdout.write(f"  {exchange.kind:<22} {exchange.method} {exchange.path} -> {status}")
        self.stdout.write(self.style.SUCCESS(run.summary) if not run.failures else self.style.WARNING(run.summary))
        if any(e.status is None for e in run.exchanges):
            raise CommandError(f"The app did not answer at {public_url('')}: is the server running there?")

    def phone(self, raw: str, option: str) -> str:
        try:
            return phone_to_e164(raw)
        except ValidationError:
            raise CommandError(f"{option} {raw!r} is not a valid phone number.") from None

    def dealer_number(self, store: Store, raw: str, *, prefer_tracking: bool) -> str:
        numbers = DealerNumber.objects.filter(store=store, is_active=True)
        if raw:
            number = self.phone(raw, "--to")
            if not numbers.filter(number=number).exists():
                known = ", ".join(str(n) for n in numbers.values_list("number", flat=True)) or "none"
                raise CommandError(f"{number} is not a dealer number of {store} (its numbers: {known}).")
            return number
        order = [NumberPurpose.TRACKING, NumberPurpose.MAIN, NumberPurpose.AGENT] if prefer_tracking else \
            [NumberPurpose.MAIN, NumberPurpose.AGENT, NumberPurpose.TRACKING]
        for purpose in order:
            found = numbers.filter(purpose=purpose).order_by("pk").first()
            if found is not None:
                return str(found.number)
        raise CommandError(f"{store} has no dealer numbers; add one in the admin first.")
