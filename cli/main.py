"""The ``ifss`` command."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from workers.log import configure_logging
from workers.settings import Settings, load_settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

app = typer.Typer(
    help="ifss-engine: intensive family intervention case engine.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="Tamper evidence of the event store.", no_args_is_help=True)
docs_app = typer.Typer(help="Generated documentation.", no_args_is_help=True)
from cli.cases import case_app, fail, refer, shown, team_app  # noqa: E402
from cli.imports import import_cases  # noqa: E402

app.add_typer(case_app, name="case")
app.add_typer(team_app, name="team")
app.command("refer")(refer)
app.command("import")(import_cases)
from cli import (  # noqa: E402
    alerts,
    readers,
    users,
)

app.add_typer(readers.projections_app, name="projections")
app.add_typer(users.users_app, name="users")
app.add_typer(alerts.alerts_app, name="alerts")
app.add_typer(users.tokens_app, name="tokens")
app.command("api")(users.api)
app.command("demo")(users.demo)
app.command("projector")(readers.projector)
from cli.report import report, report_snapshots, team_consultation, team_costs, team_training  # noqa: E402

team_app.command("consultation")(team_consultation)
team_app.command("training")(team_training)
team_app.command("costs")(team_costs)

app.command("report")(report)
app.command("report-snapshots")(report_snapshots)
for _reader in (
    readers.cases,
    readers.history,
    readers.reviews,
    readers.teams,
    readers.waitlist,
    readers.caseload,
):
    app.command()(_reader)
from cli.keys import keys_app  # noqa: E402

app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(docs_app, name="docs")

console = Console(soft_wrap=True)  # messages: one line each, however narrow the output
err_console = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _database_url(settings: Settings) -> str:
    from workers.database import DatabaseNotConfigured, resolve_database_url

    try:
        return resolve_database_url(settings)
    except DatabaseNotConfigured as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


@app.command()
def dev(
    stop_leftovers: Annotated[
        bool,
        typer.Option(
            "--stop-leftovers",
            help="Stop the servers an earlier `ifss dev` left running in the state dir, and exit.",
        ),
    ] = False,
) -> None:
    """Run the whole engine locally: embedded PostgreSQL and Temporal unless configured.
    Ctrl-C or SIGTERM stops everything it started; a second Ctrl-C stops at once."""
    from workers.database import redact
    from workers.dev import PartStopped, StackInfo, run_dev_stack
    from workers.supervision import Refused, survive_lost_output

    survive_lost_output()  # `make run | tee log`: Ctrl-C kills tee first; stopping goes on
    settings = _settings()
    if stop_leftovers:
        _stop_leftovers(settings)
        return

    def announce(info: StackInfo) -> None:
        table = Table(title="ifss dev", show_header=False)
        table.add_row("PostgreSQL", redact(info.database_url))
        table.add_row(
            "Temporal", f"{info.temporal_address} (namespace {settings.temporal_namespace})"
        )
        table.add_row("Temporal UI", info.temporal_ui_url or "(external cluster)")
        table.add_row("Web pages", f"{info.api_url}/app (sign in: ifss users password USER)")
        table.add_row("API", f"{info.api_url} (OpenAPI at {info.api_url}/docs)")
        table.add_row("Task queue", settings.task_queue)
        table.add_row("State dir", str(settings.state_dir.resolve()))
        console.print(table)
        console.print("ifss dev: ready (Ctrl-C to stop)", highlight=False)
        sys.stdout.flush()

    from api.app import ApiNotListening
    from workers.checks import ConfigurationError

    try:
        asyncio.run(run_dev_stack(settings, announce))
    except (ConfigurationError, Refused, ApiNotListening) as exc:
        raise fail(str(exc)) from None
    except PartStopped as exc:  # the engine, not the input: exit 1
        err_console.print(f"[red]failed:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print("ifss dev: stopped", highlight=False)


def _stop_leftovers(settings: Settings) -> None:
    from workers.supervision import Refused, StackLock, children_of, stop_recorded

    lock = StackLock(settings.state_dir)
    try:
        lock.acquire()
    except Refused as exc:
        raise fail(str(exc)) from None
    try:
        stopped = stop_recorded(lock.record.get("leftovers", {}))
        stopped += stop_recorded(children_of(lock.previous))
        lock.forget("leftovers")
    finally:
        lock.release()
    console.print("stopped: " + ", ".join(stopped) if stopped else "nothing was left running")


@app.command()
def worker() -> None:
    """Run the Temporal worker for case workflows and their activities."""
    import signal

    from workers.temporal import run_worker

    settings = _settings()
    database_url = _database_url(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        from workers.database import migrate_database
        from workers.root import runtime

        await migrate_database(database_url)  # safe to run from every worker at once
        # Refuse to start if misconfigured (the checks run before Temporal is asked).
        async with runtime(settings, database_url=database_url, checked=True, temporal=True) as rt:
            await run_worker(rt, stop)

    from workers.checks import ConfigurationError

    try:
        asyncio.run(main())
    except ConfigurationError as exc:
        raise fail(str(exc)) from None


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations (also done at start-up). Safe to run concurrently."""
    from workers.database import migrate_database

    settings = _settings()
    applied = asyncio.run(migrate_database(_database_url(settings)))
    console.print(
        f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else "")
    )


