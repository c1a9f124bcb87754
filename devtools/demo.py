"""Demo and benchmark data: a dealer group as the seeds describe it, with months of history.

`manage.py demo_store` is a thin wrapper around `build()`. The organization (group, stores,
teams, users, staff, weekly shifts) goes through the ORM with bulk_create. Customers, leads
and their histories are simulated store by store in chronological order and streamed into
PostgreSQL with COPY (psycopg 3): the services write one lead at a time, which would take
hours for a million leads. The simulation follows the rules the services enforce (E.164
phones and lowercased emails unique per store, forward-only status moves, duplicates only of
an open lead of the same customer within the window, assignments matching the owner), so the
generated rows look exactly like rows the application wrote itself.

IDs are reserved from the tables' own sequences before rows are written, so anything the ORM
inserts later continues after them. Everything runs in one transaction: a failed build
leaves nothing behind. For large loads the secondary indexes and foreign keys of the bulk
tables are dropped first and recreated (identical definitions, from the catalog) before the
commit, which is how pg_restore loads data too.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

import phonenumbers
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models, transaction
from django.utils import timezone
from psycopg import sql

from leads.events import contact_events_copy, new_leads_attempted_mark
from leads.models import (
    OPEN_STATUSES,
    ContactEvent,
    Customer,
    CustomerEmail,
    CustomerPhone,
    IntakeChannel,
    Lead,
    LeadAssignment,
    LeadStatusChange,
    LeadVehicle,
    SourceType,
)
from org.models import WEEKDAYS, DealerGroup, Role, Shift, Staff, Store, Team, default_business_hours

DEMO_PASSWORD = "demo1234"
DEMO_GROUP_NAME, DEMO_GROUP_SLUG = "Lakeside Auto Group", "lakeside-auto-group"
DEMO_STORE_NAME, DEMO_STORE_SLUG = "Lakeside Toyota", "lakeside-toyota"
DEMO_URL = "http://localhost:8000/"  # settings.PUBLIC_BASE_URL's default; see demo_url()
DEFAULT_SEED = 1977
ADMIN_GROUP_NAME = "Dealer admins"
ADMIN_APPS = ["org", "leads", "coverage", "distribution", "telephony"]

# Seeds 001/002: 7-9 agents each get 60-80 internet/phone leads a month; with the walk-ins
# the retail floor logs, one store takes about 70 leads per agent per month.
AGENTS_PER_STORE = 9
LEADS_PER_STORE_MONTH = 70 * AGENTS_PER_STORE
DAY = 86_400
HOUR = 3_600
MINUTE = 60
# Above this many leads in one build, drop and recreate the secondary indexes and FKs.
BULK_REBUILD_THRESHOLD = 50_000
BULK_TABLES = [
    "leads_customer",
    "leads_customerphone",
    "leads_customeremail",
    "leads_lead",
    "leads_leadvehicle",
    "leads_leadstatuschange",
    "leads_leadassignment",
    "leads_contactevent",
]

# --------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Maria James Jose Jennifer Michael Linda David Patricia Robert Elizabeth John Susan Carlos "
    "Jessica Daniel Sarah Luis Karen Anthony Nancy Kevin Lisa Brian Ashley Jason Emily Matthew "
    "Michelle Juan Amanda Christopher Melissa Andrew Stephanie Joshua Rebecca Ryan Laura Brandon "
    "Nicole Tyler Angela Eric Rachel Marcus Samantha Terrence Keisha Andre Tamika DeShawn Latoya "
    "Wei Mei Raj Priya Anil Sunita Hiroshi Yuki Minh Linh Omar Fatima Ahmed Aisha Dmitri Olga "
    "Tomasz Agnieszka Patrick Colleen Sean Bridget Diego Gabriela Alejandro Sofia Miguel Valeria "
    "Javier Lucia Francisco Rosa Antonio Carmen Jamal Imani Darnell Jasmine Trevor Megan Cody "
    "Brittany Kyle Heather Derek Amber Nathan Courtney Zachary Kayla Ethan Olivia Noah Emma Liam "
    "Ava Mason Isabella Lucas Mia Logan Harper Caleb Abigail Gregory Donna Frank Deborah Raymond "
    "Sharon Gary Cynthia Dennis Kathleen Walter Janet Roger Carol Keith Diane Vincent Theresa "
    "Grace Hannah Owen Chloe Bobby Chris Derrick Doug Susan Jared Matt Ron Evan Joe"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell "
    "Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson "
    "Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera "
    "Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez "
    "McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns "
    "Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt "
    "Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer "
    "Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant "
    "Dunn Kowalski Nowak O'Brien Schultz Yamamoto Wang Zhang Singh Shah Kaur Ali Khan Ivanov "
    "Novak Lindqvist Okafor Mensah"
).split()
EMAIL_DOMAINS = ["example.com", "example.net", "example.org"]

# make -> (WMI prefixes, [(model, weight, [trims])])
CATALOG: dict[str, tuple[list[str], list[tuple[str, float, list[str]]]]] = {
    "Toyota": (
        ["JTD", "4T1", "5TD", "2T3", "JTM", "5TF", "JTE", "4T3"],
        [
            ("RAV4", 18, ["LE", "XLE", "XLE Premium", "Adventure", "Limited", "Hybrid XSE", "Hybrid Woodland"]),
            ("Camry", 15, ["LE", "SE", "XSE", "XLE", "Nightshade"]),
            ("Corolla", 12, ["LE", "SE", "XSE", "Hybrid LE", "Nightshade"]),
            ("Tacoma", 11, ["SR", "SR5", "TRD Sport", "TRD Off-Road", "Limited", "TRD Pro"]),
            ("Highlander", 9, ["LE", "XLE", "Limited", "Platinum", "Hybrid XLE"]),
            ("Tundra", 7, ["SR5", "Limited", "Platinum", "1794 Edition", "TRD Pro"]),
            ("Grand Highlander", 5, ["XLE", "Limited", "Platinum", "Hybrid MAX"]),
            ("Corolla Cross", 6, ["L", "LE", "XLE", "Hybrid S"]),
            ("4Runner", 5, ["SR5", "TRD Off-Road", "Limited", "TRD Pro"]),
            ("Sienna", 4, ["LE", "XLE", "Woodland", "Platinum"]),
            ("Prius", 3, ["LE", "XLE", "Limited"]),
            ("Sequoia", 2, ["SR5", "Limited", "Platinum", "Capstone"]),
            ("bZ4X", 1, ["XLE", "Limited"]),
            ("GR86", 1, ["Base", "Premium"]),
        ],
    ),
    "Honda": (
        ["1HG", "2HG", "5J6", "19X", "2HK", "5FN", "7FA"],
        [
            ("CR-V", 18, ["LX", "EX", "EX-L", "Sport Hybrid", "Sport-L Hybrid"]),
            ("Civic", 15, ["LX", "Sport", "EX", "Touring", "Si", "Type R"]),
            ("Accord", 12, ["LX", "SE", "Sport Hybrid", "EX-L Hybrid", "Touring Hybrid"]),
            ("HR-V", 9, ["LX", "Sport", "EX-L"]),
            ("Pilot", 8, ["Sport", "EX-L", "TrailSport", "Touring", "Elite"]),
            ("Odyssey", 5, ["EX", "EX-L", "Sport", "Touring", "Elite"]),
            ("Passport", 4, ["RTL", "TrailSport", "Black Edition"]),
            ("Ridgeline", 4, ["Sport", "RTL", "TrailSport", "Black Edition"]),
            ("Prologue", 1, ["EX", "Touring", "Elite"]),
        ],
    ),
    "Ford": (
        ["1FA", "1FT", "1FM", "3FM", "3FT"],
        [
            ("F-150", 20, ["XL", "XLT", "Lariat", "King Ranch", "Platinum", "Tremor", "Raptor"]),
            ("Escape", 10, ["Active", "ST-Line", "Platinum", "Plug-In Hybrid"]),
            ("Explorer", 10, ["Active", "ST-Line", "Platinum", "ST"]),
            ("Bronco", 8, ["Big Bend", "Black Diamond", "Outer Banks", "Badlands", "Wildtrak"]),
            ("Bronco Sport", 7, ["Big Bend", "Outer Banks", "Badlands"]),
            ("Maverick", 8, ["XL", "XLT", "Lariat", "Tremor"]),
            ("Ranger", 5, ["XL", "XLT", "Lariat", "Raptor"]),
            ("Super Duty F-250", 5, ["XL", "XLT", "Lariat", "King Ranch"]),
            ("Mustang", 4, ["EcoBoost", "EcoBoost Premium", "GT", "Dark Horse"]),
            ("Expedition", 4, ["Active", "Platinum", "King Ranch", "Tremor"]),
            ("Mustang Mach-E", 2, ["Select", "Premium", "GT"]),
        ],
    ),
    "Chevrolet": (
        ["1G1", "1GC", "1GN", "3GN", "KL7", "KL4"],
        [
            ("Silverado 1500", 20, ["WT", "Custom", "LT", "RST", "LTZ", "High Country", "ZR2"]),
            ("Equinox", 12, ["LT", "RS", "ACTIV"]),
            ("Trax", 10, ["LS", "1RS", "LT", "ACTIV", "2RS"]),
            ("Traverse", 8, ["LT", "Z71", "RS", "High Country"]),
            ("Tahoe", 7, ["LS", "LT", "RST", "Z71", "Premier", "High Country"]),
            ("Colorado", 6, ["WT", "LT", "Trail Boss", "Z71", "ZR2"]),
            ("Trailblazer", 6, ["LS", "LT", "ACTIV", "RS"]),
            ("Blazer", 4, ["2LT", "3LT", "RS", "Premier"]),
            ("Suburban", 4, ["LS", "LT", "RST", "Premier"]),
            ("Equinox EV", 2, ["LT", "RS"]),
        ],
    ),
    "Nissan": (
        ["1N4", "JN8", "5N1", "1N6", "3N1", "3N8"],
        [
            ("Rogue", 20, ["S", "SV", "SL", "Platinum", "Rock Creek"]),
            ("Altima", 12, ["S", "SV", "SR", "SL"]),
            ("Sentra", 12, ["S", "SV", "SR"]),
            ("Kicks", 9, ["S", "SV", "SR"]),
            ("Pathfinder", 8, ["S", "SV", "SL", "Rock Creek", "Platinum"]),
            ("Frontier", 8, ["S", "SV", "PRO-4X", "PRO-X"]),
            ("Murano", 4, ["SV", "SL", "Platinum"]),
            ("Armada", 3, ["SV", "SL", "Platinum"]),
        ],
    ),
    "Hyundai": (
        ["5NP", "KM8", "5NM", "KMH"],
        [
            ("Tucson", 18, ["SE", "SEL", "N Line", "XRT", "Limited", "Hybrid Blue"]),
            ("Elantra", 14, ["SE", "SEL", "N Line", "Limited", "Hybrid Blue"]),
            ("Santa Fe", 12, ["SE", "SEL", "XRT", "Limited", "Calligraphy"]),
            ("Palisade", 8, ["SE", "SEL", "XRT", "Limited", "Calligraphy"]),
            ("Kona", 8, ["SE", "SEL", "N Line", "Limited"]),
            ("Sonata", 6, ["SEL", "N Line", "Limited", "Hybrid SEL"]),
            ("Santa Cruz", 3, ["SE", "SEL", "XRT", "Limited"]),
            ("Ioniq 5", 3, ["SE", "SEL", "Limited", "XRT"]),
        ],
    ),
}
# Used-only makes that show up on the used lot and as trade-ins.
USED_ONLY: dict[str, tuple[list[str], list[tuple[str, float, list[str]]]]] = {
    "Kia": (["5XY", "KNA", "KND"], [("Sorento", 5, ["LX", "S", "EX"]), ("Sportage", 5, ["LX", "EX"]),
                                    ("Telluride", 3, ["S", "EX", "SX"]), ("Forte", 3, ["LXS", "GT-Line"])]),
    "Subaru": (["4S4", "JF2", "4S3"], [("Outback", 5, ["Premium", "Limited", "Onyx XT"]),
                                       ("Forester", 5, ["Base", "Premium", "Sport"]),
                                       ("Crosstrek", 4, ["Premium", "Sport", "Limited"])]),
    "Jeep": (["1C4"], [("Grand Cherokee", 6, ["Laredo", "Limited", "Overland"]),
                       ("Wrangler", 5, ["Sport", "Sahara", "Rubicon"]), ("Compass", 3, ["Latitude", "Limited"])]),
    "Ram": (["1C6", "3C6"], [("1500", 6, ["Tradesman", "Big Horn", "Laramie", "Rebel"])]),
    "Mazda": (["JM3", "JM1"], [("CX-5", 5, ["Select", "Preferred", "Carbon Edition"]),
                               ("Mazda3", 3, ["Select", "Preferred"]), ("CX-30", 3, ["Select", "Premium"])]),
    "Volkswagen": (["3VW", "1V2", "3VV"], [("Jetta", 3, ["S", "SE", "SEL"]), ("Tiguan", 3, ["S", "SE"]),
                                           ("Atlas", 2, ["SE", "SEL"])]),
    "BMW": (["WBA", "5UX"], [("X3", 3, ["sDrive30i", "xDrive30i"]), ("3 Series", 2, ["330i", "330i xDrive"]),
                             ("X5", 2, ["xDrive40i"])]),
    "Mercedes-Benz": (["W1K", "4JG"], [("C-Class", 2, ["C 300"]), ("GLC", 2, ["GLC 300 4MATIC"])]),
    "Lexus": (["2T2", "JTH"], [("RX 350", 3, ["Base", "Premium"]), ("ES 350", 2, ["Base", "F Sport"]),
                               ("NX 350", 2, ["Premium", "F Sport"])]),
    "GMC": (["1GT", "3GT"], [("Sierra 1500", 4, ["SLE", "Elevation", "AT4"]), ("Acadia", 2, ["SLE", "SLT"]),
                             ("Terrain", 2, ["SLE", "SLT"])]),
    "Tesla": (["5YJ", "7SA"], [("Model 3", 3, ["Long Range", "Standard Range Plus"]), ("Model Y", 3, ["Long Range"])]),
    "Dodge": (["2C3", "1C4"], [("Charger", 2, ["SXT", "R/T"]), ("Durango", 2, ["SXT", "GT", "R/T"])]),
}
ALL_MAKES = {**CATALOG, **USED_ONLY}
COLORS = ["Black", "White", "Silver", "Gray", "Blue", "Red", "Pearl White", "Midnight Blue", "Army Green"]

VIN_TRANSLIT = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
VIN_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 2010 = A ... 2030 = Y, then 2031 = 1


@cache
def _us_area_codes() -> tuple[int, ...]:
    """US area codes where libphonenumber accepts NPA-555-XXXX as a valid number."""
    codes = []
    for npa in range(201, 990):
        number = phonenumbers.parse(f"+1{npa}5550100")
        if phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == "US":
            codes.append(npa)
    return tuple(codes)


@dataclass(frozen=True)
class Region:
    city_names: tuple[str, ...]
    time_zone: str
    staff_codes: tuple[int, int]  # desk line, cell phones
    customer_codes: tuple[int, ...]


REGIONS = [
    Region(("Oak Brook", "Naperville", "Schaumburg", "Joliet", "Lakeside"), "America/Chicago", (312, 872),
           (773, 630, 847, 708, 815, 331, 224, 779, 312, 872)),
    Region(("Plano", "Arlington", "Frisco", "Mesquite", "Denton"), "America/Chicago", (214, 469),
           (972, 817, 682, 940, 903, 430, 214, 469)),
    Region(("Marietta", "Decatur", "Alpharetta", "Peachtree", "Kennesaw"), "America/New_York", (404, 678),
           (770, 470, 706, 762, 404, 678)),
    Region(("Westerville", "Dublin", "Parma", "Mason", "Dayton"), "America/New_York", (614, 216),
           (380, 440, 513, 937, 330, 234, 419, 567)),
    Region(("Aurora", "Lakewood", "Littleton", "Boulder", "Longmont"), "America/Denver", (303, 720),
           (719, 970, 303, 720)),
    Region(("Mesa", "Chandler", "Tempe", "Peoria", "Gilbert"), "America/Phoenix", (602, 480),
           (623, 520, 928, 602, 480)),
    Region(("Bellevue", "Renton", "Everett", "Tacoma", "Kent"), "America/Los_Angeles", (206, 425),
           (253, 360, 564, 509, 206, 425)),
    Region(("Roseville", "Elk Grove", "Folsom", "Davis", "Stockton"), "America/Los_Angeles", (916, 279),
           (530, 209, 707, 916, 279)),
    Region(("Cary", "Raleigh", "Durham", "Concord", "Gastonia"), "America/New_York", (919, 984),
           (704, 980, 336, 743, 252, 910)),
    Region(("Franklin", "Murfreesboro", "Brentwood", "Hendersonville", "Smyrna"), "America/Chicago", (615, 629),
           (931, 901, 731, 423, 865)),
]
GROUP_NAMES = [
    "Prairie Auto Group", "Summit Motor Group", "Heartland Automotive", "Blue Ridge Auto Group",
    "Pacific Crest Motors", "Great Lakes Auto Group", "Lone Star Motor Group", "Red Rock Automotive",
    "Cascade Auto Group", "Magnolia Motor Group",
]
STORE_BRANDS = ["Toyota", "Honda", "Ford", "Chevrolet", "Nissan", "Hyundai"]
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
TEXT_FIRST = [
    "Hi {first}, this is {agent} with {store}. Thanks for your inquiry on the {vehicle}! It's available. "
    "When would be a good time to take a look?",
    "Hi {first}! {agent} from {store} here. I got your request about the {vehicle}. Do you have a few minutes today?",
    "Hello {first}, {agent} at {store}. I just tried calling about the {model}. Text me back whenever convenient.",
]
TEXT_FOLLOW = [
    "Hi {first}, just checking in on the {model}. Any questions I can answer?",
    "{first}, we just got a couple more {model}s in. Want me to send you some options?",
    "Hi {first}, it's {agent} at {store}. Are you still shopping for a {model}?",
    "Good morning {first}! Would Saturday work for a quick test drive?",
    "Hi {first}, I have your numbers ready on the {model}. When is a good time to go over them?",
    "{first}, the {model} you asked about got a price drop this week. Still interested?",
]
TEXT_REPLIES = [
    "Yes still interested", "Can you text me the out the door price?", "I can come by Saturday around 11",
    "Is it still available?", "What's the lowest you can do?", "Call me after 5", "Still looking, will let you know",
    "I'm at work, can you email me the details?", "Does it have heated seats?",
    "What would my payment be with $3k down?", "ok thanks", "Thanks!", "Sounds good",
]
TEXT_LOST_REPLIES = ["We bought something already, thank you", "Not interested anymore", "Please stop texting me",
                     "Went with another dealer, thanks"]
EMAIL_SUBJECTS = [
    "Your {vehicle} quote from {store}", "Re: {model} availability", "Following up on your {model} inquiry",
    "Pictures and window sticker: {vehicle}", "Your trade-in estimate", "Lease and finance options for the {model}",
]
EMAIL_REPLIES = [
    "Thanks for the info. What would the monthly payment be over 72 months?", "Is the price negotiable?",
    "Can you send more pictures of the interior?", "I'll be in Saturday morning.", "Please call me at lunch.",
    "Not ready yet, maybe next month.", "What's my trade worth? It's in good shape.",
]
AGENT_NOTES = [
    "Customer prefers text.", "Wants payment under $450/mo.", "Waiting on credit union approval.",
    "Spouse will co-sign.", "Asked to call back after 5 pm.", "Shopping the same {model} at two other stores.",
    "Manager live turn: customer asked for best price, director spoke with him.",
]
RETAIL_NOTES = [
    "left message", "Left message", "LM", "left vm", "called, no answer", "no answer", "left message again",
    "called, mailbox full", "customer said he'll be back Saturday", "spoke w/ customer, waiting on spouse",
    "customer shopping other stores", "sent numbers", "will call back tomorrow",
]
RETAIL_OUTSIDE = [("text", "texted customer from my cell"), ("text", "sent walkaround video from my phone"),
                  ("email", "emailed numbers from personal email"), ("call", "called from my cell, left message")]
CONFIRM_REPLIES = ["C", "Confirmed, see you then", "Yes", "Running 15 min late", "Can we do an hour later?"]


# --------------------------------------------------------------------------------------
# Calendar and schedules (all arithmetic in epoch seconds, in the store's zone)
# --------------------------------------------------------------------------------------

Span = tuple[int, int]  # seconds after local midnight


def _hhmm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * HOUR + int(minutes) * MINUTE


class Calendar:
    """Local midnights of a range of days, so local times are found with one bisect."""

    def __init__(self, tz: ZoneInfo, first: dt.date, last: dt.date):
        self.midnights: list[int] = []
        self.weekdays: list[int] = []
        day = first
        while day <= last:
            self.midnights.append(int(dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()))
            self.weekdays.append(day.weekday())
            day += dt.timedelta(days=1)

    def day(self, ts: float) -> int:
        index = bisect_right(self.midnights, ts) - 1
        return min(max(index, 0), len(self.midnights) - 1)

    def local(self, ts: float) -> tuple[int, int, float]:
        """(day index, weekday, seconds after local midnight)."""
        index = self.day(ts)
        return index, self.weekdays[index], ts - self.midnights[index]


@dataclass
class Person:
    staff_id: int
    username: str
    first_name: str
    last_name: str
    role: str
    team: str
    shifts: list[Span | None]  # by weekday, 0 = Monday

    @property
    def days_off(self) -> list[int]:
        return [day for day, span in enumerate(self.shifts) if span is None]


@dataclass
class StoreSpec:
    name: str
    slug: str
    group_index: int
    brand: str
    region: Region
    username_prefix: str
    website: str


@dataclass
class StoreContext:
    spec: StoreSpec
    store_id: int
    calendar: Calendar
    hours: list[Span | None]  # store open hours by weekday
    people: list[Person] = field(default_factory=list)

    def by_role(self, role: str) -> list[Person]:
        return [p for p in self.people if p.role == role]


OPEN_SHIFT = (_hhmm("09:00"), _hhmm("17:30"))
CLOSE_SHIFT = (_hhmm("11:30"), _hhmm("20:00"))
SATURDAY = (_hhmm("09:00"), _hhmm("18:00"))


def _floor_schedule(index: int, day_off: int | None) -> list[Span | None]:
    """Sales floor: alternating opening/closing shifts, Saturdays, the store closed on Sunday."""
    shifts: list[Span | None] = []
    for weekday in range(7):
        if weekday == 6 or weekday == day_off:
            shifts.append(None)
        elif weekday == 5:
            shifts.append(SATURDAY)
        else:
            shifts.append(OPEN_SHIFT if (index + weekday) % 2 == 0 else CLOSE_SHIFT)
    return shifts


def _office_schedule(start: str, end: str, saturday: Span | None = None) -> list[Span | None]:
    return [(_hhmm(start), _hhmm(end))] * 5 + [saturday, None]


def _clip_to_hours(shifts: list[Span | None], hours: list[Span | None]) -> list[Span | None]:
    """A shift never runs outside the store's open hours (Shift requires starts < ends)."""
    clipped: list[Span | None] = []
    for span, open_span in zip(shifts, hours, strict=True):
        if span is None or open_span is None:
            clipped.append(None)
            continue
        start, end = max(span[0], open_span[0]), min(span[1], open_span[1])
        clipped.append((start, end) if start < end else None)
    return clipped


