"""REST API for customers, leads, contact events and intake. Thin: parse, scope, call services."""

from __future__ import annotations

import json

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http.request import RawPostDataException
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import scoped_choice
from leads import duplicates, intake, ownership, permissions, services
from leads import merge as merge_services
from leads.models import (
    ContactEvent,
    Customer,
    DuplicateStatus,
    IntakeChannel,
    Lead,
    PossibleDuplicate,
    RejectedIntake,
    SourceType,
)
from leads.scoping import (
    can_work_lead,
    claim_targets_for,
    contact_events_for,
    customers_for,
    leads_for,
    leads_for_branches,
    rejected_intakes_for,
)
from leads.selectors import with_relations
from leads.serializers import (
    ConflictSerializer,
    ContactEventImportSerializer,
    ContactEventLogSerializer,
    ContactEventSerializer,
    CustomerMergeRequestSerializer,
    CustomerMergeSerializer,
    CustomerSerializer,
    IntakeReceiptSerializer,
    LeadAssignSerializer,
    LeadDetailSerializer,
    LeadIntakeSerializer,
    LeadReassignSerializer,
    LeadSerializer,
    LeadTransitionSerializer,
    PossibleDuplicateSerializer,
    RejectedIntakeSerializer,
)
from org.clientip import client_ip
from org.request_scope import staff_of_request, store_for_intake
from org.schema import VALIDATION_ERROR
from org.scoping import staff_for, stores_for, viewer_for


class LeadFilter(django_filters.FilterSet):
    owner = scoped_choice(staff_for)
    store = scoped_choice(stores_for)
    customer = scoped_choice(customers_for)
    received_after = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = django_filters.IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")
    unassigned = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull")

    class Meta:
        model = Lead
        fields = ["status", "source_type", "owner", "store", "intake_channel", "customer", "in_claim_pool"]


def intake_answer(results: list[services.LeadCreateResult]) -> list[dict]:
    """A receipt per stored lead, with created/duplicate flags, built without further queries."""
    for result in results:
        result.lead.created, result.lead.duplicate = result.created, result.duplicate
        result.lead.possible_duplicate_of = result.possible_duplicate_of
    return IntakeReceiptSerializer([r.lead for r in results], many=True).data


def lead_queryset(user):
    return with_relations(leads_for(user))


