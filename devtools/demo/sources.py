"""Where leads come from: the source mix and providers, when leads arrive (internet leads
around the clock with evening peaks, phone-ups and walk-ins while the store is open), the
provider's lead ids, what the customer wrote and the original document (ADF/XML or chat JSON)."""

from __future__ import annotations

import json
import random
from xml.sax.saxutils import escape as xml_escape

from .timekeeping import HOUR, MINUTE, Calendar, Span, ts
from .vehicles import Vehicle

OEM_PROVIDERS = {"Toyota": "Toyota.com", "Honda": "Honda.com", "Ford": "Ford Direct", "Chevrolet": "GM Shopping Tools",
                 "Nissan": "NissanUSA.com", "Hyundai": "HyundaiUSA.com"}
THIRD_PARTY = [("CarGurus", 0.31, "CG"), ("Autotrader", 0.24, "AT"), ("Cars.com", 0.19, "CC"),
               ("TrueCar", 0.16, "TC"), ("Edmunds", 0.10, "ED")]
# source kind -> share of a store's leads
SOURCE_MIX = [("oem", 0.12), ("third_party", 0.42), ("dealer_website", 0.14), ("chat", 0.05),
              ("phone_up", 0.13), ("walk_in", 0.14)]
INTAKE = {"oem": "adf", "third_party": "adf", "dealer_website": "web_form", "chat": "api",
          "phone_up": "phone", "walk_in": "manual"}
INTERNET_KINDS = {"oem", "third_party", "dealer_website", "chat"}
PHONE_PROVIDERS = ["Main line", "Google Ads call", "Cars.com call tracking", "CarGurus call tracking",
                   "Website click-to-call", "Service department transfer"]

# Share of customers who answer or reply at all, by source kind (intent differs a lot).
P_RESPONSIVE = {"oem": 0.62, "third_party": 0.55, "dealer_website": 0.68, "chat": 0.72}
P_DUPLICATE = 0.055  # of internet leads: the same customer again through another site
P_RETURNING = 0.03  # a customer from an earlier, closed lead comes back
CONNECT_MIN_TALK = 30

COMMENTS = {
    "third_party": [
        "Hi, I am interested in your {vehicle} listed on {provider}. Is it still available?",
        "Is this {vehicle} still available? What is your best out-the-door price?",
        "I'm interested in the {vehicle} (stock {stock}). Has it been in any accidents? Can you send the Carfax?",
        "Can I schedule a test drive for {day}?",
        "What would the payments be with $3,000 down over 72 months? My credit is around {score}.",
        "I'd like to know more about this {model}. I have a {trade} to trade in.",
        "Is the price negotiable? I'm pre-approved through my credit union.",
        "Please text me, I can't take calls at work.",
        "",
    ],
    "oem": [
        "Request a quote: {vehicle}.",
        "I'd like a price quote on a {year} {model} {trim} in {color}.",
        "Interested in current lease specials on the {model}. 36 months, 10k miles a year.",
        "What incentives are available on the {model} this month?",
        "Build & Price: {vehicle}, {color}. Please contact me with availability.",
        "",
    ],
    "dealer_website": [
        "ePrice request: {vehicle}",
        "Schedule a test drive: {vehicle} on {day}",
        "Value my trade: {trade}. Looking at the {model}.",
        "Get pre-approved: interested in the {vehicle}.",
        "Check availability: stock {stock}",
        "Do you have the {model} {trim} in {color}?",
    ],
    "chat": [
        "Chat transcript: Visitor: do you have any {model}s in stock? Agent: We have several, which trim? "
        "Visitor: {trim}, {color} if possible. Agent: May I have your number so a specialist can follow up?",
        "Chat transcript: Visitor: what's the price on stock {stock}? Agent: I'll have a specialist send it. "
        "Visitor: ok, text is best.",
        "Chat transcript: Visitor: can I trade in my {trade}? Agent: Absolutely, we can appraise it today.",
    ],
    "phone_up": [
        "Phone-up: asked if the {vehicle} is still here; wants to come in {day}.",
        "Phone-up: wants numbers on the {model} {trim}, has a {trade} to trade.",
        "Phone-up: called on stock {stock}, asked about price and availability.",
        "Phone-up: looking for a {model} under $35k, asked about financing.",
    ],
    "walk_in": [
        "Walk-in. Looked at the {vehicle}.",
        "Walk-in, drove the {model} {trim}. Has a {trade} to trade. Wants payments under $500.",
        "Walk-in, shopping {model} vs. competitors. Spouse needs to see it.",
        "Walk-in with trade ({trade}), wants appraisal. Interested in the {model}.",
        "Walk-in, just looking today. Liked the {color} {model}.",
    ],
}


