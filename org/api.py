import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from common.api import scoped_choice
from org import schedules
from org.models import Staff, Team
from org.scoping import can_edit_schedule, staff_for, stores_for, teams_for
from org.serializers import (
    ShiftSerializer,
    StaffSerializer,
    StoreSerializer,
    TeamSerializer,
    TimeOffSerializer,
    WeekSerializer,
)


class TeamFilter(django_filters.FilterSet):
    store = scoped_choice(stores_for)

    class Meta:
        model = Team
        fields = ["store"]


class StaffFilter(django_filters.FilterSet):
    store = scoped_choice(stores_for)
    team = scoped_choice(teams_for)

    class Meta:
        model = Staff
        fields = ["store", "role", "team", "is_active"]


@extend_schema(tags=["organization"])
class StoreViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StoreSerializer

    def get_queryset(self):
        return stores_for(self.request.user).order_by("name")


@extend_schema(tags=["organization"])
class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer
    filterset_class = TeamFilter

    def get_queryset(self):
        return teams_for(self.request.user).order_by("store", "name")


@extend_schema(tags=["organization"])
class StaffViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StaffSerializer
    filterset_class = StaffFilter

    def get_queryset(self):
        return staff_for(self.request.user).select_related("user").prefetch_related("shifts").order_by("id")

    def _editable(self) -> Staff:
        person = self.get_object()
        if not can_edit_schedule(self.request.user, person):
            raise PermissionDenied("Only the store's director, admins and the person's sales manager change a schedule.")
        return person

    # The week and the time off are short lists answered whole: no page, no list filters (a
    # filter here would only narrow which person the id finds).
    @extend_schema(request=WeekSerializer, responses=ShiftSerializer(many=True),
                   summary="Replace a person's weekly shifts (400 names each mistyped day; nothing is saved then)")
    @action(detail=True, methods=["put"], pagination_class=None, filter_backends=[])
    def week(self, request, pk=None):
        person = self._editable()
        typed = WeekSerializer(data=request.data)
        typed.is_valid(raise_exception=True)
        try:
            schedules.week_save(staff=person, days=typed.days())
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(ShiftSerializer(person.shifts.all().order_by("weekday", "starts"), many=True).data)

    @extend_schema(methods=["get"], responses=TimeOffSerializer(many=True), summary="A person's time off from today on")
    @extend_schema(methods=["post"], request=TimeOffSerializer, responses={201: TimeOffSerializer},
                   summary="Add time off")
    @action(detail=True, methods=["get", "post"], url_path="time-off", pagination_class=None, filter_backends=[])
    def time_off(self, request, pk=None):
        if request.method == "GET":
            person = self.get_object()
            today = timezone.localtime(timezone.now(), person.store.tz).date()
            return Response(TimeOffSerializer(person.time_off.filter(last_day__gte=today), many=True).data)
        person = self._editable()
        typed = TimeOffSerializer(data=request.data)
        typed.is_valid(raise_exception=True)
        try:
            off = schedules.time_off_add(staff=person, first_day=typed.validated_data["first_day"],
                                         last_day=typed.validated_data.get("last_day"),
                                         reason=typed.validated_data.get("reason", ""))
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        return Response(TimeOffSerializer(off).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, summary="Remove time off")
    @action(detail=True, methods=["delete"], url_path=r"time-off/(?P<off_id>\d+)", filter_backends=[])
    def time_off_remove(self, request, pk=None, off_id=None):
        person = self._editable()
        schedules.time_off_remove(time_off=get_object_or_404(person.time_off.all(), pk=off_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
