"""Security headers on every response, and templates a strict Content-Security-Policy allows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import grader.web

TEMPLATES = Path(grader.web.__file__).parent / "templates"


@pytest.mark.parametrize(
    "path", ["/login", "/", "/api/v1/me", "/api/v1/nothing", "/healthz", "/openapi.json",
             "/static/site.js", "/no/such/page"],
)
def test_every_response_carries_the_security_headers(client, people, path):
    response = client.get(path, headers=people["alice"].headers if "api" in path else {})
    response.close()  # a static file's response holds the file open
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_templates_have_no_inline_script_or_style(template):
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline script: move it to site.js"
    assert not re.search(r"\son[a-z]+\s*=", text), "an inline event handler: use site.js"
    assert "javascript:" not in text
    assert not re.search(r"\sstyle\s*=", text), "a style attribute: use a class in site.css"