def _anchor_key(
    settings: Settings, key: Path | None, *, signing: bool = True
) -> Ed25519PrivateKey | Ed25519PublicKey:
    """The anchor key from ``--key`` or ``IFSS_ANCHOR_KEY_FILE``: the signing key, or (to
    verify only) its public half from `ifss keys public`."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from events.anchor import AnchorProblem, load_anchor_key

    path = key or settings.anchor_key_file
    if path is None:
        err_console.print(
            "[red]refused:[/red] anchor key: give --key FILE or set IFSS_ANCHOR_KEY_FILE "
            "(`ifss keys generate > FILE`; keep it outside the database)"
        )
        raise typer.Exit(2)
    try:
        loaded = load_anchor_key(path)
    except AnchorProblem as exc:
        err_console.print(f"[red]refused:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if signing and not isinstance(loaded, Ed25519PrivateKey):
        err_console.print(
            "[red]refused:[/red] anchor key: a verification key cannot sign; give the signing key",
            highlight=False,
        )
        raise typer.Exit(2)
    return loaded


@audit_app.command("anchor")
def audit_anchor(
    out: Annotated[Path, typer.Option("--out", help="Where to write the signed anchor (JSON).")],
    key: Annotated[
        Path | None, typer.Option(help="Ed25519 signing key file (default IFSS_ANCHOR_KEY_FILE).")
    ] = None,
) -> None:
    """Write every stream's head (version, hash), signed with a key outside the database;
    `ifss audit verify --anchor FILE` later also finds events deleted from a stream's end."""
    import orjson
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from events.anchor import make_anchor
    from workers.root import runtime

    settings = _settings()
    signing = _anchor_key(settings, key)
    assert isinstance(signing, Ed25519PrivateKey)  # _anchor_key refused a verification key
    database_url = _database_url(settings)

    async def main() -> dict[str, object]:
        async with runtime(settings, database_url=database_url, pool_size=2) as rt:
            return await make_anchor(rt.pool, signing)

    anchor = asyncio.run(main())
    out.write_bytes(orjson.dumps(anchor, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    streams = anchor["streams"]
    console.print(f"anchored {len(streams) if isinstance(streams, dict) else 0} stream(s) in {out}")


@audit_app.command("verify")
def audit_verify(
    stream: Annotated[str | None, typer.Option(help="Verify only this stream.")] = None,
    anchor: Annotated[
        Path | None,
        typer.Option(
            help="Also check every stream against this signed anchor (`ifss audit anchor`)."
        ),
    ] = None,
    key: Annotated[
        Path | None, typer.Option(help="The anchor's key file (default IFSS_ANCHOR_KEY_FILE).")
    ] = None,
) -> None:
    """Recompute the hash chains. Exit 0 when intact, 1 naming the first broken link."""
    from events.anchor import AnchorProblem, check_against_anchor, read_anchor
    from events.errors import InvalidInput
    from workers.root import runtime

    settings = _settings()
    anchored = None
    if anchor is not None:
        try:
            anchored = read_anchor(anchor, _anchor_key(settings, key, signing=False))
        except AnchorProblem as exc:
            err_console.print(f"[red]refused:[/red] {exc}", highlight=False)
            raise typer.Exit(2) from None
    database_url = _database_url(settings)

    async def main() -> int:
        async with runtime(settings, database_url=database_url) as rt:
            try:
                report = await rt.store.verify(stream)
            except InvalidInput as exc:
                err_console.print(f"[red]error:[/red] {exc}")
                return 2
            if anchored is not None:
                cut = await check_against_anchor(rt.pool, anchored)
                for problem in cut:
                    err_console.print(
                        f"BROKEN: stream {problem.stream_id}: {problem.problem}", highlight=False
                    )
                if cut:
                    return 1
                console.print(
                    f"anchor: {len(anchored['streams'])} stream(s) hold their anchored heads "
                    f"({anchored['anchored_at']})"
                )
        if stream is not None and report.events_checked == 0:
            err_console.print(f"[red]refused:[/red] stream: no events in {shown(stream)}")
            return 2
        if report.broken is None:
            console.print(
                f"intact: {report.events_checked} events in {report.streams_checked} stream(s)"
            )
            return 0
        b = report.broken
        where = f"position {b.global_position}" if b.global_position is not None else "missing row"
        err_console.print(
            f"BROKEN: stream {b.stream_id} version {b.stream_version} ({where}): {b.problem}; "
            f"{report.events_checked} event(s) before it verified"
        )
        return 1

    raise typer.Exit(asyncio.run(main()))


@docs_app.command("events")
def docs_events(
    output: Annotated[Path, typer.Option(help="Where to write the catalogue.")] = Path(
        "docs/events.md"
    ),
) -> None:
    """Regenerate docs/events.md from the event catalogue."""
    from events import docs

    console.print(f"wrote {docs.write(output)}")


@docs_app.command("lifecycle")
def docs_lifecycle(
    output: Annotated[Path, typer.Option(help="Where to write the state table.")] = Path(
        "docs/lifecycle.md"
    ),
) -> None:
    """Regenerate docs/lifecycle.md by exploring the lifecycle rules."""
    from workflows.lifecycle import table

    console.print(f"wrote {table.write(output)}")


@docs_app.command("reports")
def docs_reports(
    output: Annotated[Path, typer.Option(help="Where to write the page.")] = Path(
        "docs/reports.md"
    ),
) -> None:
    """Regenerate docs/reports.md (every figure's definition) and its sample chart."""
    from reports import docs

    console.print(f"wrote {docs.write(output)}")


if __name__ == "__main__":
    app()


def main() -> None:
    """The ``ifss`` entry point. It leaves without interpreter finalization: the Temporal
    client's native threads can still be running then, and tearing the interpreter down
    under them occasionally aborted the process (exit -6) after its work was done."""
    import os

    from workers.checks import ConfigurationError
    from workers.settings import SettingsError

    code = 0
    try:
        _check_arguments(sys.argv[1:])
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except (SettingsError, ConfigurationError) as exc:
        err_console.print(f"[red]refused:[/red] {exc}", highlight=False)
        code = 2
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _check_arguments(arguments: list[str]) -> None:
    """Arguments that are not UTF-8 text (the shell passed raw bytes) are refused here, once,
    rather than failing deep inside whatever command they reached."""
    for index, argument in enumerate(arguments, 1):
        if any("\udc80" <= char <= "\udcff" for char in argument):
            err_console.print(
                f"[red]refused:[/red] argument {index}: is not UTF-8 text", highlight=False
            )
            raise SystemExit(2)
