"""The uploads folder: each upload's file and its metadata, how much one address holds,
and what is kept once an upload is sent for review.

An upload is two files, `uploads/<token><suffix>` (the list, under a name of our making)
and `uploads/<token>.meta.json` (its original name, the mapping, the first rows read once
at upload, the submitter's name and email, when it came and a keyed hash of who sent it).
They are private (0600, in a 0700 folder) and they do not stay: `registry/services/cleanup.py`
deletes an upload not sent for review after REGISTRY_UPLOAD_RETENTION_HOURS, and sending
it (`mark_sent`) deletes the file and the contact details at once, since the submission
in intake.db holds the rows and the contact from then on.

Anonymous uploads filled a 24 MB instance disk in 7 requests (issue 18, finding 5): so
one address may hold only so many unsent uploads (`held_by`), and no upload may take the
disk below REGISTRY_DISK_RESERVE_MB of free space (`room_for`), which is left to intake.db.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from registry.config import Settings
from registry.store.connection import StorageFullError

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
META = ".meta.json"
MB = 1024 * 1024
FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass(frozen=True)
class Held:
    """What one address holds in the uploads folder: unsent uploads and their bytes."""

    count: int
    size: int


def folder(settings: Settings) -> Path:
    path = settings.instance / "uploads"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def meta_path(settings: Settings, token: str) -> Path:
    return folder(settings) / f"{token}{META}"


def file_path(settings: Settings, token: str, suffix: str) -> Path:
    return folder(settings) / f"{token}{suffix}"


def holder(secret: str | bytes, address: str) -> str:
    """Who sent an upload, as a keyed hash of the address: enough to count what one
    address holds, without keeping contributors' addresses on disk."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, address.encode(), hashlib.sha256).hexdigest()[:24]


def read_meta(settings: Settings, token: str) -> dict[str, Any] | None:
    """The upload's metadata, or None when there is no such upload (or no longer)."""
    if not TOKEN.match(token):
        return None
    try:
        meta: dict[str, Any] = json.loads(meta_path(settings, token).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return meta


def write_meta(settings: Settings, token: str, meta: dict[str, Any]) -> None:
    """Replace the metadata whole (a reader never sees half a file); a full disk is a
    StorageFullError (507), never a half-written file."""
    target = meta_path(settings, token)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with private_file(temporary) as out:
            out.write(json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        temporary.replace(target)
    except OSError as e:
        temporary.unlink(missing_ok=True)
        raise _full_or(e) from e


def save_file(settings: Settings, token: str, suffix: str, stream: BinaryIO) -> Path:
    """Write the uploaded file; on a full disk delete what was written and raise StorageFullError."""
    path = file_path(settings, token, suffix)
    try:
        with private_file(path) as out:
            shutil.copyfileobj(stream, out)
    except OSError as e:
        path.unlink(missing_ok=True)
        raise _full_or(e) from e
    return path


def private_file(path: Path) -> BinaryIO:
    """A new file only its owner may read (0600), whatever the process's umask."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")


def _full_or(error: OSError) -> Exception:
    if error.errno in FULL:
        return StorageFullError(f"uploads: {error.strerror}")
    return error


def room_for(settings: Settings, size: int) -> bool:
    """Whether an upload of `size` bytes leaves the disk REGISTRY_DISK_RESERVE_MB free."""
    return shutil.disk_usage(folder(settings)).free - size >= settings.disk_reserve_mb * MB


def held_by(settings: Settings, who: str) -> Held:
    """The unsent uploads one address (its `holder` hash) holds now."""
    count = size = 0
    for path in folder(settings).glob(f"*{META}"):
        meta = read_meta(settings, path.name.removesuffix(META))
        if meta and meta.get("holder") == who and not meta.get("reference"):
            count += 1
            size += int(meta.get("size") or 0)
    return Held(count, size)


def mark_sent(settings: Settings, token: str, reference: str) -> None:
    """The upload became a submission: delete its file and keep only what answers a
    second click on "send" (the reference), without the submitter's name and email."""
    meta = read_meta(settings, token)
    if meta is None:
        return
    file_path(settings, token, meta["suffix"]).unlink(missing_ok=True)
    kept = {"reference": reference, "created_at": meta.get("created_at"), "name": meta.get("name"),
            "suffix": meta.get("suffix"), "mapping": meta.get("mapping")}  # fmt: skip
    write_meta(settings, token, kept)


def delete(settings: Settings, token: str, meta: dict[str, Any] | None) -> int:
    """Delete an upload's file and metadata; return the bytes freed."""
    freed = 0
    paths = [meta_path(settings, token)]
    if meta and meta.get("suffix") is not None:
        paths.append(file_path(settings, token, str(meta["suffix"])))
    for path in paths:
        try:
            freed += path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            pass
    return freed
