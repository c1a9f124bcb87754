"""The telephony sandbox's pages: play the customer (text back, call a dealer number) and the
generated audio behind a sandbox RecordingUrl. The pages are 404 unless the sandbox is
explicitly on (TELEPHONY_SANDBOX); the recordings unless the sandbox answers Twilio's REST API. Thin: validate, then hand the work to a Celery task (the drivers call
this very server back, so they must not run inside its request)."""

from __future__ import annotations

import random

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from leads.models import CustomerPhone
from leads.normalize import phone_to_e164
from leads.scoping import customers_for, leads_for
from org.models import Store
from org.scoping import viewer_for
from telephony.models import DealerNumber
from telephony.sandbox import outcomes, recordings, state, webhooks
from telephony.twilio import sandbox_answers_rest, sandbox_enabled

RECENT_CUSTOMERS = 12


def _phone_field(label: str, required: bool = True) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=32,
                           widget=forms.TextInput(attrs={"list": "customer-phones", "autocomplete": "off",
                                                         "placeholder": "+1 312 555 0142"}))


class DealerNumberChoice(forms.ChoiceField):
    def __init__(self, numbers: list[DealerNumber], **kwargs) -> None:
        choices = [(str(n.number), f"{n.number.as_national} · {_number_label(n)}") for n in numbers]
        super().__init__(choices=choices, **kwargs)


def _number_label(number: DealerNumber) -> str:
    if number.purpose == "tracking":
        return f"tracking: {number.provider or number.get_source_type_display() or 'lead source'}"
    if number.purpose == "agent" and number.staff_id:
        return f"{number.staff.display_name}'s line"
    return number.get_purpose_display()


def _clean_phone(value: str) -> str:
    try:
        return phone_to_e164(value)
    except ValidationError:
        raise forms.ValidationError(f"{value!r} is not a valid phone number.") from None


