"""Settings.from_env: the documented environment variables and their defaults."""
import pytest
from sqlalchemy.engine import make_url

from questions.config import Settings


def test_defaults(tmp_path):
    settings = Settings.from_env({"INSTANCE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'callit.sqlite3'}"
    assert (settings.host, settings.port) == ("127.0.0.1", 5000)
    assert settings.redis_url is None
    assert settings.public_url is None


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = Settings.from_env({"INSTANCE_DIR": str(tmp_path)}).secret_key
    assert len(first) >= 32
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert Settings.from_env({"INSTANCE_DIR": str(tmp_path)}).secret_key == first
    assert Settings.from_env({"INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "given"}).secret_key == "given"


def test_environment_overrides(tmp_path):
    settings = Settings.from_env({
        "INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "k", "HOST": "0.0.0.0", "PORT": "8080",
        "REDIS_URL": "redis://127.0.0.1:6379/0", "PUBLIC_URL": "http://192.0.2.10:8080",
        "ASYNC_MODE": "threading", "RATE_LIMIT_JOIN_PER_MINUTE": "5",
        "RATE_LIMIT_CREATE_PER_MINUTE": "7",
    })
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.public_url == "http://192.0.2.10:8080"
    assert settings.async_mode == "threading"
    assert (settings.rate_limit_join_per_minute, settings.rate_limit_create_per_minute) == (5, 7)


@pytest.mark.parametrize("url", ["postgres://u@db.example/callit", "postgresql://u@db.example/callit"])
def test_postgres_urls_use_an_installed_driver(url):
    """Both spellings work, with the driver in requirements.txt (psycopg2), not SQLAlchemy's default."""
    settings = Settings.from_env({"DATABASE_URL": url, "SECRET_KEY": "k"})
    parsed = make_url(settings.database_url)
    assert parsed.get_backend_name() == "postgresql"
    assert (parsed.host, parsed.database) == ("db.example", "callit")
    parsed.get_dialect().import_dbapi()  # raises ModuleNotFoundError if the driver is missing
