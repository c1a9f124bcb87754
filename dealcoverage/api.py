"""The stateless judge: a manager settling a dispute on paper, a DMS asking who shares a deal,
and the engine's own tests ask the same engine, and get the same explanation."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from dealcoverage.serializers import JudgeSerializer


@extend_schema(tags=["coverage"], request=JudgeSerializer, responses={200: dict})
class JudgeView(APIView):
    def post(self, request):
        serializer = JudgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.judge().to_dict())


# --- Stored policy versions, deals, overrides and disputes ----------------------------------------
# Thin: parse, scope (org.scoping), call dealcoverage.services. Anything outside the caller's scope is
# absent from the queryset, so a detail lookup answers 404 and an id in a body "unknown".

import django_filters  # noqa: E402
from django.db import IntegrityError  # noqa: E402
from django.db.models import Prefetch  # noqa: E402
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes  # noqa: E402
from rest_framework import mixins, status, viewsets  # noqa: E402
from rest_framework.decorators import action  # noqa: E402
from rest_framework.exceptions import PermissionDenied, ValidationError  # noqa: E402

from common.api import scoped_choice  # noqa: E402
from dealcoverage import permissions, services  # noqa: E402
from dealcoverage.models import CoveragePolicy, Deal, DealCredit, DealSource, Dispute, DisputeStatus  # noqa: E402
from dealcoverage.scoping import coverage_policies_for, deals_disputable_by, deals_for, disputes_for  # noqa: E402
from dealcoverage.serializers import (  # noqa: E402
    POLICY_COMPARED,
    CoveragePolicyCreateSerializer,
    CoveragePolicySerializer,
    CreditOverrideSerializer,
    DealCreateSerializer,
    DealDetailSerializer,
    DealSerializer,
    DisputeRaiseSerializer,
    DisputeSerializer,
    DisputeUpholdSerializer,
    PolicyCompareSerializer,
)
from leads.scoping import customers_recordable_for, leads_recordable_for  # noqa: E402
from org.models import Role  # noqa: E402
from org.request_scope import staff_of_request, store_for_intake  # noqa: E402
from org.scoping import can_manage_store, staff_for, stores_for, viewer_for  # noqa: E402


def store_of_request(request, slug: str | None):
    """The store a body names by slug, else the caller's own store."""
    if slug:
        return store_for_intake(request.user, slug)
    return staff_of_request(request).store


# Who may do what: dealcoverage.permissions (the browser and the services ask the same predicates).


class CoveragePolicyFilter(django_filters.FilterSet):
    store = scoped_choice(stores_for)
    role = django_filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = CoveragePolicy
        fields = ["store", "role"]


