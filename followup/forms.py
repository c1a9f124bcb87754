"""Follow-up's forms: setting an appointment (on the lead page) and finding a walk-in (Arrivals)."""

from __future__ import annotations

from django import forms


class AppointmentSetForm(forms.Form):
    """The day and time are read in the lead's store zone (the view sets it)."""

    starts_at = forms.DateTimeField(
        label="Day and time",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={
            "required": "Pick the day and time of the visit.",
            "invalid": "Enter a day and time like 2026-11-24 14:30.",
        },
    )
    note = forms.CharField(
        label="Note", max_length=300, required=False,
        widget=forms.TextInput(attrs={"placeholder": "Test drive the XLE, bring the trade title"}),
    )
    outside_hours_ok = forms.BooleanField(required=False, label="Set it anyway if it is outside store hours")


class WalkInSearchForm(forms.Form):
    q = forms.CharField(
        label="Customer without an appointment", min_length=2, max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or phone", "autocomplete": "off"}),
        error_messages={"min_length": "Type at least 2 letters of the name, or the phone number."},
    )
