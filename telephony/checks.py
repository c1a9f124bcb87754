"""Deploy checks for telephony (`manage.py check --deploy`)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def telephony_configured(app_configs, **kwargs) -> list[Error]:
    """Production needs real Twilio credentials or the sandbox explicitly switched on: missing
    credentials must not silently mean a fake Twilio whose events nobody observed."""
    if settings.DEBUG or settings.TELEPHONY_SANDBOX:
        return []
    if settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN:
        return []
    return [
        Error(
            "Telephony is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or TELEPHONY_SANDBOX=1 "
            "to run the local telephony sandbox (its calls and texts are recorded as simulated, never verified).",
            id="telephony.E001",
        )
    ]
