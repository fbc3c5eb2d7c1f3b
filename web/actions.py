"""The pages that change things: a form per case command, the referral form, acknowledging
an alert, and administration. Each post is checked for its CSRF token, sent through the
same commands and recorded acts as the API and the CLI, and claims its submission id first,
so a double submit records once (the second is shown the first one's result)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from api.commands import run_command
from api.problems import ApiError
from events.catalogue import (
    AlertRoutesChanged,
    TokenCreated,
    TokenRevoked,
    UserActiveChanged,
    UserAdded,
    UserPasswordChanged,
    UserSignInLinked,
)
from events.errors import InvalidInput
from events.programmes import DEFAULT_PROGRAMME, PROGRAMMES
from events.store import team_known
from events.vocabulary import (
    AgeBand,
    LanguagePreference,
    LocalAuthority,
    PresentingNeed,
    ReferralGround,
    ReferringAgency,
    Role,
    StatutoryStatus,
)
from identity.journal import recorded
from identity.users import User
from projections import queries
from web.forms import (
    CORRECTABLE_FIELDS,
    LABELS,
    LIVE_FIELDS,
    TITLES,
    FormField,
    correction,
    day_parts,
    fields_of,
    joined_day,
    live_view,
    offered,
    parts_of,
    place_errors,
    read_form,
)
from web.i18n import Reader
from web.pages import readable, today_in_wales
from web.refusals import form_rule_in, rule_in
from web.render import Page, render
from web.routes import form_of, need_role, page_for, router, see_other, svc_of
from web.words import event_title
from workflows import client as cases
from workflows import commands as cmd
from workflows.lifecycle.corrections import BY_NAME

log = structlog.get_logger(__name__)


# --- submissions: once each ------------------------------------------------------------------


async def claim(pool: Any, form: FormData, user: User) -> tuple[uuid.UUID | None, str | None]:
    """(the submission id, None) when this post is the first with its id; (id, where the
    first one went) when it was recorded already; (None, None) for a form without one."""
    try:
        submission = uuid.UUID(str(form.get("submission_id") or ""))
    except ValueError:
        return None, None
    inserted = await pool.fetchval(
        "INSERT INTO web_submissions (submission_id, user_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING true",
        submission,
        user.user_id,
    )
    if inserted:
        return submission, None
    done = await pool.fetchval(
        "SELECT coalesce(result_url, '') FROM web_submissions WHERE submission_id = $1 "
        "AND user_id = $2",
        submission,
        user.user_id,
    )
    return submission, done if done is not None else ""


async def settle(pool: Any, submission: uuid.UUID | None, result_url: str | None) -> None:
    """Record where a submission went, or give its claim back when it was refused."""
    if submission is None:
        return
    if result_url is None:
        await pool.execute("DELETE FROM web_submissions WHERE submission_id = $1", submission)
    else:
        await pool.execute(
            "UPDATE web_submissions SET result_url = $2 WHERE submission_id = $1",
            submission,
            result_url,
        )
        await pool.execute(
            "DELETE FROM web_submissions WHERE created_at < now() - interval '2 days'"
        )


def pydantic_errors(exc: ValidationError, reader: Reader | None = None) -> list[tuple[str, str]]:
    """Each of a form's problems as (field, rule), the rule in the reader's language."""
    out = []
    for error in exc.errors(include_input=False):
        rule = form_rule_in(reader, error) if reader is not None else error["msg"]
        out.append((_form_field(error["loc"]), rule))
    return out


def _form_field(loc: tuple[int | str, ...]) -> str:
    """The form's name for a model's error location: a list item's own field by its row
    (``children.0.date_of_birth``, the referral form's rows, whose personal parts are
    fields of the row), else the field (``scores`` for any of the scores)."""
    if any(isinstance(p, int) for p in loc) and "personal" in loc:
        return ".".join(str(p) for p in loc if p != "personal")
    return ".".join([str(p) for p in loc if not isinstance(p, int)][:2]) or "body"


def refusal_of(page: Page, exc: ApiError) -> tuple[str, str]:
    """A refusal of the API (the rules, the team) as (field, rule) in the page's language."""
    return exc.field, rule_in(page.language, exc.rule, exc.said)


