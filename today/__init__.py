"""The agent's Today page: what to do next, from leads, follow-up, routing, coverage and calls."""
