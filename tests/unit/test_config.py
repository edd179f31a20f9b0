from pathlib import Path

import pytest
from pydantic import ValidationError

from lealtad.config import Settings


def test_production_refuses_to_start_without_a_real_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(env="prod", data_dir=tmp_path, database_url="postgresql+psycopg://x/y")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(env="prod", secret_key="short", database_url="postgresql+psycopg://x/y")


def test_production_needs_a_database_url(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(env="prod", secret_key="k" * 40, data_dir=tmp_path)


def test_development_keeps_one_random_secret_in_the_data_directory(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).effective_secret_key
    again = Settings(data_dir=tmp_path).effective_secret_key
    assert first == again
    assert len(first) >= 32
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0
    assert Settings(data_dir=tmp_path / "other").effective_secret_key != first


def test_settings_come_from_lealtad_environment_variables(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LEALTAD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LEALTAD_PORT", "9123")
    settings = Settings()
    assert settings.port == 9123
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'lealtad.db'}"
    monkeypatch.setenv("LEALTAD_PORT", "not-a-port")
    with pytest.raises(ValidationError):
        Settings()
