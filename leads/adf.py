"""Parse ADF/XML (Auto-lead Data Format) leads, as posted or e-mailed by lead providers.

Pure Python on purpose, no Django: the parser is fed untrusted input from OEM sites,
marketplaces and e-mail, so it is tested in isolation against real-world-shaped documents,
and the service layer decides what to store.

Real ADF is messy (uppercase declarations and tags, phone types outside the DTD, zone-less
dates, ADF pasted into HTML e-mail), so the parser is liberal in what it accepts. It is strict
about one thing only: the XML itself is parsed with defusedxml, without DTDs or entities, after
a size cap, because the body comes from the internet.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import html
import html.entities
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.message import Message
from typing import Literal
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as defused_et
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

__all__ = [
    "MAX_ADF_BYTES",
    "ADFError",
    "ADFErrorCode",
    "ParsedLead",
    "ParsedPhone",
    "ParsedVehicle",
    "extract_adf_from_email",
    "parse_adf",
]

# A real lead is a few kilobytes; half a megabyte leaves room for long comments and option lists
# while refusing payloads meant to exhaust memory before the parser even starts.
MAX_ADF_BYTES = 512 * 1024

ADFErrorCode = Literal["too_large", "not_xml", "forbidden_xml", "not_adf", "no_adf_in_email"]

_DEFAULT_MESSAGES: dict[str, str] = {
    "too_large": f"The ADF document is larger than {MAX_ADF_BYTES} bytes.",
    "not_xml": "The body is not XML.",
    "forbidden_xml": "The XML uses a DTD or entities, which are not accepted.",
    "not_adf": "The XML is not an ADF document.",
    "no_adf_in_email": "The e-mail contains no ADF document.",
}


class ADFError(ValueError):
    """A document that cannot be turned into leads. `code` is for programs, str() for people."""

    code: str

    def __init__(self, code: ADFErrorCode | str, message: str = "") -> None:
        super().__init__(message or _DEFAULT_MESSAGES.get(code, code))
        self.code = code

    def __reduce__(self) -> tuple[type[ADFError], tuple[str, str]]:
        # Celery and multiprocessing pickle exceptions; the default reduce would replay only the
        # message into `code`, so rebuild from both.
        return (type(self), (self.code, str(self)))


@dataclass
class ParsedVehicle:
    interest: str = "buy"
    condition: str = ""
    year: int | None = None
    make: str = ""
    model: str = ""
    trim: str = ""
    stock_number: str = ""
    vin: str = ""
    odometer: int | None = None
    price: str = ""
    comments: str = ""


@dataclass
class ParsedPhone:
    number: str
    kind: str = "voice"


@dataclass
class ParsedLead:
    request_date: datetime | None = None
    first_name: str = ""
    last_name: str = ""
    phones: list[ParsedPhone] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    address: dict[str, str] = field(default_factory=dict)
    customer_comments: str = ""
    vehicles: list[ParsedVehicle] = field(default_factory=list)
    provider_name: str = ""
    provider_lead_id: str = ""
    vendor_name: str = ""
    raw: str = ""


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def parse_adf(data: bytes | str, *, default_tz: tzinfo) -> list[ParsedLead]:
    """Return one ParsedLead per <prospect> of an ADF document.

    `default_tz` is the zone given to dates that carry none (usually the dealer's zone): ADF
    providers often send local wall-clock time without an offset.
    """
    _check_size(data)
    text = data if isinstance(data, str) else _decode_xml_bytes(bytes(data))
    text = text.removeprefix("\ufeff")

    root = _parse_xml(_prepare_for_parser(text))
    if _local(root.tag) != "adf":
        raise ADFError("not_adf", f"The XML root element is <{_local(root.tag)}>, not <adf>.")
    # Spec-wise prospects are children of <adf>; searching descendants also accepts feeds that
    # wrap them in an extra element.
    prospects = [el for el in root.iter() if _local(el.tag) == "prospect"]
    if not prospects:
        raise ADFError("not_adf", "The ADF document contains no <prospect>.")
    return [_lead_from_prospect(p, raw=text, default_tz=default_tz) for p in prospects]


def extract_adf_from_email(message: bytes | str | Message) -> str:
    """Find the ADF document in an e-mailed lead and return its text.

    Parts are searched in order of trust: XML attachments (byte-exact), then text/plain bodies,
    then HTML bodies (where the ADF is often HTML-escaped and interleaved with <br> tags).
    """
    msg = _as_message(message)
    attachments: list[Message] = []
    plain: list[Message] = []
    html_parts: list[Message] = []
    # walk() also descends into message/rfc822 parts, so forwarded leads are found too.
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        filename = (part.get_filename() or "").lower()
        if filename.endswith((".xml", ".adf")) or ctype in _XML_TYPES or ctype.endswith("+xml"):
            attachments.append(part)
        elif ctype == "text/plain":
            plain.append(part)
        elif ctype == "text/html":
            html_parts.append(part)

    for part in attachments:
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and (found := _find_adf(_decode_xml_bytes(payload))):
            return found
    for part in plain:
        if found := _find_adf(_part_text(part)):
            return found
    for part in html_parts:
        body = _part_text(part)
        # Some senders embed the XML verbatim (browsers ignore unknown tags); most escape it.
        if found := _find_adf(body) or _find_adf(_html_to_text(body)):
            return found
    raise ADFError("no_adf_in_email")


# --------------------------------------------------------------------------------------------
# Bytes, text and XML
# --------------------------------------------------------------------------------------------


def _check_size(data: bytes | str) -> None:
    if isinstance(data, str):
        # Avoid encoding a huge string just to measure it: each character is 1 to 4 bytes.
        if len(data) > MAX_ADF_BYTES:
            size = len(data)
        elif len(data) * 4 <= MAX_ADF_BYTES:
            return
        else:
            size = len(data.encode("utf-8", "surrogatepass"))
    elif isinstance(data, bytes | bytearray | memoryview):
        size = len(memoryview(data).cast("B"))
    else:
        raise TypeError(f"parse_adf() takes bytes or str, not {type(data).__name__}")
    if size > MAX_ADF_BYTES:
        raise ADFError(
            "too_large",
            f"The ADF document is {size} bytes; the limit is {MAX_ADF_BYTES} bytes.",
        )


# Longest BOMs first: the UTF-32-LE BOM begins with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DECLARED_ENCODING = re.compile(rb"<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._:-]*)[\"']", re.IGNORECASE)


def _decode_xml_bytes(data: bytes) -> str:
    """Decode like an XML parser would (BOM, then declared encoding, then UTF-8), but never fail.

    We decode ourselves rather than let expat do it so that `raw` keeps the text as received,
    and so that an uppercase <?XML ENCODING="..."?>, which expat rejects, is still honoured.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")

    codec = "utf-8"
    match = _DECLARED_ENCODING.search(data, 0, 1024)
    if match:
        declared = match.group(1).decode("ascii")
        try:
            # The declaration was readable as ASCII, so a non-ASCII-compatible declared codec
            # (UTF-16 without BOM, ...) is a lie: ignore it.
            if "<".encode(declared) == b"<":
                codec = declared
        except LookupError:
            pass
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        # Windows-built feeds often declare (or default to) UTF-8 while sending cp1252.
        return data.decode("cp1252", errors="replace")


# Whitespace, processing instructions and comments before the root element (or the DOCTYPE).
_PROLOG = re.compile(r"\A(?:\s|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_XML_DECLARATION = re.compile(r"<\?xml(?=[\s?]).*?\?>", re.IGNORECASE | re.DOTALL)
_ADF_CLOSE = re.compile(r"</adf\s*>", re.IGNORECASE)


def _blank(match: re.Match[str]) -> str:
    # Same length, newlines kept: parser error positions still point into the original text.
    return re.sub(r"[^\n]", " ", match.group(0))


def _prepare_for_parser(text: str) -> str:
    """Make a liberal document acceptable to a strict XML parser without changing its content."""
    # The XML declaration carries nothing we need once the text is decoded, and expat rejects
    # the common broken variants: uppercase <?XML VERSION=...?>, leading whitespace or BOM, or a
    # declaration placed after <?ADF ...?>. Blank every one found in the prolog.
    prolog = _PROLOG.match(text)
    prolog_end = prolog.end() if prolog else 0
    text = _XML_DECLARATION.sub(_blank, text[:prolog_end]) + text[prolog_end:]
    # Signatures or tracking text after </adf> would make the document ill-formed.
    closes = list(_ADF_CLOSE.finditer(text))
    if closes:
        text = text[: closes[-1].end()]
    return text


def _parse_xml(text: str) -> Element:
    try:
        return _defused_fromstring(text)
    except defused_et.ParseError as exc:
        original = exc
    # Second chance for the commonest breakage from hand-rolled generators: bare "&" in
    # "Smith & Sons" and HTML entities such as &nbsp;. Only tried after a failure so that a
    # well-formed document is never rewritten.
    repaired = _repair_entities(text)
    if repaired != text:
        try:
            return _defused_fromstring(repaired)
        except defused_et.ParseError:
            pass
    raise ADFError("not_xml", f"The body is not XML: {original}") from original


def _defused_fromstring(text: str) -> Element:
    try:
        root: Element = defused_et.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden as exc:
        raise ADFError("forbidden_xml", "The XML contains a DTD (<!DOCTYPE ...>), which is not accepted.") from exc
    except EntitiesForbidden as exc:
        raise ADFError("forbidden_xml", f"The XML declares the entity {exc.name!r}, which is not accepted.") from exc
    except ExternalReferenceForbidden as exc:
        raise ADFError(
            "forbidden_xml",
            f"The XML references the external resource {exc.sysid!r}, which is not accepted.",
        ) from exc
    return root


_PROTECTED_SECTIONS = re.compile(r"(<!\[CDATA\[.*?\]\]>|<!--.*?-->)", re.DOTALL)
_AMPERSAND = re.compile(r"&(?:(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);)?")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})


