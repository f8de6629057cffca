"""Database wiring: the engine, one session per request, migrations and first-start set-up."""

from __future__ import annotations

import logging
import select as select_module
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from flask import Flask, current_app, g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import Connection, Engine, ExceptionContext, create_engine, event, inspect, make_url, select, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from .config import normalize_url
from .devdb.cluster import Cluster
from .errors import N_, DatabaseUnavailable, DiskFull, QueryTimeout, SetupError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The advisory lock key every process of this app takes around first-start set-up ("Heritage" in ASCII).
SETUP_LOCK = 0x4865726974616765
UNREACHABLE = N_("the database cannot be reached just now (it may be restarting); please try again in a few seconds")
STOPPED = N_("the database is not running; start it with `heritage-map db start`")
# SQLSTATEs of a server going away rather than of a failing statement: connection exceptions,
# shutdown by an administrator or by a crash, and a server that is starting or stopping.
GONE = ("08", "57P01", "57P02", "57P03")
NO_TIMEOUT = "SELECT set_config('statement_timeout', '0', true)"

log = logging.getLogger(__name__)


def resolve_url(app: Flask) -> str:
    """Return the database URL: DATABASE_URL, or the embedded cluster started on demand."""
    url = app.config.get("DATABASE_URL")
    if url:
        return normalize_url(url)
    return Cluster(app.config["DATA_DIR"]).ensure_database()


# TCP keepalives for a server reached over the network (libpq ignores them on a Unix socket): a
# server gone silent (host down, failover) then shows as an error on the pooled connection's socket
# within about 90 s, which _check_alive sees, instead of as a failed query. The URL may set its own.
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "60", "keepalives_interval": "10", "keepalives_count": "3"}
# A server host gone silent would otherwise hold each request for the kernel's TCP connect timeout
# (about 130 s with Linux's 6 SYN retries) before its 503; a healthy server answers in milliseconds.
CONNECT_TIMEOUT = "10"


def make_engine(url: str, unavailable: str = UNREACHABLE, statement_timeout: float = 0) -> Engine:
    """Create an engine for `url` whose pool hands out only connections the server has not closed.

    Losing the server raises DatabaseUnavailable with the message `unavailable`; a statement that runs
    past `statement_timeout` seconds (0: never) is stopped by the server and raises QueryTimeout.
    """
    url = make_url(normalize_url(url))
    defaults = {**KEEPALIVES, "connect_timeout": CONNECT_TIMEOUT}
    eng = create_engine(url.update_query_dict({k: v for k, v in defaults.items() if k not in url.query}))
    outage = Outage(unavailable)
    event.listen(eng, "checkout", _check_alive)
    event.listen(eng, "before_cursor_execute", _result_format)
    event.listen(eng, "handle_error", outage.translate)
    event.listen(eng, "connect", outage.connected)
    event.listen(eng, "handle_error", _disk_full)
    if statement_timeout:
        event.listen(eng, "connect", lambda conn, _record: _set_timeout(conn, statement_timeout))
        event.listen(eng, "handle_error", lambda ctx: _timed_out(ctx, statement_timeout))
    return eng


def _disk_full(ctx: ExceptionContext) -> DiskFull | None:
    """Turn the server's "no space left on device" (SQLSTATE 53100, disk_full) into DiskFull."""
    exc = ctx.original_exception
    if not isinstance(exc, psycopg.Error) or exc.sqlstate != "53100":
        return None
    reason = (str(exc).strip().splitlines() or ["disk full"])[0]
    log.error("the database server's disk is full: %s", reason)
    return DiskFull(_("the database server has no space left on its disk, so nothing of this change was saved; "
                      "try again once its administrator has made room"), reason)


def _set_timeout(dbapi_connection, seconds: float) -> None:
    """Set the session's statement_timeout on a new connection, once: a SET per request would cost a round trip."""
    dbapi_connection.execute("SELECT set_config('statement_timeout', %s, false)", [f"{round(seconds * 1000)}ms"])
    dbapi_connection.commit()


def _timed_out(ctx: ExceptionContext, seconds: float) -> QueryTimeout | None:
    """Turn a statement stopped by statement_timeout into QueryTimeout, saying the limit."""
    exc = ctx.original_exception
    if not isinstance(exc, psycopg.errors.QueryCanceled) or "statement timeout" not in str(exc):
        return None
    limit = (g.get("statement_timeout") if has_app_context() else None) or seconds
    return QueryTimeout(_("the database stopped this request's query after %(s)s s, the longest this service "
                          "allows; ask for less (a smaller area, a filter or a lower limit) or try again later",
                          s=f"{limit:g}"))


