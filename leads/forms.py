from __future__ import annotations

from django import forms

from leads.models import Channel, LeadStatus, Outcome, SourceType

CALL_OUTCOMES = [
    ("", "How did the call go?"),
    (Outcome.CONNECTED, "Spoke with the customer"),
    (Outcome.VOICEMAIL, "Left a voicemail"),
    (Outcome.NO_ANSWER, "No answer"),
    (Outcome.BUSY, "Busy"),
]


class LogContactForm(forms.Form):
    channel = forms.ChoiceField(
        choices=[
            (Channel.NOTE, "Note"),
            (Channel.CALL, "Call I made by hand"),
            (Channel.EMAIL, "Email I sent myself"),
            (Channel.VISIT, "Visit"),
        ],
        widget=forms.RadioSelect,
        initial=Channel.NOTE,
    )
    outcome = forms.ChoiceField(choices=CALL_OUTCOMES, required=False, label="Call outcome")
    talk_minutes = forms.DecimalField(
        required=False, min_value=0.1, max_value=600, decimal_places=1, label="Minutes talked (optional)",
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal", "placeholder": "e.g. 5"}),
    )
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What happened?"}), required=False, max_length=10000)
    outside_company_channels = forms.BooleanField(
        required=False, label="From my personal phone or email (can't be verified)"
    )

    def clean(self):
        data = super().clean()
        channel = data.get("channel")
        if channel == Channel.CALL and not data.get("outcome"):
            self.add_error("outcome", "Say how the call went.")
        if data.get("talk_minutes") is not None and not (channel == Channel.CALL and data.get("outcome") == Outcome.CONNECTED):
            self.add_error("talk_minutes", "Minutes go with a call where you spoke with the customer.")
        if channel == Channel.NOTE and not (data.get("body") or "").strip():
            self.add_error("body", "A note needs some text.")
        data["outcome"] = {Channel.NOTE: Outcome.NOTE, Channel.VISIT: Outcome.VISITED, Channel.EMAIL: Outcome.SENT}.get(
            channel, data.get("outcome")
        )
        return data


class LeadFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(attrs={"placeholder": "Name, phone, email or lead id", "type": "search"}))
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *LeadStatus.choices])
    source_type = forms.ChoiceField(required=False, choices=[("", "Any source"), *SourceType.choices])
    owner = forms.ChoiceField(required=False, choices=[("", "Anyone"), ("me", "Mine"), ("none", "Unassigned")])


class LeadEntryForm(forms.Form):
    """A lead entered by staff: a phone-up, a walk-in, or an inquiry that came in another way."""

    source_type = forms.ChoiceField(choices=SourceType.choices, initial=SourceType.PHONE_UP)
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    phone = forms.CharField(max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
    email = forms.CharField(max_length=254, required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    condition = forms.ChoiceField(choices=[("", "New or used?"), ("new", "New"), ("used", "Used")], required=False)
    year = forms.IntegerField(min_value=1900, max_value=2100, required=False)
    make = forms.CharField(max_length=60, required=False)
    model = forms.CharField(max_length=80, required=False)
    stock_number = forms.CharField(max_length=40, required=False)
    comments = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10_000)

    def clean(self):
        data = super().clean()
        if not any(data.get(k) for k in ("first_name", "last_name", "phone", "email")):
            raise forms.ValidationError("Give at least a name, a phone number or an email address.")
        return data


class WebLeadForm(forms.Form):
    """The public form on a store's website. `website` is a honeypot: people leave it empty."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    phone = forms.CharField(max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
    email = forms.CharField(max_length=254, required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    vehicle = forms.CharField(max_length=120, required=False, label="Vehicle you are interested in")
    comments = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=4000, label="Questions")
    website = forms.CharField(required=False, label="Leave this empty")

    def clean(self):
        data = super().clean()
        if not data.get("phone") and not data.get("email"):
            raise forms.ValidationError("Give a phone number or an email address so we can answer you.")
        return data