def _staff_plan() -> list[tuple[str, str, str | None, list[Span | None]]]:
    """(username suffix, role, team number or None, weekly shifts) for one store.

    3 teams, each with a sales manager, 3 internet agents and 4-5 retail salespeople (seeds
    000 and 001); 2 fleet, a receptionist, the internet director and an admin. Day-off
    weekdays rotate so the floor is covered every day: agent1 has Monday off (seed 001).
    """
    plan: list[tuple[str, str, str | None, list[Span | None]]] = []
    plan.append(("director", Role.INTERNET_DIRECTOR, None, _office_schedule("08:30", "18:00", (_hhmm("09:00"), _hhmm("14:00")))))
    for i in range(3):
        plan.append((f"manager{i + 1}", Role.SALES_MANAGER, str(i), _floor_schedule(i, (i * 2 + 1) % 6)))
    for i in range(9):
        plan.append((f"agent{i + 1}", Role.INTERNET_AGENT, str(i // 3), _floor_schedule(i, i % 6)))
    for i in range(14):
        # One retail salesperson per team works six days (only Sunday, when the store is closed, off).
        day_off = None if i in (2, 6, 10) else (i + 2) % 6
        plan.append((f"retail{i + 1}", Role.RETAIL, str(i % 3), _floor_schedule(i, day_off)))
    for i in range(2):
        plan.append((f"fleet{i + 1}", Role.FLEET, None, _office_schedule("08:30", "17:30")))
    plan.append(("receptionist", Role.RECEPTIONIST, None, _floor_schedule(0, 2)[:5] + [SATURDAY, None]))
    plan.append(("admin", Role.ADMIN, None, _office_schedule("08:00", "17:00")))
    return plan


# --------------------------------------------------------------------------------------
# Writing rows: COPY with ids reserved from the tables' sequences
# --------------------------------------------------------------------------------------


class IdBlock:
    """Ids for one table, reserved from its identity sequence in growing blocks."""

    def __init__(self, cursor, table: str):
        self.cursor = cursor
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        self.sequence = cursor.fetchone()[0]
        self.next = 1
        self.end = 0
        self.block = 1_000
        self.used = 0

    def take(self) -> int:
        if self.next > self.end:
            self.cursor.execute("SELECT setval(%s, nextval(%s) + %s - 1)", [self.sequence, self.sequence, self.block])
            self.end = self.cursor.fetchone()[0]
            self.next = self.end - self.block + 1
            self.block = min(self.block * 2, 500_000)
        value = self.next
        self.next += 1
        self.used += 1
        return value

    def give_back(self) -> None:
        """Hand the unused tail of the last block back if nobody took ids after it."""
        if self.next > self.end:
            return
        schema, _, name = self.sequence.rpartition(".")
        self.cursor.execute(
            "SELECT setval(%s, %s, false) FROM pg_sequences WHERE schemaname = %s AND sequencename = %s "
            "AND last_value = %s",
            [self.sequence, self.next, schema.strip('"') or "public", name.strip('"'), self.end],
        )


class CopySink:
    """Rows per table, flushed with COPY in chunks; columns the generator does not know
    (added to the models later) get their model default."""

    TABLES: dict[str, tuple[type, tuple[str, ...]]] = {
        "customer": (Customer, ("id", "store_id", "first_name", "last_name", "created_at")),
        "phone": (CustomerPhone, ("id", "store_id", "customer_id", "number", "kind")),
        "email": (CustomerEmail, ("id", "store_id", "customer_id", "email")),
        "lead": (Lead, ("id", "store_id", "customer_id", "source_type", "provider", "provider_lead_id",
                        "intake_channel", "comments", "received_at", "status", "owner_id", "duplicate_of_id",
                        "in_claim_pool", "routing_due_at", "routed_at", "original_document", "created_by_id")),
        "vehicle": (LeadVehicle, ("id", "lead_id", "interest", "condition", "year", "make", "model", "trim",
                                  "stock_number", "vin", "odometer")),
        "status": (LeadStatusChange, ("id", "lead_id", "from_status", "to_status", "changed_by_id", "changed_at")),
        "assignment": (LeadAssignment, ("id", "lead_id", "from_staff_id", "to_staff_id", "assigned_by_id",
                                        "reason", "assigned_at")),
        "event": (ContactEvent, ("id", "store_id", "customer_id", "lead_id", "staff_id", "channel", "direction",
                                 "outcome", "occurred_at", "recorded_at", "evidence_level",
                                 "outside_company_channels", "body", "talk_seconds", "answered_by_person", "call_sid",
                                 "message_sid", "recording_sid", "email_message_id", "source_system",
                                 "external_id")),
    }

    def __init__(self, chunk_rows: int = 50_000):
        self.cursor = connection.cursor()
        self.pg = connection.connection  # the psycopg 3 connection
        self.chunk_rows = chunk_rows
        self.rows: dict[str, list[tuple]] = {key: [] for key in self.TABLES}
        self.ids = {key: IdBlock(self.cursor, model._meta.db_table) for key, (model, _) in self.TABLES.items()}
        self.written = dict.fromkeys(self.TABLES, 0)
        self.statements: dict[str, sql.Composed] = {}
        self.extras: dict[str, tuple] = {}
        self.extra_columns: dict[str, tuple] = {}
        for key, (model, columns) in self.TABLES.items():
            extra_columns, extra_values = self._extra_columns(model, columns)
            self.extras[key] = tuple(extra_values)
            self.extra_columns[key] = tuple(extra_columns)
            if model is ContactEvent:
                continue  # written by leads.events.contact_events_copy
            self.statements[key] = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(model._meta.db_table),
                sql.SQL(", ").join(sql.Identifier(c) for c in (*columns, *extra_columns)),
            )

    @staticmethod
    def _extra_columns(model, columns: tuple[str, ...]) -> tuple[list[str], list]:
        names, values = [], []
        missing = set(columns) - {f.column for f in model._meta.concrete_fields}
        if missing:
            raise ImproperlyConfigured(f"{model._meta.db_table} has no column(s) {sorted(missing)}: update devtools/demo.py")
        for model_field in model._meta.concrete_fields:
            if model_field.column in columns or model_field.generated:
                continue
            if model_field.has_db_default():
                continue  # PostgreSQL fills it
            value = model_field.get_default()
            if value is None and not model_field.null:
                raise ImproperlyConfigured(
                    f"demo data does not know {model._meta.db_table}.{model_field.column} (no default): "
                    "add it to devtools/demo.py"
                )
            names.append(model_field.column)
            values.append(model_field.get_db_prep_save(value, connection))
        return names, values

    def maybe_flush(self) -> None:
        for key, rows in self.rows.items():
            if len(rows) >= self.chunk_rows:
                self.flush(key)

    def flush(self, key: str) -> None:
        rows = self.rows[key]
        if not rows:
            return
        extra = self.extras[key]
        if key == "event":
            # Contact events have one write path (leads.events); history goes through its COPY.
            columns = (*self.TABLES[key][1], *self.extra_columns[key])
            contact_events_copy(pg_connection=self.pg, columns=columns, rows=(row + extra for row in rows))
            self.written[key] += len(rows)
            rows.clear()
            return
        with self.pg.cursor() as cursor, cursor.copy(self.statements[key]) as copy:
            if extra:
                for row in rows:
                    copy.write_row(row + extra)
            else:
                for row in rows:
                    copy.write_row(row)
        self.written[key] += len(rows)
        rows.clear()

    def flush_all(self) -> None:
        for key in self.TABLES:
            self.flush(key)

    def give_back_ids(self) -> None:
        for block in self.ids.values():
            block.give_back()


def _secondary_objects(cursor, tables: list[str]) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Foreign keys on the tables and their indexes that back no constraint (PKs stay)."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY conrelid::regclass::text, conname",
        [tables],
    )
    foreign_keys = [tuple(row) for row in cursor.fetchall()]
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid"
        "  AND c.contype IN ('p', 'u', 'x')) ORDER BY 1",
        [tables],
    )
    indexes = [tuple(row) for row in cursor.fetchall()]
    return foreign_keys, indexes


