"""REST API for follow-up: tasks, appointments and the store's cadence. Thin: scope through
org.scoping (another store's task or appointment is a 404, another store's customer or lead in a
body an "unknown" 400), validate, call followup.services / followup.appointments, whose refusals (a
Django ValidationError naming the field) become 400s through common.api.exception_handler."""

from __future__ import annotations

import django_filters
from django.utils import timezone
from django_filters.widgets import BooleanWidget
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from common.api import scoped_choice
from followup import appointments
from followup import services as followup
from followup.serializers import (
    TASK_CHANNELS,
    AppointmentCreateSerializer,
    AppointmentSerializer,
    CadenceSerializer,
    TaskCreateSerializer,
    TaskSerializer,
)
from followup.views_cadence import DEFAULT_MARGIN, DEFAULT_NAME, cadence_summary
from leads import permissions
from leads.models import Appointment, AppointmentStatus, Cadence, Task, TaskKind
from leads.scoping import appointments_for, customers_for, leads_for, tasks_for
from org.request_scope import staff_of_request
from org.schema import ERROR, AutoSchema
from org.scoping import can_manage_store, staff_for, stores_for, viewer_for

# --- Tasks --------------------------------------------------------------------------------------


class TaskFilter(django_filters.FilterSet):
    open = django_filters.BooleanFilter(
        method="filter_open", widget=BooleanWidget, label="1: open tasks only (not done, not canceled); 0: the others"
    )
    due_before = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lt")
    due_after = django_filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    lead = scoped_choice(leads_for)
    customer = scoped_choice(customers_for)
    staff = scoped_choice(staff_for)
    kind = django_filters.ChoiceFilter(choices=TaskKind.choices)
    channel = django_filters.ChoiceFilter(choices=TASK_CHANNELS)

    class Meta:
        model = Task
        fields = ["open", "due_before", "due_after", "lead", "customer", "staff", "kind", "channel"]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        is_open = {"completed_at__isnull": True, "canceled_at__isnull": True}
        return queryset.filter(**is_open) if value else queryset.exclude(**is_open)


