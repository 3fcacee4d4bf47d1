"""PostgreSQL for the test suite: one private cluster per pytest session (Debian's binaries, 127.0.0.1 only), a fresh
database per test, and `store_url` / `any_store`, parametrised over DuckDB and PostgreSQL, for store and query tests
that must hold on both backends.

The cluster lives in a temp directory owned by the `postgres` OS user (initdb and pg_ctl refuse to run as root),
listens on a free port of 127.0.0.1 and a socket in that directory, trusts local connections (nothing else can
reach it), and is stopped (`pg_ctl stop -m fast`) at the end of the session whatever the tests did. Durability is
switched off (fsync, synchronous_commit): a crashed test cluster is thrown away anyway.

No PostgreSQL installed: on CI (CI=true) every test that needs it fails, saying to run `make pg-deps`; elsewhere
those tests are skipped with that reason, and the DuckDB half of `any_store` still runs.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sync.store import Store

if TYPE_CHECKING:
    import psycopg

_INSTALL_HINT = "PostgreSQL is not installed: run `make pg-deps` (Debian's postgresql package)."
_counter = itertools.count(1)


def _bin_dir() -> Path | None:
    """Debian's newest /usr/lib/postgresql/<v>/bin, else the directory of a pg_ctl on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(os.path.realpath(pg_ctl)).parent if pg_ctl and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    """Run as the `postgres` OS user when we are root; as ourselves otherwise."""
    if os.geteuid() != 0:
        return args
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *args]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in args)]


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(_as_postgres(args), capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


@dataclass
class PostgresCluster:
    """A running private cluster: `url(db)` for a Store, `create_database()` / `drop_database()` per test."""

    port: int
    user: str = "postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection:
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True)

    def create_database(self) -> str:
        name = f"payops_test_{os.getpid()}_{next(_counter)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """One private PostgreSQL cluster for the session, stopped at its end (even when tests failed)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(_INSTALL_HINT, pytrace=False)
        pytest.skip(_INSTALL_HINT + " Skipped outside CI only.")
    root = Path(tempfile.mkdtemp(prefix="payops-pg-"))
    data, sockets, log = root / "data", root / "sockets", root / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
    port = _free_port()
    started = False
    try:
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C",
              "--no-sync", "--no-instructions"], "initdb")
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
             "pg_ctl start")
        started = True
        yield PostgresCluster(port)
    finally:
        if started:
            try:
                _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], "pg_ctl stop")
            finally:
                shutil.rmtree(root, ignore_errors=True)
        else:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            if tail:
                print(f"PostgreSQL server log:\n{tail}")


@pytest.fixture
def pg_url(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty database of the session's cluster (dropped after the test)."""
    name = pg_cluster.create_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)


BACKENDS = ("duckdb", "postgres")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL for each backend in turn: a DuckDB file under tmp_path, then a fresh PostgreSQL database."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'store.duckdb'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def any_store(store_url: str) -> Iterator[Store]:
    """An empty store (schema created) on each backend in turn, closed after the test."""
    store = Store(store_url)
    try:
        yield store
    finally:
        store.close()
