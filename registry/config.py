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

    @property
    def intake_db(self) -> Path:
        return self.instance / "intake.db"

    @property
    def registry_db(self) -> Path:
        return self.instance / "registry.db"

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
        max_upload_mb=_port(env, "REGISTRY_MAX_UPLOAD_MB", 50),
    )


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, str(default))
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SettingsError(f"{name}={text!r} is not a port number (1 to 65535)")
    return int(text)
