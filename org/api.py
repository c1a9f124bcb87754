import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets

from dealercrm.api import scoped_choice
from org.models import Staff, Team
from org.scoping import staff_for, stores_for, teams_for
from org.serializers import StaffSerializer, StoreSerializer, TeamSerializer


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