@extend_schema(tags=["follow-up"])
class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Follow-up tasks, soonest due first: a salesperson's own, a sales manager's and their teams',
    the store's for directors and admins. Cadence and keep-in-touch tasks are made by the
    follow-up engine; POST makes a follow-up task by hand."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return tasks_for(self.request.user).select_related("customer", "staff__user").order_by("due_at", "id")

    @extend_schema(request=TaskCreateSerializer, responses={201: TaskSerializer})
    def create(self, request):
        """A follow-up task for a customer the caller sees (another store's customer: 400 naming
        `customer`). Only managers, directors and admins give a task to someone else."""
        serializer = TaskCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        by = staff_of_request(request)
        viewer = viewer_for(request.user)
        customer = customers_for(request.user).filter(pk=data["customer"]).first()
        if customer is None:
            raise ValidationError({"customer": [f"Unknown customer {data['customer']}."]})
        lead = None
        if data["lead"] is not None:
            lead = leads_for(request.user).filter(pk=data["lead"]).first()
            if lead is None:
                raise ValidationError({"lead": [f"Unknown lead {data['lead']}."]})
        owner = None
        if data["staff"] is not None and data["staff"] != by.pk:
            if not (viewer.is_store_wide or viewer.is_manager):
                raise PermissionDenied("Only sales managers, internet directors and admins give tasks to someone else.")
            owner = staff_for(request.user).select_related("user").filter(pk=data["staff"], is_active=True).first()
            if owner is None:
                raise ValidationError({"staff": [f"Unknown staff member {data['staff']}."]})
        task = followup.task_create(
            by=by, customer=customer, due_at=data["due_at"], reason=data["reason"], lead=lead,
            channel=data["channel"], staff=owner,
        )
        return Response(TaskSerializer(self.get_queryset().get(pk=task.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Mark the task done by hand (a matching call, text or email completes it by itself).
        A task already done or canceled: 400."""
        task = self.get_object()
        followup.task_complete(task=task, by=staff_of_request(request))
        return Response(TaskSerializer(self.get_queryset().get(pk=task.pk)).data)


# --- Appointments -------------------------------------------------------------------------------


class AppointmentFilter(django_filters.FilterSet):
    starts_after = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt")
    status = django_filters.ChoiceFilter(choices=AppointmentStatus.choices)
    lead = scoped_choice(leads_for)
    staff = scoped_choice(staff_for)
    store = scoped_choice(stores_for)

    class Meta:
        model = Appointment
        fields = ["starts_after", "starts_before", "status", "lead", "staff", "store"]


@extend_schema(tags=["follow-up"])
class AppointmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Appointments, soonest first: the store's for directors, admins and the receptionist (who
    checks customers in); for others those on leads they see and their own."""

    serializer_class = AppointmentSerializer
    filterset_class = AppointmentFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return (
            appointments_for(self.request.user)
            .select_related("store", "customer", "staff__user", "lead")
            .order_by("starts_at", "id")
        )

    def _answer(self, appointment: Appointment, code=status.HTTP_200_OK) -> Response:
        fresh = Appointment.objects.select_related("customer", "staff__user").get(pk=appointment.pk)
        return Response(AppointmentSerializer(fresh).data, status=code)

    @extend_schema(request=AppointmentCreateSerializer, responses={201: AppointmentSerializer})
    def create(self, request):
        """Set an appointment on a lead. A time in the past is refused; a time outside store hours
        is refused unless `outside_hours_ok` is true (each a 400 on `starts_at` saying why). The
        lead's owner, their manager, the director and admins set appointments (leads.permissions)."""
        serializer = AppointmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        by = staff_of_request(request)
        lead = leads_for(request.user).select_related("store", "owner").filter(pk=data["lead"]).first()
        if lead is None:
            raise ValidationError({"lead": [f"Unknown lead {data['lead']}."]})
        if not permissions.can_create_appointment(request.user, lead):
            raise PermissionDenied(permissions.APPOINTMENT_SET_REFUSED)
        appointment = appointments.appointment_set(
            lead=lead, starts_at=data["starts_at"], by=by, note=data["note"], outside_hours_ok=data["outside_hours_ok"],
        )
        return self._answer(appointment, status.HTTP_201_CREATED)

    # Confirm, check in, no-show and cancel: the service asks leads.permissions (the browser's
    # predicates) and refuses with PermissionDenied, which DRF answers 403.

    @extend_schema(request=None, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """The customer confirmed (only a set appointment; otherwise 400)."""
        appointment = self.get_object()
        appointments.appointment_confirm(appointment=appointment, by=staff_of_request(request))
        return self._answer(appointment)

    @extend_schema(request=None, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def check_in(self, request, pk=None):
        """The customer is here: a verified visit, the appointment shown, the lead moved to shown and
        its owner notified (on a day off too)."""
        appointment = self.get_object()
        appointments.check_in(lead=appointment.lead, by=staff_of_request(request), appointment=appointment)
        return self._answer(appointment)

    @extend_schema(request=None, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def no_show(self, request, pk=None):
        """The customer did not come (only once the appointment has started); a call task follows."""
        appointment = self.get_object()
        appointments.appointment_no_show(appointment=appointment, by=staff_of_request(request))
        return self._answer(appointment)

    @extend_schema(request=None, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel: the lead's or the appointment's salesperson, their manager, the director, admins;
        the receptionist only the appointments she booked (403 otherwise)."""
        appointment = self.get_object()
        appointments.appointment_cancel(appointment=appointment, by=staff_of_request(request))
        return self._answer(appointment)


# --- The store's cadence ------------------------------------------------------------------------


class OneCadenceSchema(AutoSchema):
    """GET /cadence/ answers one object (the store's cadence), not a list."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


STORE_PARAMETER = OpenApiParameter(
    "store", OpenApiTypes.INT, description="A store's id (admins of a group); default: the caller's store."
)


@extend_schema(tags=["follow-up"])
class CadenceViewSet(viewsets.GenericViewSet):
    """The store's follow-up cadence (one per store): GET reads it (everyone of the store), PUT
    replaces it (the store's internet director and admins). Step day 0 is the day the lead arrived.
    A store that never set one follows the default of seed 001."""

    serializer_class = CadenceSerializer
    schema = OneCadenceSchema()
    pagination_class = None
    filter_backends: list = []

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        # The router maps GET and POST on /cadence/; a cadence is replaced whole, so PUT too.
        if actions and actions.get("get") == "list":
            actions = {"get": "list", "put": "replace"}
        return super().as_view(actions, **initkwargs)

    def get_queryset(self):
        return Cadence.objects.filter(store__in=stores_for(self.request.user))

    def _store(self, request):
        wanted = request.query_params.get("store")
        if wanted:
            store = stores_for(request.user).filter(pk=wanted).first() if wanted.isdigit() else None
            if store is None:
                raise ValidationError({"store": [f"Unknown store {wanted!r}."]})
            return store
        return staff_of_request(request).store

    def _answer(self, store) -> Response:
        cadence = Cadence.objects.filter(store=store).first()
        steps = followup.cadence_steps(store)
        spacing = followup.keep_in_touch_every(store, timezone.now())
        body = {
            "store": store.pk, "store_name": store.name, "is_default": cadence is None,
            "name": cadence.name if cadence else DEFAULT_NAME,
            "steps": [{"day": day, "channel": channel} for day, channel in steps],
            "keep_in_touch_every_hours": cadence.keep_in_touch_every_hours if cadence else None,
            "keep_in_touch_margin_hours": cadence.keep_in_touch_margin_hours if cadence else DEFAULT_MARGIN,
            "keep_in_touch_computed_hours": spacing.total_seconds() / 3600,
            "summary": cadence_summary(steps, spacing),
            "updated_at": cadence.updated_at if cadence else None,
        }
        return Response(CadenceSerializer(body).data)

    # 403: an account that is no staff of any store has no store to default to.
    @extend_schema(parameters=[STORE_PARAMETER], responses={200: CadenceSerializer, 403: ERROR})
    def list(self, request):
        return self._answer(self._store(request))

    @extend_schema(parameters=[STORE_PARAMETER], request=CadenceSerializer, responses=CadenceSerializer)
    def replace(self, request):
        """Replace the steps, spacing and margin. No steps, an unknown channel, a day outside 0-60
        or a spacing not longer than the margin: 400 naming the field, nothing saved."""
        store = self._store(request)
        if not can_manage_store(request.user, store):
            raise PermissionDenied("Only the store's internet director and admins change its cadence.")
        serializer = CadenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        followup.cadence_save(
            store=store, steps=[(step["day"], step["channel"]) for step in data["steps"]], name=data["name"],
            keep_in_touch_every_hours=data["keep_in_touch_every_hours"],
            keep_in_touch_margin_hours=data["keep_in_touch_margin_hours"],
        )
        return self._answer(store)
