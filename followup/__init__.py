"""Follow-up: cadences, tasks and appointments (their models stay in leads, tables unchanged)."""
