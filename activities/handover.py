"""Handover between workflows: a case asks its team (or another team) to move a family,
and a team asks its families' cases where they stand. Each is an update or a query on the
other workflow; a refusal comes back as ``CommandRejected`` naming the field and the rule,
never retried."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.service import RPCError, RPCStatusCode

from workflows.lifecycle.handover import Admission
from workflows.lifecycle.state import Phase
from workflows.team import FamiliesAsked, FamilyOnRecord
from workflows.team_protocol import AdmitImport, AdmitTransfer, ReassignCase
from workflows.team_workflow import TeamWorkflow

# The phases in which a family's work has not begun (it may go back on a waitlist).
NOT_STARTED = frozenset(p.value for p in (Phase.ACCEPTED, Phase.WAITLISTED, Phase.ALLOCATED))


def _refused(
    message: str, kind: object = "invalid", *said: object, benign: bool = True
) -> ApplicationError:
    """The team's refusal passed on: its message, kind and words (for the pages). A
    refusal is the answer, not a fault (``benign``): the worker logs it at debug level, not
    as a warning with a traceback (a full worker or an unknown team would fill the log)."""
    return ApplicationError(
        message,
        kind,
        *said,
        type="CommandRejected",
        non_retryable=True,
        category=(
            ApplicationErrorCategory.BENIGN if benign else ApplicationErrorCategory.UNSPECIFIED
        ),
    )


@contextmanager
def _answered(team_id: str) -> Iterator[None]:
    """A team's refusal, or its absence, as a refusal naming the field and the rule."""
    try:
        yield
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            raise _refused(cause.message, *cause.details[:2]) from None
        raise _refused(str(exc), benign=False) from None  # the team's workflow failed
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _refused(f"team_id: no team {team_id} is registered") from None
        raise


class HandoverActivities:
    """Needs a Temporal client; built once in the worker's composition root."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name="reassign_in_team")
    async def reassign_in_team(self, request: ReassignCase) -> None:
        """The team gives the family's place to another key worker (space checked)."""
        handle = self._client.get_workflow_handle(f"team-{request.team_id}")
        with _answered(request.team_id):
            await handle.execute_update(TeamWorkflow.reassign_case, request)

    @activity.defn(name="admit_transfer")
    async def admit_transfer(self, request: AdmitTransfer) -> Admission:
        """The receiving team allocates the family or waitlists it (or refuses)."""
        handle = self._client.get_workflow_handle(f"team-{request.team_id}")
        with _answered(request.team_id):
            return await handle.execute_update(TeamWorkflow.admit_transfer, request)
        raise AssertionError("unreachable")  # for mypy: _answered re-raises

    @activity.defn(name="admit_import")
    async def admit_import(self, request: AdmitImport) -> Admission:
        """The team takes in an imported family where it stands (or refuses, naming why)."""
        handle = self._client.get_workflow_handle(f"team-{request.team_id}")
        with _answered(request.team_id):
            return await handle.execute_update(TeamWorkflow.admit_import, request)
        raise AssertionError("unreachable")  # for mypy: _answered re-raises

    @activity.defn(name="families_of")
    async def families_of(self, asked: FamiliesAsked) -> list[FamilyOnRecord]:
        """Each family's priority, referral date and whether its work has begun, from its
        case (a query: nothing recorded). A case that does not answer is left out, so the
        team treats it as begun and does not put it back on the waitlist."""
        out: list[FamilyOnRecord] = []
        for case_id in asked.case_ids:
            try:
                view = await self._client.get_workflow_handle(f"case-{case_id}").query("view")
            except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as exc:
                activity.logger.warning(
                    "case did not answer", extra={"case_id": case_id, "error": type(exc).__name__}
                )
                continue
            out.append(
                FamilyOnRecord(
                    case_id=case_id,
                    priority=view["priority"],
                    referred_on=view.get("referred_on"),
                    started=view["phase"] not in NOT_STARTED,
                )
            )
        return out