def allow_longer(s: Session, seconds: float) -> None:
    """Let the statements of the session's transaction run up to `seconds` (an export reads whole layers).

    Only where the app has a statement timeout at all: 0 (none) stays none.
    """
    if seconds and current_app.config.get("STATEMENT_TIMEOUT"):
        s.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": f"{round(seconds * 1000)}ms"})
        g.statement_timeout = seconds


class Outage:
    """Whether the server answers, as this process last saw it: the start and end of an outage are logged once."""

    def __init__(self, message: str):
        self.message = message
        self._lock = threading.Lock()  # requests fail on many threads at once
        self._since: float | None = None
        self._failures = 0

    def translate(self, ctx: ExceptionContext) -> DatabaseUnavailable | None:
        """Turn a failure to connect, or a connection lost, into DatabaseUnavailable; leave other errors alone."""
        exc = ctx.original_exception
        if not lost(exc, ctx.is_disconnect, connecting=ctx.connection is None):
            return None
        ctx.is_disconnect = True  # out of the pool, with every pooled connection older than it
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        self.failed(reason)
        return DatabaseUnavailable(self.message, reason)

    def failed(self, reason: str) -> None:
        """Count a failure; log it if it starts an outage."""
        with self._lock:
            self._failures += 1
            if self._since is not None:
                return
            self._since = time.monotonic()
        log.error("the database is unreachable (%s)", reason)

    def connected(self, *_args) -> None:
        """End the outage, if there is one, saying how long it lasted."""
        with self._lock:
            if self._since is None:
                return
            seconds, failures = time.monotonic() - self._since, self._failures
            self._since, self._failures = None, 0
        # A warning, not info: the default level would hide the end of an outage whose start it showed.
        log.warning("the database is reachable again after %.1f s (%d connection attempts or statements failed "
                    "meanwhile)", seconds, failures)


def lost(exc: BaseException, disconnect: bool, connecting: bool) -> bool:
    """Tell whether a driver error means the server is out of reach or went away, not that a statement failed.

    `disconnect`: SQLAlchemy found the connection closed or broken; `connecting`: no connection was made yet.

    >>> from psycopg import errors
    >>> lost(psycopg.OperationalError("connection refused"), False, connecting=True)
    True
    >>> lost(errors.AdminShutdown("terminating connection"), False, False)
    True
    >>> lost(errors.QueryCanceled("canceling statement due to statement timeout"), False, False)
    False
    >>> lost(errors.UndefinedTable(), False, False), lost(GeneratorExit(), True, False)
    (False, False)
    """
    if not isinstance(exc, psycopg.Error):
        return False  # GeneratorExit (a client leaving a stream) is a disconnect to SQLAlchemy, not to us
    if disconnect or (connecting and isinstance(exc, psycopg.OperationalError)):
        return True
    return (exc.sqlstate or "").startswith(GONE)


def _result_format(_conn, cursor, _statement, _parameters, context, _executemany) -> None:
    """Have psycopg ask for binary results for a statement given the execution option binary_results."""
    # A bytea column comes as its bytes, where the text format would send it hex-encoded.
    if context is not None and context.execution_options.get("binary_results"):
        cursor.format = psycopg.pq.Format.BINARY


