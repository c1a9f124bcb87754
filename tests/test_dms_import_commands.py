"""The two DMS import commands refuse a file that is not there, naming it, before they read or
write anything (common.csvimport.read_export)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from dealcoverage.models import Deal
from leads.models import ContactEvent


@pytest.mark.parametrize("command", ["import_dms_notes", "import_dms_deals"])
def test_a_missing_export_is_named_and_nothing_is_written(store, tmp_path, command):
    missing = tmp_path / "export.csv"
    with pytest.raises(CommandError, match=f"{missing} is not a file"):
        call_command(command, str(missing), "--store", store.slug)
    assert not ContactEvent.objects.exists() and not Deal.objects.exists()
