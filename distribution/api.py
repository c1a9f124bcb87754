"""REST API for distribution: routing rules (with a preview), the receptionist's board, the
manager's queue and notifications. Claim, assign, reassign and release live on the lead
(leads.api.LeadViewSet). Thin: scope through org.scoping, validate, call distribution.services."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from distribution import pools, services
from distribution.models import LeadRouting, RoutingRule, RoutingState, Strategy
from distribution.scoping import manager_queue_for, notifications_for, routing_rules_for
from distribution.serializers import (
    BoardHandSerializer,
    BoardSerializer,
    ManagerQueueLeadSerializer,
    NotificationReadResultSerializer,
    NotificationReadSerializer,
    NotificationSerializer,
    RoutingRuleSerializer,
    RulePreviewResultSerializer,
    RulePreviewSerializer,
)
from distribution.strategies import receptionist
from leads.models import OPEN_STATUSES, Lead
from leads.scoping import leads_for
from leads.selectors import with_relations
from leads.serializers import ConflictSerializer, LeadSerializer
from org.models import Staff
from org.request_scope import staff_of_request
from org.schema import AutoSchema
from org.scoping import can_assign_leads, can_manage_store, staff_for, stores_for, viewer_for


class ManagersOnly(BasePermission):
    message = "Only sales managers, internet directors and admins may do this."

    def has_permission(self, request, view) -> bool:
        viewer = viewer_for(request.user)
        return viewer.everything or viewer.is_store_wide or viewer.is_manager


class AssignersOnly(BasePermission):
    message = "Only receptionists, sales managers, internet directors and admins work the board."

    def has_permission(self, request, view) -> bool:
        return can_assign_leads(request.user)


def lead_answer(lead: Lead) -> Response:
    """The lead after a change, read outside the caller's scope: handing or reassigning can move
    it out of it, and the answer is still the lead."""
    return Response(LeadSerializer(with_relations(Lead.objects.filter(pk=lead.pk)).get()).data)


def staff_named(user, staff_id: int, field: str = "to") -> Staff:
    """A staff member the caller may see, else a 400 naming the field (an id of another group is
    answered like one that does not exist)."""
    person = staff_for(user).select_related("user").filter(pk=staff_id).first()
    if person is None:
        raise ValidationError({field: [f"Unknown staff member {staff_id}."]})
    return person


# --- Routing rules ----------------------------------------------------------------------------


@extend_schema(tags=["distribution"])
class RoutingRuleViewSet(viewsets.ModelViewSet):
    """A store's routing rules, in the order they are tried (the fallback last). Sales managers
    read them; the store's internet director and admins write them."""

    serializer_class = RoutingRuleSerializer
    permission_classes = [IsAuthenticated, ManagersOnly]
    filter_backends: list = []

    def get_queryset(self):
        return (
            routing_rules_for(self.request.user)
            .select_related("store")
            .prefetch_related("pool_teams", "pool_staff")
            .order_by("store_id", "is_fallback", "position", "id")
        )

    def _require_manage(self, store=None) -> None:
        viewer = viewer_for(self.request.user)
        allowed = can_manage_store(self.request.user, store) if store is not None else viewer.is_store_wide
        if not allowed:
            raise PermissionDenied("Only the store's internet director and admins change its routing rules.")

    def create(self, request, *args, **kwargs):
        self._require_manage()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        store = serializer.validated_data.get("store") or staff_of_request(request).store
        self._require_manage(store)
        rule = serializer.save(store=store)
        return Response(self.get_serializer(rule).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        self._require_manage(self.get_object().store)
        return super().update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        self._require_manage(self.get_object().store)
        return super().destroy(request, *args, **kwargs)

    @extend_schema(request=RulePreviewSerializer, responses=RulePreviewResultSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """Where a sample lead would go now (or at `at`), and why. Writes nothing."""
        serializer = RulePreviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["store"] is None:
            store = staff_of_request(request).store
        else:
            store = stores_for(request.user).filter(pk=data["store"]).first()
            if store is None:
                raise ValidationError({"store": [f"Unknown store {data['store']}."]})
        preview = services.rule_preview(store=store, facts=serializer.facts(), at=data["at"])
        decision = preview.decision
        owner = Staff.objects.select_related("user").filter(pk=decision.owner_id).first() if decision.owner_id else None
        body = {
            "rule": preview.rule,
            "why": preview.why,
            "strategy": preview.strategy,
            "owner": {"id": owner.pk, "name": owner.display_name} if owner else None,
            "state": decision.state,
            "reason": decision.reason,
            "skipped": decision.skipped,
            "upcoming": preview.upcoming,
        }
        return Response(RulePreviewResultSerializer(body).data)


# --- The receptionist's board -------------------------------------------------------------------


def floor_of(rule: RoutingRule, now) -> list[dict]:
    """The rule's pool members who can take a lead now, in the pool's order."""
    ctx = pools.context(rule, now=now)
    names = {m.staff_id: m.name for m in ctx.members}
    return [{"id": staff_id, "name": names[staff_id]} for staff_id in receptionist.floor(ctx)]


class OneBoardSchema(AutoSchema):
    """GET /board/ answers one object (the floor and the leads), not a list of boards."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


@extend_schema(tags=["distribution"])
class BoardViewSet(viewsets.GenericViewSet):
    """The receptionist's board: leads waiting for the first salesperson to call in, and who is
    on the floor now. A lead is handed in one click; a second click gets 409 naming the holder."""

    permission_classes = [IsAuthenticated, AssignersOnly]
    serializer_class = BoardSerializer
    schema = OneBoardSchema()
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return leads_for(self.request.user).select_related("store")

    @extend_schema(responses=BoardSerializer)
    def list(self, request):
        user = request.user
        now = timezone.now()
        leads = list(
            leads_for(user)
            .filter(routing__state=RoutingState.BOARD, owner__isnull=True, status__in=OPEN_STATUSES)
            .select_related("customer", "routing")
            .prefetch_related("vehicles")
            .order_by("routing__queued_at", "id")
        )
        rule_ids = {lead.routing.rule_id for lead in leads if lead.routing.rule_id}
        rules = (
            RoutingRule.objects.filter(store__in=stores_for(user))
            .filter(Q(pk__in=rule_ids) | Q(enabled=True, strategy=Strategy.RECEPTIONIST))
            .select_related("store", "after_hours_staff__user")
            .order_by("is_fallback", "position", "id")
        )
        floors = {rule.pk: floor_of(rule, now) for rule in rules}
        everyone: dict[int, dict] = {}
        for people in floors.values():
            for person in people:
                everyone.setdefault(person["id"], person)
        board = {"now": now, "floor": list(everyone.values()), "leads": leads}
        return Response(BoardSerializer(board, context={"now": now, "floors": floors}).data)

    @extend_schema(
        request=BoardHandSerializer,
        responses={200: LeadSerializer, 409: ConflictSerializer},
    )
    @action(detail=True, methods=["post"])
    def hand(self, request, pk=None):
        """Hand a board lead to the salesperson who called in first."""
        lead = self.get_object()
        serializer = BoardHandSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        to_staff = staff_named(request.user, serializer.validated_data["to"])
        if lead.owner_id is None:
            routing = LeadRouting.objects.filter(lead=lead).first()
            if routing is None or routing.state != RoutingState.BOARD:
                raise ValidationError({"lead": ["This lead is not on the board; assign it from the lead instead."]})
        try:
            services.lead_hand(lead=lead, to_staff=to_staff, by=viewer_for(request.user).staff)
        except services.AlreadyHanded as exc:
            return Response(
                {"detail": str(exc), "holder": exc.holder.pk if exc.holder else None}, status=status.HTTP_409_CONFLICT
            )
        return lead_answer(lead)


# --- The manager's queue ------------------------------------------------------------------------


@extend_schema(tags=["distribution"])
class ManagerQueueViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Leads waiting for a manager (no rule matched, escalated, manager-assigns) or for the next
    shift, oldest first, with the routing warning. A sales manager sees those of their teams'
    rules and those no rule took; directors and admins the store's."""

    serializer_class = ManagerQueueLeadSerializer
    permission_classes = [IsAuthenticated, ManagersOnly]
    filter_backends: list = []

    def get_queryset(self):
        return (
            manager_queue_for(self.request.user)
            .select_related("customer", "routing")
            .prefetch_related("vehicles")
            .order_by("routing__queued_at", "id")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}


# --- Notifications ------------------------------------------------------------------------------


@extend_schema(tags=["distribution"])
class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own notifications, newest first."""

    serializer_class = NotificationSerializer
    filter_backends: list = []

    def get_queryset(self):
        notes = notifications_for(self.request.user).order_by("-created_at", "-id")
        unread = self.request.query_params.get("unread", "").strip().lower()
        if unread in ("1", "true", "yes"):
            notes = notes.filter(read_at__isnull=True)
        elif unread not in ("", "0", "false", "no"):
            raise ValidationError({"unread": ["Use unread=1 for unread notifications only, or leave it out."]})
        return notes

    @extend_schema(parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL, description="1: unread ones only")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=NotificationReadSerializer, responses=NotificationReadResultSerializer)
    @action(detail=False, methods=["post"])
    def read(self, request):
        """Mark the given notifications read ({"ids": [...]}), or all of them ({})."""
        serializer = NotificationReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = services.notifications_read(staff=staff_of_request(request), ids=serializer.validated_data.get("ids"))
        return Response({"read": count})
