from drf_spectacular.utils import extend_schema
from rest_framework import viewsets

from org.scoping import staff_for, stores_for, teams_for
from org.serializers import StaffSerializer, StoreSerializer, TeamSerializer


@extend_schema(tags=["organization"])
class StoreViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StoreSerializer

    def get_queryset(self):
        return stores_for(self.request.user).order_by("name")


@extend_schema(tags=["organization"])
class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer
    filterset_fields = ["store"]

    def get_queryset(self):
        return teams_for(self.request.user).order_by("store", "name")


@extend_schema(tags=["organization"])
class StaffViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StaffSerializer
    filterset_fields = ["store", "role", "team", "is_active"]

    def get_queryset(self):
        return staff_for(self.request.user).select_related("user").prefetch_related("shifts").order_by("id")
