"""The Content-Security-Policy header (issue 14): on every page, strict, with a fresh nonce per
request that the page's own <script> tags carry. The pages passing it in a real browser is
tests/browser/test_csp_pages.py."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


def test_every_page_gets_a_strict_policy_with_a_fresh_nonce(client, org):
    client.force_login(org["agent"].user)
    first, second = client.get("/leads/"), client.get("/leads/")
    policy = directives(first)

    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    script_src = policy["script-src"]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    nonces = [value for value in script_src if value.startswith("'nonce-")]
    assert len(nonces) == 1
    nonce = nonces[0][len("'nonce-"):-1]
    assert len(nonce) >= 16
    # The page's scripts carry this request's nonce; the next request has another.
    assert f'nonce="{nonce}"' in first.content.decode()
    second_nonce = re.search(r"'nonce-([^']+)'", second["Content-Security-Policy"]).group(1)
    assert second_nonce != nonce and f'nonce="{second_nonce}"' in second.content.decode()


def test_public_pages_and_the_api_docs_have_it_too(client, org):
    assert "'nonce-" in client.get("/login/")["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in client.get("/f/north-motors/")["Content-Security-Policy"]
    client.force_login(org["director"].user)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    policy = directives(docs)
    # Only the docs page may show data: images (Swagger UI's icons); its script is a file.
    assert policy["img-src"] == ["'self'", "data:"] and "<script>" not in docs.content.decode()
    assert directives(client.get("/leads/"))["img-src"] == ["'self'"]


def test_no_template_has_inline_script_handlers_or_style_attributes():
    """What the policy refuses, refused at the source too: a new template with an inline script
    or a style="" attribute fails here before it fails in a browser."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "templates"
    offending = []
    for path in root.rglob("*.html"):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style", r"\son[a-z]+=", r"\sstyle=", r"javascript:", r"hx-on", r"js:"):
            if re.search(pattern, text):
                offending.append(f"{path.relative_to(root)}: {pattern}")
    assert offending == []
