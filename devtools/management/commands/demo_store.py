"""Load the demo store, or the benchmark data set with --large. The work is in devtools/demo/ (build())."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from devtools import demo
from org.models import Store


class Command(BaseCommand):
    help = (
        "Build the demo dealer group (one store, 'Lakeside Toyota', 3 months of leads and contact history) "
        "or, with --large, the benchmark data set (50 stores, ~100,000 leads, millions of contact events)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing (but print the logins) when any store exists")
        parser.add_argument("--large", action="store_true", help="build the benchmark data set")
        parser.add_argument("--stores", type=int, default=50, help="stores for --large (default 50)")
        parser.add_argument("--months", type=float, default=3, help="months of history ending now (default 3)")
        parser.add_argument("--leads-per-store", type=int, default=None,
                            help=f"override the volume (default {demo.LEADS_PER_STORE_MONTH} a month per store)")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="random seed (reproducible data)")
        parser.add_argument("--drop-indexes", choices=["auto", "always", "never"], default="auto",
                            help="drop and recreate secondary indexes and foreign keys around the bulk load "
                                 f"(auto: from {demo.BULK_REBUILD_THRESHOLD:,} leads on)")
        parser.add_argument("--no-vacuum", action="store_true", help="skip VACUUM (ANALYZE) after a --large build")

    def handle(self, *args, **options):
        if options["if_empty"] and Store.objects.exists():
            self.stdout.write(f"{Store.objects.count()} store(s) already exist: nothing loaded.")
            demo_store = Store.objects.filter(slug=demo.DEMO_STORE_SLUG).first()
            self._print_logins(demo_store or Store.objects.order_by("pk").first())
            return
        if options["stores"] < 1 or options["months"] <= 0 or (options["leads_per_store"] or 0) < 0:
            raise CommandError("--stores must be at least 1, --months and --leads-per-store positive")
        large = options["large"]
        kind = f"benchmark data set ({options['stores']} stores)" if large else f"demo store {demo.DEMO_STORE_NAME!r}"
        self.stdout.write(f"Building the {kind}, seed {options['seed']}...")
        try:
            report = demo.build(
                large=large,
                stores=options["stores"],
                months=options["months"],
                leads_per_store=options["leads_per_store"],
                seed=options["seed"],
                drop_indexes=options["drop_indexes"],
                log=lambda message: self.stdout.write(message),
            )
        except ValueError as error:
            raise CommandError(f"{error}. Use a fresh database (or --if-empty).") from error
        timings = list(report.timings)
        if large and not options["no_vacuum"] and not connection.in_atomic_block:
            started = time.monotonic()
            demo.vacuum_analyze(log=lambda message: self.stdout.write(message))
            timings.append(("vacuum analyze", time.monotonic() - started))
        self.stdout.write("")
        self.stdout.write("Rows written:")
        for label, count in report.rows.items():
            self.stdout.write(f"  {label:<16} {count:>12,}")
        stats = report.stats
        leads = report.rows["leads"] or 1
        self.stdout.write(
            f"  ({stats['duplicates']:,} duplicates, {stats['returning']:,} returning customers, "
            f"{stats['sold']:,} sold = {stats['sold'] / leads:.1%} of leads)"
        )
        self.stdout.write("Timing:")
        for label, seconds in timings:
            self.stdout.write(f"  {label:<24} {seconds:8.1f} s")
        stores = Store.objects.filter(pk__in=report.store_ids).order_by("pk")
        if large:
            first = stores.first()
            self.stdout.write("")
            self.stdout.write(
                f"Logins: <store slug>-<role><n>, e.g. {first.slug}-director, {first.slug}-manager1, "
                f"{first.slug}-agent3, {first.slug}-retail1, {first.slug}-receptionist, {first.slug}-admin"
            )
            self.stdout.write(f"password: {demo.DEMO_PASSWORD}")
            self.stdout.write(f"URL: {demo.demo_url()}")
        else:
            self._print_logins(stores.first())
        self.stdout.write(self.style.SUCCESS("Done."))

    def _print_logins(self, store: Store | None) -> None:
        if store is None:
            return
        self.stdout.write("")
        self.stdout.write(f"Logins for {store.name} ({store.slug}), group {store.group.name}:")
        self.stdout.write(demo.format_logins(demo.store_logins(store)))
        member = store.staff.select_related("user").first()
        if member and member.user.check_password(demo.DEMO_PASSWORD):
            self.stdout.write(f"password: {demo.DEMO_PASSWORD} (every demo login)")
        url = demo.demo_url()
        self.stdout.write(f"Open {url} (Django admin: {url}admin/ as 'admin')")
