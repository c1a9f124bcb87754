"""Tests for leads.adf against real-world-shaped ADF documents and e-mails (fixtures/adf/)."""

from __future__ import annotations

import email
import email.policy
import pickle
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from leads import adf
from leads.adf import (
    MAX_ADF_BYTES,
    ADFError,
    ParsedPhone,
    ParsedVehicle,
    extract_adf_from_email,
    parse_adf,
)

pytestmark = pytest.mark.clock

FIXTURES = Path(__file__).parent / "fixtures" / "adf"
CHICAGO = ZoneInfo("America/Chicago")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse_fixture(name: str) -> list[adf.ParsedLead]:
    return parse_adf(fixture_bytes(name), default_tz=CHICAGO)


def single_lead(name: str) -> adf.ParsedLead:
    leads = parse_fixture(name)
    assert len(leads) == 1
    return leads[0]


def minimal_adf(inner: str = "") -> str:
    return f"<adf><prospect>{inner}</prospect></adf>"


# ----------------------------------------------------------------------------- documents


def test_oem_lead_with_trade_in() -> None:
    lead = single_lead("oem_toyota_with_trade_in.xml")

    assert lead.request_date == datetime(2023, 3, 14, 9, 15, 32, tzinfo=timezone(timedelta(hours=-5)))
    assert lead.request_date.utcoffset() == timedelta(hours=-5)
    # The vendor's contact ("Internet Sales") must not leak into the customer's name.
    assert (lead.first_name, lead.last_name) == ("Maria", "Gonzalez")
    assert lead.emails == ["maria.gonzalez@example.com"]
    assert lead.phones == [
        ParsedPhone(number="(512) 555-0142", kind="home"),
        ParsedPhone(number="512-555-0199 x204", kind="work"),
    ]
    assert lead.address == {
        "street": "4821 Lakeshore Dr, Apt 12B",
        "city": "Austin",
        "regioncode": "TX",
        "postalcode": "78746",
        "country": "US",
    }
    assert lead.customer_comments.startswith("Interested in the Blueprint color.")
    assert lead.vehicles == [
        ParsedVehicle(
            interest="buy",
            condition="new",
            year=2023,
            make="Toyota",
            model="RAV4 Hybrid",
            trim="XLE Premium",
            price="36,960",
            comments="Build & Price configuration #A91F",
        ),
        ParsedVehicle(
            interest="trade-in",
            condition="used",
            year=2015,
            make="Honda",
            model="CR-V",
            trim="EX-L",
            vin="5J6RM4H79FL012345",
            odometer=84350,
            comments="Minor scratch on rear bumper",
        ),
    ]
    assert lead.provider_name == "Toyota.com"
    assert lead.provider_lead_id == "TYT-2023-0314-88412"
    assert lead.vendor_name == "Capital City Toyota"
    assert lead.raw == fixture_bytes("oem_toyota_with_trade_in.xml").decode("utf-8")


def test_marketplace_used_car_with_stock_vin_and_zone_less_date() -> None:
    lead = single_lead("marketplace_used_car.xml")

    # "2008-06-25T8:47:50": one-digit hour, no zone -> wall-clock time in the dealer's zone.
    assert lead.request_date == datetime(2008, 6, 25, 8, 47, 50, tzinfo=CHICAGO)
    assert lead.request_date.utcoffset() == timedelta(hours=-5)  # CDT
    (vehicle,) = lead.vehicles
    assert vehicle.condition == "used"
    assert vehicle.stock_number == "P4471A"
    assert vehicle.vin == "1FTFW1ET5DFC10312"  # upper-cased, trailing space dropped
    assert vehicle.odometer == 45210
    assert vehicle.price == "18,995"
    assert (vehicle.year, vehicle.make, vehicle.model) == (2013, "Ford", "F-150")
    assert vehicle.trim == "XLT SuperCrew 4WD"
    # <name part="last"> comes first in this feed.
    assert (lead.first_name, lead.last_name) == ("Bao", "Nguyen")
    assert lead.emails == ["bao.nguyen@example.net"]
    assert [(p.number, p.kind) for p in lead.phones] == [
        ("214.555.0173", "mobile"),  # type="cellphone"
        ("+1 214 555 0110", "work"),  # type="day"
    ]
    # Two <id>s: the one whose source is the provider wins over the first one.
    assert lead.provider_name == "AutoListings Marketplace"
    assert lead.provider_lead_id == "ALM-5512087"
    assert lead.vendor_name == "North Texas Pre-Owned Superstore"
    assert lead.customer_comments == "Is this truck still available? Does it have a tow package?"


