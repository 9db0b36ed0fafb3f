"""The exposure registry: who was a client of which surveillance or data vendor.

Layers, from the outside in: entry points (this module's create_app, cli.py, serve.py),
web/ (the Flask intake app), importer/ (bulk imports), services/ (what the registry does),
rules/ (pure checks), store/ (all SQL). config.py holds the settings all of them read."""

from __future__ import annotations

from registry.web.app import create_app, csrf

__all__ = ["create_app", "csrf"]