# --- a case command ---------------------------------------------------------------------


async def _case_choices(
    page: Page, view: dict[str, Any] | None, fields: list[FormField], name: str
) -> dict[str, Any]:
    """Fill the fields that name something of this case (its reviews, goals, children,
    boosters), its team's key workers, or the registered teams, from the live case."""
    if view is None:  # the fields stay free text
        return {}
    svc = svc_of(page.request)
    _ = page.language._
    goals = [g["goal_id"] for g in view.get("goals") or []]
    children = list((view.get("children") or {}).keys())
    for f in fields:
        if f.name == "review_id":
            f.kind, f.enum = "select", None
            f.options = [
                (
                    r["review_id"],
                    _("%(month)s-month review, due %(due)s")
                    % {"month": r["month"], "due": page.language.day(r["due_on"])},
                )
                for r in view.get("reviews") or []
                if r["status"] not in ("completed", "not_held", "cancelled")
            ]
        elif f.name == "version" and name == "correct_entry":
            f.kind, f.enum = "select", None
            f.options = [
                (str(e.stream_version), _entry_words(page, e))
                for e in await queries.history(svc.pool, str(view.get("case_id")))
                if e.type in BY_NAME
            ]
        elif f.name == "changes" and name == "correct_entry":
            f.options = [(code, _(LABELS.get(code, code))) for code in CORRECTABLE_FIELDS]
        elif f.name == "child_id" and name == "change_child_status":
            f.kind, f.options, f.enum = "select", [(c, c) for c in children], None
        elif f.name == "booster_id" and name == "record_booster":
            f.kind, f.enum = "select", None
            f.options = [
                (b["booster_id"], b["booster_id"])
                for b in view.get("boosters") or []
                if not b.get("delivered_at")
            ]
        elif f.name == "key_worker_id" and name == "reassign":
            rows = await svc.pool.fetch(
                "SELECT key_worker_id FROM key_workers WHERE team_id = $1 AND active ORDER BY 1",
                view.get("team_id"),
            )
            f.kind, f.enum = "select", None
            f.options = [
                (r["key_worker_id"], r["key_worker_id"])
                for r in rows
                if r["key_worker_id"] != view.get("key_worker_id")
            ]
        elif f.name == "team_id" and name == "transfer":
            f.kind, f.enum = "select", None
            f.options = [
                (t["team_id"], t["team_id"])
                for t in await queries.teams(svc.pool)
                if t["team_id"] != view.get("team_id")
            ]
    defined = PROGRAMMES.get(str(view.get("programme") or DEFAULT_PROGRAMME))
    cy = page.language.code == "cy"
    measures = [
        (m.code, f"{m.label_cy if cy else m.label} ({m.minimum} to {m.maximum})")
        for m in (defined.measures if defined else ())
    ]
    return {"goals": goals, "children": children, "measures": measures}


def _entry_words(page: Page, entry: queries.HistoryEntry) -> str:
    """An entry a correction may name, as the timeline shows it."""
    return f"{entry.stream_version}: {event_title(entry.type, page.language._)}, " + (
        page.language.moment(entry.occurred_at)
    )


