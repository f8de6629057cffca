"""The secret key: the environment's, else one kept in the instance folder, and none at all refused in production."""

from __future__ import annotations

import stat
import subprocess
import sys
import time

import pytest

from heritage_map import create_app
from heritage_map.config import from_env, secret_key
from heritage_map.errors import SetupError

UNREACHABLE = "postgresql://nobody@/nodb?host=/nonexistent-socket-dir"


def test_a_secret_key_in_the_environment_is_used_and_nothing_is_written(tmp_path):
    for env in ({"SECRET_KEY": "from-env"}, {"SECRET_KEY": "from-env", "DATABASE_URL": UNREACHABLE}):
        assert secret_key(from_env(tmp_path, env), tmp_path) == "from-env"
    assert list(tmp_path.iterdir()) == []


def test_the_embedded_default_makes_a_key_once_readable_by_its_owner_only_and_reuses_it(tmp_path):
    instance = tmp_path / "instance"  # not there yet, as on a first start
    first = secret_key(from_env(instance, {}), instance)
    kept = instance / "secret_key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert len(first) == 64 and kept.read_text() == first + "\n"
    assert secret_key(from_env(instance, {}), instance) == first
    assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no temporary file left behind


def test_processes_starting_at_once_on_the_embedded_default_agree_on_one_key(tmp_path):
    kept, ready, go = tmp_path / "instance" / "secret_key", tmp_path / "ready", tmp_path / "go"
    ready.mkdir()
    # Each process imports, says it is ready, then waits for the word, so that they all reach the key together.
    code = ("import os, sys, time; from pathlib import Path; from heritage_map.config import kept_secret_key\n"
            "(Path(sys.argv[2]) / str(os.getpid())).touch()\n"
            "while not os.path.exists(sys.argv[3]): time.sleep(0.0002)\n"
            "print(kept_secret_key(Path(sys.argv[1])))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(kept), str(ready), str(go)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(6)]
    deadline = time.monotonic() + 60
    while len(list(ready.iterdir())) < len(procs) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    done = [proc.communicate(timeout=60) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in done]
    assert {out.strip() for out, _ in done} == {kept.read_text().strip()}


def test_an_empty_kept_key_is_refused_naming_its_file(tmp_path):
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(SetupError, match=f"^{tmp_path / 'secret_key'} is empty"):
        secret_key(from_env(tmp_path, {}), tmp_path)


def test_an_app_on_a_database_url_without_a_secret_key_fails_as_it_starts_naming_the_setting(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)  # never reached: the key is checked first
    monkeypatch.setenv("HERITAGE_MAP_AUTO_SETUP", "1")  # which would connect
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(SetupError, match="^SECRET_KEY is not set: .*set it in the environment"):
        create_app()


def test_an_app_on_a_database_url_signs_with_the_environment_s_key(monkeypatch, engine):
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    monkeypatch.setenv("SECRET_KEY", "from-env")
    assert create_app({"AUTO_SETUP": False}, engine=engine).secret_key == "from-env"


def test_an_app_that_serves_no_page_needs_no_secret_key(monkeypatch, engine):
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert create_app({"AUTO_SETUP": False, "SECRET_KEY_REQUIRED": False}, engine=engine).secret_key is None


def test_the_map_s_tile_threshold_is_read_from_the_environment_and_a_bad_one_is_refused(tmp_path):
    assert from_env(tmp_path, {})["MAP_TILES_ABOVE"] == 2000
    assert from_env(tmp_path, {"HERITAGE_MAP_MAP_TILES_ABOVE": "500"})["MAP_TILES_ABOVE"] == 500
    with pytest.raises(SetupError, match="^HERITAGE_MAP_MAP_TILES_ABOVE must be a whole number \\(got '5k'\\)$"):
        from_env(tmp_path, {"HERITAGE_MAP_MAP_TILES_ABOVE": "5k"})


def test_the_tile_cache_s_size_is_a_setting_and_zero_keeps_no_tile(engine, tmp_path):
    assert from_env(tmp_path, {"HERITAGE_MAP_TILE_CACHE_MB": "0"})["TILE_CACHE_MB"] == 0
    app = create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test", "TILE_CACHE_MB": 0}, engine=engine)
    cache = app.extensions["heritage_map.tile_cache"]
    assert cache.put("address", 1, b"tile") == b"tile" and cache.get("address") is None
    assert create_app({"TESTING": True, "AUTO_SETUP": False, "SECRET_KEY": "test"},
                      engine=engine).extensions["heritage_map.tile_cache"].capacity == 64 * 2**20
