"""Alert delivery activities: who is told, and telling them (signed webhook, email).

Bodies carry no personal data: the alert's reference, case id, rule, severity and a link
to the case. Each delivery has an idempotency key (the alert reference, plus
``:escalated`` for an escalation) so a retried or repeated POST can be recognised.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from email.message import EmailMessage

import aiosmtplib
import asyncpg
import httpx
import orjson
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import classified
from events.catalogue import AlertAcknowledged, AlertResolved
from events.store import EventStore
from events.vocabulary import AlertRule, AlertSeverity, DeliveryChannel

SIGNATURE_HEADER = "X-IFSS-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
CLOSING_TYPES = (AlertResolved.__name__, AlertAcknowledged.__name__)


class AlertNotice(BaseModel):
    """What a delivery workflow delivers (from an ``AlertRaised`` or ``AlertEscalated``)."""

    stream_id: str
    alert_id: str
    case_id: str | None
    rule: AlertRule
    severity: AlertSeverity
    to_key_worker: str | None
    to_supervisors_of_team: str | None
    acknowledge_by: datetime
    escalation: bool = False
    retry_first_seconds: float = 5.0
    retry_hours: float = 24.0

    @property
    def ref(self) -> str:
        return f"{self.stream_id}:{self.alert_id}"

    @property
    def idempotency_key(self) -> str:
        return f"{self.ref}:escalated" if self.escalation else self.ref


class Route(BaseModel):
    user_id: str
    channel: DeliveryChannel
    address: str


class Delivery(BaseModel):
    notice: AlertNotice
    route: Route


class DeliverySettings(BaseModel):
    public_url: str
    webhook_secret: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "ifss-alerts@localhost"


def sign(secret: str, body: bytes) -> str:
    """The ``X-IFSS-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def message_body(notice: AlertNotice, public_url: str) -> dict[str, object]:
    """The JSON a receiver gets: references and codes only, never a name or a note."""
    link = (
        f"{public_url.rstrip('/')}/cases/{notice.case_id}"
        if notice.case_id
        else f"{public_url.rstrip('/')}/alerts"
    )
    return {
        "alert": notice.ref,
        "case_id": notice.case_id,
        "team_id": notice.to_supervisors_of_team,
        "rule": notice.rule.value,
        "severity": notice.severity.value,
        "escalation": notice.escalation,
        "acknowledge_by": notice.acknowledge_by.isoformat(),
        "link": link,
    }


def subject_line(notice: AlertNotice) -> str:
    what = notice.rule.value.replace("_", " ")
    about = f"case {notice.case_id}" if notice.case_id else f"team {notice.to_supervisors_of_team}"
    prefix = "ESCALATED: " if notice.escalation else ""
    return f"{prefix}IFSS alert ({notice.severity.value}): {what} — {about}"


class AlertActivities:
    """Built once per worker: the store (has the alert closed?), its pool (for routes), an
    HTTP client, the settings."""

    def __init__(self, store: EventStore, settings: DeliverySettings) -> None:
        self._store = store
        self._pool = store.pool
        self._settings = settings
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0))

    async def aclose(self) -> None:
        await self._http.aclose()

    @activity.defn(name="alert_routes")
    async def alert_routes(self, notice: AlertNotice) -> list[Route]:
        """Every channel of every recipient: the key worker (not for an escalation) and the
        active supervisors of the team (when it goes to them). An alert for a key worker
        who cannot be told (deactivated: someone who left) goes to the active supervisors
        of their team instead, at once: nobody would hear of it until its escalation, a day
        or three later."""
        try:
            rows = await self._routes(notice)
        except Exception as exc:
            raise classified(exc) from exc
        return [
            Route(user_id=r["user_id"], channel=r["channel"], address=r["address"]) for r in rows
        ]

    async def _routes(self, notice: AlertNotice) -> list[asyncpg.Record]:
        return await self._pool.fetch(
            """WITH absent AS (
                   SELECT team_id FROM users
                    WHERE user_id = $1 AND NOT active AND NOT $3 AND team_id IS NOT NULL
               )
               SELECT r.user_id, r.channel, r.address
                 FROM alert_routes r JOIN users u USING (user_id)
                WHERE u.active
                  AND ((u.user_id = $1 AND NOT $3)
                       OR (u.role = 'supervisor'
                           AND (u.team_id = $2 OR u.team_id IN (SELECT team_id FROM absent))))
                ORDER BY r.user_id, r.channel""",
            notice.to_key_worker,
            notice.to_supervisors_of_team,
            notice.escalation,
        )

    @activity.defn(name="deliver_alert")
    async def deliver_alert(self, delivery: Delivery) -> int:
        """Deliver once; raise to be retried. Returns the attempt that succeeded, or 0 when
        the alert was resolved or acknowledged meanwhile (nobody is told about a problem
        that is gone, however long the retries took)."""
        if await self._closed(delivery.notice):
            return 0
        if delivery.route.channel is DeliveryChannel.WEBHOOK:
            await self._post(delivery)
        else:
            await self._mail(delivery)
        return activity.info().attempt

    async def _closed(self, notice: AlertNotice) -> bool:
        closing = await self._store.read_stream(notice.stream_id, types=CLOSING_TYPES)
        return any(
            isinstance(closed := e.event, AlertResolved | AlertAcknowledged)
            and closed.alert_id == notice.alert_id
            for e in closing
        )

    async def _post(self, delivery: Delivery) -> None:
        secret = self._settings.webhook_secret
        if not secret:
            raise ApplicationError(
                "IFSS_WEBHOOK_SECRET is not set: webhook bodies cannot be signed",
                type="ConfigurationError",
                non_retryable=True,
            )
        body = orjson.dumps(message_body(delivery.notice, self._settings.public_url))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body),
            IDEMPOTENCY_HEADER: delivery.notice.idempotency_key,
        }
        try:
            response = await self._http.post(delivery.route.address, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ApplicationError(f"webhook unreachable: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise ApplicationError(f"webhook answered {response.status_code}")

    async def _mail(self, delivery: Delivery) -> None:
        s = self._settings
        if not s.smtp_host:
            raise ApplicationError(
                "IFSS_SMTP_HOST is not set: email delivery is off",
                type="ConfigurationError",
                non_retryable=True,
            )
        notice = delivery.notice
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = delivery.route.address
        message["Subject"] = subject_line(notice)
        message["Message-ID"] = f"<{notice.idempotency_key.replace(':', '.')}@ifss>"
        message[IDEMPOTENCY_HEADER] = notice.idempotency_key
        body = message_body(notice, s.public_url)
        message.set_content(
            f"{subject_line(notice)}\n\nAcknowledge by {body['acknowledge_by']}.\n"
            f"Open: {body['link']}\nAlert: {notice.ref}\n"
        )
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                start_tls=s.smtp_starttls,
                username=s.smtp_username,
                password=s.smtp_password,
                timeout=30,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ApplicationError(f"SMTP failed: {type(exc).__name__}") from None
