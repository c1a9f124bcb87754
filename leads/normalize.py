"""Normalizing what intake receives, so matching on phone and email works."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email


def phone_to_e164(raw: str, *, field: str = "phone") -> str:
    """'(312) 555-0142' -> '+13125550142'; an unparseable or impossible number is an error."""
    text = (raw or "").strip()
    try:
        parsed = phonenumbers.parse(text, settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError({field: f"{text!r} is not a phone number."}) from None
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise ValidationError({field: f"{text!r} is not a valid phone number."})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def email_normalize(raw: str, *, field: str = "email") -> str:
    text = (raw or "").strip().lower()
    try:
        validate_email(text)
    except ValidationError:
        raise ValidationError({field: f"{raw!r} is not an email address."}) from None
    return text
