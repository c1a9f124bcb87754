"""telephony.call_verdicts decides with plain strings and imports no model: its values must be
the ones the models store, and it must stay free of the ORM and the Twilio SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from leads.models import EvidenceLevel, Outcome
from telephony import call_verdicts
from telephony.models import TERMINAL_CALL_STATUSES, CallStatus

ROOT = Path(__file__).resolve().parents[2]


def _constants(namespace: type) -> dict[str, str]:
    return {name: value for name, value in vars(namespace).items() if name.isupper()}


def test_its_plain_values_are_the_models_values():
    assert _constants(call_verdicts.TwilioStatus) == {status.name: status.value for status in CallStatus}
    assert all(Outcome[name] == value for name, value in _constants(call_verdicts.CallOutcome).items())
    assert call_verdicts.TERMINAL_STATUSES == set(TERMINAL_CALL_STATUSES)
    assert call_verdicts.VERIFIED == EvidenceLevel.VERIFIED


def test_it_imports_no_model_nor_the_twilio_sdk():
    code = (
        "import sys, telephony.call_verdicts; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'twilio' or m.startswith('django.db')"
        " or m.endswith('.models') or m == 'telephony.calls'))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout
