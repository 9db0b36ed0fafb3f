"""The intake app's address for every page's links (contribute, respond, report an error):
`intake_url` in templates. `registry serve` passes it as REGISTRY_INTAKE_URL."""

from __future__ import annotations

import os

from datasette import hookimpl

INTAKE_URL = os.environ.get("REGISTRY_INTAKE_URL", "http://127.0.0.1:5000").rstrip("/")


@hookimpl
def extra_template_vars():
    return {"intake_url": INTAKE_URL}
