"""Model instances from hand-written SQL, for the few statements that run for every lead.

Composing an ORM query (select_related over four tables, say) costs more CPU than PostgreSQL
spends answering it; on the busiest paths (intake, routing) a fixed SQL text is read instead and
its row turned into the same model instances the ORM would build, with the same conversions
(JSON, phone numbers, time zones), so the code that uses them cannot tell the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def columns(model: type[Model], alias: str) -> str:
    """The select list of every concrete column of `model`, as `alias`."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def instance(model: type[M], values: Sequence) -> M:
    """The instance the ORM would have built from these column values (in `columns` order)."""
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        for converter in connection.ops.get_db_converters(field) + field.get_db_converters(connection):
            value = converter(value, field, connection)
        converted.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def split(row: Sequence, *models: type[Model]) -> list[Sequence]:
    """Cut a row of several models' `columns` into each model's values."""
    parts, start = [], 0
    for model in models:
        parts.append(row[start:start + width(model)])
        start += width(model)
    return parts
