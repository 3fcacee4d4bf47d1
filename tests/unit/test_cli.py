"""`python -m sync` input handling: each bad input is one clear stderr line, a non-zero exit, nothing written."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sync.cli import main
from sync.store import Store


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment in an empty folder (no .streamlit/secrets.toml); returns the store path."""
    for name in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_MAX_NETWORK_RETRIES", "STRIPE_WEBHOOK_SECRET",
                 "STRIPE_REQUESTS_PER_SECOND", "PAYOPS_SYNC_LOOKBACK_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "data" / "payops.duckdb"
    monkeypatch.setenv("PAYOPS_DATABASE_URL", f"duckdb:///{db}")
    return db


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    return lines[0]


def _demo_available() -> bool:
    try:
        from sync.demo import load_demo  # noqa: F401
    except ImportError:
        return False
    return True


needs_demo = pytest.mark.skipif(not _demo_available(), reason="sync/demo.py (load_demo) is not in this checkout yet")


def test_missing_key_says_how_to_set_it(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 1
    line = error_line(capsys)
    assert "STRIPE_SECRET_KEY" in line and "--demo" in line
    assert not env.exists()


def test_network_down_after_retries(env: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_networkDown1234")
    monkeypatch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("STRIPE_MAX_NETWORK_RETRIES", "1")
    assert main([]) == 1
    line = error_line(capsys)
    assert "Could not reach Stripe" in line and "sk_test_networkDown1234" not in line
    assert not env.exists()


def test_store_held_by_another_process_names_it(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); "
         "time.sleep(60)", str(env)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        assert main(["--demo"]) == 1
        line = error_line(capsys)
        assert f"held by process {holder.pid}" in line and "sync through it" in line
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("argv, expected", [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--since", "last tuesday"], "use YYYY-MM-DD"),
    (["--resource", "payouts"], "invalid choice: 'payouts'"),
    (["--scale", "10"], "--scale needs --demo"),
    (["--demo", "--scale", "0"], "not a positive whole number"),
    (["--demo", "--full"], "does not combine"),
])
def test_bad_flags_print_usage_and_exit_2(env: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                          expected: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m sync") and expected in err
    assert not env.exists()


def test_bootstrap_with_a_key_says_what_it_did_and_loads_nothing(env: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_bootstrapKeyABCD")
    assert main(["bootstrap"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "sk_test_…ABCD" in out[0] and "no demo data" in out[0]
    assert "bootstrapKey" not in out[0]
    store = Store(f"duckdb:///{env}")
    try:
        assert store.is_empty()
    finally:
        store.close()


@needs_demo
def test_demo_scale_loads_n_charges_with_a_summary(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo", "--scale", "300", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "Demo data loaded" in out and "total" in out
    store = Store(f"duckdb:///{env}")
    try:
        assert store.query("SELECT COUNT(*) AS n FROM payments")["n"][0] == 300
        assert store.query("SELECT mode, status FROM sync_runs").values.tolist() == [["demo", "succeeded"]]
    finally:
        store.close()


@needs_demo
def test_bootstrap_without_a_key_loads_demo_data_once(env: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import sync.demo

    real = sync.demo.load_demo
    # The real generator, at 200 charges: the default year of data takes ~20 s, too slow for a unit test.
    monkeypatch.setattr(sync.demo, "load_demo", lambda store, **kw: real(store, **{**kw, "scale": 200}))
    assert main(["bootstrap"]) == 0
    first = capsys.readouterr().out.strip().splitlines()
    assert len(first) == 1 and "loaded demo data" in first[0]
    store = Store(f"duckdb:///{env}")
    try:
        assert store.query("SELECT COUNT(*) AS n FROM payments")["n"][0] == 200
    finally:
        store.close()
    assert main(["bootstrap"]) == 0
    second = capsys.readouterr().out.strip().splitlines()
    assert len(second) == 1 and "already has data" in second[0]


def test_cli_resource_names_are_the_providers() -> None:
    from sync.cli import RESOURCES
    from sync.providers.stripe import StripeProvider

    assert StripeProvider.resources == RESOURCES


@pytest.mark.parametrize(("key", "named"), [
    ("pk_test_51PublishableKeyBody1234", "holds a publishable key (pk_test_…1234)"),
    ("whsec_SigningSecretBody9876", "holds a webhook signing secret (whsec_…9876)"),
    ("sk_test_51PastedWithSpace0042 ", "has spaces or line breaks"),
])
def test_a_key_of_the_wrong_kind_is_named_in_one_line(env: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch, key: str, named: str) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", key)
    for argv in ([], ["--demo"]):
        assert main(argv) == 1
        line = error_line(capsys)
        assert named in line and "Dashboard → Developers → API keys" in line
        assert "KeyBody" not in line and "SecretBody" not in line and "PastedWith" not in line
    assert not env.exists()
