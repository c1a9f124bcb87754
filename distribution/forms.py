"""Forms for the routing rules pages: a rule (its match, strategy and pool) and a sample lead to preview.

The rule form only collects and shapes input; distribution.pools.rule_save validates the pool and
the strategy and saves, and its errors are shown on the form.
"""

from __future__ import annotations

from django import forms
from django.core.validators import MinValueValidator
from django.db.models import Count, Q

from distribution.models import LeadKind, OnCoverageLapse, RoutingRule, Strategy
from distribution.pools import LeadFacts
from leads.models import SourceType
from org.models import SALES_ROLES, Role, Staff, Store, Team

LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"

STRATEGY_HELP = {
    Strategy.ROUND_ROBIN: "The next person in line gets it, skipping whoever is off shift, off today, unavailable or at their cap.",
    Strategy.ROUND_ROBIN_REASSIGN: "Next in line, with a clock: no first call, text or email in time and it moves to the next person.",
    Strategy.CLAIM_POOL: "Nobody owns it until a salesperson in the pool claims it; the first claim wins.",
    Strategy.MANAGER: "It waits on the manager's queue; the manager picks who gets it.",
    Strategy.RECEPTIONIST: "It rings on the receptionist board; she hands it to whoever calls in first.",
}


class StaffChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Staff) -> str:
        team = f" · {obj.team.name}" if obj.team_id else ""
        return f"{obj.display_name}{team}"


class TeamChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Team) -> str:
        count = getattr(obj, "active_sales", None)
        if count is None:
            return obj.name
        return f"{obj.name} ({count} {'person' if count == 1 else 'people'})"


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Staff) -> str:
        return f"{obj.display_name} · {obj.get_role_display()}"


