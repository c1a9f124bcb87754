"""Lead intake paths (JSON, ADF post, ADF by email, web form) down to one service call.

Each path parses its input into LeadData and calls services.lead_create in a transaction,
so a failure leaves nothing half-written; refused input is kept as a RejectedIntake.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from leads import adf
from leads.models import IntakeChannel, SourceType
from leads.services import (
    MAX_COMMENTS,
    MAX_EMAILS,
    MAX_PHONES,
    MAX_VEHICLES,
    LeadCreateResult,
    LeadData,
    VehicleData,
    implausible_odometer,
    lead_create,
    rejected_intake_record,
    text_for_db,
)
from org.models import Store


class IntakeRejected(Exception):
    """Input refused before anything was stored; status is the HTTP status to answer."""

    def __init__(self, message: str, *, reason: str, status: int = 400, field: str = "body"):
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.field = field


@dataclass
class IntakeOutcome:
    results: list[LeadCreateResult]

    @property
    def created(self) -> bool:
        return any(r.created for r in self.results)


OEM_WORDS = ("oem", "manufacturer", "factory", "direct", ".com")


def guess_source_type(provider: str, vehicles: list[adf.ParsedVehicle]) -> str:
    """ADF names a provider, not a source type: an OEM lead's provider carries the brand."""
    name = provider.lower()
    makes = {v.make.lower() for v in vehicles if v.make and v.interest != "trade-in"}
    if any(make and make in name for make in makes) or "oem" in name or "manufacturer" in name:
        return SourceType.OEM
    if "website" in name or "dealer" in name:
        return SourceType.DEALER_WEBSITE
    if "chat" in name:
        return SourceType.CHAT
    return SourceType.THIRD_PARTY


def lead_data_from_adf(parsed: adf.ParsedLead, *, channel: str, source_type: str | None) -> LeadData:
    """ADF is messy and a lead a provider sent is never lost: what is over the bounds (extra
    phones, emails or vehicles, an impossible odometer, an endless comment) is dropped, and the
    lead's comments say what was dropped so a person can look at the original document."""
    notes: list[str] = []
    phones, emails, vehicles = parsed.phones, parsed.emails, parsed.vehicles
    if len(phones) > MAX_PHONES:
        notes.append(f"{len(phones)} phone numbers sent; the first {MAX_PHONES} kept.")
        phones = phones[:MAX_PHONES]
    if len(emails) > MAX_EMAILS:
        notes.append(f"{len(emails)} email addresses sent; the first {MAX_EMAILS} kept.")
        emails = emails[:MAX_EMAILS]
    if len(vehicles) > MAX_VEHICLES:
        notes.append(f"{len(vehicles)} vehicles sent; the first {MAX_VEHICLES} kept.")
        vehicles = vehicles[:MAX_VEHICLES]
    vehicle_datas = []
    for index, v in enumerate(vehicles):
        odometer = v.odometer
        if implausible_odometer(odometer):
            notes.append(f"Vehicle {index + 1}: odometer {odometer} is not a plausible reading; left out.")
            odometer = None
        vehicle_datas.append(VehicleData(
            interest=v.interest,
            condition=v.condition,
            year=v.year,
            make=v.make,
            model=v.model,
            trim=v.trim,
            stock_number=v.stock_number,
            vin=v.vin,
            odometer=odometer,
        ))
    note = "\n".join(f"[Intake] {n}" for n in notes)
    comments = parsed.customer_comments
    room = MAX_COMMENTS - len(note) - 2
    if len(comments) > room:
        cut = f"[Intake] The comments were {len(comments)} characters; cut to fit."
        note = "\n".join(filter(None, [note, cut]))
        comments = comments[: max(0, MAX_COMMENTS - len(note) - 2)]
    return LeadData(
        source_type=source_type or guess_source_type(parsed.provider_name, parsed.vehicles),
        intake_channel=channel,
        first_name=parsed.first_name,
        last_name=parsed.last_name,
        phones=[(p.number, p.kind) for p in phones],
        emails=emails,
        provider=parsed.provider_name or parsed.vendor_name,
        provider_lead_id=parsed.provider_lead_id,
        comments="\n\n".join(filter(None, [comments, note])),
        received_at=parsed.request_date,
        vehicles=vehicle_datas,
        # Text after </adf> is kept as received but may hold NUL, which PostgreSQL text refuses.
        original_document=text_for_db(parsed.raw),
    )


def _reject(store: Store | None, channel: str, body, remote_addr: str | None, exc: IntakeRejected) -> IntakeRejected:
    rejected_intake_record(
        store=store, channel=channel, reason=exc.reason, message=str(exc), body=body, remote_addr=remote_addr
    )
    return exc


def intake_adf(
    *, store: Store, body: bytes | str, channel: str = IntakeChannel.ADF, source_type: str | None = None,
    remote_addr: str | None = None,
) -> IntakeOutcome:
    """Every prospect of one ADF document, stored together or not at all."""
    if len(body) > settings.INTAKE_MAX_BYTES:
        raise _reject(store, channel, body, remote_addr, IntakeRejected(
            f"The document is {len(body)} bytes; the limit is {settings.INTAKE_MAX_BYTES}.",
            reason="too_large", status=413,
        ))
    try:
        prospects = adf.parse_adf(body, default_tz=store.tz)
    except adf.ADFError as exc:
        raise _reject(store, channel, body, remote_addr, IntakeRejected(
            str(exc), reason=exc.code, status=413 if exc.code == "too_large" else 400
        )) from None
    try:
        datas = [lead_data_from_adf(p, channel=channel, source_type=source_type) for p in prospects]
        if len(datas) == 1:
            # lead_create is one transaction already; an outer one would only add a savepoint.
            results = [lead_create(store=store, data=datas[0])]
        else:
            # Every prospect of the document is stored, or none is.
            with transaction.atomic():
                results = [lead_create(store=store, data=data) for data in datas]
    except ValidationError as exc:
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        raise _reject(store, channel, body, remote_addr, IntakeRejected(
            detail, reason="invalid_lead", field=next(iter(exc.message_dict), "body")
        )) from None
    return IntakeOutcome(results=results)


def intake_adf_email(*, store: Store, message: bytes, remote_addr: str | None = None) -> IntakeOutcome:
    try:
        document = adf.extract_adf_from_email(message)
    except adf.ADFError as exc:
        raise _reject(store, IntakeChannel.EMAIL, message, remote_addr, IntakeRejected(str(exc), reason=exc.code)) from None
    return intake_adf(store=store, body=document, channel=IntakeChannel.EMAIL, remote_addr=remote_addr)