@extend_schema(tags=["leads"])
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Leads the caller may see. POST creates a lead (idempotent on provider + provider lead id)."""

    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        if self.action == "claim":
            return with_relations(claim_targets_for(self.request.user))
        return self._refine(lead_queryset(self.request.user))

    def _refine(self, queryset):
        queryset = queryset.order_by("-received_at", "-id")
        term = self.request.query_params.get("q", "").strip()
        if term:
            queryset = queryset.filter(services.lead_search_q(term))
        return queryset

    def get_serializer_class(self):
        if self.action == "retrieve":
            return LeadDetailSerializer
        return LeadSerializer

    def get_object(self):
        obj = super().get_object()
        if self.action == "retrieve":
            obj = (
                self.get_queryset()
                .prefetch_related(Prefetch("status_changes"), Prefetch("assignments"))
                .get(pk=obj.pk)
            )
        return obj

    @extend_schema(
        parameters=[OpenApiParameter("q", OpenApiTypes.STR, description="Name prefix, phone, email or provider lead id")]
    )
    def list(self, request, *args, **kwargs):
        # leads_for branch by branch, as the browser's lead list pages it (leads.scoping._lead_branches).
        branches = [self.filter_queryset(self._refine(branch)) for branch in leads_for_branches(request.user)]
        page = self.paginator.paginate_branches(branches, request, fetch=with_relations)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=LeadIntakeSerializer,
                   responses={201: IntakeReceiptSerializer, 200: IntakeReceiptSerializer, 413: VALIDATION_ERROR})
    def create(self, request):
        refused = refuse_oversized(request, IntakeChannel.API)
        if refused is not None:
            return refused
        try:
            serializer = LeadIntakeSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            store = store_for_intake(request.user, serializer.validated_data["store"])
            data = serializer.to_lead_data(
                intake_channel=IntakeChannel.API, original_document=json.dumps(request.data, default=str)[:100000]
            )
            result = services.lead_create(store=store, data=data, created_by=viewer_for(request.user).staff)
        except (ValidationError, ParseError, DjangoValidationError) as exc:
            # Kept for the admin: what a provider sent and why it was refused.
            detail = exc.message_dict if isinstance(exc, DjangoValidationError) else exc.detail
            services.rejected_intake_record(
                store=viewer_for(request.user).staff.store if viewer_for(request.user).staff else None,
                channel=IntakeChannel.API, reason="invalid_json" if isinstance(exc, ParseError) else "invalid_lead",
                message=json.dumps(detail, default=str)[:2000], body=body_as_received(request),
                remote_addr=client_ip(request),
            )
            raise
        (body,) = intake_answer([result])
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(request=LeadTransitionSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        lead = self.get_object()
        if not can_work_lead(request.user, lead):
            raise PermissionDenied("Only the lead's owner, their manager or the director can change its status.")
        serializer = LeadTransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.lead_transition(lead=lead, to_status=serializer.validated_data["status"], by=staff_of_request(request))
        return Response(LeadSerializer(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(request=None, responses={200: LeadSerializer, 409: ConflictSerializer})
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        """Take a lead from the claim pool; exactly one claim wins, the others get 409 naming the holder."""
        lead = self.get_object()
        try:
            ownership.writer().lead_claim(lead=lead, staff=staff_of_request(request))
        except ownership.LeadTaken as exc:
            return Response(
                {"detail": str(exc), "holder": exc.holder.pk if exc.holder else None}, status=status.HTTP_409_CONFLICT
            )
        return Response(LeadSerializer(with_relations(Lead.objects.filter(pk=lead.pk)).get()).data)

    @extend_schema(request=LeadAssignSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Give the lead to a named member of its pool (400 naming why for anyone else)."""
        lead = self.get_object()
        viewer = viewer_for(request.user)
        if not (viewer.is_store_wide or viewer.is_manager or viewer.is_receptionist):
            raise PermissionDenied("Only managers, directors, receptionists and admins assign leads.")
        serializer = LeadAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        to_staff = staff_for(request.user).filter(pk=serializer.validated_data["owner"]).first()
        if to_staff is None:
            raise ValidationError({"owner": ["Unknown staff member for this lead's store."]})
        try:
            ownership.writer().lead_owner_set(
                lead=lead, to_staff=to_staff, by=viewer.staff, reason=serializer.validated_data["reason"]
            )
        except DjangoValidationError as exc:
            # The distribution service names the receiver "to"; this endpoint's field is "owner".
            errors = exc.message_dict
            raise ValidationError({("owner" if key == "to" else key): value for key, value in errors.items()}) from None
        # Not re-read through the caller's scope: assigning can move the lead out of it (a manager
        # giving a lead to another team, a receptionist an older lead), and the answer is still the lead.
        return Response(LeadSerializer(with_relations(Lead.objects.filter(pk=lead.pk)).get()).data)

    @extend_schema(request=LeadReassignSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        """Move the lead to a named member of its pool, or (`"to": null`) to the next in line.
        Sales managers, directors and admins."""
        lead = self.get_object()
        viewer = viewer_for(request.user)
        if not (viewer.everything or viewer.is_store_wide or viewer.is_manager):
            raise PermissionDenied("Only sales managers, internet directors and admins reassign leads.")
        serializer = LeadReassignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        to = serializer.validated_data["to"]
        to_staff = None
        if to is not None:
            to_staff = staff_for(request.user).filter(pk=to).first()
            if to_staff is None:
                raise ValidationError({"to": [f"Unknown staff member {to}."]})
        ownership.writer().lead_reassign(
            lead=lead, to_staff=to_staff, by=viewer.staff, reason=serializer.validated_data["reason"]
        )
        return Response(LeadSerializer(with_relations(Lead.objects.filter(pk=lead.pk)).get()).data)

    @extend_schema(request=None, responses=LeadSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Give the lead up: it goes where its rule sends new leads, not back to its owner. The
        owner, their sales manager, the director and admins."""
        lead = self.get_object()
        if not can_work_lead(request.user, lead):
            raise PermissionDenied("Only the lead's owner, their manager or the director can release it.")
        ownership.writer().lead_release(lead=lead, by=staff_of_request(request))
        return Response(LeadSerializer(with_relations(Lead.objects.filter(pk=lead.pk)).get()).data)


def body_as_received(request) -> bytes | str:
    """The body as sent; a multipart body is streamed by its parser, so then the fields it read."""
    try:
        return request.body
    except RawPostDataException:
        return json.dumps(request.data, default=str)


def refuse_oversized(request, channel: str, store=None) -> Response | None:
    """A 413 before a body over INTAKE_MAX_BYTES is read into memory, kept as a rejected intake."""
    from django.conf import settings

    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return Response({"body": ["The Content-Length header is not a number."]}, status=status.HTTP_400_BAD_REQUEST)
    if length <= settings.INTAKE_MAX_BYTES:
        return None
    message = f"The body is {length} bytes; the limit is {settings.INTAKE_MAX_BYTES}."
    staff = viewer_for(request.user).staff
    services.rejected_intake_record(
        store=store or (staff.store if staff else None), channel=channel, reason="too_large", message=message,
        body=b"", remote_addr=client_ip(request),
    )
    return Response({"body": [message], "reason": "too_large"}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)


class AnyBodyParser(parsers.BaseParser):
    """ADF arrives as application/xml, text/xml, text/plain or no type at all: keep the bytes."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream else b""


@extend_schema(tags=["leads"])
class AdfIntakeView(APIView):
    """POST an ADF/XML document: `/api/v1/leads/adf/?store=<slug>[&source_type=oem]`."""

    parser_classes = [AnyBodyParser]

    @extend_schema(
        request={"application/xml": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter("store", OpenApiTypes.STR, required=True),
            OpenApiParameter("source_type", OpenApiTypes.STR, enum=SourceType.values),
        ],
        responses={201: IntakeReceiptSerializer(many=True), 200: IntakeReceiptSerializer(many=True),
                   413: VALIDATION_ERROR},
    )
    def post(self, request):

        if not request.query_params.get("store"):
            raise ValidationError({"store": ["Add ?store=<store slug> to the address the provider posts to."]})
        store = store_for_intake(request.user, request.query_params["store"])
        source_type = request.query_params.get("source_type") or None
        if source_type and source_type not in SourceType.values:
            raise ValidationError({"source_type": [f"Unknown source type {source_type!r}."]})
        refused = refuse_oversized(request, IntakeChannel.ADF, store=store)
        if refused is not None:
            return refused
        try:
            outcome = intake.intake_adf(
                store=store, body=request.body, source_type=source_type, remote_addr=client_ip(request)
            )
        except intake.IntakeRejected as exc:
            return Response({exc.field: [str(exc)], "reason": exc.reason}, status=exc.status)
        body = intake_answer(outcome.results)
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)


class CustomerFilter(django_filters.FilterSet):
    store = scoped_choice(stores_for)

    class Meta:
        model = Customer
        fields = ["store"]


@extend_schema(tags=["customers"])
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    search_fields = ["last_name", "first_name", "emails__email"]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return customers_for(self.request.user).prefetch_related("phones", "emails").order_by("last_name", "id")


class ContactEventFilter(django_filters.FilterSet):
    customer = scoped_choice(customers_for)
    lead = scoped_choice(leads_for)
    staff = scoped_choice(staff_for)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = ContactEvent
        fields = ["customer", "lead", "staff", "channel", "direction", "outcome", "evidence_level"]


@extend_schema(tags=["contact events"])
class ContactEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Append-only: events are created (logged or imported), never changed or deleted."""

    serializer_class = ContactEventSerializer
    filterset_class = ContactEventFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return contact_events_for(self.request.user).select_related("staff__user").order_by("-occurred_at", "-id")

    @extend_schema(request=ContactEventLogSerializer, responses={201: ContactEventSerializer})
    def create(self, request):
        serializer = ContactEventLogSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lead = leads_for(request.user).filter(pk=data["lead"]).first()
        if lead is None:
            raise ValidationError({"lead": ["Unknown lead."]})
        event = services.contact_event_log(
            staff=staff_of_request(request), lead=lead, channel=data["channel"], outcome=data["outcome"],
            body=data["body"], direction=data["direction"], occurred_at=data["occurred_at"],
            outside_company_channels=data["outside_company_channels"],
            spoke_with_customer=data["spoke_with_customer"], talk_minutes=data["talk_minutes"],
        )
        return Response(ContactEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ContactEventImportSerializer, responses={200: dict})
    @action(detail=False, methods=["post"], url_path="import")
    def import_events(self, request):
        """Historical events from another CRM (evidence 'imported'); admins and directors only."""
        viewer = viewer_for(request.user)
        if not viewer.is_store_wide:
            raise PermissionDenied("Only admins and internet directors import contact history.")
        serializer = ContactEventImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        store = store_for_intake(request.user, data["store"])
        rows = data["events"]
        customers = Customer.objects.filter(store=store).in_bulk({r["customer"] for r in rows})
        leads = Lead.objects.filter(store=store).in_bulk({r["lead"] for r in rows if r["lead"]})
        staff = staff_for(request.user).filter(store=store).in_bulk({r["staff"] for r in rows if r["staff"]})
        events = []
        for index, row in enumerate(rows):
            if row["customer"] not in customers:
                raise ValidationError({f"events[{index}].customer": [f"Unknown customer {row['customer']} in this store."]})
            if row["lead"] and row["lead"] not in leads:
                raise ValidationError({f"events[{index}].lead": [f"Unknown lead {row['lead']} in this store."]})
            if row["lead"] and leads[row["lead"]].customer_id != row["customer"]:
                raise ValidationError({f"events[{index}].lead": [f"Lead {row['lead']} is not customer {row['customer']}'s."]})
            if row["staff"] and row["staff"] not in staff:
                raise ValidationError({f"events[{index}].staff": [f"Unknown staff {row['staff']} in this store."]})
            events.append(
                services.ImportedEvent(
                    external_id=row["external_id"], customer=customers[row["customer"]],
                    lead=leads.get(row["lead"]), staff=staff.get(row["staff"]), channel=row["channel"],
                    direction=row["direction"], outcome=row["outcome"], occurred_at=row["occurred_at"],
                    body=row["body"], talk_seconds=row["talk_seconds"],
                )
            )
        stored, already = services.contact_events_import(store=store, source_system=data["source_system"], events=events)
        return Response({"stored": stored, "already_present": already})


class RejectedIntakeFilter(django_filters.FilterSet):
    store = scoped_choice(stores_for)

    class Meta:
        model = RejectedIntake
        fields = ["store", "channel", "reason"]


@extend_schema(tags=["leads"])
class RejectedIntakeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RejectedIntakeSerializer
    filterset_class = RejectedIntakeFilter

    def get_queryset(self):
        return rejected_intakes_for(self.request.user).order_by("-received_at", "-id")



class PossibleDuplicateFilter(django_filters.FilterSet):
    store = scoped_choice(stores_for)
    status = django_filters.ChoiceFilter(choices=DuplicateStatus.choices)

    class Meta:
        model = PossibleDuplicate
        fields = ["store", "status"]


@extend_schema(tags=["customers"])
class PossibleDuplicateViewSet(viewsets.ReadOnlyModelViewSet):
    """Customers who may be one person, for the store's managers, its director and admins (the
    browser's review queue); others see none. `?status=pending` is the queue."""

    serializer_class = PossibleDuplicateSerializer
    filterset_class = PossibleDuplicateFilter

    def get_queryset(self):
        return duplicates.duplicates_for(self.request.user).select_related("customer", "other").order_by("-created_at", "-id")

    @extend_schema(request=None, responses={200: PossibleDuplicateSerializer, 400: VALIDATION_ERROR})
    @action(detail=True, methods=["post"])
    def different(self, request, pk=None):
        """Different people: remembered, so intake never raises the pair again."""
        pair = duplicates.duplicate_mark_different(pair=self.get_object(), user=request.user)
        return Response(PossibleDuplicateSerializer(self.get_queryset().get(pk=pair.pk)).data)

    @extend_schema(request=None, responses={201: CustomerMergeSerializer, 400: VALIDATION_ERROR})
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """The same person: the pair's new customer merges into the existing one (undo: split the merge)."""
        pair = self.get_object()
        record = merge_services.customers_merge(survivor=pair.other, merged=pair.customer, user=request.user, pair=pair,
                                                reason=pair.reason)
        return Response(CustomerMergeSerializer(record).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["customers"])
class CustomerMergeViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Merges of two customers (the browser's review queue and any two customers of a store), for
    the store's managers, its director and admins; split undoes one exactly."""

    serializer_class = CustomerMergeSerializer

    def get_queryset(self):
        return duplicates.merges_for(self.request.user).order_by("-at", "-id")

    @extend_schema(request=CustomerMergeRequestSerializer, responses={201: CustomerMergeSerializer, 400: VALIDATION_ERROR})
    def create(self, request):
        if not permissions.can_review_duplicates(request.user):
            raise PermissionDenied(permissions.DUPLICATES_REFUSED)
        serializer = CustomerMergeRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        record = merge_services.customers_merge(user=request.user, **serializer.validated_data)
        return Response(CustomerMergeSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: CustomerMergeSerializer, 400: VALIDATION_ERROR})
    @action(detail=True, methods=["post"])
    def split(self, request, pk=None):
        """Undo the merge exactly: both customers as they were before it."""
        record = merge_services.merge_split(merge=self.get_object(), user=request.user)
        return Response(CustomerMergeSerializer(record).data)
