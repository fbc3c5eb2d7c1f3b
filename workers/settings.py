"""Configuration, read once at a process's entry point and passed down.

Every setting is an ``IFSS_*`` environment variable (or a line in ``.env``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.validation import first_problem

# A TCP port to listen on: 0 would be any port, which nobody could then be told.
Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    """The engine's settings; unset services mean "start the embedded one"."""

    model_config = SettingsConfigDict(env_prefix="IFSS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL DSN. Unset: `ifss dev` starts an embedded server.",
    )
    temporal_address: str | None = Field(
        default=None,
        description="Temporal frontend host:port. Unset: `ifss dev` starts a dev server.",
    )
    temporal_namespace: str = Field(default="default", description="Temporal namespace.")
    task_queue: str = Field(default="ifss-cases", description="Temporal task queue.")
    state_dir: Path = Field(
        default=Path(".ifss"),
        description="Where the embedded PostgreSQL data and the Temporal dev database live.",
    )
    test_database_url: str | None = Field(
        default=None,
        description="PostgreSQL DSN for the test suite. Unset: tests use an embedded server.",
    )
    temporal_port: Port = Field(
        default=7233, description="Port of the embedded Temporal dev server."
    )
    temporal_ui_port: Port = Field(
        default=8233, description="Port of the Temporal dev server's UI."
    )
    actor: str | None = Field(
        default=None,
        description="Who the CLI acts as, `USER:ROLE` (e.g. `cm-jones:case_manager`); `--as` overrides.",
    )
    api_host: str = Field(default="127.0.0.1", description="Where `ifss api` listens.")
    api_port: Port = Field(default=8000, description="Port of `ifss api` (and of `ifss dev`).")
    policy_file: Path | None = Field(
        default=None,
        description="A JSON `ProgrammePolicy` for new referrals (checked at start-up). Unset: the default policy.",
    )
    public_url: str | None = Field(
        default=None,
        description="Base of the links in alert messages (`<public_url>/cases/<case_id>`). "
        "Unset: `http://IFSS_API_HOST:IFSS_API_PORT`.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret for the `X-IFSS-Signature` HMAC-SHA256 of webhook bodies. "
        "Required when any user receives alerts by webhook.",
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for alert email. Unset: email delivery is off."
    )
    smtp_port: int = Field(default=587, description="SMTP port.")
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the SMTP connection with STARTTLS."
    )
    smtp_username: str | None = Field(default=None, description="SMTP user, if it needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(default="ifss-alerts@localhost", description="Sender of alert email.")
    alert_retry_hours: float = Field(
        default=24.0,
        gt=0,
        description="How long a delivery is retried (with backoff) before `AlertDeliveryFailed` "
        "and an escalation.",
    )
    alert_retry_first_seconds: float = Field(
        default=5.0, gt=0, description="First retry interval of an alert delivery (doubles)."
    )
    api_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body the API reads; larger ones get 413 before parsing.",
    )
    shutdown_grace_seconds: float = Field(
        default=10.0,
        ge=0,
        description="On Ctrl-C or SIGTERM, how long in-flight requests may finish before "
        "they are cancelled (a second Ctrl-C stops at once).",
    )
    token: SecretStr | None = Field(
        default=None,
        description="An API token (`ifss tokens create`): the CLI acts as its user, by the API's "
        "rules. Unset: `--as USER:ROLE` must name an existing, active user with that role.",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="The master key (base64, 32 bytes; `ifss keys generate`) that wraps each "
        "family's data key. Unset with no IFSS_MASTER_KEY_FILE: refused, except on the embedded "
        "dev database, where `<IFSS_STATE_DIR>/master.key` is made once.",
    )
    master_key_file: Path | None = Field(
        default=None,
        description="A file holding the master key on its first line (previous keys, during a "
        "rotation, on the lines after it).",
    )
    previous_master_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated master keys being rotated away from (`ifss keys rotate`).",
    )
    accept_unsealed_payloads: bool = Field(
        default=False,
        description="Let workflows take Temporal payloads that are not sealed: only while "
        "episodes started before payloads were sealed still run (their histories are in "
        "clear). Meanwhile anyone who can reach Temporal can send a workflow commands in "
        "clear; off, such payloads are dropped (signals) or refused (updates).",
    )
    anchor_key_file: Path | None = Field(
        default=None,
        description="Ed25519 key file (base64, `ifss keys generate`) that signs `ifss audit anchor`; "
        "keep it outside the database.",
    )
    report_costs_file: Path | None = Field(
        default=None,
        description="JSON list of team costs (team_id, from, to, staff, overheads in pounds) "
        "for the report's cost per case (`ifss report --costs` overrides it).",
    )
    temporal_ui_origin: str | None = Field(
        default=None,
        description="The Temporal UI's origin (`https://temporal.council.example`) allowed to "
        "call the API's codec endpoint (CORS). Unset: the dev server's UI "
        "(`http://127.0.0.1:IFSS_TEMPORAL_UI_PORT`) when Temporal is embedded, else none.",
    )
    service_name: str = Field(
        default="Integrated Family Support Service",
        min_length=1,
        max_length=80,
        description="The service's name in the web pages' header (the council's own wording).",
    )
    service_name_cy: str | None = Field(
        default=None,
        min_length=1,
        max_length=80,
        description="The service's name on the Welsh pages (unset: IFSS_SERVICE_NAME; the "
        "default name has its Welsh in the catalogue).",
    )
    web_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="A web session unused for this long is signed out.",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="The council's OpenID Connect issuer (Entra ID: "
        "`https://login.microsoftonline.com/<tenant>/v2.0`): the pages offer signing in with it. "
        "Unset: passwords only.",
    )
    oidc_client_id: str | None = Field(
        default=None, description="This service's client id at the OpenID Connect provider."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="This service's client secret at the OpenID Connect provider."
    )
    log_format: str = Field(
        default="auto", description="`console`, `json`, or `auto` (console on a terminal)."
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")

    @property
    def link_base(self) -> str:
        """Where alert links point: ``IFSS_PUBLIC_URL``, else the API this process would
        serve (so a moved ``IFSS_API_PORT`` moves the links with it)."""
        return self.public_url or f"http://{self.api_host}:{self.api_port}"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable and the rule."""


def load_settings() -> Settings:
    """Read the settings from the environment (and ``.env``); raises ``SettingsError``."""
    try:
        return Settings()
    except ValidationError as exc:
        field, rule = first_problem(exc.errors(include_input=False), whole="settings")
        raise SettingsError(f"IFSS_{field.split('.')[0].upper()}: {rule}") from None
