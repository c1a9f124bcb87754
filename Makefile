# Shortcuts; the README's two commands are ./dev start and ./dev test.
.PHONY: start test bench bench-intake bench-lead-list bench-callbacks bench-credit

start:
	./dev start

test:
	./dev test

bench: bench-intake bench-lead-list bench-callbacks bench-credit

bench-intake:
	./dev manage check >/dev/null && .venv/bin/python bench/intake.py

bench-lead-list:
	./dev manage check >/dev/null && .venv/bin/python bench/lead_list.py

bench-callbacks:
	./dev manage check >/dev/null && .venv/bin/python bench/callbacks.py

bench-credit:
	./dev manage check >/dev/null && .venv/bin/python bench/credit.py
