"""``ifss keys``: the master key and the families' data keys (see docs/privacy.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

keys_app = typer.Typer(help="Keys that seal personal data (docs/privacy.md).", no_args_is_help=True)
console = Console(soft_wrap=True)  # messages: one line each, however narrow the output


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new random key (base64 of 32 bytes): a master key (IFSS_MASTER_KEY) or an
    anchor signing key (IFSS_ANCHOR_KEY_FILE). Keep it outside the database."""
    from events.keys import generate_master_key

    print(generate_master_key())


@keys_app.command("public")
def keys_public(
    key: Annotated[Path, typer.Option(help="The anchor signing key file.")],
) -> None:
    """Print the verification key of an anchor signing key (`ed25519-public:…`): give it to
    whoever checks anchors (`ifss audit verify --anchor FILE --key PUBLIC_FILE`); it
    verifies and cannot sign."""
    from events.anchor import AnchorProblem, load_signing_key, public_key_text

    try:
        print(public_key_text(load_signing_key(key)))
    except AnchorProblem as exc:
        console.print(f"[red]refused:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every family's data key under the current master key (the old one must be in
    IFSS_PREVIOUS_MASTER_KEYS or the key file's later lines). No event is rewritten."""
    from cli.main import _database_url, _settings
    from workers.root import runtime

    settings = _settings()
    dsn = _database_url(settings)

    async def main() -> int:
        async with runtime(settings, database_url=dsn, pool_size=2) as rt:
            return await rt.store.keyring.rotate(rt.pool)

    done = asyncio.run(main())
    console.print(f"re-wrapped {done} data key(s) under the current master key")


@keys_app.command("status")
def keys_status() -> None:
    """Master keys this database knows, and data keys per master key (live, destroyed)."""
    from cli.main import _database_url, _settings
    from workers.root import runtime

    settings = _settings()
    dsn = _database_url(settings)

    from events.keys import key_status

    async def main() -> list[tuple[str, int, int, int]]:
        async with runtime(settings, database_url=dsn, pool_size=2) as rt:
            return await key_status(rt.pool)

    for key_id, version, live, destroyed in asyncio.run(main()):
        console.print(
            f"master key {key_id} v{version}: {live} live data key(s), {destroyed} destroyed"
        )


@keys_app.command("seal-legacy")
def keys_seal_legacy() -> None:
    """Seal personal data stored in clear before sealing existed (run with the engine
    stopped). Each rewritten stream's old head is kept in the `legacy-seal` stream; take a
    new anchor afterwards (`ifss audit anchor`). Safe to run again: it seals only what is
    still in clear."""
    from cli.main import _database_url, _settings
    from events.legacy import seal_legacy
    from workers.root import runtime

    settings = _settings()
    dsn = _database_url(settings)

    async def main() -> tuple[int, int]:
        async with runtime(settings, database_url=dsn, pool_size=2) as rt:
            report = await seal_legacy(rt.store)
            return report.streams, report.events

    streams, events = asyncio.run(main())
    console.print(f"sealed {events} event(s) in {streams} stream(s); the chains verify")
