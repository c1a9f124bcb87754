"""The live event log: one row per nudge a browser should act on, written in the same transaction
as the change it announces (so a rolled-back change announces nothing) and announced to every web
process by PostgreSQL's NOTIFY at commit. The row is what a reconnecting stream replays from
(Last-Event-ID); the records themselves (notifications, leads, calls) stay where they are."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from org.models import Staff, Store


class LiveEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    # For one person (their bell, their Today queue, their call); None: for everyone in the store
    # whose role sees the topic (the board, the manager queue), as live.audience decides.
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=20)
    lead_id = models.BigIntegerField(null=True, blank=True)  # a reference, not a key: leads sit above
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="live_event_created")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic} store {self.store_id} staff {self.staff_id}"