async def _command_context(
    request: Request, case_id: str, name: str, *, posted: bool = False
) -> tuple[Page, dict[str, Any], User, dict[str, Any] | None, FormData | None]:
    """The page, the case (its live phase and people over the read model's summary, which
    can lag a moment behind a command just recorded), the user, the live view, and the
    posted form: its CSRF token checked first, so a forged post reads nothing (and logs no
    read)."""
    page = await page_for(request)
    user = page.user
    assert user is not None
    form = await form_of(request, page) if posted else None
    name = cmd.canonical_name(name)
    # A correction's form lists the case's history (its entries): that read is logged as one.
    summary = await readable(page, case_id, "history" if name == "correct_entry" else "summary")
    view = await live_view(page, case_id)
    case = {**summary, **{k: view[k] for k in LIVE_FIELDS if k in view}} if view else summary
    if name not in offered(case["phase"], user.role.value) or not user.can_command(case):
        raise ApiError(404, "name", f"{name[:64]} is not something you can do on this case now")
    return page, case, user, view, form


@router.get("/cases/{case_id}/do/{name}")
async def command_form(request: Request, case_id: str, name: str) -> Response:
    page, summary, _, view, _ = await _command_context(request, case_id, name)
    name = cmd.canonical_name(name)
    fields = fields_of(name)
    extra = await _case_choices(page, view, fields, name)
    return render(
        page, "command.html", case=summary, name=name, title=TITLES[name], fields=fields,
        errors=[], submission_id=uuid.uuid4(), **extra,
    )  # fmt: skip


@router.post("/cases/{case_id}/do/{name}")
async def command_post(request: Request, case_id: str, name: str) -> Response:
    page, summary, user, view, form = await _command_context(request, case_id, name, posted=True)
    assert form is not None
    name = cmd.canonical_name(name)
    svc = svc_of(request)
    fields = fields_of(name)
    extra = await _case_choices(page, view, fields, name)
    values = read_form(fields, form)
    if name == "correct_entry":
        values = correction(values)
    submission, went = await claim(svc.pool, form, user)
    if went:
        return see_other(went)
    if went == "":  # the same form is being recorded now (or its sending was cut off)
        return see_other(f"/app/cases/{case_id}?resent=1")
    errors: list[tuple[str, str]] = []
    try:
        now_field = cmd.NOW_DEFAULTS.get(name)
        if now_field and values.get(now_field) is None:
            values[now_field] = datetime.now(UTC)
        command = cmd.COMMANDS[name].model_validate({**values, "actor": user.actor})
    except ValidationError as exc:
        errors = pydantic_errors(exc, page.language)
    else:
        try:
            await run_command(cases.send_command(svc.temporal, case_id, name, command))
        except ApiError as exc:
            errors = [refusal_of(page, exc)]
    if errors:
        await settle(svc.pool, submission, None)
        summary_errors = place_errors(fields, errors, page.language._)
        return render(
            page, "command.html", status_code=400 if errors else 200, case=summary, name=name,
            title=TITLES[name], fields=fields, errors=summary_errors, submission_id=submission or uuid.uuid4(),
            **extra,
        )  # fmt: skip
    done = f"/app/cases/{case_id}?done={name}"
    await settle(svc.pool, submission, done)
    log.info("web_command", case_id=case_id, actor=user.user_id, command=name)
    return see_other(done)


# --- alerts ------------------------------------------------------------------------------


@router.post("/alerts/{alert_ref}/acknowledge")
async def acknowledge(request: Request, alert_ref: str) -> Response:
    page = await page_for(request)
    user = page.user
    assert user is not None
    svc = svc_of(request)
    form = await form_of(request, page)
    back = str(form.get("back") or "/app")
    back = back if back.startswith("/app") and not back.startswith("//") else "/app"
    try:
        mine = await queries.alerts_for_user(
            svc.pool, user.user_id, user.role.value, user.team_id, include_closed=True,
            alert_ref=alert_ref[:200],
        )  # fmt: skip
    except queries.AlertsRefused:
        mine = []
    if not mine:
        raise ApiError(404, "alert_id", "no such alert in your inbox")
    alert = mine[0]
    if alert["acknowledged_at"] is None:
        try:
            await run_command(cases.acknowledge_alert(svc.temporal, alert_ref, user.actor))
        except ApiError as exc:
            if exc.status_code not in (404, 409, 422):
                raise
        else:  # as recorded; the read model shows it a moment later
            alert = {**alert, "acknowledged_at": datetime.now(UTC), "acknowledged_by": user.user_id}
    if request.headers.get("hx-request") == "true":  # htmx: just the alert's row
        return render(page, "alert_row.html", alert=alert, back=back)
    return see_other(back + ("&" if "?" in back else "?") + "acknowledged=1")