def test_uppercase_adf_declaration_tags_and_full_name() -> None:
    lead = single_lead("uppercase_adf_declaration.xml")

    # Only <NAME PART="full">: split on the last space, inner whitespace collapsed.
    assert (lead.first_name, lead.last_name) == ("Robert J.", "Thompson")
    # Stripped, lower-cased, de-duplicated, order kept.
    assert lead.emails == ["robert.thompson@example.com", "rjt@work.example.com"]
    assert lead.phones == [ParsedPhone(number="(602) 555-0188", kind="mobile")]
    assert lead.request_date == datetime(2008, 6, 25, 20, 47, tzinfo=CHICAGO)
    (vehicle,) = lead.vehicles
    assert vehicle.interest == "test-drive"
    assert vehicle.condition == "used"  # STATUS="Certified"
    assert vehicle.stock_number == "L19-220"
    assert vehicle.odometer == 31877
    assert lead.provider_lead_id == "LDS-000731"


def test_uppercase_xml_declaration_with_latin1_encoding() -> None:
    data = fixture_bytes("uppercase_xml_declaration_latin1.xml")
    assert data.startswith(b'<?XML VERSION="1.0" ENCODING="ISO-8859-1"?>')

    lead = single_lead("uppercase_xml_declaration_latin1.xml")

    # The declared encoding is honoured although expat would reject the declaration itself.
    assert (lead.first_name, lead.last_name) == ("José", "Peña")
    assert lead.customer_comments == "Necesito información sobre financiamiento."
    assert lead.request_date == datetime(2008, 6, 25, 8, 47, 50, tzinfo=CHICAGO)
    assert [p.kind for p in lead.phones] == ["mobile", "home", "pager"]
    assert lead.address == {
        "street": "1200 Calle Ocho",
        "city": "Miami",
        "regioncode": "FL",
        "postalcode": "33135",
    }
    assert lead.provider_name == "Dealer Website"  # <name> without part=
    assert lead.provider_lead_id == "WEB-20080625-7"
    assert lead.raw == data.decode("latin-1")


def test_multiple_prospects_give_one_lead_each() -> None:
    first, second = parse_fixture("multiple_prospects.xml")

    assert (first.first_name, first.last_name) == ("Alice", "Walker")
    assert (second.first_name, second.last_name) == ("Dmitri", "Ivanov")
    assert first.request_date == datetime(2023, 7, 4, 14, 5, tzinfo=UTC)
    # Date only -> midnight in the default zone.
    assert second.request_date == datetime(2023, 7, 5, tzinfo=CHICAGO)
    assert (first.provider_lead_id, second.provider_lead_id) == ("LH-1001", "LH-1002")
    assert [(v.interest, v.make) for v in first.vehicles] == [("lease", "Honda")]
    assert [(v.interest, v.condition, v.make) for v in second.vehicles] == [("sell", "", "Subaru")]
    assert first.emails == ["alice.walker@example.org"]
    assert second.phones == [ParsedPhone(number="555-0100", kind="home")]
    # Each lead keeps the whole document as received.
    assert first.raw == second.raw == fixture_bytes("multiple_prospects.xml").decode()


def test_missing_optional_sections_give_empty_values() -> None:
    lead = single_lead("minimal_missing_sections.xml")

    # "ASAP" is not a date, and not a reason to drop the lead.
    assert lead.request_date is None
    assert (lead.first_name, lead.last_name) == ("Cher", "")
    assert lead.phones == [ParsedPhone(number="555-0100", kind="voice")]
    assert lead.emails == []
    assert lead.address == {}
    assert lead.vehicles == []
    assert lead.customer_comments == ""
    assert (lead.provider_name, lead.provider_lead_id, lead.vendor_name) == ("", "", "")


def test_cdata_comments_unknown_elements_and_odd_phone_types() -> None:
    lead = single_lead("cdata_comments_unknown_elements.xml")

    assert lead.customer_comments == (
        'Chat transcript:\n> Customer: Is the <EV9> available in "Ocean Blue"?\n> Agent: Yes & we have 2 in stock.'
    )
    (vehicle,) = lead.vehicles
    assert vehicle.comments == "Wants <b>6-seat</b> config & captain's chairs"
    assert (vehicle.make, vehicle.model, vehicle.trim) == ("Kia", "EV9", "GT-Line")
    assert lead.phones == [
        ParsedPhone(number="555-0190", kind="fax"),
        ParsedPhone(number="555-0191", kind="mobile"),  # "Cell-Phone"
        ParsedPhone(number="555-0192", kind="other"),  # "satellite"
        ParsedPhone(number="555-0193", kind="voice"),  # no type: the DTD default
    ]  # the empty <phone type="work"/> is dropped
    assert lead.request_date == datetime(2024, 1, 9, 15, 20, tzinfo=UTC)
    assert lead.provider_name == "ChatWidget"


