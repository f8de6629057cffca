"""The embedded database: a private PostgreSQL + PostGIS cluster in a data folder, reached by Unix socket."""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

from ..errors import SetupError

SUPERUSER = "heritage_map"
PORT = 5432  # only names the socket file; the cluster never listens on TCP
# Linux limits a socket path to 107 bytes; ".s.PGSQL.5432" takes 13 of them.
MAX_SOCKET_DIR = 107 - len("/.s.PGSQL.5432")
SERVICE_USER = "postgres"


def find_bindir() -> Path:
    """Return the bin folder of the newest installed PostgreSQL server that has PostGIS."""
    candidates = []
    override = os.environ.get("HERITAGE_MAP_PG_BINDIR")
    if override:
        candidates.append(Path(override))
    for bindir in glob.glob("/usr/lib/postgresql/*/bin"):
        candidates.append(Path(bindir))
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    servers = [c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()]
    if not servers:
        raise SetupError(
            "no PostgreSQL server found (looked for initdb in /usr/lib/postgresql/*/bin and pg_config --bindir); "
            "install the Debian packages postgresql and postgis, or set DATABASE_URL"
        )
    if override:
        return servers[0]
    return max(servers, key=_major_version)


def _major_version(bindir: Path) -> int:
    """Return the major version of the server in `bindir` from its path or binary."""
    for part in bindir.parts:
        if part.isdigit():
            return int(part)
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True)
    digits = "".join(ch if ch.isdigit() else " " for ch in out.stdout).split()
    return int(digits[0]) if digits else 0


