"""Settings as an operations team gives them: the database URL a provider hands out, the data folder
whatever the working directory, one database password per role, the role prefix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from services import cli
from services.kernel.settings import Settings, normalise_database_url
from services.platform import Platform
from tests.conftest import SERVER_URL


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("RISCOSSA_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
@pytest.mark.asyncio
async def test_a_plain_postgresql_url_is_accepted(monkeypatch: pytest.MonkeyPatch, scheme: str) -> None:
    _clean_env(monkeypatch)
    plain = SERVER_URL.replace("postgresql+asyncpg://", f"{scheme}://")
    monkeypatch.setenv("RISCOSSA_DATABASE_URL", plain)
    settings = Settings.from_env()
    assert settings.database_url == SERVER_URL
    engine = create_async_engine(settings.database_url)
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT 1"))).scalar_one() == 1
    await engine.dispose()


def test_libpq_sslmode_becomes_asyncpg_ssl_and_other_urls_stay() -> None:
    assert (
        normalise_database_url("postgres://u:p%40w@db.example.it:6543/riscossa?sslmode=require")
        == "postgresql+asyncpg://u:p%40w@db.example.it:6543/riscossa?ssl=require"
    )
    for kept in ("postgresql+asyncpg://u@h/d", "", "sqlite:///x.db"):
        assert normalise_database_url(kept) == kept


@pytest.mark.parametrize("data_dir", [None, "relative/data"])
def test_the_data_folder_and_local_storage_are_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: str | None
) -> None:
    """`serve` and `worker` of a service started from two working directories share the storage."""
    _clean_env(monkeypatch)
    if data_dir:
        monkeypatch.setenv("RISCOSSA_DATA_DIR", data_dir)
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env()
    expected = tmp_path / (data_dir or ".riscossa")
    assert settings.data_dir == expected and settings.data_dir.is_absolute()
    assert settings.storage_dir == expected / "storage"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.setenv("RISCOSSA_DATA_DIR", str(settings.data_dir))
    assert Settings.from_env().storage_dir == settings.storage_dir


def test_each_role_has_its_own_password_falling_back_to_the_shared_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("RISCOSSA_DATABASE_URL", "postgresql://owner:secret@db:5432/riscossa")
    monkeypatch.setenv("RISCOSSA_APP_DB_PASSWORD", "shared")
    monkeypatch.setenv("RISCOSSA_DB_PASSWORD_INGEST", "ingest-own")
    monkeypatch.setenv("RISCOSSA_DB_PASSWORD_INGEST_RELAY", "ingest-relay-own")
    monkeypatch.setenv("RISCOSSA_ROLE_PREFIX", "staging")
    settings = Settings.from_env()
    assert settings.db_password("ingest") == "ingest-own"
    assert settings.db_password("ingest", relay=True) == "ingest-relay-own"
    assert settings.db_password("contact") == "shared"
    platform = Platform(settings, cast(Any, None), cast(Any, None), cast(Any, None))
    ingest = sa.engine.make_url(platform.app_url("ingest"))
    relay = sa.engine.make_url(platform.relay_url("ingest"))
    contact = sa.engine.make_url(platform.app_url("contact"))
    assert (ingest.username, ingest.password) == ("staging_ingest", "ingest-own")
    assert (relay.username, relay.password) == ("staging_ingest_relay", "ingest-relay-own")
    assert (contact.username, contact.password, contact.host) == ("staging_contact", "shared", "db")


def test_production_needs_a_password_for_every_role_it_migrates(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    only_some = Settings(mode="production", db_passwords={"ingest": "x"})
    assert "ingest" not in only_some.default_db_passwords()
    assert "ingest_relay" in only_some.default_db_passwords()
    _clean_env(monkeypatch)
    monkeypatch.setenv("RISCOSSA_MODE", "production")
    monkeypatch.setenv("RISCOSSA_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("RISCOSSA_DATABASE_URL", "postgresql://owner@127.0.0.1:1/unused")
    monkeypatch.setenv("RISCOSSA_DB_PASSWORD_INGEST", "x")
    with pytest.raises(SystemExit, match="ingest_relay"):
        cli.main(["migrate"])


@pytest.mark.parametrize("prefix", ["Riscossa", "1abc", "a-b", "x" * 41, ""])
def test_a_role_prefix_that_is_not_a_plain_identifier_is_refused(prefix: str) -> None:
    with pytest.raises(RuntimeError, match="RISCOSSA_ROLE_PREFIX"):
        Settings(mode="dev", secret_key="k" * 40, role_prefix=prefix).check()