def test_utf8_bom_and_whitespace_before_declaration() -> None:
    data = fixture_bytes("bom_utf8.xml")
    assert data.startswith(b"\xef\xbb\xbf  <?xml")

    lead = single_lead("bom_utf8.xml")

    assert (lead.first_name, lead.last_name) == ("Zoë", "Ångström")
    assert lead.request_date == datetime(2024, 2, 29, 23, 59, 59, 250000, tzinfo=timezone(timedelta(hours=-8)))
    assert lead.raw == data[3:].decode("utf-8")  # BOM dropped, nothing else


def test_utf16_with_bom() -> None:
    lead = single_lead("bom_utf16.xml")

    assert (lead.first_name, lead.last_name) == ("Łukasz", "Wójcik")
    assert lead.vendor_name == "Lakeside Motors"
    assert lead.request_date == datetime(2024, 5, 1, 10, tzinfo=CHICAGO)


def test_bare_ampersands_html_entities_and_trailing_junk_are_repaired() -> None:
    lead = single_lead("sloppy_entities.xml")

    assert lead.vendor_name == "Smith & Sons Motors"
    assert lead.last_name == "O'Brien & Family"
    assert lead.customer_comments == "Call after 5 pm \u2014 ask for the F&I manager"
    assert "Unsubscribe" in lead.raw  # raw is what was received, junk included


