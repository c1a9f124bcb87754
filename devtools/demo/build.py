"""The entry points: `build()` makes the small demo (one store, its history, deals, routing,
numbers and live work) or the benchmark data set (`large`: many stores, history only) in one
transaction, so a failed build leaves nothing behind; `demo_url()` is where the running demo
answers."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from leads.events import new_leads_attempted_mark
from org.models import Store

from .bulk import (
    BULK_REBUILD_THRESHOLD,
    BULK_TABLES,
    CopySink,
    drop_secondary,
    restore_secondary,
    secondary_objects,
)
from .dealer_numbers import create_dealer_numbers
from .deals import install_coverage_policies, record_demo_deals
from .live import follow_up_work, live_leads
from .organization import AGENTS_PER_STORE, create_organization, store_specs
from .routing import install_routing_rules, record_routing
from .simulation import StoreSimulation
from .timekeeping import DAY
from .timekeeping import ts as to_datetime

DEMO_URL = "http://localhost:8000/"  # settings.PUBLIC_BASE_URL's default; see demo_url()
DEFAULT_SEED = 1977
# Seeds 001/002: 7-9 agents each get 60-80 internet/phone leads a month; with the walk-ins
# the retail floor logs, one store takes about 70 leads per agent per month.
LEADS_PER_STORE_MONTH = 70 * AGENTS_PER_STORE


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
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/" if settings.PUBLIC_BASE_URL else DEMO_URL


def store_slugs(*, large: bool, stores: int) -> list[str]:
    """The slugs `build` would give its stores (the command's --if-empty looks for them)."""
    return [spec.slug for spec in store_specs(large, stores)[1]]


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
    groups, specs = store_specs(large, stores if large else 1)
    rng = random.Random(seed)
    with transaction.atomic():
        slugs = [s.slug for s in specs]
        existing = list(Store.objects.filter(slug__in=slugs).values_list("slug", flat=True)[:5])
        if existing:
            raise ValueError(f"stores already exist: {', '.join(existing)}")
        contexts = create_organization(groups, specs, rng, start_ts, now_ts)
        if not large:
            create_dealer_numbers(contexts[0].store_id)
            install_coverage_policies(contexts[0].store_id, dt.datetime.fromtimestamp(start_ts, tz=dt.UTC))
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
        saved = secondary_objects(cursor, BULK_TABLES) if rebuild else ([], [])
        if rebuild:
            drop_secondary(cursor, *saved)
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
            restore_secondary(cursor, *saved, log=log)
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
            stats["deals"] = record_demo_deals(contexts[0].store_id, random.Random(f"{seed}:deals"))
            timings.append(("deals judged", time.monotonic() - deals_started))
            install_routing_rules(contexts[0].store_id)
            live_now = to_datetime(now_ts)
            stats["live leads"] = live_leads(contexts[0].store_id, live_now)
            stats["routing records"] = record_routing(contexts[0].store_id)
            stats["follow-up tasks"], stats["appointments"] = follow_up_work(
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
