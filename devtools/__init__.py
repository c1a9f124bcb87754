"""Development tools, apart from the product apps: the demo store (`devtools.demo` and the
`demo_store` command) and the local or embedded PostgreSQL/Redis behind `./dev`
(`devtools.embedded`).

The top layer: it may import any app, and no product app imports it. This package's own
import must stay free of Django, since `./dev` runs `python -m devtools.embedded` before
settings can load.
"""