def _fix_ampersand(match: re.Match[str]) -> str:
    ref = match.group(1)
    if ref is None:
        return "&amp;"
    if ref.startswith("#") or ref in _XML_ENTITIES:
        return match.group(0)
    if ref == "nbsp":
        return " "  # a CRM text field wants a plain space, not U+00A0
    codepoint = html.entities.name2codepoint.get(ref)
    # A character reference, not an entity declaration: nothing for defusedxml to object to.
    return f"&#{codepoint};" if codepoint else f"&amp;{ref};"


def _repair_entities(text: str) -> str:
    pieces = _PROTECTED_SECTIONS.split(text)
    # Odd indexes are CDATA sections and comments, where "&" is literal and must stay as is.
    return "".join(piece if i % 2 else _AMPERSAND.sub(_fix_ampersand, piece) for i, piece in enumerate(pieces))


# --------------------------------------------------------------------------------------------
# Element helpers: ADF in the wild uses any case for tags and attributes
# --------------------------------------------------------------------------------------------


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _children(el: Element | None, name: str) -> list[Element]:
    if el is None:
        return []
    return [child for child in el if _local(child.tag) == name]


def _child(el: Element | None, name: str) -> Element | None:
    found = _children(el, name)
    return found[0] if found else None


def _text(el: Element | None) -> str:
    if el is None:
        return ""
    return "".join(el.itertext()).strip()