@dataclass
class Cluster:
    """A local cluster living in `datadir`, with its socket in the same folder."""

    datadir: Path
    bindir: Path | None = None

    def __post_init__(self) -> None:
        self.datadir = Path(self.datadir).absolute()
        # The kernel counts bytes, not characters: an accented folder name takes more.
        size = len(os.fsencode(self.datadir))
        if size > MAX_SOCKET_DIR:
            raise SetupError(
                f"data folder path is too long for a Unix socket ({size} > {MAX_SOCKET_DIR} "
                f"bytes): {self.datadir}; set HERITAGE_MAP_DATA_DIR to a shorter path"
            )
        # libpq reads its host setting as a comma-separated list, with no way to escape a comma.
        if "," in str(self.datadir):
            raise SetupError(f"the data folder path must not contain a comma: {self.datadir}; "
                             "set HERITAGE_MAP_DATA_DIR to another folder")
        self.bindir = Path(self.bindir) if self.bindir else find_bindir()

    @property
    def logfile(self) -> Path:
        return self.datadir / "server.log"

    @property
    def pidfile(self) -> Path:
        return self.datadir / "postmaster.pid"

    @property
    def socket_lock(self) -> Path:
        return self.datadir / f".s.PGSQL.{PORT}.lock"

    @property
    def lockfile(self) -> Path:
        # Beside the data folder, not in it: it must exist before the folder does, and initdb wants that empty.
        return self.datadir.parent / f".{self.datadir.name}.lock"

    def url(self, dbname: str = "heritage_map") -> str:
        """Return the SQLAlchemy URL of database `dbname` in this cluster."""
        # Quoted: a '+', '&' or '%' in the folder's path would otherwise change its meaning.
        return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={quote(str(self.datadir))}&port={PORT}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a server binary, as the unprivileged service user when we are root."""
        cmd = [str(self.bindir / args[0]), *args[1:]]
        kwargs = {}
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root, so its binaries run as the service user.
            kwargs["user"] = _service_user().pw_uid
            kwargs["group"] = _service_user().pw_gid
            kwargs["extra_groups"] = []
        out = subprocess.run(cmd, capture_output=True, text=True, cwd="/", **kwargs)
        if check and out.returncode != 0:
            raise SetupError(f"{args[0]} failed ({out.returncode}): {(out.stderr or out.stdout).strip()[-800:]}")
        return out

    def initialized(self) -> bool:
        """Tell whether the data folder holds a cluster."""
        return (self.datadir / "PG_VERSION").exists()

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Hold the exclusive lock that lets one process at a time create, start or stop this cluster."""
        fd = self._open_lock()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock, also when the work raised

    def _open_lock(self) -> int:
        """Open the lock file, creating it and its parent folders if missing; return its descriptor."""
        if os.geteuid() == 0:
            _make_walkable_parents(self.datadir)
        else:
            self.datadir.parent.mkdir(parents=True, exist_ok=True)
        try:
            return _open_lock_file(self.lockfile)
        except OSError as exc:
            if not self.datadir.is_dir():
                raise SetupError(f"cannot create the lock file {self.lockfile}: {exc.strerror}; "
                                 "set HERITAGE_MAP_DATA_DIR to a folder whose parent you can write to") from None
            # A data folder that exists in a parent we cannot write to: every process falls back alike.
            return os.open(self.datadir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def init(self) -> None:
        """Create the cluster if the data folder does not hold one yet."""
        with self._lock():
            self._init()

    def _init(self) -> None:
        """Create the cluster if missing; the caller holds the lock."""
        if self.initialized():
            return
        if self.datadir.is_dir() and any(self.datadir.iterdir()):
            # Taking it over (chown, chmod 0700) would lock its owner out of their own files.
            raise SetupError(f"the data folder {self.datadir} holds files but no database cluster; "
                             "set HERITAGE_MAP_DATA_DIR to an empty or new folder")
        if os.geteuid() == 0:
            _make_walkable_parents(self.datadir)
        self.datadir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.geteuid() == 0:
            user = _service_user()
            _check_reachable(self.datadir, user)
            os.chown(self.datadir, user.pw_uid, user.pw_gid)
        os.chmod(self.datadir, 0o700)
        self._run("initdb", "-D", str(self.datadir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-instructions")
        # Socket only, in the data folder itself: no TCP port to clash with, and only
        # the folder's owner can reach it, which is what makes "trust" safe here.
        with open(self.datadir / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "listen_addresses = ''\n"
                f"unix_socket_directories = {_socket_dirs_value(self.datadir)}\n"
                f"port = {PORT}\n"
                "unix_socket_permissions = 0700\n"
                "fsync = on\n"
            )

    def running(self) -> bool:
        """Tell whether a server answers on this cluster's socket."""
        try:
            with psycopg.connect(host=str(self.datadir), port=PORT, user=SUPERUSER, dbname="postgres",
                                 connect_timeout=3):
                return True
        except psycopg.OperationalError:
            return False

    def start(self, timeout: float = 60) -> None:
        """Start the server unless it already runs; recover from a stale pid file."""
        with self._lock():
            self._start(timeout)

    def _start(self, timeout: float = 60) -> None:
        """Create and start the server if need be; the caller holds the lock."""
        self._init()
        if self.running():
            return
        self._clear_stale_pidfile()
        deadline = time.monotonic() + timeout
        while True:
            self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.logfile), "-w",
                      "-t", str(int(timeout)), "-o", _socket_only_options(self.datadir), "start", check=False)
            # Whatever pg_ctl says: a server that finished crash recovery, or that a process
            # not taking our lock started at the same moment, is just as good as ours.
            if self.running():
                return
            # After a crash the old server's children can hold shared memory for a moment.
            if time.monotonic() > deadline:
                raise SetupError(f"the database server did not start; see {self.logfile}:\n{self._log_tail()}")
            time.sleep(0.5)
            self._clear_stale_pidfile()

    def stop(self) -> None:
        """Stop the server cleanly if it runs."""
        with self._lock():
            self._stop()

    def _stop(self) -> None:
        """Stop the server if it runs; the caller holds the lock."""
        # pg_ctl signals whatever pid a stale pid file names: maybe an unrelated process of ours.
        self._clear_stale_pidfile()
        if not self.pidfile.exists():
            return
        out = self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop", check=False)
        if out.returncode != 0 and self.running():
            raise SetupError(f"pg_ctl stop failed: {out.stderr.strip()}")

    def status(self) -> str:
        """Describe the cluster's state in one line."""
        if not self.initialized():
            return f"no cluster in {self.datadir}"
        state = "running" if self.running() else "stopped"
        return f"{state}: {self.datadir} (PostgreSQL in {self.bindir})"

    def ensure_database(self, dbname: str = "heritage_map") -> str:
        """Start the cluster, create `dbname` with PostGIS if missing, and return its URL."""
        with self._lock():
            self._start()
            self._create_database(dbname)
        return self.url(dbname)

    def _create_database(self, dbname: str) -> None:
        """Create `dbname` and PostGIS in it if missing; the caller holds the lock."""
        # Each CREATE also counts as done when it loses a race: the lock covers our processes only,
        # and IF NOT EXISTS does not cover a concurrent CREATE EXTENSION.
        with psycopg.connect(host=str(self.datadir), port=PORT, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            if not exists:
                try:
                    conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname)))
                except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                    pass
        with psycopg.connect(host=str(self.datadir), port=PORT, user=SUPERUSER, dbname=dbname,
                             autocommit=True) as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.errors.UniqueViolation:
                pass
            except (psycopg.errors.FeatureNotSupported, psycopg.errors.UndefinedFile) as exc:
                raise SetupError("PostGIS is not installed for this PostgreSQL: install the Debian package "
                                 f"postgis (postgresql-NN-postgis-3): {exc}") from exc

    def drop_database(self, dbname: str) -> None:
        """Drop database `dbname` if it exists."""
        with self._lock():
            self._start()
            with psycopg.connect(host=str(self.datadir), port=PORT, user=SUPERUSER, dbname="postgres",
                                 autocommit=True) as conn:
                conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(dbname)))

    def server_pid(self) -> int | None:
        """Return the postmaster's pid from its pid file, if any."""
        return _read_pid(self.pidfile)

    def _clear_stale_pidfile(self) -> None:
        """Remove the pid and socket lock files left by a server that no longer runs."""
        if self.running():
            return
        # The socket lock names the old server too; PostgreSQL refuses to start while that
        # pid exists, even as a zombie that init has not reaped yet (or never will, in a container).
        for lock in (self.pidfile, self.socket_lock):
            pid = _read_pid(lock)
            if pid is not None and not _is_server_of(pid, self.datadir):
                lock.unlink(missing_ok=True)
            # else a live server that is starting or stopping: let pg_ctl deal with it

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _read_pid(lock: Path) -> int | None:
    """Return the pid on the first line of a PostgreSQL lock file, if any."""
    try:
        return int(lock.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _is_server_of(pid: int, datadir: Path) -> bool:
    """Tell whether process `pid` is alive and is a PostgreSQL server working in `datadir`."""
    # A pid is reused after a crash or reboot, possibly by another cluster's server: a
    # server chdirs to its data folder, so the working folder says which cluster it serves.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False  # gone, a zombie, or another user's process (so not a server we started)
    return b"postgres" in cmdline and Path(cwd) == datadir.resolve()


def _open_lock_file(path: Path) -> int:
    """Open the lock file at `path` read-only (enough for flock), creating it if missing."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        try:
            # Open without O_CREAT first: in a sticky folder such as /tmp, fs.protected_regular
            # refuses O_CREAT on a file another user owns, even to root.
            return os.open(path, flags)
        except FileNotFoundError:
            pass
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue  # another process created it just now
        # Whatever the umask: root and an ordinary user may both run set-up on one folder.
        os.fchmod(fd, 0o644)
        return fd


def _socket_dirs_item(path: Path) -> str:
    """Return `path` as the one item of a unix_socket_directories list."""
    # List items lose surrounding spaces unless double-quoted; a double quote is escaped by doubling it.
    return '"' + str(path).replace('"', '""') + '"'


def _socket_dirs_value(path: Path) -> str:
    """Return `path` as a postgresql.conf value of unix_socket_directories."""
    # A single-quoted conf string around the list; a single quote is escaped by doubling it.
    return "'" + _socket_dirs_item(path).replace("'", "''") + "'"


def _socket_only_options(path: Path) -> str:
    """Return the socket-only settings as postgres options, quoted for the shell that pg_ctl starts it with."""
    # postgresql.auto.conf holds them too, but a set-up cut short after initdb, or an edited file, would
    # otherwise let the server listen on TCP, where "trust" lets in every local user.
    settings = {"listen_addresses": "", "unix_socket_directories": _socket_dirs_item(path),
                "port": str(PORT), "unix_socket_permissions": "0700"}
    return " ".join(f"-c {shlex.quote(f'{name}={value}')}" for name, value in settings.items())


def _service_user() -> pwd.struct_passwd:
    """Return the unprivileged account the server runs as when we are root."""
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise SetupError(
            f"running as root, the database server needs the unprivileged system user {SERVICE_USER!r}, "
            "which the Debian postgresql package creates; install it or run as an ordinary user"
        ) from None


def _make_walkable_parents(path: Path) -> None:
    """Create the missing parents of `path` so that any user can walk through them."""
    # mkdir(parents=True) applies the umask: a strict one (077) would lock `postgres` out.
    for parent in reversed(path.parents):
        if not parent.exists():
            parent.mkdir()
            parent.chmod(0o755)


def _check_reachable(path: Path, user: pwd.struct_passwd) -> None:
    """Raise SetupError if `user` cannot walk down to `path` (e.g. it sits under /root)."""
    for parent in reversed(path.parents):
        st = parent.stat()
        if st.st_uid == user.pw_uid:
            continue
        if not st.st_mode & 0o001 and not (st.st_gid == user.pw_gid and st.st_mode & 0o010):
            raise SetupError(
                f"running as root, the database server runs as {user.pw_name!r}, which cannot enter {parent}; "
                f"set HERITAGE_MAP_DATA_DIR to a folder it can reach (e.g. under /var/lib or /tmp)"
            )