@pytest.mark.parametrize(
    "name",
    [
        "oem_toyota_with_trade_in.xml",
        "marketplace_used_car.xml",
        "uppercase_xml_declaration_latin1.xml",
        "bom_utf8.xml",
        "cdata_comments_unknown_elements.xml",
    ],
)
def test_str_input_parses_like_bytes_input(name: str) -> None:
    data = fixture_bytes(name)
    text = adf._decode_xml_bytes(data)

    assert parse_adf(text, default_tz=CHICAGO) == parse_adf(data, default_tz=CHICAGO)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2008-06-25T8:47:50", datetime(2008, 6, 25, 8, 47, 50, tzinfo=CHICAGO)),
        (
            "2008-06-25T08:47:50-05:00",
            datetime(2008, 6, 25, 8, 47, 50, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("2008-06-25 08:47:50", datetime(2008, 6, 25, 8, 47, 50, tzinfo=CHICAGO)),
        ("2008-06-25T08:47:50Z", datetime(2008, 6, 25, 8, 47, 50, tzinfo=UTC)),
        (
            "2008-06-25T08:47:50+0530",
            datetime(2008, 6, 25, 8, 47, 50, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("06/25/2008 8:47 AM", datetime(2008, 6, 25, 8, 47, tzinfo=CHICAGO)),
        ("06/25/2008 12:05 am", datetime(2008, 6, 25, 0, 5, tzinfo=CHICAGO)),
        ("6/5/2008", datetime(2008, 6, 5, tzinfo=CHICAGO)),
        ("2008-06-25", datetime(2008, 6, 25, tzinfo=CHICAGO)),
        ("2008-01-15T08:00:00", datetime(2008, 1, 15, 8, tzinfo=CHICAGO)),
        ("2008-13-45T08:47:50", None),
        ("06/25/2008 13:00 PM", None),
        ("2008-06-25T08:47:50+25:00", None),
        ("tomorrow morning", None),
        ("", None),
    ],
)
def test_request_date_formats(raw: str, expected: datetime | None) -> None:
    (lead,) = parse_adf(minimal_adf(f"<requestdate>{raw}</requestdate>"), default_tz=CHICAGO)

    assert lead.request_date == expected
    if expected is not None:
        assert lead.request_date is not None
        assert lead.request_date.utcoffset() == expected.utcoffset()


def test_zone_less_date_follows_default_tz_argument() -> None:
    doc = minimal_adf("<requestdate>2008-06-25T8:47:50</requestdate>")

    (in_la,) = parse_adf(doc, default_tz=ZoneInfo("America/Los_Angeles"))
    (in_ny,) = parse_adf(doc, default_tz=ZoneInfo("America/New_York"))

    assert in_la.request_date is not None
    assert in_ny.request_date is not None
    assert in_la.request_date - in_ny.request_date == timedelta(hours=3)


@pytest.mark.parametrize(
    ("phone_type", "kind"),
    [
        ("home", "home"),
        ("evening", "home"),
        ("Night", "home"),
        ("work", "work"),
        ("day", "work"),
        ("Office", "work"),
        ("mobile", "mobile"),
        ("cellphone", "mobile"),
        ("CELL", "mobile"),
        ("voice", "voice"),
        ("fax", "fax"),
        ("pager", "pager"),
        ("carrier-pigeon", "other"),
    ],
)
def test_phone_kind_normalization(phone_type: str, kind: str) -> None:
    doc = minimal_adf(f'<customer><contact><phone type="{phone_type}">555-0100</phone></contact></customer>')

    (lead,) = parse_adf(doc, default_tz=CHICAGO)

    assert lead.phones == [ParsedPhone(number="555-0100", kind=kind)]


@pytest.mark.parametrize(
    ("attrs", "interest", "condition"),
    [
        ("", "buy", ""),
        ('interest="Trade In" status="used"', "trade-in", "used"),
        ('interest="TRADE-IN"', "trade-in", ""),
        ('interest="Lease" status="NEW"', "lease", "new"),
        ('interest="test drive" status="pre-owned"', "test-drive", "used"),
        ('interest="sell" status="CPO"', "sell", "used"),
        ('interest="Buy" status="demo"', "buy", ""),
    ],
)
def test_vehicle_interest_and_condition(attrs: str, interest: str, condition: str) -> None:
    doc = minimal_adf(f"<vehicle {attrs}><make>Mazda</make></vehicle>")

    (lead,) = parse_adf(doc, default_tz=CHICAGO)

    (vehicle,) = lead.vehicles
    assert (vehicle.interest, vehicle.condition, vehicle.make) == (interest, condition, "Mazda")


def test_provider_lead_id_falls_back_to_first_id() -> None:
    doc = minimal_adf(
        '<id source="Router"></id><id source="Router">R-1</id><id source="Other">O-2</id>'
        '<provider><name part="full">Unrelated Provider</name></provider>'
    )

    (lead,) = parse_adf(doc, default_tz=CHICAGO)

    assert lead.provider_lead_id == "R-1"  # the empty <id> is skipped


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("hostile_billion_laughs.xml", "forbidden_xml"),
        ("hostile_external_entity.xml", "forbidden_xml"),
        ("hostile_dtd.xml", "forbidden_xml"),
        ("not_xml.txt", "not_xml"),
        ("broken_mismatched_tag.xml", "not_xml"),
        ("not_adf_root.xml", "not_adf"),
        ("adf_without_prospect.xml", "not_adf"),
    ],
)
def test_rejected_documents(name: str, code: str) -> None:
    with pytest.raises(ADFError) as excinfo:
        parse_fixture(name)

    assert excinfo.value.code == code
    assert isinstance(excinfo.value, ValueError)


def test_external_entity_is_never_resolved() -> None:
    with pytest.raises(ADFError) as excinfo:
        parse_fixture("hostile_external_entity.xml")

    assert "root:" not in str(excinfo.value)
    assert "DTD" in str(excinfo.value)


def test_not_xml_message_says_where() -> None:
    with pytest.raises(ADFError) as excinfo:
        parse_fixture("broken_mismatched_tag.xml")

    assert str(excinfo.value) == "The body is not XML: mismatched tag: line 4, column 4"


def test_not_adf_message_names_the_root() -> None:
    with pytest.raises(ADFError, match=r"<lead>, not <adf>"):
        parse_fixture("not_adf_root.xml")


