"""Downloads: the whole public database at /registry.db, the releases under /releases/, and
the /downloads page that lists them (datasette/templates/pages/downloads.html).

Datasette refuses to download a database it does not open immutable ("Database download
is forbidden"), since a copy of a file being written may be torn. This route serves a
snapshot instead, made with SQLite's online backup API (one read transaction: a consistent
copy while approvals keep writing) into a cache file in the instance folder, named by the
file's data version (registry.store.versions): made once per change, under a lock that
concurrent requests share, then streamed from an open handle, so a hundred requests cost
one copy and a hundred reads. Older snapshots are removed once a newer one is made.

Releases are the folders `registry publish --out` writes (registry/services/release.py) in
REGISTRY_RELEASES (default <instance>/releases): only regular files directly inside a
release folder are served; names with a slash, a leading dot, or a symbolic link answer 404.

One hook: register_routes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

from datasette.utils.asgi import Response

from datasette import hookimpl
from registry.store.versions import data_version

DATABASE = "registry"
CHUNK = 1 << 20
RELEASE_NAME = re.compile(r"^registry-\d{4}-\d{2}-\d{2}(-\d+)?$")
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
TYPES = {".csv": "text/csv; charset=utf-8", ".json": "application/json", ".db": "application/vnd.sqlite3"}
_lock = asyncio.Lock()
_snapshot: dict[str, Any] = {}  # "key": (path, data version), "file": Path


def database_path(datasette) -> Path | None:
    db = datasette.databases.get(DATABASE)
    return Path(db.path) if db is not None and db.path else None


def releases_folder(datasette) -> Path | None:
    """REGISTRY_RELEASES (set by `registry serve`), else `releases` beside registry.db."""
    if folder := os.environ.get("REGISTRY_RELEASES"):
        return Path(folder)
    path = database_path(datasette)
    return path.parent / "releases" if path else None


def make_snapshot(source: Path, folder: Path, version: int) -> Path:
    """Copy `source` into `folder` with the backup API, in one step (one read transaction)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"registry-{os.getpid()}-{version}.db"
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst, pages=0)  # pages=0: every page in one step, from one snapshot of the source
        # The copy takes registry.db's WAL mode with its pages; a reader's copy should be one
        # self-contained file that opens read-only anywhere, so back to a rollback journal.
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
        src.close()
    partial.replace(target)
    for old in folder.glob("registry-*"):
        if old != target:
            old.unlink(missing_ok=True)
    print(f"downloads: made the snapshot {target.name} of {source.name}", file=sys.stderr, flush=True)
    return target


async def open_snapshot(source: Path) -> tuple[Any, int]:
    """An open handle on a current snapshot and its size (made first if the database changed)."""
    async with _lock:
        version = await asyncio.to_thread(data_version, str(source))
        if _snapshot.get("key") != (str(source), version) or not _snapshot["file"].exists():
            folder = source.parent / "downloads"
            _snapshot["file"] = await asyncio.to_thread(make_snapshot, source, folder, version)
            _snapshot["key"] = (str(source), version)
        handle = open(_snapshot["file"], "rb")  # noqa: SIM115  # closed by send_file; kept open if the file is replaced
        return handle, os.fstat(handle.fileno()).st_size