# --- referrals (business support, supervisors, key workers) ------------------------------

CHILD_ROWS, ADULT_ROWS = 4, 3


@router.get("/referrals")
async def referrals(request: Request) -> Response:
    page = await page_for(request)
    user = need_role(page, Role.BUSINESS_SUPPORT, Role.SUPERVISOR, Role.CASE_MANAGER)
    svc = svc_of(request)
    rows = await queries.list_cases(svc.pool, team_id=user.team_id, limit=200)
    rows = sorted(rows, key=lambda r: (r["referred_on"], r["case_id"]), reverse=True)
    if user.role is Role.CASE_MANAGER:
        rows = [r for r in rows if user.can_read(r)]
    await queries.record_list_read(svc.store, user.actor, view="cases", interface="web", rows=rows)
    return render(page, "referrals.html", rows=rows)


def _referral_page(
    page: Page,
    user: User,
    *,
    values: dict[str, Any],
    errors: list[tuple[str, str]],
    submission: uuid.UUID,
    status_code: int = 200,
) -> Response:
    return render(
        page, "referral_form.html", status_code=status_code, values=values, errors=errors,
        submission_id=submission, child_rows=range(CHILD_ROWS), adult_rows=range(ADULT_ROWS),
        grounds=list(ReferralGround), agencies=list(ReferringAgency), needs=list(PresentingNeed),
        statuses=list(StatutoryStatus), areas=list(LocalAuthority), bands=list(AgeBand),
        languages=list(LanguagePreference), today=day_parts(today_in_wales()), team=user.team_id,
        error_fields={f for f, _ in errors},
    )  # fmt: skip


@router.get("/referrals/new")
async def referral_form(request: Request) -> Response:
    page = await page_for(request)
    user = need_role(page, Role.BUSINESS_SUPPORT, Role.SUPERVISOR, Role.CASE_MANAGER)
    return _referral_page(page, user, values={}, errors=[], submission=uuid.uuid4())


def rows_beyond_the_form(form: FormData) -> str | None:
    """The first field of a child or adult beyond the form's rows (a posted form the page
    did not make), which would otherwise be dropped without a word, or None."""
    for name in form:
        group, _, rest = name.partition(".")
        index = rest.partition(".")[0]
        rows = {"children": CHILD_ROWS, "adults": ADULT_ROWS}.get(group)
        if rows is not None and (not index.isdigit() or int(index) >= rows):
            return name
    return None


