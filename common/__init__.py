"""The bottom layer: helpers every app may use and that know no app (API error handling and
filters, pagination, formatting, CSV import). It imports Django, DRF and the standard library,
nothing of ours (import-linter holds it to that, see .importlinter)."""