@extend_schema(tags=["coverage"])
class CoveragePolicyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Coverage policy versions. A version is immutable: POST makes a new one (directors and admins)."""

    serializer_class = CoveragePolicySerializer
    filterset_class = CoveragePolicyFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return coverage_policies_for(self.request.user).select_related("store").order_by(
            "store__name", "role", "-effective_from"
        )

    @extend_schema(request=CoveragePolicyCreateSerializer, responses={201: CoveragePolicySerializer})
    def create(self, request):
        if not viewer_for(request.user).is_store_wide:
            raise PermissionDenied("Only internet directors and admins change coverage policies.")
        serializer = CoveragePolicyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        store = store_of_request(request, data.get("store"))
        if not can_manage_store(request.user, store):
            raise PermissionDenied("Only this store's internet director and admins change its policies.")
        params = {k: v for k, v in data["params"].items() if k in services.POLICY_FIELDS}
        try:
            policy = services.policy_version_create(
                store=store, role=data["role"], effective_from=data["effective_from"],
                created_by=viewer_for(request.user).staff, note=data["note"], **params,
            )
        except IntegrityError:  # a concurrent first version of the same moment or number
            raise ValidationError(
                {"effective_from": ["Another version of this role's policy was just saved; try again."]}
            ) from None
        return Response(CoveragePolicySerializer(policy).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("a", OpenApiTypes.INT, required=True, description="A policy version's id"),
            OpenApiParameter("b", OpenApiTypes.INT, required=True, description="Another policy version's id"),
        ],
        responses=PolicyCompareSerializer,
    )
    @action(detail=False, methods=["get"])
    def compare(self, request):
        """Two versions side by side, and the fields that differ."""
        versions = {}
        errors = {}
        for key in ("a", "b"):
            raw = request.query_params.get(key, "")
            found = self.get_queryset().filter(pk=int(raw)).first() if raw.isdigit() else None
            if found is None:
                errors[key] = [f"Unknown policy version {raw!r}." if raw else "Give a policy version id."]
            versions[key] = found
        if errors:
            raise ValidationError(errors)
        a, b = CoveragePolicySerializer(versions["a"]).data, CoveragePolicySerializer(versions["b"]).data
        differences = [field for field in ["role", *POLICY_COMPARED] if a[field] != b[field]]
        return Response({"a": a, "b": b, "differences": differences})


class DealFilter(django_filters.FilterSet):
    store = scoped_choice(stores_for)
    closer = scoped_choice(staff_for)
    sold_after = django_filters.IsoDateTimeFilter(field_name="sold_at", lookup_expr="gte")
    sold_before = django_filters.IsoDateTimeFilter(field_name="sold_at", lookup_expr="lt")

    class Meta:
        model = Deal
        fields = ["store", "closer", "source"]


@extend_schema(tags=["coverage"])
class DealViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Deals with their frozen credit. POST records a deal and judges it once."""

    filterset_class = DealFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        user = self.request.user
        deals = deals_disputable_by(user) if self.action == "dispute" else deals_for(user)
        deals = deals.select_related("store", "customer").prefetch_related(
            Prefetch("credits", queryset=DealCredit.objects.select_related("staff__user", "policy"))
        )
        if self.action == "retrieve":
            deals = deals.prefetch_related("disputes", "policy_versions__store")
        return deals.order_by("-sold_at", "-id")

    def get_serializer_class(self):
        return DealDetailSerializer if self.action == "retrieve" else DealSerializer

    def detail_answer(self, deal: Deal, code=status.HTTP_200_OK) -> Response:
        fresh = (
            Deal.objects.filter(pk=deal.pk).select_related("store", "customer")
            .prefetch_related(
                Prefetch("credits", queryset=DealCredit.objects.select_related("staff__user", "policy")),
                "disputes", "policy_versions__store",
            ).get()
        )
        return Response(DealDetailSerializer(fresh).data, status=code)

    @extend_schema(request=DealCreateSerializer, responses={201: DealDetailSerializer})
    def create(self, request):
        if not permissions.can_record_deal(request.user):
            raise PermissionDenied(permissions.RECORD_REFUSED)
        serializer = DealCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        store = store_of_request(request, data.get("store"))
        # Looked up in the caller's scope: an id they cannot see is answered like one that does not exist.
        # The record-sale scope (leads.scoping.leads_recordable_for), the browser form's too.
        customer = customers_recordable_for(request.user).filter(pk=data["customer"]).first()
        closer = staff_for(request.user).filter(pk=data["closer"]).first()
        lead = (
            leads_recordable_for(request.user).select_related("owner").filter(pk=data["lead"]).first()
            if data["lead"] else None
        )
        errors = {}
        if customer is None:
            errors["customer"] = [f"Unknown customer {data['customer']}."]
        if closer is None:
            errors["closer"] = [f"Unknown staff member {data['closer']}."]
        if data["lead"] and lead is None:
            errors["lead"] = [f"Unknown lead {data['lead']}."]
        if errors:
            raise ValidationError(errors)
        deal = services.deal_record(
            store=store, customer=customer, closer=closer, sold_at=data["sold_at"], vehicle=data["vehicle"],
            stock_number=data["stock_number"], lead=lead, source=DealSource.API,
            recorded_by=viewer_for(request.user).staff,
        )
        return self.detail_answer(deal, status.HTTP_201_CREATED)

    @extend_schema(request=CreditOverrideSerializer, responses=DealDetailSerializer)
    @action(detail=True, methods=["post"])
    def override(self, request, pk=None):
        """A manager's override: new credit rows beside the originals, with the written reason."""
        deal = self.get_object()
        if not permissions.can_override_credit(request.user, deal):
            raise PermissionDenied(permissions.OVERRIDE_REFUSED)
        serializer = CreditOverrideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.credit_override(
            deal=deal, shares=serializer.validated_data["shares"], reason=serializer.validated_data["reason"],
            by=staff_of_request(request),
        )
        return self.detail_answer(deal)

    @extend_schema(request=DisputeRaiseSerializer, responses={201: DisputeSerializer})
    @action(detail=True, methods=["post"])
    def dispute(self, request, pk=None):
        """Dispute the credit: someone its decision judged or who holds or held a credit on it
        (else 403); one open dispute per deal (a second: 400 naming `deal`)."""
        deal = self.get_object()
        if not permissions.can_raise_dispute(request.user, deal):
            raise PermissionDenied(permissions.DISPUTE_RAISE_REFUSED)
        serializer = DisputeRaiseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dispute = services.dispute_raise(
            deal=deal, by=staff_of_request(request), comment=serializer.validated_data["comment"]
        )
        return Response(DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)


class DisputeFilter(django_filters.FilterSet):
    store = django_filters.ModelChoiceFilter(
        field_name="deal__store", queryset=lambda request: stores_for(request.user) if request else None
    )
    status = django_filters.ChoiceFilter(choices=DisputeStatus.choices)

    class Meta:
        model = Dispute
        fields = ["status", "store"]


@extend_schema(tags=["coverage"])
class DisputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Credit disputes; `?status=open` is a manager's review queue."""

    serializer_class = DisputeSerializer
    filterset_class = DisputeFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return disputes_for(self.request.user).order_by("-created_at", "-id")

    @extend_schema(request=DisputeUpholdSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def uphold(self, request, pk=None):
        """The decision stands: close the dispute with the written resolution."""
        dispute = self.get_object()
        if not permissions.can_resolve_dispute(request.user, dispute):
            raise PermissionDenied(permissions.DISPUTE_RESOLVE_REFUSED)
        serializer = DisputeUpholdSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.dispute_uphold(dispute=dispute, by=staff_of_request(request), resolution=serializer.validated_data["resolution"])
        return Response(DisputeSerializer(dispute).data)
