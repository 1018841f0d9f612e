"""Start-up errors and migrations of the real binary."""

from __future__ import annotations

import subprocess

import pytest
import requests

from conftest import Instance, binary, free_port, psql, _with_database

CONFIG_ERROR = 78


def run(args, env, cwd, timeout=60):
    return subprocess.run([binary(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def base_env(tmp_path):
    import os

    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root", "SWITCHBOARD_DATA_DIR": str(tmp_path), "FACEBOOK_APP_SECRET": "x" * 16}


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "mysql://user:pw@127.0.0.1:3306/db",
        "postgresql://127.0.0.1:5432/db",  # no user
        "postgresql://user:pw@/db",  # no host
        "sqlite:",
        "http://example.com/db",
    ],
)
@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["migrate"]])
def test_malformed_database_url_exits_78_naming_it(tmp_path, url, command):
    out = run(command, {**base_env(tmp_path), "DATABASE_URL": url}, tmp_path)
    assert out.returncode == CONFIG_ERROR, f"exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    assert "switchboard: configuration error: DATABASE_URL:" in out.stderr, out.stderr
    assert "pw" not in out.stderr.replace("password", ""), "the password leaked into the error"


@pytest.mark.parametrize(
    "variable,value",
    [
        ("SWITCHBOARD_JOB_LEASE_SECONDS", "soon"),
        ("SWITCHBOARD_JOB_LEASE_SECONDS", "0"),
        ("SWITCHBOARD_WORKER_CONCURRENCY", "-1"),
        ("SWITCHBOARD_SEND_CONCURRENCY", "0"),
        ("SWITCHBOARD_WEBHOOK_MAX_BYTES", "12"),
        ("NEXTAUTH_SECRET", "short"),
        ("PORT", "99999"),
        ("REDIS_URL", "http://nope"),
    ],
)
def test_bad_configuration_value_exits_78_naming_the_variable(tmp_path, variable, value):
    out = run(["serve"], {**base_env(tmp_path), variable: value}, tmp_path)
    assert out.returncode == CONFIG_ERROR, f"exit {out.returncode}\n{out.stderr}"
    assert f"switchboard: configuration error: {variable}:" in out.stderr, out.stderr


@pytest.mark.parametrize("command", [["status"], ["token", "create"], ["seed"]])
def test_other_commands_check_database_url_too(tmp_path, command):
    out = run(command, {**base_env(tmp_path), "DATABASE_URL": "mysql://user:pw@127.0.0.1:3306/db"}, tmp_path)
    assert out.returncode == CONFIG_ERROR, f"exit {out.returncode}\n{out.stderr}"
    assert "switchboard: configuration error: DATABASE_URL:" in out.stderr, out.stderr


def test_serve_on_unmigrated_postgres_refuses_and_says_to_migrate(make_instance, tmp_path):
    inst = make_instance("postgres", "unmigrated")
    # a second, never migrated database
    name = inst.db.name + "_raw"
    psql(inst.db.admin_url, f"CREATE DATABASE {name}")
    try:
        env = {**inst.env, "DATABASE_URL": _with_database(inst.db.admin_url, name)}
        proc = subprocess.Popen(
            [binary(), "serve", "--port", str(free_port())], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            pytest.fail(f"serve kept running on an unmigrated database:\n{output[-3000:]}")
        assert proc.returncode != 0, output
        assert "switchboard migrate" in output, output[-3000:]
        # and it did not migrate on its own (an empty schema_migrations may be left behind)
        tables = psql(_with_database(inst.db.admin_url, name), "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        assert set(tables.split()) <= {"schema_migrations"}, f"serve created tables: {tables}"
        assert psql(_with_database(inst.db.admin_url, name), "SELECT COUNT(*) FROM schema_migrations") == "0"
    finally:
        psql(inst.db.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migrate_twice_is_idempotent(make_instance, kind, tmp_path):
    inst = make_instance(kind, "migrate")  # already migrated once by the fixture
    if kind == "sqlite":
        fresh = tmp_path / "fresh-sqlite"
        fresh.mkdir()
        first = inst.cli("migrate", env={"SWITCHBOARD_DATA_DIR": str(fresh)})
        assert "Applied migrations" in first.stdout, first.stdout
        again = inst.cli("migrate", env={"SWITCHBOARD_DATA_DIR": str(fresh)})
        assert "up to date" in again.stdout, again.stdout
    second = inst.cli("migrate")
    assert "up to date" in second.stdout, second.stdout
    server = inst.server()
    assert server.status()["database"]["state"] == "connected"
    assert requests.get(server.url + "/readyz", timeout=10).status_code == 200
    # migrate while serve runs (a deploy migrating before it restarts the nodes)
    assert "up to date" in inst.cli("migrate").stdout
    server.stop()
    assert "up to date" in inst.cli("migrate").stdout


def test_fresh_postgres_migrate_then_serve(make_instance):
    inst = make_instance("postgres", "fresh")
    name = inst.db.name + "_fresh"
    psql(inst.db.admin_url, f"CREATE DATABASE {name}")
    try:
        env = {"DATABASE_URL": _with_database(inst.db.admin_url, name)}
        first = inst.cli("migrate", env=env)
        assert "Applied migrations" in first.stdout, first.stdout
        assert "up to date" in inst.cli("migrate", env=env).stdout
        status = inst.cli("status", "--json", env=env)
        assert '"schemaVersion"' in status.stdout
    finally:
        psql(inst.db.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_serve_starts_with_a_configured_page(make_instance, kind):
    """The way a deployment runs: FACEBOOK_PAGE_ID and FACEBOOK_PAGE_ACCESS_TOKEN set."""
    inst = make_instance(kind, "page", page="configured")
    server = inst.server(start=False)
    server.start(wait=False)
    try:
        server.wait_healthy(timeout=30)
    except AssertionError as error:
        raise AssertionError(f"serve with a configured Page never answered /healthz ({kind})\n{error}") from None
    assert server.status()["mode"] == "live"


def test_second_serve_on_the_same_sqlite_data_dir_is_refused(make_instance):
    inst = make_instance("sqlite", "lock")
    first = inst.server()
    env = {**inst.env}
    out = subprocess.run([binary(), "serve", "--port", str(free_port())], env=env, cwd=inst.data_dir, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0, "a second process opened the same SQLite data directory"
    assert first.proc.poll() is None
