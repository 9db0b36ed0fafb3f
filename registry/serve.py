"""`registry serve`: the intake app under gunicorn and Datasette as a child process.

Production settings: gunicorn's threaded workers ((2 x cores) + 1 processes by default,
see config.default_workers; REGISTRY_WORKERS and REGISTRY_THREADS change it), no debugger
(create_app forces Flask's debug mode off), request line and header limits, and Datasette
serving only registry.db, read-only, with time and size limits on every query."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from registry import create_app
from registry.config import Settings
from registry.services import cleanup, publisher
from registry.store import imports
from registry.store.connection import DatabaseError


def datasette_command(settings: Settings, port: int) -> list[str]:
    """Return the command that serves registry.db read-only with our configuration."""
    folder = settings.datasette_dir
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        str(settings.registry_db),
        "--host",
        settings.host,
        "--port",
        str(port),
        "--metadata",
        str(folder / "metadata.yml"),
        "--template-dir",
        str(folder / "templates"),
        "--plugins-dir",
        str(folder / "plugins"),
        "--static",
        f"static:{folder / 'static'}",
        "--setting",
        "sql_time_limit_ms",
        "2000",
        "--setting",
        "num_sql_threads",  # the pages' threads; readers' own SQL has one more (plugins/sql_pool.py)
        "3",
        "--setting",
        "max_returned_rows",
        "1000",
        "--setting",
        "facet_time_limit_ms",
        "1000",
        "--setting",
        "suggest_facets",
        "off",
        "--setting",
        "allow_download",
        "on",
        "--setting",
        "default_cache_ttl",
        "0",
    ]


CLEAN_EVERY_SECONDS = 600


class SharingThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, keeping at most `threads` idle connections alive.

    A kept-alive connection stays with the worker that accepted it, and which worker
    accepts is a race: under the load benchmark (16 kept-alive connections), one of five
    workers once did 58% of the posts' CPU work, its posts queueing for that process's
    interpreter lock while the others idled; with this worker the busiest did 25% (and
    p99 was 17 to 21 ms without the reviewer and the readers). gthread keeps up to
    `worker_connections - threads` (about a thousand) idle connections; past `threads`,
    this worker answers with "Connection: close", the client connects again, and the
    connection goes to whichever worker accepts it first, most often a less busy one.
    How many connections a worker may hold at once (`worker_connections`) is unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_keepalived = self.cfg.threads


class IntakeServer(BaseApplication):
    """gunicorn, configured here rather than by a command line or a config file."""

    def __init__(self, options: dict[str, Any], datasette_url: str) -> None:
        self.options, self.datasette_url = options, datasette_url
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:  # type: ignore[override]  # types-gunicorn: environ a MutableMapping; Flask: a dict
        # Each worker builds its own app after the fork: no SQLite handle crosses a fork.
        return create_app({"DATASETTE_URL": self.datasette_url, "REUSE_CONNECTIONS": True})


def gunicorn_options(settings: Settings, port: int) -> dict[str, Any]:
    return {
        "bind": f"{settings.host}:{port}",
        "workers": settings.workers,
        "worker_class": "registry.serve.SharingThreadWorker",
        "threads": settings.threads,
        "timeout": 120,  # a worker silent this long is replaced
        "graceful_timeout": 10,
        "keepalive": 5,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "registry-intake",
    }


def serve_both(settings: Settings, port: int, datasette_port: int) -> None:
    """Run both servers until SIGINT or SIGTERM, then stop both."""
    if not settings.registry_db.exists():
        raise DatabaseError(f"{settings.registry_db}: not found (run `registry init` and `registry publish`)")
    for reference in imports.clean_up(settings.intake_db):  # an import the last run left half-written
        print(f"Removed the unfinished import {reference} (its process had stopped).", flush=True)
    cleanup.restrict_modes(settings)
    print(cleanup.clean_up(settings).summary(), flush=True)
    if done := publisher.recover(settings):  # before Datasette opens the file: see publisher.recover
        print(done, flush=True)
    cleaner = subprocess.Popen(cleaner_command())
    datasette = subprocess.Popen(
        datasette_command(settings, datasette_port),
        env={
            **os.environ,
            "REGISTRY_INTAKE_URL": settings.intake_url(port),  # read by datasette/plugins/site_links.py
            "REGISTRY_RELEASES": str(settings.releases),  # read by datasette/plugins/downloads.py
        },
    )
    server = IntakeServer(gunicorn_options(settings, port), f"http://{settings.host}:{datasette_port}")
    print(f"Intake app: http://{settings.host}:{port}/", flush=True)
    print(f"Datasette:  http://{settings.host}:{datasette_port}/registry/relationships", flush=True)
    try:
        server.run()  # gunicorn's arbiter: SIGTERM stops it gracefully, SIGINT at once
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        for child in (datasette, cleaner):
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        print("Stopped both servers.", flush=True)


def cleaner_command() -> list[str]:
    """`registry clean --every`, beside the servers: uploads past their retention and
    leftover copies go while the registry serves, not only when it starts. A process of
    its own rather than a thread in gunicorn's arbiter, which forks the workers."""
    return [sys.executable, "-m", "registry.cli", "clean", "--every", str(CLEAN_EVERY_SECONDS)]
