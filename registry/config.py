"""Settings, read from REGISTRY_* environment variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class SettingsError(ValueError):
    """A REGISTRY_* variable holds a value the registry cannot use."""


@dataclass(frozen=True)
class Settings:
    instance: Path
    seed_dir: Path
    datasette_dir: Path
    datasette_url: str
    intake_port: int
    datasette_port: int
    host: str
    https: bool = False
    max_upload_mb: int = 50
    read_memory_mb: int = 150  # what opening one upload may cost (registry.importer.budget)
    read_cpu_seconds: int = 2
    submit_limit: str = "30 per minute;300 per hour"
    login_limit: str = "10 per minute;50 per hour"
    login_account_limit: str = "5 per minute;20 per hour"
    login_device_limit: str = "5 per minute;20 per hour"
    session_hours: int = 8  # a reviewer's session ends this long after login, however active
    session_idle_minutes: int = 60  # ... or after this long without a request (0: never)
    ratelimit_uri: str = ""
    proxies: int = 0
    workers: int = 2
    threads: int = 4
    max_db_mb: int = 0  # 0: no cap on intake.db beyond the disk's own size
    public_intake_url: str = ""  # where Datasette's pages link to the intake app; "": http://HOST:PORT
    releases_dir: Path | None = None  # releases the public site lists and serves; None: <instance>/releases
    upload_retention_hours: int = 24  # an upload not sent for review, and a job's state, go after this
    upload_quota_mb: int = 200  # bytes of unsent uploads one address may hold at once
    upload_quota_files: int = 10  # unsent uploads one address may hold at once
    disk_reserve_mb: int = 100  # uploads never leave less free space than this on the instance's disk
    mapping_limit: str = "60 per minute;600 per hour"  # views of an upload's mapping page, per address
    preview_limit: str = "10 per minute;100 per hour"  # previews and submissions of uploads, per address

    def intake_url(self, port: int | None = None) -> str:
        """The intake app's address as readers' links give it (REGISTRY_INTAKE_URL, else the
        host and the port it is served on)."""
        return self.public_intake_url or f"http://{self.host}:{port or self.intake_port}"

    @property
    def intake_db(self) -> Path:
        return self.instance / "intake.db"

    @property
    def registry_db(self) -> Path:
        return self.instance / "registry.db"

    @property
    def releases(self) -> Path:
        """The folder of releases (`registry publish --out`) that the public site lists and serves."""
        return self.releases_dir or self.instance / "releases"

    @property
    def ratelimit_storage(self) -> str:
        """Where rate-limit counters live: a `limits` storage URI, by default a SQLite file
        in the instance folder that every worker process shares."""
        return self.ratelimit_uri or f"registry-sqlite://{self.instance / 'ratelimit.db'}"

    def secret_key(self) -> str:
        """Return REGISTRY_SECRET_KEY, or a key generated once and kept in the instance folder."""
        if key := os.environ.get("REGISTRY_SECRET_KEY"):
            return key
        path = self.instance / "secret_key"
        if not path.exists():
            self.instance.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment (REGISTRY_INSTANCE, REGISTRY_PORT...)."""
    env = os.environ if env is None else env
    host = env.get("REGISTRY_HOST", "127.0.0.1")
    datasette_port = _port(env, "REGISTRY_DATASETTE_PORT", 8001)
    return Settings(
        instance=Path(env.get("REGISTRY_INSTANCE", "instance")).resolve(),
        seed_dir=Path(env.get("REGISTRY_SEED", PROJECT_ROOT / "seed")).resolve(),
        datasette_dir=Path(env.get("REGISTRY_DATASETTE_DIR", PROJECT_ROOT / "datasette")).resolve(),
        datasette_url=env.get("REGISTRY_DATASETTE_URL", f"http://{host}:{datasette_port}").rstrip("/"),
        intake_port=_port(env, "REGISTRY_PORT", 5000),
        datasette_port=datasette_port,
        host=host,
        https=env.get("REGISTRY_HTTPS", "") in ("1", "true", "yes"),
        max_upload_mb=_count(env, "REGISTRY_MAX_UPLOAD_MB", 50, most=100_000, least=1),
        read_memory_mb=_count(env, "REGISTRY_READ_MEMORY_MB", 150, most=100_000, least=16),
        read_cpu_seconds=_count(env, "REGISTRY_READ_CPU_SECONDS", 2, most=3600, least=1),
        submit_limit=_limit(env, "REGISTRY_SUBMIT_LIMIT", Settings.submit_limit),
        login_limit=_limit(env, "REGISTRY_LOGIN_LIMIT", Settings.login_limit),
        login_account_limit=_limit(env, "REGISTRY_LOGIN_ACCOUNT_LIMIT", Settings.login_account_limit),
        login_device_limit=_limit(env, "REGISTRY_LOGIN_DEVICE_LIMIT", Settings.login_device_limit),
        session_hours=_count(env, "REGISTRY_SESSION_HOURS", Settings.session_hours, most=720, least=1),
        session_idle_minutes=_count(env, "REGISTRY_SESSION_IDLE_MINUTES", Settings.session_idle_minutes, most=43_200),
        ratelimit_uri=env.get("REGISTRY_RATELIMIT_STORAGE", ""),
        proxies=_count(env, "REGISTRY_PROXIES", 0),
        workers=_count(env, "REGISTRY_WORKERS", default_workers(), most=64, least=1),
        threads=_count(env, "REGISTRY_THREADS", 4, most=64, least=1),
        max_db_mb=_count(env, "REGISTRY_MAX_DB_MB", 0, most=10_000_000),
        public_intake_url=env.get("REGISTRY_INTAKE_URL", "").rstrip("/"),
        releases_dir=Path(env["REGISTRY_RELEASES"]).resolve() if env.get("REGISTRY_RELEASES") else None,
        upload_retention_hours=_count(env, "REGISTRY_UPLOAD_RETENTION_HOURS", 24, most=24 * 366),
        upload_quota_mb=_count(env, "REGISTRY_UPLOAD_QUOTA_MB", 200, most=10_000_000, least=1),
        upload_quota_files=_count(env, "REGISTRY_UPLOAD_QUOTA_FILES", 10, most=100_000, least=1),
        disk_reserve_mb=_count(env, "REGISTRY_DISK_RESERVE_MB", 100, most=10_000_000),
        mapping_limit=_limit(env, "REGISTRY_MAPPING_LIMIT", Settings.mapping_limit),
        preview_limit=_limit(env, "REGISTRY_PREVIEW_LIMIT", Settings.preview_limit),
    )


def default_workers() -> int:
    """gunicorn's rule, (2 x cores) + 1 worker processes: 5 on two cores.

    A worker's threads share one interpreter lock, so a request that computes for a while
    (an approval, the review queue) makes the posts beside it in the same process wait.
    With more processes than cores, the kernel shares the cores between them instead
    (benchmarks/load.py and the README's "Load" give the figures)."""
    return 2 * (os.cpu_count() or 1) + 1


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, str(default))
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SettingsError(f"{name}={text!r} is not a port number (1 to 65535)")
    return int(text)


def _count(env: Mapping[str, str], name: str, default: int, most: int = 10, least: int = 0) -> int:
    text = env.get(name, str(default))
    if not text.isdigit() or not least <= int(text) <= most:
        raise SettingsError(f"{name}={text!r} is not a whole number from {least} to {most}")
    return int(text)


def _limit(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate limit in `limits`' notation ("30 per minute;300 per hour"), checked now."""
    from limits import parse_many

    text = env.get(name, default)
    try:
        parse_many(text)
    except ValueError as e:
        raise SettingsError(f"{name}={text!r} is not a rate limit such as '30 per minute;300 per hour'") from e
    return text