class RuleForm(forms.ModelForm):
    """A routing rule of one store; the choices offered are that store's teams and active staff."""

    pool_teams = TeamChoices(queryset=Team.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
                             label="Teams", help_text="Their salespeople are in the pool.")
    pool_staff = StaffChoices(queryset=Staff.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
                              label="Named people")
    after_hours_staff = PersonChoice(queryset=Staff.objects.none(), required=False, label="After hours, give it to",
                                     empty_label="Nobody: it waits for the next shift")
    manager = PersonChoice(queryset=Staff.objects.none(), required=False, label="Manager",
                           empty_label="The pool teams' managers")

    class Meta:
        model = RoutingRule
        fields = [
            "name", "enabled", "is_fallback",
            "source_type", "provider", "condition", "make", "lead_kind", "stock_numbers",
            "strategy", "response_minutes", "max_moves", "claim_minutes",
            "pool_teams", "pool_staff", "pool_role", "weighted", "open_new_cap",
            "after_hours_staff", "manager", "on_coverage_lapse", "lapse_warn_hours",
        ]
        labels = {
            "name": "Rule name",
            "enabled": "Rule is on",
            "is_fallback": "Fallback rule: catches every lead no other rule takes",
            "source_type": "Source type",
            "provider": "Provider",
            "condition": "New or used",
            "lead_kind": "Lead kind",
            "stock_numbers": "Stock numbers",
            "strategy": "How leads are handed out",
            "response_minutes": "Minutes to a first attempt",
            "max_moves": "Moves before the manager",
            "claim_minutes": "Round robin if unclaimed after (minutes)",
            "pool_role": "Everyone with the role",
            "weighted": "Weighted: people with a lead weight of 2 get twice as many",
            "open_new_cap": "Skip whoever holds this many open new leads",
            "on_coverage_lapse": "When the owner's coverage lapses",
            "lapse_warn_hours": "Warn the owner (hours before)",
        }
        help_texts = {
            "provider": "CarGurus, Autotrader…; any case. Blank: any provider.",
            "make": "Honda, Toyota…; any case. Blank: any make.",
            "stock_numbers": "Comma-separated. Blank: any vehicle.",
            "open_new_cap": "Blank: no cap.",
            "claim_minutes": "Blank: it stays in the pool until claimed.",
            "is_fallback": "", "weighted": "", "enabled": "",
        }
        widgets = {
            "strategy": forms.RadioSelect,
            "provider": forms.TextInput(attrs={"placeholder": "Any provider"}),
            "make": forms.TextInput(attrs={"placeholder": "Any make"}),
            "stock_numbers": forms.TextInput(attrs={"placeholder": "e.g. T24118, U9921"}),
            "open_new_cap": forms.NumberInput(attrs={"placeholder": "No cap", "min": 1}),
            "claim_minutes": forms.NumberInput(attrs={"placeholder": "Never", "min": 1}),
            "response_minutes": forms.NumberInput(attrs={"min": 1}),
            "max_moves": forms.NumberInput(attrs={"min": 0}),
        }

    def clean_on_coverage_lapse(self):
        return self.cleaned_data.get("on_coverage_lapse") or OnCoverageLapse.KEEP

    def clean_lapse_warn_hours(self):
        value = self.cleaned_data.get("lapse_warn_hours")
        return 24 if value is None else value

    def __init__(self, *args, store: Store, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store
        self.instance.store = store
        chosen = list(self.instance.pool_staff.values_list("pk", flat=True)) if self.instance.pk else []
        people = Staff.objects.filter(store=store).select_related("user", "team").order_by(
            "user__first_name", "user__last_name", "pk")
        # Anyone active who can sell or lead (not the receptionist), and whoever the rule already names.
        self.fields["pool_staff"].queryset = people.filter(
            (Q(is_active=True) & ~Q(role=Role.RECEPTIONIST)) | Q(pk__in=chosen)
        )
        self.fields["pool_teams"].queryset = Team.objects.filter(store=store).annotate(
            active_sales=Count("members", filter=Q(members__is_active=True, members__role__in=list(SALES_ROLES)))
        ).order_by("name")
        self.fields["after_hours_staff"].queryset = people.filter(is_active=True)
        self.fields["manager"].queryset = people.filter(is_active=True)
        self.fields["strategy"].choices = list(Strategy.choices)
        # Older clients (and the API) leave the coverage-lapse settings out: the defaults apply.
        self.fields["on_coverage_lapse"].required = False
        self.fields["lapse_warn_hours"].required = False
        for name in ("source_type", "condition", "lead_kind"):
            choices = list(self.fields[name].choices)
            self.fields[name].choices = [("", "Any"), *[c for c in choices if c[0] != ""]]
        self.fields["pool_role"].choices = [("", "(nobody by role)"), *[c for c in self.fields["pool_role"].choices
                                                                          if c[0] != ""]]
        self.fields["name"].widget.attrs.setdefault("placeholder", "e.g. Used Hondas")
        # Zero would mean "no clock", "never" or "nobody ever below the cap": at least one.
        for name in ("response_minutes", "claim_minutes", "open_new_cap"):
            self.fields[name].validators.append(MinValueValidator(1))

    def strategy_options(self):
        """The strategy radios with a line explaining each."""
        return [(radio, STRATEGY_HELP.get(radio.data["value"], "")) for radio in self["strategy"]]

    def clean_stock_numbers(self) -> str:
        raw = self.cleaned_data.get("stock_numbers", "")
        parts = [p.strip().upper() for p in raw.replace(";", ",").replace("\n", ",").split(",") if p.strip()]
        return ", ".join(dict.fromkeys(parts))

    def clean_provider(self) -> str:
        return self.cleaned_data.get("provider", "").strip()

    def clean_make(self) -> str:
        return self.cleaned_data.get("make", "").strip()


class PreviewForm(forms.Form):
    """A sample lead and a moment (the store's wall clock; blank is now)."""

    source_type = forms.ChoiceField(label="Source type", required=False,
                                    choices=[("", "(not given)"), *SourceType.choices])
    provider = forms.CharField(label="Provider", required=False, max_length=120,
                               widget=forms.TextInput(attrs={"placeholder": "e.g. CarGurus"}))
    condition = forms.ChoiceField(label="New or used", required=False,
                                  choices=[("", "(not given)"), ("new", "New"), ("used", "Used")])
    make = forms.CharField(label="Make", required=False, max_length=60,
                           widget=forms.TextInput(attrs={"placeholder": "e.g. Honda"}))
    lead_kind = forms.ChoiceField(label="Lead kind", required=False, choices=[("", "(not given)"), *LeadKind.choices])
    stock_number = forms.CharField(label="Stock #", required=False, max_length=400,
                                   widget=forms.TextInput(attrs={"placeholder": "e.g. T24118"}))
    at = forms.DateTimeField(
        label="When it arrives", required=False, input_formats=[LOCAL_INPUT_FORMAT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
        help_text="Store time. Blank: now.",
    )

    def facts(self) -> LeadFacts:
        data = self.cleaned_data
        stock = [p.strip().upper() for p in data["stock_number"].replace(";", ",").split(",") if p.strip()]
        return LeadFacts(
            source_type=data["source_type"], provider=data["provider"].strip(), condition=data["condition"],
            make=data["make"].strip(), lead_kind=data["lead_kind"], stock_numbers=stock,
        )
