"""Writing the generated rows: COPY (psycopg 3) in chunks, with ids reserved from the tables'
own sequences so anything the ORM inserts later continues after them. For large loads the bulk
tables' secondary indexes and foreign keys are dropped and recreated (identical definitions,
from the catalog) around the load, which is how pg_restore loads data too; a VACUUM (ANALYZE)
afterwards spares the first queries the hint bits."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from psycopg import sql

from leads.events import contact_events_copy
from leads.models import (
    ContactEvent,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Lead,
    LeadAssignment,
    LeadStatusChange,
    LeadVehicle,
)

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
            raise ImproperlyConfigured(f"{model._meta.db_table} has no column(s) {sorted(missing)}: update devtools/demo/bulk.py")
        for model_field in model._meta.concrete_fields:
            if model_field.column in columns or model_field.generated:
                continue
            if model_field.has_db_default():
                continue  # PostgreSQL fills it
            value = model_field.get_default()
            if value is None and not model_field.null:
                raise ImproperlyConfigured(
                    f"demo data does not know {model._meta.db_table}.{model_field.column} (no default): "
                    "add it to devtools/demo/bulk.py"
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


def secondary_objects(cursor, tables: list[str]) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
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


def drop_secondary(cursor, foreign_keys, indexes) -> None:
    # Dropping a foreign key alters the referenced table too, which PostgreSQL refuses while
    # that table has deferred checks pending (the staff rows just inserted): run them now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    for table, name, _definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")


def restore_secondary(cursor, foreign_keys, indexes, log: Callable[[str], None]) -> None:
    cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
    started = time.monotonic()
    for _name, definition in indexes:
        cursor.execute(definition)
    log(f"  {len(indexes)} indexes ({time.monotonic() - started:.1f} s)")
    started = time.monotonic()
    for table, name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    log(f"  {len(foreign_keys)} foreign keys validated ({time.monotonic() - started:.1f} s)")


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