def _drop_secondary(cursor, foreign_keys, indexes) -> None:
    # Dropping a foreign key alters the referenced table too, which PostgreSQL refuses while
    # that table has deferred checks pending (the staff rows just inserted): run them now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    for table, name, _definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")


def _restore_secondary(cursor, foreign_keys, indexes, log: Callable[[str], None]) -> None:
    cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
    started = time.monotonic()
    for _name, definition in indexes:
        cursor.execute(definition)
    log(f"  {len(indexes)} indexes ({time.monotonic() - started:.1f} s)")
    started = time.monotonic()
    for table, name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    log(f"  {len(foreign_keys)} foreign keys validated ({time.monotonic() - started:.1f} s)")


# --------------------------------------------------------------------------------------
# Small helpers for realistic values
# --------------------------------------------------------------------------------------


def _vin(rng: random.Random, make: str, year: int) -> str:
    wmi = rng.choice(ALL_MAKES[make][0])
    chars = [*wmi, *(rng.choice(VIN_CHARS) for _ in range(5)), "0"]
    year_code = VIN_YEAR_CODES[(year - 2010) % 30] if year >= 2010 else str(year - 2000)
    chars += [year_code, rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")]
    chars += [str(rng.randrange(10)) for _ in range(6)]
    total = sum(VIN_TRANSLIT[c] * w for c, w in zip(chars, VIN_WEIGHTS, strict=True))
    check = total % 11
    chars[8] = "X" if check == 10 else str(check)
    return "".join(chars)


def _weighted(rng: random.Random, items: list[tuple[str, float, list[str]]]) -> tuple[str, float, list[str]]:
    return rng.choices(items, weights=[w for _, w, _ in items])[0]


@dataclass(frozen=True)
class Vehicle:
    interest: str
    condition: str
    year: int
    make: str
    model: str
    trim: str
    stock: str
    vin: str
    odometer: int | None
    color: str

    @property
    def label(self) -> str:
        return f"{self.year} {self.make} {self.model} {self.trim}".strip()


def _hex(rng: random.Random, bits: int = 128) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _ts(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(value), dt.UTC)


# --------------------------------------------------------------------------------------
# The simulation of one store
# --------------------------------------------------------------------------------------


@dataclass
class LeadRecord:
    """What later leads need to know about an earlier one (duplicates, returning customers)."""

    lead_id: int
    customer_id: int
    received: int
    closed: float  # when it became sold/lost; inf while open
    owner: Person | None
    first: str
    last: str
    phone: str
    email: str
    vehicle: Vehicle
    provider: str
    duplicate: bool


class StoreSimulation:
    """Generates one store's customers, leads, vehicles, status/assignment history and
    contact events, in the order they happened, into a CopySink."""

    def __init__(self, ctx: StoreContext, *, sink: CopySink, rng: random.Random, start: int, now: int,
                 n_leads: int, effort: float):
        self.ctx = ctx
        self.sink = sink
        self.rng = rng
        self.start = start
        self.now = now
        self.n_leads = n_leads
        # Seed 002: agents have a fixed capacity (50-120 calls a day). With many more leads
        # than 70 per agent a month (a benchmark), each lead gets proportionally less follow-up.
        self.effort = effort
        self.cal = ctx.calendar
        self.store_id = ctx.store_id
        self.store_name = ctx.spec.name
        self.brand = ctx.spec.brand
        self.agents = ctx.by_role(Role.INTERNET_AGENT)
        self.retail = ctx.by_role(Role.RETAIL)
        self.fleet = ctx.by_role(Role.FLEET)
        self.managers = ctx.by_role(Role.SALES_MANAGER)
        self.receptionist = ctx.by_role(Role.RECEPTIONIST)[0]
        self.agent_turn = 0
        self.retail_turn = 0
        self.phones_used: set[str] = set()
        self.emails_used: set[str] = set()
        self.provider_counters: dict[str, int] = {}
        self.recent: list[LeadRecord] = []  # internet leads, for duplicates (chronological)
        self.recent_start = 0
        self.closed_pool: list[LeadRecord] = []  # returning customers
        # Until when each customer has an open (non-duplicate) lead: a new lead then is a duplicate.
        self.customer_busy_until: dict[int, float] = {}
        self.events = sink.rows["event"]
        self.event_ids = sink.ids["event"]
        self.stats = {"duplicates": 0, "returning": 0, "sold": 0}
        self._build_inventory()

    # ---- time helpers -------------------------------------------------------------

    def on_shift(self, person: Person, ts: float) -> bool:
        _, weekday, seconds = self.cal.local(ts)
        span = person.shifts[weekday]
        return span is not None and span[0] <= seconds < span[1]

    def next_on_shift(self, person: Person, ts: float) -> int:
        """The earliest moment at or after ts at which the person is working."""
        cal = self.cal
        index = cal.day(ts)
        for k in range(15):
            j = index + k
            if j >= len(cal.midnights):
                break
            span = person.shifts[cal.weekdays[j]]
            if span is None:
                continue
            begin, end = cal.midnights[j] + span[0], cal.midnights[j] + span[1]
            if ts < begin:
                return begin
            if ts < end:
                return int(ts)
        return int(ts)

    def work_day_at(self, person: Person, ts: float, days_ahead: int, tod: float | None = None) -> int:
        """A moment on the person's first working day at least days_ahead days after ts,
        near time of day tod (seed 002: call back at the hour the lead arrived)."""
        cal, rng = self.cal, self.rng
        index = cal.day(ts) + days_ahead
        for j in range(index, min(index + 15, len(cal.midnights))):
            span = person.shifts[cal.weekdays[j]]
            if span is None:
                continue
            seconds = tod + rng.uniform(-40, 40) * MINUTE if tod is not None else -1.0
            if not span[0] <= seconds < span[1] - 10 * MINUTE:
                if tod is not None and seconds >= span[1] - 10 * MINUTE:
                    seconds = span[1] - rng.uniform(15, 150) * MINUTE  # evening lead: late in the shift
                elif tod is not None:
                    seconds = span[0] + rng.uniform(5, 120) * MINUTE  # early lead: first thing
                else:
                    seconds = rng.uniform(span[0] + 15 * MINUTE, span[1] - 15 * MINUTE)
            moment = cal.midnights[j] + seconds
            if moment > ts:
                return int(moment)
        return int(ts + max(days_ahead, 1) * DAY)

    def store_open_at(self, ts: float, days_ahead: int) -> int:
        """An appointment slot: a time the store is open, days_ahead days after ts."""
        cal, rng = self.cal, self.rng
        index = cal.day(ts) + days_ahead
        for j in range(index, min(index + 10, len(cal.midnights))):
            span = self.ctx.hours[cal.weekdays[j]]
            if span is None:
                continue
            slot = rng.randrange(span[0] + HOUR, span[1] - HOUR, 30 * MINUTE)
            moment = cal.midnights[j] + slot
            if moment > ts:
                return moment
        return int(ts + days_ahead * DAY)

    # ---- inventory and customers ---------------------------------------------------

    def _build_inventory(self) -> None:
        rng = self.rng
        now_year = _ts(self.now).year
        make_models = CATALOG[self.brand][1]
        self.new_units: list[Vehicle] = []
        prefix = self.brand[0]
        for _ in range(160):
            model, _, trims = _weighted(rng, make_models)
            year = now_year + (1 if rng.random() < 0.45 else 0)
            self.new_units.append(Vehicle("buy", "new", year, self.brand, model, rng.choice(trims),
                                          f"{prefix}{rng.randrange(10000, 99999)}", _vin(rng, self.brand, year),
                                          rng.randrange(3, 40), rng.choice(COLORS)))
        self.used_units: list[Vehicle] = []
        for _ in range(130):
            self.used_units.append(self._used_vehicle("buy", f"U{rng.randrange(10000, 99999)}", now_year))

    def _used_vehicle(self, interest: str, stock: str, now_year: int, with_vin: bool = True) -> Vehicle:
        rng = self.rng
        make = self.brand if rng.random() < 0.45 else rng.choice(list(ALL_MAKES))
        model, _, trims = _weighted(rng, ALL_MAKES[make][1])
        age = min(int(rng.expovariate(1 / 4.0)) + 1, 15)
        year = now_year - age
        odometer = int(max(age * rng.gauss(12_500, 3_500), 3_000)) // 10 * 10
        return Vehicle(interest, "used", year, make, model, rng.choice(trims), stock,
                       _vin(rng, make, year) if with_vin else "", odometer, rng.choice(COLORS))

    def _phone(self) -> str:
        """A unique E.164 number: 555-01xx (reserved for fiction) in the store's area codes,
        then the rest of the 555 exchange across the country when those run out."""
        rng = self.rng
        codes = self.ctx.spec.region.customer_codes
        if len(self.phones_used) < 80 * len(codes):
            for _ in range(6):
                number = f"+1{rng.choice(codes)}55501{rng.randrange(100):02d}"
                if number not in self.phones_used:
                    self.phones_used.add(number)
                    return number
        all_codes = _us_area_codes()
        while True:
            line = rng.randrange(200, 10_000)
            if line == 1212:
                continue
            number = f"+1{rng.choice(all_codes)}555{line:04d}"
            if number not in self.phones_used:
                self.phones_used.add(number)
                return number

    def _email(self, first: str, last: str) -> str:
        rng = self.rng
        first_clean = "".join(ch for ch in first.lower() if ch.isalpha())
        last_clean = "".join(ch for ch in last.lower() if ch.isalpha())
        style = rng.randrange(5)
        if style == 0:
            local = f"{first_clean}.{last_clean}"
        elif style == 1:
            local = f"{first_clean[0]}{last_clean}{rng.randrange(1, 99)}"
        elif style == 2:
            local = f"{first_clean}{last_clean}{rng.randrange(1960, 2006)}"
        elif style == 3:
            local = f"{first_clean}_{last_clean[0]}{rng.randrange(100, 999)}"
        else:
            local = f"{last_clean}.{first_clean}{rng.randrange(1, 9)}"
        domain = rng.choice(EMAIL_DOMAINS)
        email = f"{local}@{domain}"
        n = 2
        while email in self.emails_used:
            email = f"{local}{n}@{domain}"
            n += 1
        self.emails_used.add(email)
        return email

    def _new_customer(self, ts: int, kind: str) -> tuple[int, str, str, str, str]:
        rng, sink = self.rng, self.sink
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        customer_id = sink.ids["customer"].take()
        sink.rows["customer"].append((customer_id, self.store_id, first, last, _ts(ts)))
        has_phone = kind in ("walk_in", "phone_up") or rng.random() < 0.93
        has_email = rng.random() < {"walk_in": 0.55, "phone_up": 0.25}.get(kind, 0.93) or not has_phone
        phone = email = ""
        if has_phone:
            phone = self._phone()
            sink.rows["phone"].append((sink.ids["phone"].take(), self.store_id, customer_id, phone, "mobile"))
            if rng.random() < 0.07:
                sink.rows["phone"].append(
                    (sink.ids["phone"].take(), self.store_id, customer_id, self._phone(), rng.choice(["home", "work"]))
                )
        if has_email:
            email = self._email(first, last)
            sink.rows["email"].append((sink.ids["email"].take(), self.store_id, customer_id, email))
        return customer_id, first, last, phone, email

    # ---- planning --------------------------------------------------------------------

    def _plan(self) -> list[tuple[int, str]]:
        """(received_at, source kind) for every lead, sorted: internet leads around the clock
        with evening peaks, phone-ups and walk-ins only while the store is open."""
        rng, cal = self.rng, self.cal
        kinds = rng.choices([k for k, _ in SOURCE_MIX], weights=[w for _, w in SOURCE_MIX], k=self.n_leads)
        internet_hour = [0.15, 0.08, 0.05, 0.04, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 1.1, 1.15, 1.2, 1.15, 1.1, 1.05,
                         1.0, 1.0, 1.05, 1.15, 1.2, 1.0, 0.7, 0.35]
        internet_day = [1.15, 1.05, 1.0, 1.0, 0.95, 0.9, 1.1]
        walk_day = [0.9, 0.8, 0.8, 0.9, 1.1, 2.0, 0.0]
        phone_day = [1.1, 1.0, 1.0, 1.0, 1.0, 1.2, 0.0]
        span = self.now - self.start
        plan: list[tuple[int, str]] = []
        for kind in kinds:
            while True:
                ts = self.start + rng.random() * span
                _, weekday, seconds = cal.local(ts)
                hour = int(seconds // HOUR) % 24
                if kind in INTERNET_KINDS:
                    weight = internet_day[weekday] * internet_hour[hour] / 1.4
                else:
                    open_span = self.ctx.hours[weekday]
                    if open_span is None or not open_span[0] + 10 * MINUTE <= seconds < open_span[1] - 20 * MINUTE:
                        continue
                    weight = (walk_day if kind == "walk_in" else phone_day)[weekday] / 2.0
                if rng.random() < weight:
                    plan.append((int(ts), kind))
                    break
        plan.sort()
        return plan

    def run(self, progress: Callable[[int], None] | None = None) -> None:
        for index, (ts, kind) in enumerate(self._plan()):
            self._lead(ts, kind)
            if index % 500 == 499:
                self.sink.maybe_flush()
                if progress and index % 100_000 == 99_999:
                    progress(index + 1)

    # ---- one lead ----------------------------------------------------------------------

    def _provider(self, kind: str) -> tuple[str, str]:
        """(provider, provider lead id)"""
        rng = self.rng
        if kind == "oem":
            provider, prefix = OEM_PROVIDERS[self.brand], self.brand[:3].upper() + "-"
        elif kind == "third_party":
            choice = rng.choices(THIRD_PARTY, weights=[w for _, w, _ in THIRD_PARTY])[0]
            provider, prefix = choice[0], choice[2]
        elif kind == "dealer_website":
            return f"{self.ctx.spec.website} web form", ""
        elif kind == "chat":
            provider, prefix = "Website chat", "CHAT-"
        elif kind == "phone_up":
            return rng.choice(PHONE_PROVIDERS), ""
        else:
            return "Showroom", ""
        counter = self.provider_counters.get(provider)
        if counter is None:
            counter = rng.randrange(10_000_000, 90_000_000)
        counter += rng.randrange(1, 40)
        self.provider_counters[provider] = counter
        return provider, f"{prefix}{counter}"

    def _vehicle_for(self, kind: str, provider: str) -> Vehicle:
        rng = self.rng
        p_new = {"oem": 1.0, "dealer_website": 0.55, "chat": 0.5, "phone_up": 0.5, "walk_in": 0.5}.get(kind, 0.3)
        if provider == "TrueCar":
            p_new = 0.8
        if rng.random() < p_new:
            unit = rng.choice(self.new_units)
            if kind in ("oem", "walk_in") and rng.random() < 0.5:
                # Model-level interest: no particular unit on the lot.
                unit = replace(unit, trim=unit.trim if rng.random() < 0.6 else "", stock="", vin="", odometer=None)
            if rng.random() < 0.12:
                unit = replace(unit, interest="lease")
            return unit
        return rng.choice(self.used_units)

    def _comments(self, kind: str, vehicle: Vehicle, trade: Vehicle | None, provider: str) -> str:
        rng = self.rng
        template = rng.choice(COMMENTS[kind])
        trade_label = f"{trade.year} {trade.make} {trade.model} with {trade.odometer:,} miles" if trade else "car"
        return template.format(
            vehicle=vehicle.label, provider=provider, stock=vehicle.stock or "n/a", day=rng.choice(
                ["Saturday morning", "tomorrow after work", "Friday", "this weekend", "Monday at lunch"]),
            score=rng.choice([640, 680, 700, 720, 760, 800]), model=vehicle.model, trade=trade_label,
            year=vehicle.year, trim=vehicle.trim or "base", color=vehicle.color,
        )

    def _document(self, kind: str, lead_ts: int, provider: str, provider_id: str, first: str, last: str,
                  phone: str, email: str, vehicles: list[Vehicle], comments: str) -> str:
        if kind in ("oem", "third_party"):
            parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<?adf version="1.0"?>\n<adf><prospect status="new">',
                     f'<id sequence="1" source="{xml_escape(provider)}">{provider_id}</id>',
                     f"<requestdate>{_ts(lead_ts).isoformat()}</requestdate>"]
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
            parts.append(f"<vendor><vendorname>{xml_escape(self.store_name)}</vendorname></vendor>"
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

    def _pick_owner(self, pool: list[Person], ts: int, turn_attr: str) -> Person:
        """Next in line among those on shift; after hours, those working next."""
        turn = getattr(self, turn_attr)
        size = len(pool)
        for k in range(size):
            person = pool[(turn + k) % size]
            if self.on_shift(person, ts):
                setattr(self, turn_attr, (turn + k + 1) % size)
                return person
        best = min(range(size), key=lambda k: (self.next_on_shift(pool[(turn + k) % size], ts), k))
        setattr(self, turn_attr, (turn + best + 1) % size)
        return pool[(turn + best) % size]

    def _lead(self, ts: int, kind: str) -> None:
        rng, sink = self.rng, self.sink
        internet = kind in INTERNET_KINDS
        original: LeadRecord | None = None
        returning: LeadRecord | None = None
        if internet and rng.random() < P_DUPLICATE:
            original = self._open_recent(ts)
        elif rng.random() < P_RETURNING and self.closed_pool:
            candidate = rng.choice(self.closed_pool)
            if self.customer_busy_until.get(candidate.customer_id, 0) < ts - DAY:
                returning = candidate
        provider, provider_id = self._provider(kind)
        trade = None
        if original is not None:
            customer_id, first, last = original.customer_id, original.first, original.last
            phone, email = original.phone, original.email
            vehicle = original.vehicle if rng.random() < 0.7 else self._vehicle_for(kind, provider)
            if rng.random() < 0.3 or not (phone or email):
                # The customer typed another address on the second site; matched by phone.
                if phone:
                    email = self._email(first, last)
                    sink.rows["email"].append((sink.ids["email"].take(), self.store_id, customer_id, email))
            self.stats["duplicates"] += 1
        elif returning is not None:
            customer_id, first, last = returning.customer_id, returning.first, returning.last
            phone, email = returning.phone, returning.email
            vehicle = self._vehicle_for(kind, provider)
            self.stats["returning"] += 1
        else:
            customer_id, first, last, phone, email = self._new_customer(ts, kind)
            vehicle = self._vehicle_for(kind, provider)
        now_year = _ts(self.now).year
        if rng.random() < 0.24:
            trade = self._used_vehicle("trade-in", "", now_year, with_vin=rng.random() < 0.5)
        comments = self._comments(kind, vehicle, trade, provider)
        vehicles = [vehicle] + ([trade] if trade else [])
        lead_id = sink.ids["lead"].take()
        for v in vehicles:
            sink.rows["vehicle"].append((sink.ids["vehicle"].take(), lead_id, v.interest, v.condition, v.year, v.make,
                                         v.model, v.trim, v.stock, v.vin, v.odometer))
        lead = _LeadState(self, lead_id, customer_id, ts, first, vehicle)
        created_by = None
        in_claim_pool = False
        owner: Person | None
        if original is not None:
            owner = original.owner
            lead.assign(None, owner, None, ts,
                        f"Duplicate of lead #{original.lead_id} (same customer within 30 days): goes to its owner.")
            self._duplicate_life(lead, owner, original)
        elif internet and self.now - ts < 45 * MINUTE and rng.random() < 0.5:
            # Just arrived: still in the claim pool, nobody has it yet.
            owner = None
            in_claim_pool = True
            lead.assign(None, None, None, ts + 2, "No routing rule: placed in the store's claim pool.")
        elif kind == "walk_in":
            owner = self._pick_owner(self.retail, ts, "retail_turn")
            created_by = owner.staff_id
            lead.assign(None, owner, owner, ts, "Walk-in logged by the salesperson who greeted the customer.")
            self._walk_in_life(lead, owner)
        elif kind == "phone_up" and rng.random() < 0.4:
            owner = self._pick_owner(self.retail + self.agents, ts, "retail_turn")
            created_by = self.receptionist.staff_id
            lead.assign(None, owner, self.receptionist, ts + 20,
                        "Receptionist board: first salesperson to call in.")
            self._phone_up_life(lead, owner)
        elif internet and self.fleet and rng.random() < 0.012:
            owner = rng.choice(self.fleet)
            lead.assign(None, owner, None, ts + 2, "Routing rule: fleet and business purchases go to the fleet team.")
            self._internet_life(lead, owner, kind, fleet=True)
        else:
            owner = self._pick_owner(self.agents, ts, "agent_turn")
            if kind == "phone_up":
                lead.assign(None, owner, None, ts + 2, "Round robin: next in line among internet agents on shift.")
                self._phone_up_life(lead, owner)
            elif rng.random() < 0.03:
                manager = rng.choice(self.managers)
                assigned_at = ts + rng.randint(5, 40) * MINUTE
                lead.assign(None, owner, manager, assigned_at,
                            f"Manager assigned: the customer asked for {owner.first_name}.")
                lead.first_touch_after = assigned_at
                self._internet_life(lead, owner, kind)
            elif rng.random() < 0.05 and self.on_shift(owner, ts):
                # Seed 003: no first response in time, so the lead moved to the next in line.
                lead.assign(None, owner, None, ts + 2, "Round robin: next in line among internet agents on shift.")
                previous = owner
                owner = self._pick_owner(self.agents, ts + 15 * MINUTE, "agent_turn")
                if owner is previous:
                    owner = self.agents[(self.agents.index(previous) + 1) % len(self.agents)]
                lead.assign(previous, owner, None, ts + 15 * MINUTE,
                            "No first response within 15 minutes: moved to the next in line.")
                lead.first_touch_after = ts + 15 * MINUTE
                self._internet_life(lead, owner, kind)
            else:
                lead.assign(None, owner, None, ts + 2, "Round robin: next in line among internet agents on shift.")
                self._internet_life(lead, owner, kind)
        intake = INTAKE[kind]
        if intake == "adf" and rng.random() < 0.3:
            intake = "email"  # ADF delivered by email
        document = self._document(kind, ts, provider, provider_id, first, last, phone, email, vehicles, comments)
        routed_at = _ts(ts + 2)
        sink.rows["lead"].append((
            lead_id, self.store_id, customer_id, kind, provider, provider_id, intake, comments, _ts(ts),
            lead.status, owner.staff_id if owner else None, original.lead_id if original else None, in_claim_pool,
            None if original else _ts(ts), routed_at, document, created_by,
        ))
        lead.write_status(created_by)
        if lead.status == "sold":
            self.stats["sold"] += 1
        record = LeadRecord(lead_id, customer_id, ts, lead.closed, owner, first, last, phone, email, vehicle,
                            provider, original is not None)
        if original is None:
            self.customer_busy_until[customer_id] = lead.closed
            if internet and owner is not None:
                self.recent.append(record)
        if lead.closed != math.inf:
            if len(self.closed_pool) < 5_000:
                self.closed_pool.append(record)
            else:
                self.closed_pool[rng.randrange(5_000)] = record

    def _open_recent(self, ts: int) -> LeadRecord | None:
        """An internet lead of the last 30 days still open at ts (the service's duplicate rule)."""
        recent = self.recent
        while self.recent_start < len(recent) and recent[self.recent_start].received < ts - 30 * DAY:
            self.recent_start += 1
        if self.recent_start > 20_000:  # forget leads older than the window (bounded memory)
            del recent[:self.recent_start]
            self.recent_start = 0
        if self.recent_start >= len(recent):
            return None
        for _ in range(4):
            candidate = recent[self.rng.randrange(self.recent_start, len(recent))]
            if candidate.closed > ts and candidate.owner is not None and candidate.received < ts - 10 * MINUTE:
                return candidate
        return None

    # ---- lifecycles --------------------------------------------------------------------

    def _duplicate_life(self, lead: _LeadState, owner: Person | None, original: LeadRecord) -> None:
        if owner is None:
            return
        t = self.next_on_shift(owner, lead.received + 5 * MINUTE) + self.rng.randint(2, 60) * MINUTE
        if self.rng.random() < 0.85 and lead.note(owner, t, f"Duplicate of lead #{original.lead_id} "
                                                              f"(same customer via {original.provider}); working it there."):
            lead.close("lost", t + 30, owner)

    def _internet_life(self, lead: _LeadState, owner: Person, kind: str, fleet: bool = False) -> None:
        rng = self.rng
        effort = self.effort
        t = self._first_response(owner, max(lead.received, lead.first_touch_after))
        responsive = rng.random() < P_RESPONSIVE[kind]
        tod = lead.received - self.cal.midnights[self.cal.day(lead.received)]
        cadence_days = 4 if effort >= 1 else int(4 * effort + rng.random())
        give_up = lead.received + rng.uniform(20, 60) * DAY
        contact = None
        session = 0
        while contact is None and t <= self.now:
            if session == 0:
                engage = responsive and rng.random() < 0.42
            elif session <= cadence_days:
                engage = responsive and rng.random() < 0.3
            else:
                engage = rng.random() < (0.09 if responsive else 0.03)
            contact = lead.outreach(owner, t, engage, first=session == 0)
            if contact is not None:
                break
            session += 1
            if session <= cadence_days:
                t = self.work_day_at(owner, t, 1, tod)  # seed 001: call, text, email daily for five days
            else:
                if rng.random() > effort:
                    break
                t = self.work_day_at(owner, t, rng.randint(1, 3), tod)
                if t > give_up:
                    lost_at = self.work_day_at(owner, give_up, 0)
                    lead.close("lost", lost_at, owner)
                    return
        if contact is None:
            if self.now - lead.received > 60 * DAY and t <= self.now:
                lead.close("lost", self.work_day_at(owner, t, 0), owner)
            return
        if not lead.move("contacted", contact, owner):
            return
        p_appointment = 0.35 if fleet else 0.5
        self._after_contact(lead, owner, contact, p_appointment, lead.follow_up_agent)

    def _first_response(self, owner: Person, ts: int) -> int:
        rng = self.rng
        if self.on_shift(owner, ts):
            r = rng.random()
            if r < 0.55:
                delay = rng.uniform(1, 10) * MINUTE
            elif r < 0.82:
                delay = rng.uniform(10, 30) * MINUTE
            elif r < 0.96:
                delay = rng.uniform(30, 120) * MINUTE
            else:
                delay = rng.uniform(2, 6) * HOUR
            t = ts + delay
            if not self.on_shift(owner, t):
                t = self.next_on_shift(owner, t) + rng.uniform(2, 30) * MINUTE
        else:
            t = self.next_on_shift(owner, ts) + rng.uniform(2, 40) * MINUTE
        return int(t)

    def _phone_up_life(self, lead: _LeadState, owner: Person) -> None:
        rng = self.rng
        talk = int(rng.uniform(90, 540))
        lead.call(owner, lead.received, "inbound", "connected", talk, verified=True)
        contact = lead.received + talk
        if not lead.move("contacted", contact, owner):
            return
        follow = lead.follow_up_agent if owner.role == Role.INTERNET_AGENT else lead.follow_up_retail
        self._after_contact(lead, owner, contact, 0.6, follow)

    def _walk_in_life(self, lead: _LeadState, owner: Person) -> None:
        rng = self.rng
        t = lead.received
        lead.visit(owner, t, f"Walk-in, greeted by {owner.first_name}.", verified=rng.random() < 0.6)
        # The status path is strictly forward; a walk-in is in the showroom at once.
        for offset, status in ((60, "contacted"), (90, "appointment_set"), (120, "shown")):
            if not lead.move(status, t + offset, owner):
                return
        if rng.random() < 0.22:
            lead.close("sold", t + int(rng.uniform(1.5, 4) * HOUR), owner)
            return
        self._shown_not_sold(lead, owner, t, lead.follow_up_retail, be_back=0.24)

    def _after_contact(self, lead: _LeadState, owner: Person, contact: int, p_appointment: float,
                       follow: Callable[[Person, int, float], int | None]) -> None:
        rng = self.rng
        t = contact
        if rng.random() < p_appointment:
            if rng.random() < 0.6:
                set_at = t + rng.randint(2, 12) * MINUTE  # set on the same call or text thread
            else:
                set_at = None
                for _ in range(rng.randint(1, 3)):
                    t = self.work_day_at(owner, t, rng.randint(1, 3))
                    two_way = follow(owner, t, 0.5)
                    if t > self.now:
                        return
                    if two_way:
                        set_at = two_way + rng.randint(2, 10) * MINUTE
                        break
                if set_at is None:
                    self._cooling_off(lead, owner, t, follow)
                    return
            self._appointment(lead, owner, set_at, follow, attempts=2)
            return
        if rng.random() < 0.12:
            # Seed 001: the customer just shows up, maybe on the agent's day off.
            t = self.store_open_at(t, rng.randint(1, 8))
            if t > self.now:
                return
            host = owner if self.on_shift(owner, t) else self._pick_owner(self.retail, t, "retail_turn")
            lead.move("appointment_set", t - 60, host)
            lead.visit(host, t, f"Came in without an appointment, helped by {host.first_name}.", verified=True)
            lead.move("shown", t + 60, host)
            if rng.random() < 0.45:
                lead.close("sold", t + int(rng.uniform(1.5, 4) * HOUR), host)
                return
            self._shown_not_sold(lead, owner, t, follow, be_back=0.2)
            return
        self._cooling_off(lead, owner, t, follow)

    def _appointment(self, lead: _LeadState, owner: Person, set_at: int, follow, attempts: int) -> None:
        rng = self.rng
        if not lead.move("appointment_set", set_at, owner):
            return
        when = self.store_open_at(set_at, rng.choice([0, 1, 1, 2, 2, 3, 4, 5, 6]))
        if when - set_at < 2 * HOUR:
            when = self.store_open_at(set_at, 1)
        if owner.role == Role.INTERNET_AGENT or rng.random() < 0.3:
            local = _ts(when).astimezone(ZoneInfo(self.ctx.spec.region.time_zone))
            label = local.strftime("%a %b %-d at %-I:%M %p")
            lead.text(owner, set_at + 90, "outbound",
                      f"You're all set for {label} with {owner.first_name} at {self.store_name}. See you then!")
        if when - set_at > DAY:
            confirm = self.next_on_shift(owner, when - DAY)
            if set_at < confirm < when - HOUR and lead.text(owner, confirm, "outbound",
                                              f"Hi {lead.first}, confirming your appointment tomorrow at "
                                              f"{self.store_name}. Reply C to confirm."):
                if rng.random() < 0.65:
                    lead.text(owner, confirm + rng.randint(3, 120) * MINUTE, "inbound", rng.choice(CONFIRM_REPLIES))
        if when > self.now:
            return
        if rng.random() < 0.68:
            arrive = when + rng.randint(-10, 25) * MINUTE
            host = owner if self.on_shift(owner, arrive) else self._pick_owner(self.retail, arrive, "retail_turn")
            lead.visit(host, arrive, f"Checked in at reception: appointment with {owner.first_name}"
                       + ("" if host is owner else f", helped by {host.first_name} ({owner.first_name} off)") + ".",
                       verified=True)
            if not lead.move("shown", arrive + 60, host):
                return
            if rng.random() < 0.46:
                sold_at = arrive + int(rng.uniform(1.5, 4) * HOUR)
                lead.close("sold", sold_at, host)
                if owner.role == Role.INTERNET_AGENT:
                    lead.email(owner, self.work_day_at(owner, sold_at, 1), "outbound",
                               f"Thank you for choosing {self.store_name}!")
                return
            self._shown_not_sold(lead, owner, arrive, follow, be_back=0.25)
            return
        # No-show.
        t = self.work_day_at(owner, when, 0) if self.on_shift(owner, when + HOUR) else self.work_day_at(owner, when, 1)
        lead.text(owner, max(t, when + HOUR), "outbound", f"Hi {lead.first}, sorry we missed you today! "
                                                             "Want to pick another time?")
        if attempts > 1 and rng.random() < 0.35:
            t = self.work_day_at(owner, when, rng.randint(1, 4))
            two_way = follow(owner, t, 0.9)
            if two_way and t <= self.now:
                # Still "appointment set": a second appointment, no new status.
                self._appointment_again(lead, owner, two_way, follow)
                return
        self._cooling_off(lead, owner, max(t, when), follow)

    def _appointment_again(self, lead: _LeadState, owner: Person, set_at: int, follow) -> None:
        rng = self.rng
        when = self.store_open_at(set_at, rng.randint(1, 4))
        if when > self.now:
            return
        if rng.random() < 0.6:
            host = owner if self.on_shift(owner, when) else self._pick_owner(self.retail, when, "retail_turn")
            lead.visit(host, when, f"Checked in at reception: rescheduled appointment with {owner.first_name}.",
                       verified=True)
            if lead.move("shown", when + 60, host) and rng.random() < 0.5:
                lead.close("sold", when + int(rng.uniform(1.5, 4) * HOUR), host)
                return
            if lead.status == "shown":
                self._shown_not_sold(lead, owner, when, follow, be_back=0.2)
                return
        self._cooling_off(lead, owner, when, follow)

    def _shown_not_sold(self, lead: _LeadState, owner: Person, t: int, follow, be_back: float) -> None:
        """Follow-ups after a visit; a be-back may still buy, otherwise lost within weeks."""
        rng = self.rng
        retail = owner.role == Role.RETAIL
        lost_at = t + rng.uniform(7, 30) * DAY
        comes_back = rng.random() < be_back
        back_at = t + rng.uniform(1, 12) * DAY if comes_back else math.inf
        day_gap = 1
        while True:
            t = self.work_day_at(owner, t, day_gap)
            if t > self.now:
                return
            if t >= back_at:
                visit = self.store_open_at(back_at, 0)
                if visit > self.now:
                    return
                host = owner if self.on_shift(owner, visit) else self._pick_owner(self.retail, visit, "retail_turn")
                lead.visit(host, visit, f"Be-back: customer returned to see {owner.first_name}.", verified=True)
                if rng.random() < 0.55:
                    lead.close("sold", visit + int(rng.uniform(1.5, 3.5) * HOUR), host)
                    return
                comes_back, back_at = False, math.inf
                continue
            if t >= lost_at:
                lead.close("lost", t, owner)
                return
            if rng.random() < self.effort or t - lead.received < 3 * DAY:
                follow(owner, t, 0.25)
            # Seed 000: retail keeps coverage with a note every day for three days.
            day_gap = 1 if retail and t - lead.received < 3 * DAY else rng.randint(1, 3)

    def _cooling_off(self, lead: _LeadState, owner: Person, t: int, follow) -> None:
        """Contacted but no appointment: keep-in-touch follow-ups until the customer buys
        elsewhere or goes quiet."""
        rng = self.rng
        lost_at = t + rng.uniform(14, 60) * DAY
        while True:
            t = self.work_day_at(owner, t, rng.choice((1, 1, 2, 2, 3)))
            if t > self.now:
                return
            if t >= lost_at:
                if rng.random() < 0.3:
                    lead.text(owner, t - rng.randint(1, 20) * HOUR, "inbound", rng.choice(TEXT_LOST_REPLIES))
                lead.close("lost", t, owner)
                return
            if rng.random() < self.effort:
                follow(owner, t, 0.3)


class _LeadState:
    """One lead's status path, assignments and events while it is simulated."""

    __slots__ = ("sim", "lead_id", "customer_id", "received", "first", "vehicle", "status", "closed",
                 "changes", "first_touch_after")

    def __init__(self, sim: StoreSimulation, lead_id: int, customer_id: int, received: int, first: str,
                 vehicle: Vehicle):
        self.sim = sim
        self.lead_id = lead_id
        self.customer_id = customer_id
        self.received = received
        self.first = first
        self.vehicle = vehicle
        self.status = "new"
        self.closed = math.inf
        self.changes: list[tuple[str, str, int | None, int]] = [("", "new", None, received)]
        self.first_touch_after = received

    # ---- status and ownership -----------------------------------------------------------

    def move(self, to: str, t: int, by: Person | None) -> bool:
        """Record a status change if it happened before now; False means the story stops."""
        if t > self.sim.now or self.closed != math.inf:
            return False
        if to == self.status:
            return True
        self.changes.append((self.status, to, by.staff_id if by else None, t))
        self.status = to
        return True

    def close(self, to: str, t: int, by: Person | None) -> None:
        if self.status not in ("shown",) and to == "sold":
            return
        if self.move(to, t, by):
            self.closed = t

    def write_status(self, created_by: int | None) -> None:
        sink = self.sim.sink
        rows, ids = sink.rows["status"], sink.ids["status"]
        for index, (from_status, to_status, by, t) in enumerate(self.changes):
            rows.append((ids.take(), self.lead_id, from_status, to_status, created_by if index == 0 else by, _ts(t)))

    def assign(self, previous: Person | None, to: Person | None, by: Person | None, t: int, reason: str) -> None:
        sink = self.sim.sink
        sink.rows["assignment"].append((
            sink.ids["assignment"].take(), self.lead_id, previous.staff_id if previous else None,
            to.staff_id if to else None, by.staff_id if by else None, reason[:300], _ts(t),
        ))

    # ---- events ----------------------------------------------------------------------------

    def _event(self, t: int, staff: Person | None, channel: str, direction: str, outcome: str, evidence: str,
               body: str = "", talk: int | None = None, answered: bool | None = None, call_sid: str = "",
               message_sid: str = "", recording_sid: str = "", email_id: str = "", outside: bool = False,
               recorded_after: int = 2) -> bool:
        sim = self.sim
        if t > sim.now:
            return False
        recorded = min(t + recorded_after, sim.now)
        sim.events.append((
            sim.event_ids.take(), sim.store_id, self.customer_id, self.lead_id, staff.staff_id if staff else None,
            channel, direction, outcome, _ts(t), _ts(recorded), evidence, outside, body, talk, answered, call_sid,
            message_sid, recording_sid, email_id, "", "",
        ))
        return True

    def call(self, staff: Person, t: int, direction: str, outcome: str, talk: int, verified: bool) -> bool:
        rng = self.sim.rng
        if not verified:
            return self._event(t, staff, "call", direction, outcome, "self_reported",
                               body={"connected": "spoke with customer", "voicemail": "left message"}.get(outcome,
                                                                                                        "no answer"),
                               recorded_after=rng.randint(30, 4 * HOUR))
        answered = True if outcome == "connected" else (False if outcome == "voicemail" else None)
        recording = f"RE{_hex(rng)}" if outcome in ("connected", "voicemail") else ""
        return self._event(t, staff, "call", direction, outcome, "verified", talk=talk, answered=answered,
                           call_sid=f"CA{_hex(rng)}", recording_sid=recording, recorded_after=talk + rng.randint(1, 5))

    def call_attempt(self, staff: Person, t: int) -> int:
        """An outbound call nobody two-way answers; returns when the agent hung up."""
        rng = self.sim.rng
        r = rng.random()
        if r < 0.5:
            outcome, talk = "voicemail", rng.randint(18, 50)
        elif r < 0.93:
            outcome, talk = "no_answer", 0
        elif r < 0.97:
            outcome, talk = "busy", 0
        else:
            outcome, talk = "connected", rng.randint(6, 28)  # "can't talk now": under the minimum talk time
        self.call(staff, t, "outbound", outcome, talk, verified=True)
        return t + talk + rng.randint(20, 45)

    def text(self, staff: Person, t: int, direction: str, body: str) -> bool:
        rng = self.sim.rng
        if direction == "inbound":
            outcome = "reply"
        else:
            r = rng.random()
            outcome = "delivered" if r < 0.93 else ("sent" if r < 0.975 else "failed")
        return self._event(t, staff, "text", direction, outcome, "verified", body=body,
                           message_sid=f"SM{_hex(rng)}", recorded_after=rng.randint(1, 8))

    def email(self, staff: Person, t: int, direction: str, body: str) -> bool:
        sim = self.sim
        rng = sim.rng
        if direction == "inbound":
            message_id = f"<{_hex(rng, 64)}.{_hex(rng, 32)}@mail.{rng.choice(EMAIL_DOMAINS)}>"
            outcome = "reply"
        else:
            message_id = f"<{_ts(t):%Y%m%d%H%M%S}.{_hex(rng, 64)}@{sim.ctx.spec.slug}.dealercrm.example>"
            outcome = "sent"
        return self._event(t, staff, "email", direction, outcome, "verified", body=body, email_id=message_id,
                           recorded_after=rng.randint(1, 20))

    def note(self, staff: Person, t: int, body: str, outside: bool = False, channel: str = "note",
             outcome: str = "note") -> bool:
        rng = self.sim.rng
        direction = "" if channel == "note" else "outbound"
        return self._event(t, staff, channel, direction, outcome, "self_reported", body=body, outside=outside,
                           recorded_after=rng.randint(5, 600))

    def visit(self, staff: Person, t: int, body: str, verified: bool) -> bool:
        return self._event(t, staff, "visit", "inbound", "visited", "verified" if verified else "self_reported",
                           body=body, recorded_after=30)

    def _fill(self, template: str, staff: Person) -> str:
        v = self.vehicle
        return template.format(first=self.first, agent=staff.first_name, store=self.sim.store_name,
                               vehicle=f"{v.year} {v.model}", model=v.model)

    # ---- sittings ---------------------------------------------------------------------------

    def outreach(self, staff: Person, t: int, engage: bool, first: bool) -> int | None:
        """Call, text and email in one sitting (seed 001's cadence); returns the time of
        two-way contact when the customer engages."""
        rng = self.sim.rng
        mode = None
        if engage:
            r = rng.random()
            mode = "call" if r < 0.4 else ("callback" if r < 0.52 else ("text" if r < 0.85 else "email"))
        contact = None
        if first or rng.random() < 0.9:
            if mode == "call":
                talk = int(min(max(rng.lognormvariate(math.log(240), 0.7), 45), 2_400))
                self.call(staff, t, "outbound", "connected", talk, verified=True)
                contact = t + talk
                t += talk + rng.randint(30, 90)
            else:
                t = self.call_attempt(staff, t)
        if contact is None and (first or rng.random() < 0.65):
            body = self._fill(rng.choice(TEXT_FIRST if first else TEXT_FOLLOW), staff)
            self.text(staff, t, "outbound", body)
            if mode == "text":
                contact = t + int(rng.expovariate(1 / (25 * MINUTE))) + 20
                self.text(staff, contact, "inbound", rng.choice(TEXT_REPLIES))
            t += rng.randint(40, 150)
        if contact is None and (first or rng.random() < 0.5):
            subject = self._fill(rng.choice(EMAIL_SUBJECTS), staff).replace("{trade}", "your trade")
            self.email(staff, t, "outbound", subject)
            if mode == "email":
                contact = t + int(rng.uniform(10 * MINUTE, 8 * HOUR))
                self.email(staff, contact, "inbound", rng.choice(EMAIL_REPLIES))
        if mode is not None and contact is None:
            # The customer calls back after the voicemail and the agent answers.
            contact = t + int(rng.uniform(15 * MINUTE, 3 * HOUR))
            talk = int(min(max(rng.lognormvariate(math.log(200), 0.6), 40), 1_800))
            self.call(staff, contact, "inbound", "connected", talk, verified=True)
        if rng.random() < 0.04:
            self.note(staff, t + 120, self._fill(rng.choice(AGENT_NOTES), staff))
        return contact

    def follow_up_agent(self, staff: Person, t: int, p_two_way: float) -> int | None:
        """A keep-in-touch sitting after first contact through the dealer's channels: mostly a
        call, then a text, sometimes an email. Seed 002: 11-14 % of calls connect."""
        rng = self.sim.rng
        mode = None
        if rng.random() < p_two_way:
            r = rng.random()
            mode = "call" if r < 0.6 else ("text" if r < 0.88 else "email")
        if mode == "call":
            talk = int(min(max(rng.lognormvariate(math.log(200), 0.7), 35), 1_800))
            self.call(staff, t, "outbound", "connected", talk, verified=True)
            return t + talk
        if rng.random() < 0.85:
            t = self.call_attempt(staff, t)
        contact = None
        if mode == "text" or rng.random() < 0.6:
            self.text(staff, t, "outbound", self._fill(rng.choice(TEXT_FOLLOW), staff))
            if mode == "text":
                contact = t + int(rng.expovariate(1 / (40 * MINUTE))) + 30
                self.text(staff, contact, "inbound", rng.choice(TEXT_REPLIES))
            t += rng.randint(40, 150)
        if mode == "email" or rng.random() < 0.2:
            self.email(staff, t, "outbound", self._fill(rng.choice(EMAIL_SUBJECTS), staff))
            if mode == "email":
                contact = t + int(rng.uniform(20 * MINUTE, 10 * HOUR))
                self.email(staff, contact, "inbound", rng.choice(EMAIL_REPLIES))
        return contact

    def follow_up_retail(self, staff: Person, t: int, p_two_way: float) -> int | None:
        """Seed 000: retail follow-up is mostly a note in the DMS ("left message"),
        sometimes a call from the desk phone or a text from a personal cell."""
        rng = self.sim.rng
        two_way = rng.random() < p_two_way * 0.8
        r = rng.random()
        if r < 0.5:
            if two_way:
                self.note(staff, t, rng.choice(["spoke w/ customer, still deciding",
                                                "talked to customer, coming back this weekend"]),
                          channel="call", outcome="connected")
                return t
            self.note(staff, t, rng.choice(RETAIL_NOTES))
            return None
        if r < 0.72:
            if two_way:
                talk = int(rng.uniform(45, 600))
                self.call(staff, t, "outbound", "connected", talk, verified=True)
                return t + talk
            self.call_attempt(staff, t)
            return None
        if r < 0.9:
            channel, body = rng.choice(RETAIL_OUTSIDE)
            outcome = "voicemail" if channel == "call" else "sent"
            self.note(staff, t, body, outside=True, channel=channel, outcome=outcome)
            return None
        self.call(staff, t, "outbound", rng.choice(["voicemail", "no_answer"]), 0, verified=False)
        return None


# --------------------------------------------------------------------------------------
# Organization
# --------------------------------------------------------------------------------------


def _store_specs(large: bool, n_stores: int) -> tuple[list[tuple[str, str]], list[StoreSpec]]:
    if not large:
        region = REGIONS[0]
        spec = StoreSpec(DEMO_STORE_NAME, DEMO_STORE_SLUG, 0, "Toyota", region, "", "lakesidetoyota.example")
        return [(DEMO_GROUP_NAME, DEMO_GROUP_SLUG)], [spec]
    width = max(2, len(str(n_stores)))
    groups: list[tuple[str, str]] = []
    specs: list[StoreSpec] = []
    per_group = 10
    used_names: set[str] = set()
    for i in range(n_stores):
        group_index = i // per_group
        if group_index >= len(groups):
            name = GROUP_NAMES[group_index % len(GROUP_NAMES)]
            if group_index >= len(GROUP_NAMES):
                name = f"{name} {group_index // len(GROUP_NAMES) + 1}"
            groups.append((name, f"bench-g{group_index + 1:0{width}d}"))
        region = REGIONS[i % len(REGIONS)]
        brand = STORE_BRANDS[(i // len(REGIONS) + i) % len(STORE_BRANDS)]
        place = region.city_names[(i // len(REGIONS)) % len(region.city_names)]
        name = f"{place} {brand}"
        if name in used_names:
            name = f"{name} {i + 1}"
        used_names.add(name)
        slug = f"s{i + 1:0{width}d}"
        website = f"{place.lower().replace(' ', '')}{brand.lower()}.example"
        specs.append(StoreSpec(name, slug, group_index, brand, region, f"{slug}-", website))
    return groups, specs


def _calendar_for(tz_name: str, start: int, now: int, cache_: dict[str, Calendar]) -> Calendar:
    if tz_name not in cache_:
        tz = ZoneInfo(tz_name)
        first = (_ts(start).astimezone(tz) - dt.timedelta(days=2)).date()
        last = (_ts(now).astimezone(tz) + dt.timedelta(days=40)).date()
        cache_[tz_name] = Calendar(tz, first, last)
    return cache_[tz_name]


def _hours_by_weekday(business_hours: dict) -> list[Span | None]:
    hours: list[Span | None] = []
    for day in WEEKDAYS:
        spans = business_hours.get(day) or []
        if spans:
            hours.append((_hhmm(spans[0][0]), _hhmm(spans[-1][1])))
        else:
            hours.append(None)
    return hours


def _create_organization(groups: list[tuple[str, str]], specs: list[StoreSpec], rng: random.Random,
                         start: int, now: int) -> list[StoreContext]:
    User = get_user_model()
    group_rows = DealerGroup.objects.bulk_create([DealerGroup(name=n, slug=s) for n, s in groups])
    stores = Store.objects.bulk_create([
        Store(group=group_rows[spec.group_index], name=spec.name, slug=spec.slug, time_zone=spec.region.time_zone,
              business_hours=default_business_hours(), main_phone=f"+1{spec.region.staff_codes[0]}5550100")
        for spec in specs
    ])
    # Names first: each team is named after its sales manager.
    plans = []
    teams: list[Team] = []
    for store, _spec in zip(stores, specs, strict=True):
        used_names: set[tuple[str, str]] = set()
        entries = []
        for suffix, role, team_key, shifts in _staff_plan():
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            while (first, last) in used_names or (role == Role.SALES_MANAGER and any(
                    r == Role.SALES_MANAGER and n[1] == last for _, r, _, _, n in entries)):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            used_names.add((first, last))
            entries.append((suffix, role, team_key, shifts, (first, last)))
        plans.append(entries)
        teams += [Team(store=store, name=f"Team {names[1]}") for _, role, _, _, names in entries
                  if role == Role.SALES_MANAGER]
    teams = Team.objects.bulk_create(teams)
    password = make_password(DEMO_PASSWORD)  # hashed once: PBKDF2 per user would take minutes
    users, staff, contexts = [], [], []
    calendars: dict[str, Calendar] = {}
    for store_index, (store, spec) in enumerate(zip(stores, specs, strict=True)):
        hours = _hours_by_weekday(store.business_hours)
        ctx = StoreContext(spec, store.pk, _calendar_for(spec.region.time_zone, start, now, calendars), hours)
        contexts.append(ctx)
        store_teams = teams[store_index * 3:store_index * 3 + 3]
        desk_code, cell_code = spec.region.staff_codes
        for slot, (suffix, role, team_key, shifts, (first, last)) in enumerate(plans[store_index], start=1):
            username = f"{spec.username_prefix}{suffix}"
            users.append(User(
                username=username, first_name=first, last_name=last, password=password,
                email=f"{first.lower()}.{''.join(c for c in last.lower() if c.isalpha())}@{spec.website}",
                is_staff=role in (Role.ADMIN, Role.INTERNET_DIRECTOR),
            ))
            team = store_teams[int(team_key)] if team_key is not None else None
            staff.append(Staff(store=store, role=role, team=team, desk_phone=f"+1{desk_code}55501{slot:02d}",
                               cell_phone=f"+1{cell_code}55501{slot:02d}"))
            ctx.people.append(Person(0, username, first, last, role, team.name if team else "",
                                     _clip_to_hours(shifts, hours)))
    taken = set(User.objects.filter(username__in=[u.username for u in users]).values_list("username", flat=True))
    if taken:
        raise ValueError(f"these usernames already exist: {', '.join(sorted(taken)[:10])}")
    users = User.objects.bulk_create(users)
    for user, member in zip(users, staff, strict=True):
        member.user = user
    staff = Staff.objects.bulk_create(staff)
    people = [p for ctx in contexts for p in ctx.people]
    shifts = []
    for member, person in zip(staff, people, strict=True):
        person.staff_id = member.pk
        for weekday, span in enumerate(person.shifts):
            if span is not None:
                shifts.append(Shift(staff=member, weekday=weekday, starts=_time(span[0]), ends=_time(span[1])))
    Shift.objects.bulk_create(shifts, batch_size=5_000)
    # Each team's manager is the sales manager on it.
    by_team: dict[int, Staff] = {m.team_id: m for m in staff if m.role == Role.SALES_MANAGER}
    for team in teams:
        team.manager = by_team[team.pk]
    Team.objects.bulk_update(teams, ["manager"])
    _grant_admin_permissions(
        [u for u, m in zip(users, staff, strict=True) if m.role in (Role.ADMIN, Role.INTERNET_DIRECTOR)]
    )
    return contexts


def _record_demo_deals(store_id: int, rng: random.Random) -> int:
    """Every sold lead of the demo store becomes a deal judged by the coverage engine, so the
    deal list, the dashboard, disputes and the what-if replay have the store's own history.
    Most are closed by the lead's owner; some by a retail salesperson who took the customer on
    the floor, which is where coverage decides a half deal."""
    from coverage.services import deal_record
    from leads.models import Lead, LeadStatusChange

    store = Store.objects.get(pk=store_id)
    retail = list(Staff.objects.filter(store=store, role=Role.RETAIL).order_by("pk"))
    sold_at = dict(
        LeadStatusChange.objects.filter(lead__store=store, to_status="sold").values_list("lead_id", "changed_at")
    )
    count = 0
    for lead in Lead.objects.filter(store=store, status="sold", owner__isnull=False).select_related("customer", "owner"):
        closer = rng.choice(retail) if retail and rng.random() < 0.3 else lead.owner
        vehicle = lead.vehicles.filter(interest="buy").first()
        deal_record(
            store=store, customer=lead.customer, lead=lead, closer=closer, source="dms_csv",
            sold_at=sold_at.get(lead.pk, lead.received_at), vehicle=str(vehicle) if vehicle else "",
            stock_number=vehicle.stock_number if vehicle else "", external_id=f"DEMO-{lead.pk}",
        )
        count += 1
    return count


def _install_routing_rules(store_id: int) -> None:
    """Seed 003's ways of handing out leads, one per kind of lead: phone-ups and walk-ins ring on
    the receptionist's board for the retail floor ("the receptionist pages the floor, first
    salesperson to call in gets it"), so a walk-in typed at the desk never goes to an internet
    agent on the 20-minute rule; used-car leads go to a claim pool that falls back to round robin
    after 10 minutes; everything else goes round robin with reassignment after 20 minutes among
    the internet agents, then to the manager after two moves."""
    from distribution.models import RoutingRule, Strategy
    from distribution.pools import rule_save

    store = Store.objects.get(pk=store_id)
    rule_save(RoutingRule(store=store, name="Phone-ups ring on the board", position=1, source_type="phone_up",
                          strategy=Strategy.RECEPTIONIST, pool_role=Role.RETAIL), teams=[], staff=[])
    rule_save(RoutingRule(store=store, name="Walk-ins: the receptionist pages the floor", position=2,
                          source_type="walk_in", strategy=Strategy.RECEPTIONIST, pool_role=Role.RETAIL),
              teams=[], staff=[])
    rule_save(RoutingRule(store=store, name="Used cars: claim pool", position=3, condition="used",
                          strategy=Strategy.CLAIM_POOL, claim_minutes=10, pool_role=Role.INTERNET_AGENT),
              teams=[], staff=[])
    rule_save(RoutingRule(store=store, name="Internet agents, 20-minute rule", is_fallback=True,
                          strategy=Strategy.ROUND_ROBIN_REASSIGN, response_minutes=20, max_moves=2,
                          pool_role=Role.INTERNET_AGENT), teams=[], staff=[])


def live_window(store: Store, now: dt.datetime) -> tuple[dt.datetime, dt.datetime, bool]:
    """The open hours the demo's live work belongs to, and whether the store is open now: the
    current open interval while the store is open; otherwise the last one before now, whose
    leftover work (unanswered leads, overdue calls) is what a newcomer finds at night or on the
    closed day, as in a real store."""
    from org.hours import open_intervals

    spans = [span for span in open_intervals(store.business_hours, store.tz, now - dt.timedelta(days=14),
                                             now + dt.timedelta(days=1)) if span[0] <= now]
    if not spans:  # a store without hours: the last eight hours
        return now - dt.timedelta(hours=8), now + dt.timedelta(minutes=1), True
    begin, end = spans[-1]
    return begin, end, begin <= now < end


def appointment_slots(store: Store, after: dt.datetime, days: int) -> list[list[dt.datetime]]:
    """Half-hour appointment times inside the store's open hours, at least an hour before
    closing, later than `after`, grouped by open day (the next `days` open days)."""
    from org.hours import open_intervals

    by_day: dict[dt.date, list[dt.datetime]] = {}
    for begin, end in open_intervals(store.business_hours, store.tz, after, after + dt.timedelta(days=days + 9)):
        local = begin.astimezone(store.tz)
        slot = local.replace(minute=0 if local.minute == 0 else 30, second=0, microsecond=0)
        if slot < local:
            slot += dt.timedelta(minutes=30)
        slot = slot.astimezone(dt.UTC)
        while slot + dt.timedelta(hours=1) <= end:
            if slot > after:
                by_day.setdefault(slot.astimezone(store.tz).date(), []).append(slot)
            slot += dt.timedelta(minutes=30)
    return [by_day[day] for day in sorted(by_day)][:days]


def _live_leads(store_id: int, now: dt.datetime) -> int:
    """A few leads arriving in the live window (just now while the store is open, else the last
    open hour), routed by the rules at their arrival, so the board, the pool and the agents'
    queues have something on them whenever the demo opens."""
    from distribution.services import lead_route
    from leads.services import LeadData, VehicleData, lead_create

    store = Store.objects.get(pk=store_id)
    begin, end, is_open = live_window(store, now)
    arrivals = [
        ("Maria", "Lopez", "+16125550181", SourceType.PHONE_UP, "Main line", VehicleData(condition="new", make="Toyota", model="RAV4", year=2027)),
        ("Derek", "Olsen", "+16125550182", SourceType.THIRD_PARTY, "CarGurus", VehicleData(condition="used", make="Honda", model="CR-V", year=2022)),
        ("Priya", "Natarajan", "+16125550183", SourceType.OEM, "Toyota.com", VehicleData(condition="new", make="Toyota", model="Camry", year=2027)),
        ("Sam", "Whitaker", "+16125550184", SourceType.DEALER_WEBSITE, "Website", VehicleData(condition="used", make="Ford", model="F-150", year=2021)),
        ("Grace", "Hollis", "+16125550185", SourceType.WALK_IN, "", VehicleData(condition="new", make="Toyota", model="Tacoma", year=2027)),
        ("Omar", "Haddad", "+16125550186", SourceType.THIRD_PARTY, "Autotrader", VehicleData(condition="new", make="Toyota", model="Highlander", year=2027)),
        # Maria's husband, from the family's landline: his own customer, a possible duplicate of hers
        # for a manager to review (leads.identity; Setup -> Duplicates).
        ("Carlos", "Lopez", "+16125550181", SourceType.THIRD_PARTY, "Cars.com", VehicleData(condition="used", make="Toyota", model="Tundra", year=2023)),
    ]
    channels = {SourceType.PHONE_UP: IntakeChannel.PHONE, SourceType.WALK_IN: IntakeChannel.MANUAL}
    latest = min(now, end - dt.timedelta(minutes=1))
    for index, (first, last, phone, source, provider, vehicle) in enumerate(arrivals):
        if source == SourceType.WALK_IN and not is_open:
            continue  # a customer on the showroom floor does not wait overnight
        arrived = max(begin, latest - dt.timedelta(minutes=4 + 9 * (len(arrivals) - 1 - index)))
        result = lead_create(store=store, data=LeadData(
            source_type=source, intake_channel=channels.get(source, IntakeChannel.API),
            first_name=first, last_name=last, phones=[(phone, "mobile")], provider=provider,
            provider_lead_id=f"LIVE-{index + 1}", vehicles=[vehicle], received_at=arrived,
        ))
        lead_route(lead_id=result.lead.pk, now=arrived)
    return Lead.objects.filter(store=store, provider_lead_id__startswith="LIVE-").count()


def _demo_routing(store_id: int) -> int:
    """The history's leads get the routing record distribution keeps for every lead (their
    assignment history is already written): the response clock, the first attempt and the first
    two-way contact from the contact events, so response times and breaches show from the start."""
    from distribution.models import LeadRouting, RoutingState
    from distribution.services import business_deadline

    store = Store.objects.get(pk=store_id)
    events = ContactEvent.objects.filter(store=store, lead__isnull=False)
    first_attempt = dict(events.filter(is_attempt=True).values("lead_id").annotate(t=models.Min("occurred_at")).values_list("lead_id", "t"))
    first_two_way = dict(events.filter(is_two_way=True).values("lead_id").annotate(t=models.Min("occurred_at"))
                         .values_list("lead_id", "t"))
    have = set(LeadRouting.objects.filter(store=store).values_list("lead_id", flat=True))
    rows = []
    for lead_id, received, owner_id, pool, assigned, status in (
        Lead.objects.filter(store=store, duplicate_of__isnull=True).exclude(pk__in=have)
        .values_list("pk", "received_at", "owner_id", "in_claim_pool", "routed_at", "status")
    ):
        state = RoutingState.ASSIGNED if owner_id else (RoutingState.POOL if pool else RoutingState.MANAGER)
        rows.append(LeadRouting(
            lead_id=lead_id, store=store, state=state, rule_name="", strategy="", queued_at=assigned or received,
            assigned_at=assigned if owner_id else None, clock_started_at=received,
            breach_at=business_deadline(store, received, store.response_limit_minutes),
            first_attempt_at=first_attempt.get(lead_id), first_two_way_at=first_two_way.get(lead_id),
            lead_closed=status not in OPEN_STATUSES,
        ))
    LeadRouting.objects.bulk_create(rows, batch_size=2_000)
    return len(rows)


def _demo_follow_up(store_id: int, rng: random.Random, now: dt.datetime) -> tuple[int, int]:
    """Open leads get what the follow-up module would have given them: a new lead its cadence,
    a contacted one its keep-in-touch task, an appointment-set one an appointment in the store's
    open hours (the next open days, the first ones busiest). Each salesperson also has the calls
    of the live window (see live_window): due through today's open hours, or left overdue from
    the last ones when the demo is built at night or on the closed day, so Today is never empty."""
    from leads import followup
    from leads.models import Appointment, LeadStatus, Task, TaskKind

    store = Store.objects.get(pk=store_id)
    leads = Lead.objects.filter(store=store, duplicate_of__isnull=True, owner__isnull=False).select_related("store")
    for lead in leads.filter(status=LeadStatus.NEW, received_at__gte=now - dt.timedelta(days=5)):
        followup.lead_owner_changed(lead=lead, owner_id=lead.owner_id, now=now)
    last_two_way = dict(
        ContactEvent.objects.filter(store=store, lead__status=LeadStatus.CONTACTED)
        .values("lead_id").annotate(last=models.Max("occurred_at")).values_list("lead_id", "last")
    )
    for lead in leads.filter(status=LeadStatus.CONTACTED):
        followup.keep_in_touch_plan(lead=lead, after=last_two_way.get(lead.pk, lead.received_at))

    days = appointment_slots(store, now, 4)
    made = []
    for lead in leads.filter(status=LeadStatus.APPOINTMENT_SET).order_by("pk"):
        if not days:
            break
        day = days[min(len(days) - 1, rng.choice([0, 0, 0, 1, 1, 2, 3]))]
        starts = rng.choice(day)
        made.append(Appointment(
            store=store, lead=lead, customer_id=lead.customer_id, staff_id=lead.owner_id, starts_at=starts,
            created_at=now - dt.timedelta(days=1), reminder_due_at=starts - dt.timedelta(hours=2) if starts > now else None,
            no_show_due_at=starts + dt.timedelta(hours=2),
        ))
    Appointment.objects.bulk_create(made)

    begin, end, is_open = live_window(store, now)
    if is_open:  # an hour's calls already late, the rest through the day
        span = (end - dt.timedelta(minutes=30)) - max(begin, now - dt.timedelta(hours=1))
        start = max(begin, now - dt.timedelta(hours=1))
    else:  # the last open hours' calls nobody got to
        span = (end - begin) / 2
        start = end - span
    live = []
    sellers = Staff.objects.filter(store=store, role__in=[Role.INTERNET_AGENT, Role.RETAIL], is_active=True).order_by("pk")
    for member in sellers:
        open_leads = list(leads.filter(owner=member, status__in=[LeadStatus.CONTACTED, LeadStatus.APPOINTMENT_SET])
                          .order_by("-received_at")[:3])
        for lead in open_leads:
            due = start + span * rng.random()
            live.append(Task(
                store=store, customer_id=lead.customer_id, lead=lead, staff=member, kind=TaskKind.CALL_BACK,
                channel="call", due_at=due, created_at=min(now, due) - dt.timedelta(hours=20),
                reason=rng.choice(["Asked for a call back about numbers", "Wants a trade-in figure before coming in",
                                   "Call back: comparing with another dealer", "Promised payment options today"]),
            ))
    Task.objects.bulk_create(live)
    return Task.objects.filter(store=store).count(), len(made)


def _install_coverage_policies(store_id: int, since: dt.datetime) -> None:
    """The seeds' store: internet agents covered 72 h by two-way contact (seed 001's latest
    policy), retail 3 days by any logged activity (seed 000). Directors change them later."""
    from coverage.presets import preset
    from coverage.services import POLICY_FIELDS, policy_version_create

    store = Store.objects.get(pk=store_id)
    for role, name in ((Role.INTERNET_AGENT, "internet-72h"), (Role.RETAIL, "retail-3d"), (Role.FLEET, "retail-3d")):
        params = preset(name).to_dict()
        policy_version_create(
            store=store, role=role, effective_from=since - dt.timedelta(days=1), created_by=None,
            note="Demo store's starting policy", **{k: params[k] for k in POLICY_FIELDS},
        )


def _create_dealer_numbers(store_id: int) -> None:
    """The demo store's Twilio numbers (answered by the telephony sandbox): the main line, a
    line per internet agent, and tracking numbers for two lead sources, so a phone-up on one
    gets its source."""
    from telephony.models import DealerNumber, NumberPurpose

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


def _time(seconds: int) -> dt.time:
    return dt.time(seconds // HOUR, seconds % HOUR // MINUTE)


def _grant_admin_permissions(users) -> None:
    """Admins use the Django admin (is_staff); what they see there is scoped to their group
    by org.scoping, the permissions only open the pages."""
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP_NAME)
    group.permissions.add(*Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
    Through = get_user_model().groups.through
    Through.objects.bulk_create([Through(user_id=u.pk, group_id=group.pk) for u in users], ignore_conflicts=True)


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------


@dataclass
class BuildReport:
    store_ids: list[int]
    rows: dict[str, int]
    timings: list[tuple[str, float]]
    effort: float
    rebuilt_indexes: bool
    stats: dict[str, int]


def demo_url() -> str:
    """Where the running demo answers: PUBLIC_BASE_URL, which `./dev start --port N` sets to
    http://localhost:N unless it is set already."""
    from django.conf import settings

    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/" if settings.PUBLIC_BASE_URL else DEMO_URL


def store_slugs(*, large: bool, stores: int) -> list[str]:
    return [spec.slug for spec in _store_specs(large, stores)[1]]


def build(*, large: bool = False, stores: int = 50, months: float = 3, leads_per_store: int | None = None,
          seed: int = DEFAULT_SEED, drop_indexes: str = "auto", now: dt.datetime | None = None,
          log: Callable[[str], None] = lambda message: None) -> BuildReport:
    """Build the small demo (one store) or the benchmark data set (`large`) in one transaction."""
    started = time.monotonic()
    timings: list[tuple[str, float]] = []
    now_ts = int((now or timezone.now()).timestamp())
    start_ts = now_ts - int(months * 30.44 * DAY)
    default_volume = round(LEADS_PER_STORE_MONTH * months)
    n_leads = leads_per_store if leads_per_store is not None else default_volume
    effort = min(1.0, default_volume / n_leads) if n_leads else 1.0
    groups, specs = _store_specs(large, stores if large else 1)
    rng = random.Random(seed)
    with transaction.atomic():
        slugs = [s.slug for s in specs]
        existing = list(Store.objects.filter(slug__in=slugs).values_list("slug", flat=True)[:5])
        if existing:
            raise ValueError(f"stores already exist: {', '.join(existing)}")
        contexts = _create_organization(groups, specs, rng, start_ts, now_ts)
        if not large:
            _create_dealer_numbers(contexts[0].store_id)
            _install_coverage_policies(contexts[0].store_id, dt.datetime.fromtimestamp(start_ts, tz=dt.UTC))
        timings.append(("organization", time.monotonic() - started))
        log(f"organization: {len(contexts)} store(s), {sum(len(c.people) for c in contexts)} staff "
            f"({timings[-1][1]:.1f} s)")

        total_leads = n_leads * len(contexts)
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM (SELECT 1 FROM leads_lead LIMIT %s) AS t", [total_leads])
        existing_leads = cursor.fetchone()[0]
        rebuild = drop_indexes == "always" or (
            drop_indexes == "auto" and total_leads >= BULK_REBUILD_THRESHOLD and existing_leads < total_leads
        )
        saved = _secondary_objects(cursor, BULK_TABLES) if rebuild else ([], [])
        if rebuild:
            _drop_secondary(cursor, *saved)
            log(f"dropped {len(saved[1])} secondary indexes and {len(saved[0])} foreign keys for the bulk load")
        if effort < 1:
            log(f"{n_leads:,} leads per store is {n_leads / default_volume:.1f}x what 9 agents can work: "
                f"follow-up scaled to {effort:.3f} of the normal cadence")

        sink = CopySink()
        stats = {"duplicates": 0, "returning": 0, "sold": 0}
        load_started = time.monotonic()
        for index, ctx in enumerate(contexts, start=1):
            store_started = time.monotonic()
            events_before = sink.written["event"] + len(sink.rows["event"])
            simulation = StoreSimulation(ctx, sink=sink, rng=random.Random(f"{seed}:{ctx.spec.slug}"),
                                         start=start_ts, now=now_ts, n_leads=n_leads, effort=effort)

            def progress(done: int, ctx=ctx) -> None:
                log(f"  {ctx.spec.slug}: {done:,} leads ({time.monotonic() - load_started:.0f} s)")

            simulation.run(progress)
            for key, value in simulation.stats.items():
                stats[key] += value
            events = sink.written["event"] + len(sink.rows["event"]) - events_before
            log(f"store {index}/{len(contexts)} {ctx.spec.slug} {ctx.spec.name}: {n_leads:,} leads, "
                f"{events:,} contact events ({time.monotonic() - store_started:.1f} s)")
        sink.flush_all()
        timings.append(("generate + COPY", time.monotonic() - load_started))
        stamp_started = time.monotonic()
        stats["attempted"] = new_leads_attempted_mark(store_ids=[c.store_id for c in contexts])
        timings.append(("attempts stamped", time.monotonic() - stamp_started))
        if rebuild:
            rebuild_started = time.monotonic()
            log("recreating indexes and foreign keys")
            _restore_secondary(cursor, *saved, log=log)
            timings.append(("indexes + foreign keys", time.monotonic() - rebuild_started))
        else:
            check_started = time.monotonic()
            # Deferred foreign keys would be checked at commit; check now so errors surface here.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            timings.append(("foreign key checks", time.monotonic() - check_started))
        sink.give_back_ids()
        analyze_started = time.monotonic()
        for table in ["org_staff", "org_shift", "org_team", "org_store", "auth_user", *BULK_TABLES]:
            cursor.execute(f"ANALYZE {table}")
        timings.append(("analyze", time.monotonic() - analyze_started))
        if not large:
            deals_started = time.monotonic()
            stats["deals"] = _record_demo_deals(contexts[0].store_id, random.Random(f"{seed}:deals"))
            timings.append(("deals judged", time.monotonic() - deals_started))
            _install_routing_rules(contexts[0].store_id)
            live_now = _ts(now_ts)
            stats["live leads"] = _live_leads(contexts[0].store_id, live_now)
            stats["routing records"] = _demo_routing(contexts[0].store_id)
            stats["follow-up tasks"], stats["appointments"] = _demo_follow_up(
                contexts[0].store_id, random.Random(f"{seed}:follow"), live_now)
    timings.append(("total", time.monotonic() - started))
    rows = {
        "stores": len(contexts),
        "staff": sum(len(c.people) for c in contexts),
        "customers": sink.written["customer"],
        "customer phones": sink.written["phone"],
        "customer emails": sink.written["email"],
        "leads": sink.written["lead"],
        "lead vehicles": sink.written["vehicle"],
        "status changes": sink.written["status"],
        "assignments": sink.written["assignment"],
        "contact events": sink.written["event"],
    }
    return BuildReport([c.store_id for c in contexts], rows, timings, effort, rebuild, stats)


def vacuum_analyze(log: Callable[[str], None] = lambda message: None) -> float:
    """VACUUM (ANALYZE) the bulk tables: sets hint bits and the visibility map after a big
    load so the first queries (and index-only scans) do not pay for it. Not in a transaction."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        for table in BULK_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    elapsed = time.monotonic() - started
    log(f"vacuum analyze ({elapsed:.1f} s)")
    return elapsed


@dataclass
class Login:
    username: str
    name: str
    role: str
    team: str
    days_off: str


def store_logins(store: Store) -> list[Login]:
    role_order = [Role.INTERNET_DIRECTOR, Role.SALES_MANAGER, Role.INTERNET_AGENT, Role.RETAIL, Role.FLEET,
                  Role.RECEPTIONIST, Role.ADMIN]
    members = list(Staff.objects.filter(store=store).select_related("user", "team").prefetch_related("shifts"))
    members.sort(key=lambda m: (role_order.index(m.role) if m.role in role_order else 99, m.user.id))
    return [
        Login(m.user.username, m.user.get_full_name(), m.get_role_display(), m.team.name if m.team else "",
              ", ".join(WEEKDAYS[d].capitalize() for d in sorted(m.days_off())))
        for m in members
    ]


def format_logins(logins: list[Login]) -> str:
    headers = ("username", "name", "role", "team", "days off")
    rows = [(x.username, x.name, x.role, x.team, x.days_off) for x in logins]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