def referral_values(form: FormData, user: User) -> tuple[str, dict[str, Any]]:
    """The new case's id and the referral's fields from the referral form."""

    def text(name: str) -> str | None:
        raw = form.get(name)
        return raw.strip() if isinstance(raw, str) and raw.strip() else None

    def yes(name: str) -> Any:
        raw = text(name)
        return {"yes": True, "no": False}.get(raw or "", raw)

    def day(name: str) -> str | None:
        return joined_day(parts_of(form, name))

    children = []
    for i in range(CHILD_ROWS):
        child_id = text(f"children.{i}.child_id")
        if child_id is None and not text(f"children.{i}.name"):
            continue
        child: dict[str, Any] = {
            "child_id": child_id,
            "statutory_status": text(f"children.{i}.statutory_status") or "none",
            "age_band": text(f"children.{i}.age_band"),
        }
        if text(f"children.{i}.name"):
            child["personal"] = {
                "name": text(f"children.{i}.name"),
                "date_of_birth": day(f"children.{i}.date_of_birth"),
            }
        children.append(child)
    adults = []
    for i in range(ADULT_ROWS):
        person_id = text(f"adults.{i}.person_id")
        if person_id is None and not text(f"adults.{i}.name"):
            continue
        adult: dict[str, Any] = {
            "person_id": person_id,
            "relationship": text(f"adults.{i}.relationship"),
        }
        if text(f"adults.{i}.name"):
            adult["personal"] = {
                "name": text(f"adults.{i}.name"),
                "date_of_birth": day(f"adults.{i}.date_of_birth"),
            }
        adults.append(adult)
    personal = None
    if text("personal.family_name"):
        personal = {
            "family_name": text("personal.family_name"),
            "address": text("personal.address"),
            "notes": text("personal.notes"),
        }
    priority = text("priority") or "3"
    values: dict[str, Any] = {
        "family_id": text("family_id"),
        "team_id": text("team_id") or user.team_id,
        "area": text("area"),
        "referring_agency": text("referring_agency"),
        "referral_grounds": [g for g in form.getlist("referral_grounds") if g],
        "presenting_needs": [n for n in form.getlist("presenting_needs") if n],
        "children": children,
        "adults": adults,
        "consent_to_referral": yes("consent_to_referral"),
        "consent_to_information_sharing": yes("consent_to_information_sharing"),
        "consent_to_follow_up": yes("consent_to_follow_up"),
        "priority": int(priority) if priority.isdigit() and len(priority) < 4 else priority,
        "language_preference": text("language_preference"),
        "received_on": day("received_on"),
        "personal": personal,
    }
    return text("case_id") or "", {k: v for k, v in values.items() if v is not None}


@router.post("/referrals/new")
async def referral_post(request: Request) -> Response:
    page = await page_for(request)
    user = need_role(page, Role.BUSINESS_SUPPORT, Role.SUPERVISOR, Role.CASE_MANAGER)
    svc = svc_of(request)
    form = await form_of(request, page)
    shown: dict[str, Any] = {
        k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"
    }
    shown["referral_grounds"] = form.getlist("referral_grounds")
    shown["presenting_needs"] = form.getlist("presenting_needs")
    submission, went = await claim(svc.pool, form, user)
    if went:
        return see_other(went)
    if went == "":
        return see_other("/app/referrals?resent=1")
    case_id, values = referral_values(form, user)
    errors: list[tuple[str, str]] = []
    if (beyond := rows_beyond_the_form(form)) is not None:
        errors.append(
            (
                beyond.partition(".")[0],
                page.language._(
                    "This form holds up to 4 children and 3 adults: refer a larger family "
                    "through the API"
                ),
            )
        )
    if not case_id or len(case_id) > 64 or not all(c.isalnum() or c in "_.-" for c in case_id):
        errors.append(
            ("case_id", page.language._("Enter a case reference: letters, digits, '_', '.' or '-'"))
        )
    command = None
    if not errors:
        if (refusal := user.referral_refusal(str(values.get("team_id") or ""))) is not None:
            errors.append(tuple(refusal.split(": ", 1)))  # type: ignore[arg-type]
        else:
            try:
                command = cmd.ReferFamily.model_validate({**values, "actor": user.actor})
            except ValidationError as exc:
                errors = pydantic_errors(exc, page.language)
    if command is not None and not errors:
        try:
            await run_command(
                cases.refer_family(
                    svc.temporal, case_id, command, task_queue=svc.task_queue, policy=svc.policy
                )
            )
        except ApiError as exc:
            errors = [refusal_of(page, exc)]
    if errors:
        await settle(svc.pool, submission, None)
        return _referral_page(
            page,
            user,
            values=shown,
            errors=errors,
            submission=submission or uuid.uuid4(),
            status_code=400,
        )
    # A key worker who referred cannot read the case until it is theirs: back to the list.
    readable = user.role in (Role.SUPERVISOR, Role.BUSINESS_SUPPORT)
    done = f"/app/cases/{case_id}?done=refer" if readable else f"/app/referrals?referred={case_id}"
    await settle(svc.pool, submission, done)
    log.info("web_referral", case_id=case_id, actor=user.user_id)
    return see_other(done)