def arrival_plan(rng: random.Random, cal: Calendar, hours: list[Span | None], start: int, now: int,
                 n_leads: int) -> list[tuple[int, str]]:
    """(received_at, source kind) for every lead, sorted: internet leads around the clock
    with evening peaks, phone-ups and walk-ins only while the store is open."""
    kinds = rng.choices([k for k, _ in SOURCE_MIX], weights=[w for _, w in SOURCE_MIX], k=n_leads)
    internet_hour = [0.15, 0.08, 0.05, 0.04, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 1.1, 1.15, 1.2, 1.15, 1.1, 1.05,
                     1.0, 1.0, 1.05, 1.15, 1.2, 1.0, 0.7, 0.35]
    internet_day = [1.15, 1.05, 1.0, 1.0, 0.95, 0.9, 1.1]
    walk_day = [0.9, 0.8, 0.8, 0.9, 1.1, 2.0, 0.0]
    phone_day = [1.1, 1.0, 1.0, 1.0, 1.0, 1.2, 0.0]
    span = now - start
    plan: list[tuple[int, str]] = []
    for kind in kinds:
        while True:
            moment = start + rng.random() * span
            _, weekday, seconds = cal.local(moment)
            hour = int(seconds // HOUR) % 24
            if kind in INTERNET_KINDS:
                weight = internet_day[weekday] * internet_hour[hour] / 1.4
            else:
                open_span = hours[weekday]
                if open_span is None or not open_span[0] + 10 * MINUTE <= seconds < open_span[1] - 20 * MINUTE:
                    continue
                weight = (walk_day if kind == "walk_in" else phone_day)[weekday] / 2.0
            if rng.random() < weight:
                plan.append((int(moment), kind))
                break
    plan.sort()
    return plan


class Providers:
    """A store's lead providers and their lead ids, each provider counting up from its own
    random start."""

    def __init__(self, rng: random.Random, brand: str, website: str):
        self.rng = rng
        self.brand = brand
        self.website = website
        self.counters: dict[str, int] = {}

    def pick(self, kind: str) -> tuple[str, str]:
        """(provider, provider lead id)"""
        rng = self.rng
        if kind == "oem":
            provider, prefix = OEM_PROVIDERS[self.brand], self.brand[:3].upper() + "-"
        elif kind == "third_party":
            choice = rng.choices(THIRD_PARTY, weights=[w for _, w, _ in THIRD_PARTY])[0]
            provider, prefix = choice[0], choice[2]
        elif kind == "dealer_website":
            return f"{self.website} web form", ""
        elif kind == "chat":
            provider, prefix = "Website chat", "CHAT-"
        elif kind == "phone_up":
            return rng.choice(PHONE_PROVIDERS), ""
        else:
            return "Showroom", ""
        counter = self.counters.get(provider)
        if counter is None:
            counter = rng.randrange(10_000_000, 90_000_000)
        counter += rng.randrange(1, 40)
        self.counters[provider] = counter
        return provider, f"{prefix}{counter}"


def comments_for(rng: random.Random, kind: str, vehicle: Vehicle, trade: Vehicle | None, provider: str) -> str:
    """What the customer wrote (or the desk logged), in the words of the lead's source."""
    template = rng.choice(COMMENTS[kind])
    trade_label = f"{trade.year} {trade.make} {trade.model} with {trade.odometer:,} miles" if trade else "car"
    return template.format(
        vehicle=vehicle.label, provider=provider, stock=vehicle.stock or "n/a", day=rng.choice(
            ["Saturday morning", "tomorrow after work", "Friday", "this weekend", "Monday at lunch"]),
        score=rng.choice([640, 680, 700, 720, 760, 800]), model=vehicle.model, trade=trade_label,
        year=vehicle.year, trim=vehicle.trim or "base", color=vehicle.color,
    )


def original_document(kind: str, lead_ts: int, provider: str, provider_id: str, first: str, last: str,
                      phone: str, email: str, vehicles: list[Vehicle], comments: str, *, store_name: str) -> str:
    """The lead as its provider sent it: ADF/XML from OEM and third-party sites, JSON from the
    chat; nothing for the other sources."""
    if kind in ("oem", "third_party"):
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<?adf version="1.0"?>\n<adf><prospect status="new">',
                 f'<id sequence="1" source="{xml_escape(provider)}">{provider_id}</id>',
                 f"<requestdate>{ts(lead_ts).isoformat()}</requestdate>"]
        for v in vehicles:
            parts.append(
                f'<vehicle interest="{v.interest}" status="{v.condition}"><year>{v.year}</year>'
                f"<make>{v.make}</make><model>{xml_escape(v.model)}</model>"
                + (f"<trim>{xml_escape(v.trim)}</trim>" if v.trim else "")
                + (f"<vin>{v.vin}</vin>" if v.vin else "")
                + (f"<stock>{v.stock}</stock>" if v.stock else "")
                + (f'<odometer units="mi">{v.odometer}</odometer>' if v.condition == "used" and v.odometer else "")
                + "</vehicle>"
            )
        parts.append(f'<customer><contact><name part="first">{xml_escape(first)}</name>'
                     f'<name part="last">{xml_escape(last)}</name>'
                     + (f"<email>{email}</email>" if email else "")
                     + (f'<phone type="voice">{phone}</phone>' if phone else "")
                     + f"</contact><comments>{xml_escape(comments)}</comments></customer>")
        parts.append(f"<vendor><vendorname>{xml_escape(store_name)}</vendorname></vendor>"
                     f"<provider><name>{xml_escape(provider)}</name></provider></prospect></adf>")
        return "".join(parts)
    if kind == "chat":
        return json.dumps({
            "source": "chat", "provider": provider, "provider_lead_id": provider_id,
            "customer": {"first_name": first, "last_name": last, "phone": phone, "email": email},
            "vehicle": {"year": vehicles[0].year, "make": vehicles[0].make, "model": vehicles[0].model,
                        "stock_number": vehicles[0].stock},
            "comments": comments,
        })
    return ""
