# Shortcuts; the README's two commands are ./dev start and ./dev test.
.PHONY: start test coverage typecheck bench bench-intake bench-lead-list bench-callbacks bench-credit bench-distribution bench-sweeper bench-salesboard bench-agent-queue bench-pages bench-soak bench-duplicates bench-live

start:
	./dev start

test:
	./dev test

# The suite with line coverage: a table per module in the terminal, and htmlcov/index.html.
coverage:
	./dev test --no-clock --cov --cov-report=term-missing:skip-covered --cov-report=html

# mypy alone (a step of ./dev test): strict modules, the rest against mypy-baseline.txt.
typecheck:
	./dev typecheck

bench: bench-intake bench-lead-list bench-callbacks bench-credit bench-distribution bench-sweeper bench-salesboard bench-agent-queue bench-pages bench-duplicates

bench-intake:
	./dev manage check >/dev/null && .venv/bin/python bench/intake.py

bench-lead-list:
	./dev manage check >/dev/null && .venv/bin/python bench/lead_list.py

bench-callbacks:
	./dev manage check >/dev/null && .venv/bin/python bench/callbacks.py

bench-credit:
	./dev manage check >/dev/null && .venv/bin/python bench/credit.py

bench-distribution:
	./dev manage check >/dev/null && .venv/bin/python bench/distribution.py

bench-sweeper:
	./dev manage check >/dev/null && .venv/bin/python bench/sweeper.py

bench-salesboard:
	./dev manage check >/dev/null && .venv/bin/python bench/salesboard.py

bench-agent-queue:
	./dev manage check >/dev/null && .venv/bin/python bench/agent_queue.py

# A few minutes: the worker, beat and the broker fail while leads arrive (issue 14).
bench-soak:
	./dev manage check >/dev/null && .venv/bin/python bench/soak.py

bench-pages:
	./dev manage check >/dev/null && .venv/bin/python bench/pages.py

# The possible duplicates' review queue with 1,000 pairs pending (issue 15).
bench-duplicates:
	./dev manage check >/dev/null && .venv/bin/python bench/duplicates.py

# Server push (live/): a lead accepted -> its owner's open stream at 50 leads/s, and 1,500 idle
# streams beside the bell polling they replace (about 7 minutes, so not part of `make bench`).
bench-live:
	./dev manage check >/dev/null && .venv/bin/python bench/live.py