# --- administration --------------------------------------------------------------------------


async def _admin_page(
    page: Page,
    *,
    errors: list[tuple[str, str]] | None = None,
    shown_token: str | None = None,
    status_code: int = 200,
) -> Response:
    svc = svc_of(page.request)
    users = await svc.pool.fetch(
        "SELECT u.user_id, u.role, u.team_id, u.active, u.password_hash IS NOT NULL AS has_password, "
        "u.oidc_subject IS NOT NULL AS linked, "
        "(SELECT array_agg(r.channel ORDER BY r.channel) FROM alert_routes r WHERE r.user_id = u.user_id) AS channels "
        "FROM users u ORDER BY u.role, u.user_id"
    )
    tokens = await svc.pool.fetch(
        "SELECT token_id, user_id, label, created_at, revoked_at FROM api_tokens "
        "ORDER BY revoked_at IS NOT NULL, created_at DESC LIMIT 200"
    )
    teams = await queries.teams(svc.pool)
    return render(
        page, "admin.html", status_code=status_code, users=users, tokens=tokens, teams=teams,
        errors=errors or [], shown_token=shown_token, roles=[r.value for r in (Role.CASE_MANAGER, Role.SUPERVISOR, Role.BUSINESS_SUPPORT, Role.AUDITOR, Role.ADMIN)],
        channels=svc.delivery_channels,
    )  # fmt: skip


@router.get("/admin")
async def admin_page(request: Request) -> Response:
    page = await page_for(request)
    need_role(page, Role.ADMIN)
    return await _admin_page(page)


async def _administer(request: Request, act: Any) -> Response:
    page = await page_for(request)
    user = need_role(page, Role.ADMIN)
    svc = svc_of(request)
    form = await form_of(request, page)
    try:
        shown = await act(svc, user, form)
    except InvalidInput as exc:
        field, _, rule = str(exc).partition(": ")
        said = rule_in(page.language, rule or str(exc), None)
        return await _admin_page(page, errors=[(field, said)], status_code=400)
    except ApiError as exc:
        return await _admin_page(page, errors=[refusal_of(page, exc)], status_code=exc.status_code)
    if isinstance(shown, str):  # a token, shown once
        return await _admin_page(page, shown_token=shown)
    return see_other("/app/admin?done=1")


def _text(form: FormData, name: str) -> str:
    raw = form.get(name)
    return raw.strip() if isinstance(raw, str) else ""


@router.post("/admin/users")
async def admin_add_user(request: Request) -> Response:
    from identity.users import add_user

    async def act(svc: Any, admin: User, form: FormData) -> None:
        team = _text(form, "team_id") or None

        async def add(pool: asyncpg.Pool) -> User:
            return await add_user(
                pool,
                _text(form, "user_id"),
                _text(form, "role"),
                team,
                team_known=lambda t: team_known(pool, t),
            )

        await recorded(
            svc.store,
            admin.actor,
            add,
            lambda u: UserAdded(user_id=u.user_id, role=u.role, team_id=u.team_id),
        )

    return await _administer(request, act)


@router.post("/admin/users/{user_id}/password")
async def admin_password(request: Request, user_id: str) -> Response:
    from identity.passwords import check_password, set_password

    async def act(svc: Any, admin: User, form: FormData) -> None:
        password = str(form.get("password") or "")
        check_password(password)
        await recorded(
            svc.store,
            admin.actor,
            lambda pool: set_password(pool, user_id, password),
            lambda _: UserPasswordChanged(user_id=user_id),
        )

    return await _administer(request, act)