class CustomerTextsForm(forms.Form):
    prefix = "text"
    from_number = _phone_field("The customer's number")
    to_number = forms.ChoiceField(label="Texts the dealer number")
    body = forms.CharField(label="Text", max_length=1600, widget=forms.Textarea(attrs={"rows": 3}),
                           initial="Yes, I'm still interested. Can I come by Saturday?")

    def __init__(self, *args, numbers: list[DealerNumber], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_number"] = DealerNumberChoice(numbers, label="Texts the dealer number")

    def clean_from_number(self) -> str:
        return _clean_phone(self.cleaned_data["from_number"])


class CustomerCallsForm(forms.Form):
    prefix = "call"
    to_number = forms.ChoiceField(label="Calls the dealer number")
    from_number = _phone_field("From the number", required=False)
    nobody_answers = forms.BooleanField(label="Nobody at the store picks up", required=False)
    talk_seconds = forms.IntegerField(label="Talk time if answered (s)", min_value=1, max_value=3600, initial=95,
                                      required=False)

    def __init__(self, *args, numbers: list[DealerNumber], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tracking_first = sorted(numbers, key=lambda n: (n.purpose != "tracking", str(n.number)))
        self.fields["to_number"] = DealerNumberChoice(tracking_first, label="Calls the dealer number")

    def clean_from_number(self) -> str:
        value = self.cleaned_data["from_number"].strip()
        return _clean_phone(value) if value else ""


def new_caller_number(store: Store) -> str:
    """A number the store has never seen, ending in 5-9 so that calling it back connects."""
    rng = random.SystemRandom()
    for _ in range(50):
        number = f"+1312555{rng.randint(0, 999):03d}{rng.randint(5, 9)}"
        if not CustomerPhone.objects.filter(store=store, number=number).exists():
            return number
    raise RuntimeError("no unused sandbox caller number left")


def _sandbox_staff(request: HttpRequest):
    """The viewer's staff record; 404 when the sandbox is off."""
    if not sandbox_enabled():
        raise Http404("The telephony sandbox is off (TELEPHONY_SANDBOX is not set).")
    return viewer_for(request.user).staff


def _page(request: HttpRequest, store: Store, numbers: list[DealerNumber], *, text_form=None, call_form=None,
          status: int = 200) -> HttpResponse:
    latest_lead = leads_for(request.user).filter(customer=OuterRef("pk")).order_by("-received_at", "-id")
    customers = (
        customers_for(request.user)
        .filter(store=store, phones__isnull=False)
        .distinct()
        .annotate(latest_lead_id=Subquery(latest_lead.values("pk")[:1]),
                  latest_received=Subquery(latest_lead.values("received_at")[:1]))
        .order_by("-latest_received", "-pk")
        .prefetch_related(Prefetch("phones", queryset=CustomerPhone.objects.order_by("pk")))[:RECENT_CUSTOMERS]
    )
    customers = list(customers)
    for customer in customers:
        customer.phone_list = [(phone, outcomes.outcome_for(str(phone.number))) for phone in customer.phones.all()]
    context = {
        "store": store,
        "numbers": numbers,
        "customers": customers,
        "text_form": text_form or CustomerTextsForm(numbers=numbers),
        "call_form": call_form or CustomerCallsForm(numbers=numbers),
        "outcomes": outcomes.OUTCOMES,
        "staff_behaviour": outcomes.STAFF_BEHAVIOUR,
        "runs": state.run_log(store.pk),
        "inbound_voice": webhooks.INBOUND_VOICE_PATH,
        "inbound_sms": webhooks.INBOUND_SMS_PATH,
    }
    return render(request, "telephony/sandbox.html", context, status=status)


def _numbers(store: Store) -> list[DealerNumber]:
    return list(
        DealerNumber.objects.filter(store=store, is_active=True).select_related("staff__user").order_by("purpose", "number")
    )


@login_required
@require_GET
def sandbox_page(request: HttpRequest) -> HttpResponse:
    staff = _sandbox_staff(request)
    if staff is None:
        return HttpResponseForbidden("The sandbox is for staff of a store.")
    return _page(request, staff.store, _numbers(staff.store))


@login_required
@require_POST
def sandbox_text(request: HttpRequest) -> HttpResponse:
    staff = _sandbox_staff(request)
    if staff is None:
        return HttpResponseForbidden("The sandbox is for staff of a store.")
    numbers = _numbers(staff.store)
    form = CustomerTextsForm(request.POST, numbers=numbers)
    if not form.is_valid():
        return _page(request, staff.store, numbers, text_form=form, status=400)
    data = form.cleaned_data
    state.dispatch("sandbox_inbound_text_task", data["from_number"], data["to_number"], data["body"])
    messages.success(
        request, f"{data['from_number']} texts {data['to_number']}: it arrives through the SMS webhook in a moment "
        "and shows on the customer's lead.",
    )
    return redirect("telephony:sandbox")


@login_required
@require_POST
def sandbox_call(request: HttpRequest) -> HttpResponse:
    staff = _sandbox_staff(request)
    if staff is None:
        return HttpResponseForbidden("The sandbox is for staff of a store.")
    numbers = _numbers(staff.store)
    form = CustomerCallsForm(request.POST, numbers=numbers)
    if not form.is_valid():
        return _page(request, staff.store, numbers, call_form=form, status=400)
    data = form.cleaned_data
    caller = data["from_number"] or new_caller_number(staff.store)
    state.dispatch("sandbox_inbound_call_task", caller, data["to_number"], not data["nobody_answers"],
                   data["talk_seconds"])
    messages.success(
        request, f"{caller} is calling {data['to_number']}: the voice webhook answers, and the call plays out over "
        "the next few seconds. Reload this page to see what happened.",
    )
    return redirect("telephony:sandbox")


@require_GET
def sandbox_recording(request: HttpRequest, recording_sid: str, extension: str | None = None) -> HttpResponse:
    """Twilio's RecordingUrl, sandbox edition: a few seconds of generated tones as WAV (also
    for ".mp3": the sandbox makes no MP3). Like Twilio's media URLs it needs no session."""
    if not sandbox_answers_rest():
        raise Http404("The telephony sandbox is off.")
    channels = recordings.recording_channels(recording_sid)
    if channels is None:
        raise Http404("No such sandbox recording (deleted, or older than a day).")
    response = HttpResponse(recordings.recording_wav(recording_sid, channels=channels), content_type="audio/wav")
    response["Content-Disposition"] = f'inline; filename="{recording_sid}.wav"'
    response["Cache-Control"] = "private, max-age=3600"
    return response