def _check_alive(dbapi_connection, _record, _proxy) -> None:
    """Refuse a pooled connection that the server has closed (restarted, or ended the session)."""
    # An idle connection has nothing to read unless the server hung up (or said why it does), so a
    # zero-timeout poll of its socket tells without the round trip of pool_pre_ping's SELECT.
    # DisconnectionError makes the pool throw it away and check out another.
    if dbapi_connection.closed:
        raise DisconnectionError("the pooled connection is closed")
    poller = select_module.poll()  # poll, not select: any file descriptor number
    poller.register(dbapi_connection.fileno(), select_module.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server closed this pooled connection")


def engine() -> Engine:
    """Return the current app's engine."""
    return current_app.extensions["heritage_map.engine"]


def session() -> Session:
    """Return the current request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["heritage_map.sessionmaker"]()
    return g.db_session


def read(transaction: bool = False) -> AbstractContextManager[Connection]:
    """Return a context giving a connection for reading, owned by the caller (it may outlive the request).

    The connection is in autocommit, so a read costs no BEGIN and ROLLBACK round trips; ask for a
    transaction where one is needed (a server-side cursor lives in one).
    """
    return current_app.extensions["heritage_map.read"](transaction)


def reader(eng: Engine) -> Callable[[bool], AbstractContextManager[Connection]]:
    """Return the function behind read() for `eng`."""
    autocommit = eng.execution_options(isolation_level="AUTOCOMMIT")
    return lambda transaction: eng.begin() if transaction else autocommit.connect()


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request's session; whatever was not committed is rolled back."""
    s = g.pop("db_session", None)
    if s is not None:
        s.close()


def alembic_config(connection) -> Config:
    """Return an Alembic configuration that runs on `connection`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(eng: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    with eng.begin() as conn:
        conn.execute(text(NO_TIMEOUT))  # a served app's engine has one; a migration may rewrite a large table
        command.upgrade(alembic_config(conn), revision)




def optimize(eng: Engine) -> list[str]:
    """Rewrite each spatial table in the order of its GiST index (CLUSTER), then VACUUM ANALYZE it.

    Rows near each other on the map then share disk pages, so a bbox reads a few pages instead of
    one a row (the 1,602 sites of a town-wide bbox among 110,000: 7.4 ms → 4.4 ms for the page).
    Rows written later go wherever there is room: run it again after large imports. VACUUM, not
    only ANALYZE: the rewritten table has no visibility map yet, without which an index-only scan
    (the count of a category) reads the table too: 1.3 ms → 10.5 ms for 12,000 gates.
    """
    from .catalogue.layers import load_order

    done = []
    # CLUSTER takes an exclusive lock while it rewrites a table: seconds for 100,000 rows.
    with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in (layer.model.__tablename__ for layer in load_order()):
            conn.execute(text(f"CLUSTER {table} USING ix_{table}_geom"))
            conn.execute(text(f"VACUUM ANALYZE {table}"))
            done.append(table)
    return done


def is_empty(eng: Engine) -> bool:
    """Tell whether the database has no site yet (or no tables)."""
    from .catalogue.models import Site

    if not inspect(eng).has_table("sites"):
        return True
    with Session(eng) as s:
        return s.scalar(select(Site.id).limit(1)) is None


def ensure_postgis(eng: Engine) -> None:
    """Create the postgis extension if missing, or raise SetupError saying what the server lacks."""
    try:
        with eng.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except IntegrityError:
        pass  # another process created it at the same moment: IF NOT EXISTS does not cover that
    except DatabaseUnavailable as exc:
        raise SetupError(f"cannot reach the database: {exc.reason}") from None
    except DBAPIError as exc:
        raise SetupError(f"the database at DATABASE_URL cannot use PostGIS (install PostGIS on that server, or "
                         f"have its owner run CREATE EXTENSION postgis): {str(exc.orig).splitlines()[0]}") from None


@contextmanager
def setup_lock(eng: Engine) -> Iterator[None]:
    """Hold the set-up advisory lock, so that one process at a time (e.g. gunicorn workers) sets up."""
    # A session lock on a connection of its own: the work runs on other connections, and only
    # other takers of this lock wait.
    with eng.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK})
        conn.commit()
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK})
                conn.commit()
            except (DBAPIError, DatabaseUnavailable):
                conn.invalidate()  # never back to the pool still locked; its session's end unlocks


def set_up(eng: Engine, geodata: Path) -> None:
    """Apply migrations, and load the seed if the database is empty, one process at a time."""
    from .transfer.seed import seed

    ensure_postgis(eng)  # first: it also says clearly when the server cannot be reached
    with setup_lock(eng):
        upgrade(eng)
        if is_empty(eng):
            with Session(eng) as s, s.begin():
                s.execute(text(NO_TIMEOUT))
                seed(s, geodata)


def init_app(app: Flask, eng: Engine | None = None) -> None:
    """Attach an engine and a session factory to `app`; set the database up if asked to."""
    if eng is None:
        # The embedded server is down only when stopped (`db stop`, which we respect) or crashed.
        eng = make_engine(resolve_url(app), UNREACHABLE if app.config.get("DATABASE_URL") else STOPPED,
                          statement_timeout=app.config.get("STATEMENT_TIMEOUT", 0))
        if app.config.get("AUTO_SETUP"):
            set_up(eng, Path(app.config["GEODATA_DIR"]))
    app.extensions["heritage_map.engine"] = eng
    app.extensions["heritage_map.sessionmaker"] = sessionmaker(bind=eng)
    app.extensions["heritage_map.read"] = reader(eng)
    app.teardown_appcontext(close_session)
