"""Alert configuration is checked at start-up, with messages naming the setting."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from events.catalogue import ProgrammePolicyRegistered
from events.errors import InvalidInput
from events.policy import ProgrammePolicy
from events.store import EventStore
from identity.users import add_user, check_email, check_webhook_url, set_alert_routes
from tests.keys import MASTER_KEY, keyring
from tests.receivers import MailCollector, free_port
from workers.checks import ConfigurationError, check_configuration, load_policy, register_policy
from workers.settings import Settings

pytestmark = pytest.mark.integration


def settings(**values: object) -> Settings:
    return Settings.model_validate(
        {"public_url": "https://ifss.example", "webhook_secret": "s", **values}
    )


async def test_a_clean_configuration_passes_and_loads_the_policy(
    pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    policy_file = tmp_path / "policy.json"
    policy_file.write_text('{"version": "2027.1", "alert_severity": {"review_due_soon": "medium"}}')
    await add_user(pool, "cm-jones", "case_manager", "cardiff")
    await set_alert_routes(pool, "cm-jones", webhook="https://hooks.example/ifss")
    policy = await check_configuration(settings(policy_file=policy_file), store)
    assert policy.version == "2027.1" and policy.alert_severity == {"review_due_soon": "medium"}


async def test_a_known_policy_version_with_other_numbers_is_refused(
    pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    first = tmp_path / "first.json"
    first.write_text('{"version": "2027.2", "caseload_limit": 4}')
    registered = await check_configuration(settings(policy_file=first), store)
    again = tmp_path / "again.json"  # the same content, written otherwise: accepted
    again.write_text('{"caseload_limit": 4,\n "version": "2027.2"}')
    assert (await check_configuration(settings(policy_file=again), store)) == registered
    changed = tmp_path / "changed.json"
    changed.write_text('{"version": "2027.2", "caseload_limit": 5}')
    other = load_policy(settings(policy_file=changed))
    with pytest.raises(ConfigurationError) as refused:
        await check_configuration(settings(policy_file=changed), store)
    message = str(refused.value)
    assert message.startswith("IFSS_POLICY_FILE: policy version 2027.2 is registered")
    assert registered.digest in message and other.digest in message
    store = EventStore(pool, keyring())
    [event] = await store.read_stream("policy-2027.2")
    assert isinstance(event.event, ProgrammePolicyRegistered)
    assert event.event.policy.caseload_limit == 4  # the first content, once and for all


async def test_processes_starting_together_register_a_version_once(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    policy = ProgrammePolicy(version="2027.3", no_contact_days=5)
    await asyncio.gather(*(register_policy(EventStore(pool, keyring()), policy) for _ in range(6)))
    assert len(await EventStore(pool, keyring()).read_stream("policy-2027.3")) == 1


async def test_an_unknown_rule_in_the_policy_file(
    pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    bad = tmp_path / "policy.json"
    bad.write_text('{"alert_severity": {"no_such_rule": "high"}}')
    with pytest.raises(ConfigurationError, match=r"IFSS_POLICY_FILE: alert_severity\.no_such_rule"):
        await check_configuration(settings(policy_file=bad), store)
    with pytest.raises(ConfigurationError, match="IFSS_POLICY_FILE: cannot read"):
        load_policy(settings(policy_file=tmp_path / "missing.json"))


async def test_a_malformed_webhook_url(pool: asyncpg.Pool, store: EventStore) -> None:
    with pytest.raises(ConfigurationError, match=r"IFSS_PUBLIC_URL: 'ifss\.example' must be"):
        await check_configuration(settings(public_url="ifss.example"), store)
    await add_user(pool, "cm-jones", "case_manager", "cardiff")
    # a route stored before validation existed (or edited by hand) is still caught
    await pool.execute(
        "INSERT INTO alert_routes (user_id, channel, address) VALUES ('cm-jones', 'webhook', $1)",
        "http//missing-colon",
    )
    with pytest.raises(ConfigurationError, match="alert routes: user cm-jones's webhook"):
        await check_configuration(settings(), store)


async def test_webhooks_need_a_secret(pool: asyncpg.Pool, store: EventStore) -> None:
    await add_user(pool, "cm-jones", "case_manager", "cardiff")
    await set_alert_routes(pool, "cm-jones", webhook="https://hooks.example/ifss")
    with pytest.raises(ConfigurationError, match="IFSS_WEBHOOK_SECRET: users receive alerts"):
        await check_configuration(settings(webhook_secret=None), store)


async def test_email_needs_a_reachable_smtp_host(pool: asyncpg.Pool, store: EventStore) -> None:
    await add_user(pool, "cm-jones", "case_manager", "cardiff")
    await set_alert_routes(pool, "cm-jones", email="jones@council.example")
    with pytest.raises(ConfigurationError, match="IFSS_SMTP_HOST: users receive alerts by email"):
        await check_configuration(settings(), store)
    port = free_port()  # nothing listens there
    with pytest.raises(
        ConfigurationError, match=f"IFSS_SMTP_HOST: cannot reach the SMTP server 127.0.0.1:{port}"
    ):
        await check_configuration(settings(smtp_host="127.0.0.1", smtp_port=port), store)
    controller = Controller(MailCollector(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await check_configuration(settings(smtp_host="127.0.0.1", smtp_port=port), store)
    finally:
        controller.stop()


async def test_alert_routes_refuse_bad_input_and_record_nothing(pool: asyncpg.Pool) -> None:
    await add_user(pool, "cm-jones", "case_manager", "cardiff")
    cases = [
        (dict(webhook="ftp://x.example"), "webhook: 'ftp://x.example' must be an http"),
        (dict(webhook="https://:99999"), "webhook: 'https://:99999' is not a valid URL"),
        (dict(email="not-an-address"), "email: is not an email address"),
        (dict(email="a@b\r\nBcc: x@y"), "email: must be one line without control characters"),
        (dict(webhook="http://x/\x01"), "webhook: must be one line without control characters"),
        (dict(webhook="https://a.example/" + "x" * 2000), "webhook: must be at most 2000"),
        (dict(webhook="https://u:secret@a.example/"), "webhook: must not hold a user name"),
        (dict(webhook="http://169.254.169.254/latest/meta-data/"), "webhook: must not name 169"),
        (dict(webhook="http://[fe80::1]/"), "webhook: must not name fe80::1"),
        (dict(webhook="http://0.0.0.0:5432/"), "webhook: must not name 0.0.0.0"),
        (dict(), "webhook: give --webhook, --email, or --none"),
        (dict(webhook="https://a.example", clear=True), "none: cannot clear the channels"),
    ]
    for kwargs, message in cases:
        with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace("?", r"\?")):
            await set_alert_routes(pool, "cm-jones", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="user_id: no user cm-nobody"):
        await set_alert_routes(pool, "cm-nobody", webhook="https://a.example")
    assert await pool.fetchval("SELECT count(*) FROM alert_routes") == 0
    assert check_webhook_url("https://a.example:8443/x") == "https://a.example:8443/x"
    # A receiver on this machine or the council's own network is a deployment's choice.
    assert check_webhook_url("http://127.0.0.1:9000/hook") == "http://127.0.0.1:9000/hook"
    assert check_webhook_url("https://10.1.2.3/hook") == "https://10.1.2.3/hook"
    assert check_email("a@b.example") == "a@b.example"
    routes = await set_alert_routes(pool, "cm-jones", webhook="https://a.example", email="a@b.c")
    assert routes == [("email", "a@b.c"), ("webhook", "https://a.example")]
    assert await set_alert_routes(pool, "cm-jones", clear=True) == []


def test_the_worker_refuses_to_start_with_a_bad_policy_file(
    database_url: str, migrated: str, tmp_path: Path
) -> None:
    bad = tmp_path / "policy.json"
    bad.write_text('{"alert_severity": {"no_such_rule": "high"}}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFSS_")}
    env["IFSS_MASTER_KEY"] = MASTER_KEY  # the run's key (tests.keys)
    env.update(
        # this test's own schema (asyncpg passes unknown DSN parameters as settings)
        IFSS_DATABASE_URL=f"{database_url}{'&' if '?' in database_url else '?'}search_path={migrated}",
        IFSS_POLICY_FILE=str(bad),
        IFSS_TEMPORAL_ADDRESS="127.0.0.1:1",  # never reached: the check comes first
    )
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ifss"), "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "IFSS_POLICY_FILE: alert_severity.no_such_rule" in done.stderr
