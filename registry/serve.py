"""`registry serve`: the intake app under waitress and Datasette as a child process."""

from __future__ import annotations

import signal
import subprocess
import sys
from types import FrameType

import waitress

from registry import create_app
from registry.config import Settings
from registry.store.database import DatabaseError


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


def serve_both(settings: Settings, port: int, datasette_port: int) -> None:
    """Run both servers until SIGINT or SIGTERM, then stop both."""
    if not settings.registry_db.exists():
        raise DatabaseError(f"{settings.registry_db}: not found (run `registry init` and `registry publish`)")
    app = create_app({"DATASETTE_URL": f"http://{settings.host}:{datasette_port}"})
    server = waitress.create_server(app, host=settings.host, port=port, threads=8)
    datasette = subprocess.Popen(datasette_command(settings, datasette_port))

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"Intake app: http://{settings.host}:{port}/", flush=True)
    print(f"Datasette:  http://{settings.host}:{datasette_port}/registry/relationships", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        datasette.terminate()
        try:
            datasette.wait(timeout=10)
        except subprocess.TimeoutExpired:
            datasette.kill()
        print("Stopped both servers.", flush=True)
