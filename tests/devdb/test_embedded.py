"""The embedded cluster: start, reuse, restart, crash and stale-lock recovery, stop, status, paths and the CLI."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import make_url, text

from heritage_map.cli import main
from heritage_map.config import default_data_dir
from heritage_map.db import make_engine
from heritage_map.devdb.cluster import MAX_SOCKET_DIR, SERVICE_USER, Cluster
from heritage_map.errors import SetupError

AS_ROOT = os.geteuid() == 0


@pytest.fixture
def datadir():
    """Yield a short data folder path under /tmp that the server's user can reach; stop and remove it after."""
    base = Path(tempfile.mkdtemp(prefix="hm-"))
    base.chmod(0o755)  # as root, the server runs as `postgres`, which must walk down to its folder
    yield base / "pgdata"
    try:
        for pidfile in base.rglob("postmaster.pid"):  # every cluster a test started in there
            Cluster(pidfile.parent).stop()
    finally:
        shutil.rmtree(base)


@pytest.fixture
def cluster(datadir):
    return Cluster(datadir)


def sql(url: str, statement: str) -> list | None:
    """Run one statement in its own transaction; return its rows, if it has any."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def alive(pid: int) -> bool:
    """Tell whether process `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_until(condition, timeout: float = 10) -> None:
    """Poll `condition` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {condition}"
        time.sleep(0.05)


def as_server_user() -> dict:
    """Return Popen arguments that run a process as the user the server runs as."""
    return {"user": SERVICE_USER, "group": SERVICE_USER, "extra_groups": []} if AS_ROOT else {}


@contextmanager
def bystander():
    """Run an unrelated `sleep` that the server's user could signal; yield the process."""
    proc = subprocess.Popen(["sleep", "60"], **as_server_user())
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def write_lock(path: Path, pid: int) -> None:
    """Write a PostgreSQL lock file naming `pid`, owned like the server's own."""
    path.write_text(f"{pid}\n{path.parent}\n")
    if AS_ROOT:
        shutil.chown(path, SERVICE_USER, SERVICE_USER)


def test_a_new_cluster_serves_postgis_on_a_socket_in_its_data_folder_and_not_on_tcp(cluster):
    url = cluster.ensure_database()
    assert sql(url, "SELECT postgis_version()")[0][0]
    assert sql(url, "SHOW listen_addresses") == [("",)]
    assert (cluster.datadir / ".s.PGSQL.5432").is_socket()


def test_a_cluster_whose_conf_lacks_the_socket_settings_still_does_not_listen_on_tcp(cluster):
    cluster.init()
    # As if set-up had been cut short between initdb and writing these settings.
    (cluster.datadir / "postgresql.auto.conf").write_text("")
    cluster.start(timeout=15)
    url = cluster.url("postgres")
    assert sql(url, "SHOW listen_addresses") == [("",)]
    assert sql(url, "SHOW unix_socket_directories") == [(f'"{cluster.datadir}"',)]  # the only socket


def run_at_once(count: int, code: str, env: dict[str, str]) -> list[subprocess.CompletedProcess]:
    """Run `count` Python processes executing `code` at the same moment; return them once all have ended."""
    env = {**os.environ, **env}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(count)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_three_processes_starting_one_new_cluster_at_once_all_succeed(datadir, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    code = "from heritage_map.cli import main; main(['db', 'start'])"
    results = run_at_once(3, code, {"HERITAGE_MAP_DATA_DIR": str(datadir)})
    for result in results:
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"running: {datadir}"), result.stdout
    cluster = Cluster(datadir)
    url = cluster.url()
    assert sql(url, "SELECT postgis_version()")[0][0]
    assert sql(url, "SHOW listen_addresses") == [("",)]
    assert sql(url, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'checkpointer'") == [(1,)]
    assert alive(cluster.server_pid())


def test_app_processes_setting_up_one_empty_database_at_once_seed_it_once(cluster):
    url = cluster.ensure_database("race")
    code = "from heritage_map import create_app; create_app()"
    results = run_at_once(3, code, {"DATABASE_URL": url, "HERITAGE_MAP_AUTO_SETUP": "1", "SECRET_KEY": "test"})
    for result in results:
        assert result.returncode == 0, result.stderr
    assert sql(url, "SELECT count(*) FROM sites") == [(33,)]
    assert sql(url, "SELECT count(*) FROM alembic_version") == [(1,)]


def test_starting_twice_reuses_the_running_server(cluster):
    cluster.start()
    first = cluster.server_pid()
    cluster.start()
    assert cluster.server_pid() == first
    assert alive(first)


def test_data_survive_a_stop_and_a_start(cluster):
    url = cluster.url("postgres")
    cluster.start()
    sql(url, "CREATE TABLE kept (name text)")
    sql(url, "INSERT INTO kept VALUES ('Bab El Kasbah')")
    cluster.stop()
    assert not cluster.running()
    cluster.start()
    assert sql(url, "SELECT name FROM kept") == [("Bab El Kasbah",)]


def test_start_recovers_after_the_server_is_killed_and_keeps_the_data(cluster):
    url = cluster.url("postgres")
    cluster.start()
    sql(url, "CREATE TABLE kept AS SELECT 'Dar Baroud' AS name")
    killed = cluster.server_pid()
    os.kill(killed, signal.SIGKILL)
    wait_until(lambda: not alive(killed))
    assert not cluster.running()
    assert cluster.server_pid() == killed  # the pid file is stale now
    cluster.start(timeout=20)
    assert cluster.server_pid() != killed
    assert sql(url, "SELECT name FROM kept") == [("Dar Baroud",)]


@pytest.mark.parametrize("who", ["pytest itself", "a sleep run as the server's user"])
def test_start_recovers_from_stale_lock_files_naming_a_live_process_that_is_not_postgres(cluster, who):
    cluster.start()
    cluster.stop()
    with bystander() as proc:
        pid = os.getpid() if who == "pytest itself" else proc.pid
        write_lock(cluster.pidfile, pid)
        write_lock(cluster.datadir / ".s.PGSQL.5432.lock", pid)  # a crash leaves it; PostgreSQL checks it too
        cluster.start(timeout=10)
        assert cluster.running()
        assert cluster.server_pid() not in (pid, None)
        assert proc.poll() is None


def test_stop_on_a_stale_pid_file_removes_it_and_signals_nobody(cluster):
    cluster.start()
    cluster.stop()
    with bystander() as proc:
        write_lock(cluster.pidfile, proc.pid)
        cluster.stop()
        assert not cluster.pidfile.exists()
        time.sleep(0.1)
        assert proc.poll() is None, "stop() signalled the process a stale pid file named"


def test_stop_is_clean_and_stopping_a_stopped_cluster_does_nothing(cluster):
    cluster.start()
    pid = cluster.server_pid()
    cluster.stop()
    assert not cluster.running()
    assert not cluster.pidfile.exists()
    wait_until(lambda: not alive(pid))
    cluster.stop()
    assert not cluster.running()
    assert cluster.status().startswith("stopped")


def test_status_says_no_cluster_then_running_then_stopped(cluster):
    assert cluster.status().startswith(f"no cluster in {cluster.datadir}")
    cluster.start()
    assert cluster.status().startswith(f"running: {cluster.datadir}")
    cluster.stop()
    assert cluster.status().startswith(f"stopped: {cluster.datadir}")


def test_a_data_folder_path_too_long_for_a_socket_is_refused_naming_the_limit():
    Cluster("/tmp/" + "x" * (MAX_SOCKET_DIR - len("/tmp/")))  # exactly at the limit: accepted
    for name in ("x" * MAX_SOCKET_DIR, "é" * (MAX_SOCKET_DIR // 2)):  # characters or bytes over it
        with pytest.raises(SetupError, match=f"> {MAX_SOCKET_DIR} bytes"):
            Cluster("/tmp/" + name)


def test_a_data_folder_path_with_a_comma_is_refused_as_libpq_cannot_reach_it():
    with pytest.raises(SetupError, match="comma"):
        Cluster("/tmp/a,b")


def test_a_data_folder_path_with_quotes_spaces_and_plus_signs_works(datadir):
    cluster = Cluster(datadir.parent / "O'Brien's a+b c")
    assert make_url(cluster.url()).query["host"] == str(cluster.datadir)
    cluster.start()
    assert sql(cluster.url("postgres"), "SHOW listen_addresses") == [("",)]
    assert (cluster.datadir / ".s.PGSQL.5432").is_socket()


def test_a_folder_holding_other_files_is_refused_and_left_as_it_was(datadir):
    datadir.mkdir()
    (datadir / "notes.txt").write_text("mine")
    before = datadir.stat()
    for _ in range(2):  # the second time also shows that the first released its lock on raising
        with pytest.raises(SetupError, match=f"{datadir} holds files but no database cluster"):
            Cluster(datadir).start()
    after = datadir.stat()
    assert (after.st_uid, after.st_mode) == (before.st_uid, before.st_mode)


def test_new_parent_folders_stay_walkable_for_the_server_under_a_strict_umask(datadir):
    cluster = Cluster(datadir.parent / "new" / "pgdata")
    old = os.umask(0o077)
    try:
        cluster.start()
    finally:
        os.umask(old)
    assert cluster.running()


def test_a_data_folder_the_server_user_cannot_enter_is_refused_naming_the_folder():
    closed = Path(tempfile.mkdtemp(prefix="hm-"))  # mode 0700, owned by us
    try:
        cluster = Cluster(closed / "pgdata")
        if os.geteuid() != 0:
            cluster.start()  # an ordinary user runs the server itself, so its own 0700 folder is fine
            assert cluster.running()
            cluster.stop()
        else:
            with pytest.raises(SetupError, match=f"cannot enter {closed}"):
                cluster.start()
            assert not cluster.initialized()
    finally:
        shutil.rmtree(closed)


def test_default_data_dir_moves_under_var_lib_as_root_only_when_the_instance_folder_is_closed(tmp_path):
    closed = tmp_path / "instance"
    closed.mkdir(mode=0o700)
    walkable = Path(tempfile.mkdtemp(prefix="hm-"))
    try:
        walkable.chmod(0o755)
        assert default_data_dir(walkable / "instance") == walkable / "instance" / "pgdata"
        if os.geteuid() != 0:
            assert default_data_dir(closed) == closed / "pgdata"
        else:
            digest = hashlib.sha1(str(closed / "pgdata").encode()).hexdigest()[:10]
            assert default_data_dir(closed) == Path("/var/lib/heritage-map") / f"pgdata-{digest}"
            assert default_data_dir(tmp_path / "other") != default_data_dir(closed)
    finally:
        shutil.rmtree(walkable)


def invoke(*args: str):
    """Run `heritage-map ARGS` in-process; return the click result."""
    return CliRunner().invoke(main, list(args))


def test_the_cli_starts_reports_and_stops_the_embedded_cluster(datadir, monkeypatch):
    monkeypatch.setenv("HERITAGE_MAP_DATA_DIR", str(datadir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for command, state in [("status", "no cluster in"), ("start", "running:"), ("status", "running:"),
                           ("stop", "stopped:"), ("status", "stopped:")]:
        result = invoke("db", command)
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"{state} {datadir}"), (command, result.output)


def test_the_cli_refuses_to_start_the_embedded_cluster_when_database_url_is_set(datadir, monkeypatch):
    monkeypatch.setenv("HERITAGE_MAP_DATA_DIR", str(datadir))
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.invalid/heritage")
    result = invoke("db", "start")
    assert result.exit_code != 0
    assert "DATABASE_URL is set" in result.output
    assert "using DATABASE_URL" in invoke("db", "status").output
    assert not datadir.exists()
