"""Fixtures: a fresh instance folder per test, built with the real CLI."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry import create_app
from registry.cli import cli
from registry.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def _shared_folder() -> Path:
    """Find ../shared (source documents and real data sets); tests fail loudly without it."""
    candidates = [Path(p) for p in [os.environ.get("REGISTRY_SHARED_DIR")] if p]
    candidates += [ROOT.parent / "shared", Path("/work/shared")]
    for folder in candidates:
        if (folder / "seeds").is_dir():
            return folder
    raise RuntimeError(f"shared data folder not found; looked in {', '.join(map(str, candidates))}")


SHARED = _shared_folder()


def invoke(*args: str):
    """Run a registry command and return click's result."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def dump(path: Path) -> list[str]:
    """Return the whole content of a database as SQL statements."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance initialised, seeded and published once per session, to copy from."""
    folder = tmp_path_factory.mktemp("seeded")
    mp = pytest.MonkeyPatch()
    mp.setenv("REGISTRY_INSTANCE", str(folder))
    try:
        for command in (("init",), ("seed",), ("publish",)):
            result = invoke(*command)
            assert result.exit_code == 0, result.output
    finally:
        mp.undo()
    return folder


@pytest.fixture(autouse=True)
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings pointing at an empty instance folder (every test gets one: none writes to ./instance)."""
    monkeypatch.setenv("REGISTRY_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.delenv("REGISTRY_SEED", raising=False)
    return load_settings()


@pytest.fixture
def seeded(instance: Settings, seeded_template: Path) -> Settings:
    """An instance with the seed data loaded and published."""
    shutil.copytree(seeded_template, instance.instance)
    return instance


@pytest.fixture
def app(seeded: Settings):
    return create_app({"TESTING": True, "DATASETTE_URL": "http://datasette.test"})


@pytest.fixture
def client(app):
    return app.test_client()