@router.post("/admin/users/{user_id}/sign-in")
async def admin_link(request: Request, user_id: str) -> Response:
    from identity.passwords import link_sign_in

    async def act(svc: Any, admin: User, form: FormData) -> None:
        subject = _text(form, "subject") or None
        await recorded(
            svc.store,
            admin.actor,
            lambda pool: link_sign_in(pool, user_id, subject),
            lambda _: UserSignInLinked(user_id=user_id, linked=subject is not None),
        )

    return await _administer(request, act)


@router.post("/admin/users/{user_id}/active")
async def admin_active(request: Request, user_id: str) -> Response:
    from identity.users import key_worker_teams, set_user_active
    from workflows.client import stop_allocating_to

    async def act(svc: Any, admin: User, form: FormData) -> None:
        active = _text(form, "active") == "yes"
        if not active:  # as a key worker, no new families (see api.admin.post_active)
            if teams := await key_worker_teams(svc.pool, user_id):
                await stop_allocating_to(svc.temporal, teams, user_id, admin.actor)
        await recorded(
            svc.store,
            admin.actor,
            lambda pool: set_user_active(pool, user_id, active),
            lambda _: UserActiveChanged(user_id=user_id, active=active),
        )

    return await _administer(request, act)


@router.post("/admin/users/{user_id}/tokens")
async def admin_token(request: Request, user_id: str) -> Response:
    from identity.users import create_token, token_id_of

    async def act(svc: Any, admin: User, form: FormData) -> str:
        label = _text(form, "label") or None
        token: str = await recorded(
            svc.store,
            admin.actor,
            lambda pool: create_token(pool, user_id, label),
            lambda t: TokenCreated(user_id=user_id, token_id=token_id_of(t)),
        )
        return token

    return await _administer(request, act)


@router.post("/admin/tokens/{token_id}/revoke")
async def admin_revoke(request: Request, token_id: str) -> Response:
    from identity.users import revoke_token

    async def act(svc: Any, admin: User, form: FormData) -> None:
        await recorded(
            svc.store,
            admin.actor,
            lambda pool: revoke_token(pool, token_id),
            lambda r: TokenRevoked(user_id=r.user_id, token_id=r.token_id),
        )

    return await _administer(request, act)


@router.post("/admin/users/{user_id}/alert-routes")
async def admin_routes(request: Request, user_id: str) -> Response:
    from identity.users import set_alert_routes

    async def act(svc: Any, admin: User, form: FormData) -> None:
        webhook, email = _text(form, "webhook") or None, _text(form, "email") or None
        for channel, given in (("webhook", webhook), ("email", email)):
            if given is not None and channel not in svc.delivery_channels:
                raise InvalidInput(
                    channel,
                    "this deployment cannot deliver on this channel (see IFSS_WEBHOOK_SECRET, IFSS_SMTP_HOST)",
                )
        await recorded(
            svc.store, admin.actor,
            lambda pool: set_alert_routes(pool, user_id, webhook=webhook, email=email, clear=webhook is None and email is None),
            lambda rs: AlertRoutesChanged(user_id=user_id, channels=[c for c, _ in rs]),
        )  # fmt: skip

    return await _administer(request, act)


@router.post("/admin/teams")
async def admin_team(request: Request) -> Response:
    from workflows.team_io import RegisterTeam

    async def act(svc: Any, admin: User, form: FormData) -> None:
        from api.teams import TeamIn

        try:
            team = TeamIn.model_validate(
                {
                    "team_id": _text(form, "team_id"),
                    "name": _text(form, "name"),
                    "area": _text(form, "area"),
                }
            )
        except ValidationError as exc:
            field, rule = pydantic_errors(exc)[0]
            raise InvalidInput(field, rule) from None
        command = RegisterTeam(actor=admin.actor, name=team.name, area=team.area)
        await run_command(
            cases.register_team(
                svc.temporal,
                team.team_id,
                command,
                task_queue=svc.task_queue,
                policy=svc.policy,
                pool=svc.pool,
            )
        )

    return await _administer(request, act)