def _child_text(el: Element | None, *names: str) -> str:
    """Text of the first non-empty child among `names` (aliases in order of preference)."""
    for name in names:
        for child in _children(el, name):
            if value := _text(child):
                return value
    return ""


def _attr(el: Element, name: str) -> str:
    for key, value in el.attrib.items():
        if _local(key) == name:
            return value.strip()
    return ""


# --------------------------------------------------------------------------------------------
# Prospect -> ParsedLead
# --------------------------------------------------------------------------------------------


def _lead_from_prospect(prospect: Element, *, raw: str, default_tz: tzinfo) -> ParsedLead:
    customer = _child(prospect, "customer")
    contact = _primary_contact(customer)
    first_name, last_name = _names(contact)
    provider_name = _provider_name(_child(prospect, "provider"))
    return ParsedLead(
        request_date=_parse_request_date(_child_text(prospect, "requestdate"), default_tz),
        first_name=first_name,
        last_name=last_name,
        phones=_phones(contact),
        emails=_emails(contact),
        address=_address(_child(contact, "address")),
        customer_comments=_child_text(customer, "comments"),
        vehicles=[_vehicle(el) for el in prospect.iter() if _local(el.tag) == "vehicle"],
        provider_name=provider_name,
        provider_lead_id=_provider_lead_id(prospect, provider_name),
        vendor_name=_child_text(_child(prospect, "vendor"), "vendorname"),
        raw=raw,
    )


def _primary_contact(customer: Element | None) -> Element | None:
    contacts = _children(customer, "contact")
    for contact in contacts:
        if _attr(contact, "primarycontact").lower() in {"1", "true", "yes"}:
            return contact
    if contacts:
        return contacts[0]
    # Some feeds put <name>/<phone>/<email> straight under <customer>.
    return customer


