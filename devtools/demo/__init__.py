"""Demo and benchmark data: a dealer group as the seeds describe it, with months of history.

`manage.py demo_store` (devtools/management/commands/demo_store.py) is a thin wrapper around
`build()`. The organization (group, stores, teams, users, staff, weekly shifts) goes through the
ORM with bulk_create. Customers, leads and their histories are simulated store by store in
chronological order and streamed into PostgreSQL with COPY (psycopg 3): the services write one
lead at a time, which would take hours for a million leads. IDs are reserved from the tables'
own sequences, so anything the ORM inserts later continues after them. Everything runs in one
transaction: a failed build leaves nothing behind.

The modules, by what they hold:

  build.py          the entry point build(), demo_url(), store_slugs()
  organization.py   the people and the store: groups, stores, teams, users, staff, shifts
  simulation.py     the history generator: one store's leads, in the order they arrived
    rota.py           who works when, open hours, round-robin turns
    customers.py      customers, their unique phones and emails
    vehicles.py       makes and models, VINs, a store's inventory
    sources.py        lead sources and providers, arrival times, comments, ADF/JSON documents
    lifecycles.py     each kind of lead's story: contact, appointment, show, sale or loss
    sittings.py       one outreach or follow-up sitting (call, text, email, note)
    lead_state.py     one lead's status path, assignments and contact events as rows
    wording.py        what staff and customers write
    reference.py      names, regions, area codes
    timekeeping.py    epoch-second calendars in the store's zone
  bulk.py           COPY sink, id blocks, dropping/recreating indexes, VACUUM ANALYZE
  deals.py          deals of the sold leads and the coverage policies that judge them
  routing.py        the routing rules and the history's routing records
  dealer_numbers.py the store's telephony numbers (the sandbox answers them)
  live.py           live arrivals and the follow-up work waiting in the live window
  logins.py         the logins the command prints
"""

from .build import DEFAULT_SEED, DEMO_URL, LEADS_PER_STORE_MONTH, BuildReport, build, demo_url, store_slugs
from .bulk import BULK_REBUILD_THRESHOLD, BULK_TABLES, vacuum_analyze
from .logins import Login, format_logins, store_logins
from .organization import DEMO_GROUP_NAME, DEMO_GROUP_SLUG, DEMO_PASSWORD, DEMO_STORE_NAME, DEMO_STORE_SLUG

__all__ = [
    "BULK_REBUILD_THRESHOLD",
    "BULK_TABLES",
    "DEFAULT_SEED",
    "DEMO_GROUP_NAME",
    "DEMO_GROUP_SLUG",
    "DEMO_PASSWORD",
    "DEMO_STORE_NAME",
    "DEMO_STORE_SLUG",
    "DEMO_URL",
    "LEADS_PER_STORE_MONTH",
    "BuildReport",
    "Login",
    "build",
    "demo_url",
    "format_logins",
    "store_logins",
    "store_slugs",
    "vacuum_analyze",
]