async def send_file(send, handle, size: int, headers: dict[str, str]) -> None:
    """Stream an open file in chunks read on a thread, then close it."""
    try:
        start = [(b"content-length", str(size).encode())] + [(k.encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": 200, "headers": start})
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        handle.close()


async def whole_database(datasette, request, send):
    source = database_path(datasette)
    if source is None or not source.exists():
        await Response.text("The public database is not there.", status=404).asgi_send(send)
        return
    if datasette.get_database(DATABASE).is_mutable:
        try:
            handle, size = await open_snapshot(source)
        except (OSError, sqlite3.Error) as e:  # a full disk, an unwritable instance folder
            print(f"downloads: no snapshot of {source}: {e}", file=sys.stderr, flush=True)
            message = "The database cannot be copied for download just now; please try again later."
            await Response.text(message, status=503).asgi_send(send)
            return
    else:  # a replica's immutable file (`datasette serve -i`) is its own consistent copy
        handle = open(source, "rb")  # noqa: SIM115  # closed by send_file
        size = os.fstat(handle.fileno()).st_size
    name = f"exposure-registry-{dt.date.today().isoformat()}.db"
    headers = {"content-type": TYPES[".db"], "content-disposition": f'attachment; filename="{name}"'}
    await send_file(send, handle, size, headers)


def release_file_path(folder: Path | None, release: str, name: str) -> Path | None:
    """The file `name` of release `release`, or None unless it is a regular file inside a release folder."""
    if folder is None or not RELEASE_NAME.match(release) or not FILE_NAME.match(name):
        return None
    home = folder / release
    path = home / name
    if home.is_symlink() or path.is_symlink() or not (home / "datapackage.json").is_file() or not path.is_file():
        return None
    if path.resolve().parent != home.resolve() or home.resolve().parent != folder.resolve():
        return None
    return path


async def release_file(datasette, request, send):
    kwargs = request.url_vars
    path = release_file_path(releases_folder(datasette), kwargs["release"], kwargs["name"])
    if path is None:
        await Response.text("No such release file.", status=404).asgi_send(send)
        return
    handle = open(path, "rb")  # noqa: SIM115  # closed by send_file
    size = os.fstat(handle.fileno()).st_size
    headers = {"content-type": TYPES.get(path.suffix, "application/octet-stream")}
    headers["content-disposition"] = f'attachment; filename="{kwargs["release"]}-{path.name}"'
    if path.suffix == ".csv":  # release.py neutralised its text cells: csv_formula_guard.py leaves the file as it is
        headers["x-csv-formulas"] = "neutralised"
    await send_file(send, handle, size, headers)


def list_releases(folder: Path | None) -> list[dict[str, Any]]:
    """The release folders, newest first, each with its files and its Data Package's summary."""
    if folder is None or not folder.is_dir():
        return []
    found = []
    for home in folder.iterdir():
        if not RELEASE_NAME.match(home.name) or home.is_symlink() or not (home / "datapackage.json").is_file():
            continue
        try:
            package = json.loads((home / "datapackage.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        files = sorted(
            ({"name": p.name, "size": p.stat().st_size} for p in home.iterdir()
             if p.is_file() and not p.is_symlink() and FILE_NAME.match(p.name)),
            key=lambda f: (f["name"] != "datapackage.json", f["name"] != "registry.db", f["name"]),
        )  # fmt: skip
        rows = {r.get("path", "").removesuffix(".csv"): r.get("rows") for r in package.get("resources", [])}
        found.append({
            "name": home.name,
            "created": str(package.get("created", ""))[:10],
            "previous": package.get("previous_release"),
            "changes": package.get("changes") or {},
            "relationships": rows.get("relationships"),
            "files": files,
        })  # fmt: skip
    return sorted(found, key=lambda r: (r["created"], len(r["name"]), r["name"]), reverse=True)


def size_label(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


async def downloads_page(datasette, request):
    source = database_path(datasette)
    db = datasette.get_database(DATABASE)
    counts = {}
    for table in ("relationships", "citations"):
        counts[table] = (await db.execute(f"select count(*) from {table}")).first()[0]
    stat = source.stat() if source else None
    context = {
        "database": {
            "size": size_label(stat.st_size) if stat else "",
            "updated": dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if stat else "",
        },
        "counts": counts,
        "releases": list_releases(releases_folder(datasette)),
        "size_label": size_label,
    }
    html = await datasette.render_template("pages/downloads.html", context, request=request, view_name="page")
    return Response.html(html)


@hookimpl
def register_routes():
    return [
        (r"^/registry\.db$", whole_database),
        (r"^/downloads$", downloads_page),
        (r"^/releases/(?P<release>[^/]+)/(?P<name>[^/]+)$", release_file),
    ]