def _names(contact: Element | None) -> tuple[str, str]:
    parts: dict[str, str] = {}
    for el in _children(contact, "name"):
        # A <name> without part= is a full name in practice.
        part = _attr(el, "part").lower() or "full"
        value = " ".join(_text(el).split())
        if value:
            parts.setdefault(part, value)
    first, last = parts.get("first", ""), parts.get("last", "")
    full = parts.get("full", "")
    if not first and not last and full:
        head, sep, tail = full.rpartition(" ")
        # A single word ("Cher") is more useful as a first name than a last name.
        first, last = (head, tail) if sep else (full, "")
    return first, last


_PHONE_KINDS: dict[str, str] = {
    "voice": "voice",
    "phone": "voice",
    "mobile": "mobile",
    "cell": "mobile",
    "cellphone": "mobile",
    "cellular": "mobile",
    "mobilephone": "mobile",
    "work": "work",
    "day": "work",
    "daytime": "work",
    "office": "work",
    "business": "work",
    "home": "home",
    "evening": "home",
    "night": "home",
    "fax": "fax",
    "pager": "pager",
}


def _phone_kind(raw_type: str) -> str:
    if not raw_type:
        return "voice"  # the ADF DTD default for <phone type>
    key = re.sub(r"[\s_-]+", "", raw_type.lower())
    return _PHONE_KINDS.get(key, "other")


def _phones(contact: Element | None) -> list[ParsedPhone]:
    phones: list[ParsedPhone] = []
    for el in _children(contact, "phone"):
        number = _text(el)
        if number:
            phones.append(ParsedPhone(number=number, kind=_phone_kind(_attr(el, "type"))))
    return phones


def _emails(contact: Element | None) -> list[str]:
    seen: dict[str, None] = {}  # a dict keeps insertion order, unlike a set
    for el in _children(contact, "email"):
        value = _text(el).lower()
        if value:
            seen.setdefault(value, None)
    return list(seen)


def _address(el: Element | None) -> dict[str, str]:
    if el is None:
        return {}
    # <street line="1">, <street line="2"> and <apartment> all belong on the street line.
    street_parts = [_text(s) for s in _children(el, "street")] + [_child_text(el, "apartment")]
    address = {
        "street": ", ".join(p for p in street_parts if p),
        # Non-ADF aliases seen in hand-built feeds.
        "city": _child_text(el, "city"),
        "regioncode": _child_text(el, "regioncode", "state", "province"),
        "postalcode": _child_text(el, "postalcode", "zip", "zipcode"),
        "country": _child_text(el, "country"),
    }
    return {key: value for key, value in address.items() if value}


def _provider_name(provider: Element | None) -> str:
    names = [el for el in _children(provider, "name") if _text(el)]
    for el in names:
        if _attr(el, "part").lower() == "full":
            return _text(el)
    return _text(names[0]) if names else ""


def _provider_lead_id(prospect: Element, provider_name: str) -> str:
    ids = [el for el in _children(prospect, "id") if _text(el)]
    wanted = provider_name.casefold()
    # A lead routed through several systems carries one <id> per system; the provider's own
    # id is the one they will quote back to us.
    for el in ids:
        if wanted and _attr(el, "source").casefold() == wanted:
            return _text(el)
    return _text(ids[0]) if ids else ""


# --------------------------------------------------------------------------------------------
# Vehicles
# --------------------------------------------------------------------------------------------

_CONDITIONS: dict[str, str] = {
    "new": "new",
    "used": "used",
    "certified": "used",
    "cpo": "used",
    "preowned": "used",
    "certifiedpreowned": "used",
}


def _interest(raw: str) -> str:
    value = " ".join(raw.lower().split())
    if not value:
        return "buy"  # the ADF DTD default
    # Collapse spelling variants of the two values the CRM acts on.
    squashed = re.sub(r"[\s_-]+", "", value)
    if squashed == "tradein":
        return "trade-in"
    if squashed == "testdrive":
        return "test-drive"
    return value


def _int_or_none(raw: str) -> int | None:
    # "84,350", "45210 mi", "45,210.0": take the leading number, ignore units and separators.
    match = re.search(r"\d+(?:\.\d+)?", raw.replace(",", ""))
    return int(float(match.group(0))) if match else None


def _year(raw: str) -> int | None:
    match = re.search(r"\b(1[89]\d\d|2\d\d\d)\b", raw)
    return int(match.group(1)) if match else None


