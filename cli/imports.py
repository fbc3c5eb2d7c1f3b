"""`ifss import FILE`: cases already open in another case system (see docs/import.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.cases import (
    ActorOption,
    _setup,
    console,
    err,
    fail,
    parse_actor,
    run_with_client,
    shown,
)
from events.vocabulary import OverdueOnImport, Role
from workers.root import Runtime

MAX_IMPORT_BYTES = 64 * 1024 * 1024  # a council's open cases, with their histories


def import_cases(
    file: Annotated[Path, typer.Argument(help="JSON Lines: one family per line.")],
    all_or_none: Annotated[
        bool,
        typer.Option(
            "--all-or-none/--good-rows",
            help="Your choice, stated: with --all-or-none one bad row means nothing is "
            "imported; with --good-rows the good rows are imported and the bad reported.",
            show_default=False,
        ),
    ],
    check: Annotated[
        bool, typer.Option("--check", help="Check every row and report; import nothing.")
    ] = False,
    overdue_alerts: Annotated[
        OverdueOnImport,
        typer.Option(
            help="Items already overdue at import are raised once each: into the inbox only "
            "(inbox), or delivered like any alert (deliver)."
        ),
    ] = OverdueOnImport.INBOX,
    actor: ActorOption = None,
) -> None:
    """Import families at their current phase, with their real past dates, from another
    case system (an admin's act). Every row is checked first; each bad row is reported
    with its line and field, and nothing of it is recorded. Exit 0: all rows imported (or,
    with --check, all good); 2: some row was bad."""
    from workflows.importer import import_rows

    settings = _setup()
    who = parse_actor(actor, settings)
    if who.role is not Role.ADMIN:
        raise fail("actor.role: only an admin may import cases")
    try:
        if not file.is_file():
            raise fail(f"file: {file} is not a regular file")
        if file.stat().st_size > MAX_IMPORT_BYTES:
            raise fail(f"file: must be at most {MAX_IMPORT_BYTES} bytes")
        data = file.read_bytes()
    except OSError as exc:
        raise fail(f"file: cannot read {file}: {exc.strerror}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # its byte-order mark says so
        raise fail("file: is UTF-16 text; save it as UTF-8 (one family per line)")
    if not data.replace(b"\xef\xbb\xbf", b"").strip():  # the wrong file, or an export cut
        raise fail("file: holds no families (it is empty, or every line is blank)")

    async def run(rt: Runtime) -> object:
        return await import_rows(
            # Lines decoded one by one (one not in UTF-8 is reported with its number);
            # split on newlines only, as U+2028 and friends may sit in a JSON string.
            data.split(b"\n"),
            who,
            client=rt.temporal,
            store=rt.store,
            task_queue=settings.task_queue,
            all_or_none=all_or_none,
            check_only=check,
            overdue_alerts=overdue_alerts,
            policy=rt.policy,
        )

    from workflows.importer import ImportReport

    report = run_with_client(settings, run, policy=True, actor=who)
    assert isinstance(report, ImportReport)
    for problem in report.problems:  # a field may be a key from the file: shown safely
        err.print(shown(str(problem), limit=1000), highlight=False)
    bad = len({p.line for p in report.problems})
    if check:
        console.print(f"checked {report.rows} row(s): {bad} bad; nothing imported", highlight=False)
    elif all_or_none and bad:
        console.print(
            f"{bad} of {report.rows} row(s) bad: nothing imported (--all-or-none)",
            highlight=False,
        )
    else:
        console.print(
            f"imported {len(report.imported)} of {report.rows} row(s)"
            + (f"; {bad} bad, not imported" if bad else ""),
            highlight=False,
        )
    if bad:
        raise typer.Exit(2)
