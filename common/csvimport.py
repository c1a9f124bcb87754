"""Reading the CSV exports stores bring from their DMS: the file's text in whatever encoding
Excel wrote, its delimiter and headers, and its dates in US or ISO form. Each importer (leads'
notes, coverage's deals) maps the headers to its own columns."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management.base import CommandError

DATETIME_FORMATS = [
    "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S",
    "%m/%d/%y %I:%M %p", "%m/%d/%y %I:%M:%S %p", "%m/%d/%y %H:%M", "%m/%d/%y %H:%M:%S",
    "%m-%d-%Y %I:%M %p", "%m-%d-%Y %H:%M", "%m-%d-%y %I:%M %p", "%m-%d-%y %H:%M",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
    "%b %d, %Y %I:%M %p", "%B %d, %Y %I:%M %p", "%b %d %Y %I:%M %p",
]
DATE_FORMATS = ["%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m-%d-%y", "%Y-%m-%d", "%b %d, %Y", "%B %d, %Y", "%b %d %Y"]


def normalize_header(name: str) -> str:
    """"Created On" -> "created on": lowercase, punctuation as spaces, for matching headers."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", (name or "").lower()).split())


def parse_when(raw_date: str, raw_time: str, tz) -> dt.datetime | None:
    """An aware datetime from US or ISO text; naive times are the store's local time."""
    text = " ".join(re.sub(r"(?<=[A-Za-z])\.", "", f"{raw_date} {raw_time}").split())
    text = re.sub(r"(?i)(\d)\s*([ap])\s?m\b", lambda m: f"{m.group(1)} {m.group(2).upper()}M", text)  # 9:05am
    if not text:
        return None
    parsed = None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):  # a bare ISO date goes to DATE_FORMATS (noon)
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            parsed = None
    if parsed is None:
        for fmt in DATETIME_FORMATS:
            try:
                parsed = dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - made aware below
                break
            except ValueError:
                continue
    if parsed is None:
        for fmt in DATE_FORMATS:
            try:
                # A date without a time: noon, so the note lands on that day in any US zone.
                parsed = dt.datetime.combine(dt.datetime.strptime(text, fmt).date(), dt.time(12, 0))  # noqa: DTZ007
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


@dataclass
class ImportReport:
    created: int = 0
    already_present: int = 0
    skipped: list[str] = field(default_factory=list)


def open_csv(text: str, mapper, *, required: tuple[str, ...]) -> tuple[csv.DictReader, dict[str, str]]:
    """A CSV export (a DMS's)'s rows and its columns (found by header name), or a CommandError naming the
    missing ones. Every export identifies the customer by phone or email."""
    # The header line's commonest separator (csv.Sniffer guesses wrong on notes full of commas).
    header_line = text.split("\n", 1)[0]
    delimiter = max(",;\t|", key=header_line.count)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = mapper(reader.fieldnames or [])
    missing = [name for name in required if name not in columns]
    if "phone" not in columns and "email" not in columns:
        missing.append("phone or email")
    if missing:
        raise CommandError(
            f"No {', '.join(missing)} column in the header ({', '.join(reader.fieldnames or []) or 'empty'})."
        )
    return reader, columns


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # Excel on Windows


def read_export(file: str) -> str:
    """The text of the export a management command was given, or a CommandError naming it."""
    path = Path(file)
    if not path.is_file():
        raise CommandError(f"{path} is not a file.")
    return read_text(path)
