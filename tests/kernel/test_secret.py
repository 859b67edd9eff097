"""The secret that signs identities, sessions and `/files` links: the built-in development string is
public, so it is refused everywhere; dev and embedded mode generate a random one per data folder."""

from __future__ import annotations

import stat
import time
import uuid
from pathlib import Path

import pytest

from services import cli
from services.kernel.settings import Settings
from services.kernel.storage import LocalStorage

PUBLIC_DEV_SECRET = "dev-insecure-secret-change-me"  # the string the code once shipped


def _dev_env(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    for name in ("RISCOSSA_SECRET_KEY", "RISCOSSA_MODE", "RISCOSSA_DEV_LOGIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RISCOSSA_DATA_DIR", str(data_dir))
    monkeypatch.setenv("RISCOSSA_DATABASE_URL", "postgresql+asyncpg://riscossa@127.0.0.1/unused")


@pytest.mark.parametrize("mode", ["dev", "embedded", "production"])
def test_the_public_development_secret_is_refused_in_every_mode(mode: str) -> None:
    settings = Settings(mode=mode, dev_login=False, secret_key=PUBLIC_DEV_SECRET, app_db_password="x")
    with pytest.raises(RuntimeError, match="RISCOSSA_SECRET_KEY"):
        settings.check()


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(RuntimeError, match="RISCOSSA_SECRET_KEY"):
        Settings(mode="dev", secret_key="").check()


def test_dev_mode_generates_a_private_secret_per_data_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _dev_env(monkeypatch, tmp_path / "one")
    first, _ = cli._settings(embedded_db=False)
    again, _ = cli._settings(embedded_db=False)
    _dev_env(monkeypatch, tmp_path / "two")
    other, _ = cli._settings(embedded_db=False)
    assert first.secret_key != PUBLIC_DEV_SECRET and len(first.secret_key) >= 43
    assert again.secret_key == first.secret_key, "read back on later starts"
    assert other.secret_key != first.secret_key
    stored = tmp_path / "one" / "secret"
    assert stored.read_text().strip() == first.secret_key
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_a_files_link_signed_with_the_public_string_is_refused_in_dev(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _dev_env(monkeypatch, tmp_path / "data")
    settings, _ = cli._settings(embedded_db=False)
    served = LocalStorage(tmp_path / "storage", settings.secret_key)
    key = f"tenants/{uuid.uuid4()}/relazioni/r.pdf"
    expires = int(time.time()) + 600
    forged = LocalStorage(tmp_path / "storage", PUBLIC_DEV_SECRET)._sign(key, expires)
    with pytest.raises(PermissionError):
        served.verify(key, str(expires), forged)


def test_an_explicit_secret_wins_and_writes_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _dev_env(monkeypatch, tmp_path / "data")
    monkeypatch.setenv("RISCOSSA_SECRET_KEY", "set-by-the-operator-" + uuid.uuid4().hex)
    settings, _ = cli._settings(embedded_db=False)
    assert settings.secret_key.startswith("set-by-the-operator-")
    assert not (tmp_path / "data" / "secret").exists()