@pytest.mark.parametrize(
    "exc",
    [
        DTDForbidden("adf", None, None),
        EntitiesForbidden("lol", "lol", None, None, None, None),
        ExternalReferenceForbidden(None, None, "file:///etc/passwd", None),
    ],
)
def test_every_defusedxml_refusal_maps_to_forbidden_xml(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    # With forbid_dtd=True the DTD check fires first on real documents; the entity and
    # external-reference mappings are still kept in case that option is ever relaxed.
    def refuse(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(adf.defused_et, "fromstring", refuse)

    with pytest.raises(ADFError) as excinfo:
        parse_adf(minimal_adf(), default_tz=CHICAGO)

    assert excinfo.value.code == "forbidden_xml"


def test_over_the_size_cap_is_refused_before_parsing() -> None:
    valid = fixture_bytes("minimal_missing_sections.xml")
    padded = valid + b" " * (MAX_ADF_BYTES - len(valid) + 1)

    with pytest.raises(ADFError) as excinfo:
        parse_adf(padded, default_tz=CHICAGO)

    assert excinfo.value.code == "too_large"
    assert str(MAX_ADF_BYTES) in str(excinfo.value)


def test_exactly_at_the_size_cap_is_accepted() -> None:
    valid = fixture_bytes("minimal_missing_sections.xml")
    padded = valid + b" " * (MAX_ADF_BYTES - len(valid))

    (lead,) = parse_adf(padded, default_tz=CHICAGO)

    assert lead.first_name == "Cher"


def test_size_cap_counts_utf8_bytes_of_str_input() -> None:
    # Fewer characters than the cap, but more bytes once encoded ("é" is 2 bytes).
    comments = "é" * (MAX_ADF_BYTES // 2)
    doc = minimal_adf(f"<customer><comments>{comments}</comments></customer>")
    assert len(doc) <= MAX_ADF_BYTES < len(doc.encode("utf-8"))

    with pytest.raises(ADFError) as excinfo:
        parse_adf(doc, default_tz=CHICAGO)

    assert excinfo.value.code == "too_large"


def test_adf_error_survives_pickling() -> None:
    # Celery ships exceptions between processes by pickling them.
    err = ADFError("not_adf", "The XML root element is <lead>, not <adf>.")

    clone = pickle.loads(pickle.dumps(err))

    assert (clone.code, str(clone)) == ("not_adf", "The XML root element is <lead>, not <adf>.")


# ----------------------------------------------------------------------------- e-mail


def assert_is_grace_hopper_lead(adf_text: str) -> None:
    (lead,) = parse_adf(adf_text, default_tz=CHICAGO)
    assert (lead.first_name, lead.last_name) == ("Grace", "Hopper")
    assert lead.provider_lead_id == "CS-448812"
    assert lead.customer_comments == "Looking for a 3rd-row SUV under $45k & good towing"
    assert [(v.make, v.model, v.stock_number) for v in lead.vehicles] == [("Chevrolet", "Tahoe", "T2291")]


def test_email_plain_text_body() -> None:
    found = extract_adf_from_email(fixture_bytes("email_plain_text.eml"))

    assert found.startswith('<?xml version="1.0"?>')
    assert found.endswith("</adf>")  # the signature after it is left out
    assert_is_grace_hopper_lead(found)


def test_email_html_body_with_escaped_adf() -> None:
    found = extract_adf_from_email(fixture_bytes("email_html_escaped.eml"))

    assert found.startswith('<?xml version="1.0"?>')
    assert "&lt;" not in found
    assert "<br>" not in found
    assert_is_grace_hopper_lead(found)


def test_email_quoted_printable_body() -> None:
    data = fixture_bytes("email_quoted_printable.eml")
    # Really encoded, with soft line breaks.
    assert b"=3D" in data
    assert b"=\n" in data

    found = extract_adf_from_email(data)

    assert "=3D" not in found
    assert found.startswith('<?xml version="1.0"?><?adf version="1.0"?><adf>')
    assert_is_grace_hopper_lead(found)


def test_email_multipart_with_xml_attachment() -> None:
    found = extract_adf_from_email(fixture_bytes("email_multipart_xml_attachment.eml"))

    assert found.startswith('<?xml version="1.0" encoding="UTF-8"?>')  # BOM dropped
    assert_is_grace_hopper_lead(found)


def test_email_without_adf() -> None:
    with pytest.raises(ADFError) as excinfo:
        extract_adf_from_email(fixture_bytes("email_no_adf.eml"))

    assert excinfo.value.code == "no_adf_in_email"


def test_email_given_as_str_or_parsed_message() -> None:
    data = fixture_bytes("email_plain_text.eml")
    expected = extract_adf_from_email(data)

    assert extract_adf_from_email(data.decode("ascii")) == expected
    assert extract_adf_from_email(email.message_from_bytes(data)) == expected
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert extract_adf_from_email(parsed) == expected


def test_email_forwarded_as_message_attachment() -> None:
    inner = email.message_from_bytes(fixture_bytes("email_multipart_xml_attachment.eml"), policy=email.policy.default)
    outer = EmailMessage()
    outer["Subject"] = "Fwd: ADF lead attached"
    outer.set_content("Forwarding the lead below, it landed in the wrong inbox.")
    outer.add_attachment(inner)

    found = extract_adf_from_email(outer.as_bytes())

    assert_is_grace_hopper_lead(found)