def _vehicle(el: Element) -> ParsedVehicle:
    return ParsedVehicle(
        interest=_interest(_attr(el, "interest")),
        condition=_CONDITIONS.get(re.sub(r"[\s_-]+", "", _attr(el, "status").lower()), ""),
        year=_year(_child_text(el, "year")),
        make=_child_text(el, "make"),
        model=_child_text(el, "model"),
        trim=_child_text(el, "trim"),
        stock_number=_child_text(el, "stock", "stocknumber"),
        vin="".join(_child_text(el, "vin").split()).upper(),
        odometer=_int_or_none(_child_text(el, "odometer")),
        price=_child_text(el, "price"),
        comments=_child_text(el, "comments"),
    )


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_TIME_AND_ZONE = r"""
    (?:[T\s]\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})
        (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?
        \s*(?P<ampm>[ap]\.?m\.?)?
    )?
    \s*(?P<zone>z|utc|gmt|[+-]\d{1,2}(?::?\d{2})?)?
    \s*\Z
"""
_ISO_DATE = re.compile(
    r"\A(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})" + _TIME_AND_ZONE,
    re.IGNORECASE | re.VERBOSE,
)
# US dealers, US providers: slashed dates are month/day/year.
_US_DATE = re.compile(
    r"\A(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4}|\d{2})" + _TIME_AND_ZONE,
    re.IGNORECASE | re.VERBOSE,
)


def _zone(raw: str | None, default_tz: tzinfo) -> tzinfo:
    if not raw:
        return default_tz
    if raw.lower() in {"z", "utc", "gmt"}:
        return UTC
    sign = -1 if raw[0] == "-" else 1
    digits = raw[1:].replace(":", "")
    hours, minutes = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _parse_request_date(raw: str, default_tz: tzinfo) -> datetime | None:
    """Parse the formats providers actually send; an unreadable date is not worth losing a lead."""
    match = _ISO_DATE.match(raw) or _US_DATE.match(raw)
    if match is None:
        return None
    g = match.groupdict()
    try:
        year = int(g["year"])
        if year < 100:
            year += 2000
        hour = int(g["hour"] or 0)
        if g["ampm"]:
            is_pm = g["ampm"][0].lower() == "p"
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if is_pm else 0)
        fraction = (g["fraction"] or "")[:6].ljust(6, "0")
        # A zone-less value is wall-clock time in default_tz (zoneinfo resolves the offset).
        return datetime(
            year,
            int(g["month"]),
            int(g["day"]),
            hour,
            int(g["minute"] or 0),
            int(g["second"] or 0),
            int(fraction),
            tzinfo=_zone(g["zone"], default_tz),
        )
    except (ValueError, OverflowError):  # 2008-13-45, 25:00, an offset of 24h or more
        return None


# --------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------

_XML_TYPES = frozenset({"application/xml", "text/xml"})
# Optional <?xml ...?> / <?adf ...?> prefix, then <adf ...> up to the first </adf>.
_ADF_IN_TEXT = re.compile(
    r"(?:<\?(?:xml|adf)(?=[\s?])[^>]*\?>\s*)*<adf(?=[\s>]).*?</adf\s*>",
    re.IGNORECASE | re.DOTALL,
)


def _as_message(message: bytes | str | Message) -> Message:
    if isinstance(message, Message):
        return message
    if isinstance(message, str):
        # Go through bytes so that 8-bit bodies are decoded with their declared charset later,
        # instead of the email package guessing from an already-decoded string.
        message = message.encode("utf-8", "surrogateescape")
    if isinstance(message, bytes | bytearray):
        return email.message_from_bytes(bytes(message), policy=email.policy.compat32)
    raise TypeError(f"extract_adf_from_email() takes bytes, str or Message, not {type(message)}")


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)  # undoes quoted-printable and base64
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset name Python does not know
        return payload.decode("utf-8", errors="replace")


def _find_adf(text: str) -> str:
    match = _ADF_IN_TEXT.search(text)
    return match.group(0).strip() if match else ""


def _html_to_text(body: str) -> str:
    """Turn an HTML body into the text a reader sees, so escaped ADF becomes XML again."""
    body = re.sub(r"<(script|style)\b.*?</\1\s*>", "", body, flags=re.IGNORECASE | re.DOTALL)
    body = re.sub(r"<br\s*/?>|</(?:p|div|tr|li|pre)\s*>", "\n", body, flags=re.IGNORECASE)
    # Real tags are unescaped in the source, the escaped ADF is not: this strips only the former.
    body = re.sub(r"<[^>]*>", "", body)
    # &nbsp; used for indentation would otherwise end up inside tags as a non-space character.
    return html.unescape(body).replace("\xa0", " ")
