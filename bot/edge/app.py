"""Builds the Bolt app: one workspace with a bot token, or many through OAuth."""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.middleware.authorization import SingleTeamAuthorization
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import FailureArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.web import SlackResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.common import logs, values
from bot.common.config import BOT_SCOPES, ConfigError, Settings
from bot.domain.services import programs
from bot.domain.services.workspaces import installation_store
from bot.edge import listeners
from bot.edge.background import guarded
from bot.slack.client import TOKEN_ERRORS, check_bot_token, refused_token, web_client
from bot.storage.db import engine_for, session_scope
from bot.storage.models import utcnow

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# Bolt acknowledges from inside the listener, so a request waits for a free listener thread
# before it can be acknowledged. Listeners therefore only acknowledge and hand the slow part
# (Slack calls, a whole round) to a second pool: a busy Slack delays answers, never acks.
LISTENER_THREADS = 16
WORK_THREADS = 32


@dataclass(frozen=True)
class Deps:
    """What listeners need besides the request: settings, and where slow work runs."""

    settings: Settings
    work: Executor

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    def later(self, func, /, *args, **kwargs) -> None:
        """Run `func` after the acknowledgement, on the work pool; failures are logged."""
        self.work.submit(guarded(func), *args, **kwargs)


class Pool(ThreadPoolExecutor):
    """A thread pool whose tasks log with the ids (workspace) of the request that gave them."""

    def submit(self, fn, /, *args, **kwargs):
        return super().submit(logs.carry(fn), *args, **kwargs)


def build_app(
    settings: Settings,
    *,
    listener_executor: Executor | None = None,
    work_executor: Executor | None = None,
    identity: SlackResponse | None = None,
) -> App:
    """Make the app; a token Slack refuses becomes a ConfigError the CLI can print.

    `identity`: Slack's answer to the bot token's auth.test, when the caller has it already
    (serve asks before starting its workers). A worker then boots without asking Slack: one
    that gunicorn starts again later (the last one died) could not boot while Slack was in
    trouble, and gunicorn then stopped the whole server."""
    settings.require_slack()
    verify = not settings.socket_mode
    executor = listener_executor or Pool(
        max_workers=LISTENER_THREADS, thread_name_prefix="listener"
    )
    work = work_executor or Pool(max_workers=WORK_THREADS, thread_name_prefix="work")
    try:
        if settings.oauth:
            store = installation_store(settings)
            oauth = OAuthSettings(
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                scopes=list(BOT_SCOPES),
                installation_store=store,
                state_store=SQLAlchemyOAuthStateStore(
                    expiration_seconds=600, engine=engine_for(settings.database_url)
                ),
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
                # /slack/install goes straight to Slack's consent page (with the state cookie).
                install_page_rendering_enabled=False,
            )
            # Someone waits on these two (the request to acknowledge, the browser after
            # Slack's consent page): Slack out of reach must not hold them for minutes.
            quick = web_client(settings, quick=True)
            app = App(
                client=web_client(settings),
                signing_secret=settings.signing_secret or "",
                oauth_flow=_OAuthFlow(client=quick, settings=oauth),
                installation_store=store,
                # Bolt's own authorize, except that the auth.test it makes for a request's
                # token before the listener can acknowledge is remembered per token: only a
                # workspace's first request in a process waits for Slack.
                authorize=_Authorize(
                    logger=logging.getLogger("slack_bolt.App"),
                    installation_store=store,
                    client_id=settings.client_id,
                    client_secret=settings.client_secret,
                    client=quick,
                    cache_enabled=True,
                ),
                request_verification_enabled=verify,
                process_before_response=False,
                listener_executor=executor,
            )
        else:
            identity = identity if identity is not None else check_bot_token(settings)
            app = App(
                client=web_client(settings, settings.bot_token),
                signing_secret=settings.signing_secret or "",
                request_verification_enabled=verify,
                process_before_response=False,
                listener_executor=executor,
                token_verification_enabled=False,  # check_bot_token asked, with a clear error
            )
            _knows_its_token(app, identity)
    except (BoltError, SlackApiError) as error:
        raise ConfigError(refused_token(_reason(error))) from None
    if not settings.oauth:
        app.use(only_our_workspace(identity))
    app.use(org_wide_workspace)
    app.use(note_workspace(settings.database_url))
    listeners.register(app, Deps(settings, work))
    return app


def _knows_its_token(app: App, identity: SlackResponse) -> None:
    """Bolt keeps the token's auth.test answer for every request; given the one already had,
    it does not ask Slack again before acknowledging the first request."""
    for middleware in getattr(app, "_middleware_list", []):
        if isinstance(middleware, SingleTeamAuthorization):
            middleware.auth_test_result = identity


class _Authorize(InstallationStoreAuthorize):
    """With Slack out of reach, the auth.test for a token not seen yet in this process made
    the request wait two minutes and end in a 500: the stored installation answers instead,
    and what the listener then asks of Slack fails on its own, as it would anyway."""

    def __init__(self, *, client, **options):
        super().__init__(client=client, **options)
        self.quick = client

    def __call__(self, *, context, enterprise_id, team_id, user_id, **actor):
        patient = context.client  # the request's own, which Bolt's auth.test would use
        context["client"] = self.quick  # the acknowledgement waits on this call
        try:
            return super().__call__(context=context, enterprise_id=enterprise_id,
                                    team_id=team_id, user_id=user_id, **actor)  # fmt: skip
        except OSError as error:
            log.warning("cannot reach Slack to check a workspace's token (%s): using the "
                        "stored installation", type(error).__name__)  # fmt: skip
            bot = self.installation_store.find_bot(
                enterprise_id=enterprise_id, team_id=team_id,
                is_enterprise_install=context.is_enterprise_install,
            )  # fmt: skip
            if bot is None:
                return None
            return AuthorizeResult(
                enterprise_id=bot.enterprise_id, team_id=bot.team_id, bot_user_id=bot.bot_user_id,
                bot_id=bot.bot_id, bot_token=bot.bot_token, bot_scopes=bot.bot_scopes,
            )  # fmt: skip
        finally:
            context["client"] = patient


class _OAuthFlow(OAuthFlow):
    """Bolt's install flow, except that Slack out of reach when the code is exchanged is
    Bolt's failure page at once ("try again from /slack/install"), not a connection closed
    without an answer."""

    def handle_callback(self, request):
        try:
            return super().handle_callback(request)
        except OSError as error:
            log.warning("an installation could not be finished: Slack could not be reached "
                        "(%s)", type(error).__name__)  # fmt: skip
            return self.failure_handler(
                FailureArgs(
                    request=request, reason="slack_unreachable", suggested_status_code=502,
                    settings=self.settings, default=self.default_callback_options,
                )
            )  # fmt: skip


FOREIGN_WORKSPACE = (
    "Worth Knowing here is set up for another Slack workspace, so it cannot answer in this "
    "one. Ask whoever runs it to set it up for this workspace too."
)


def only_our_workspace(identity: dict):
    """With one bot token, requests from any other workspace are refused: Slack signs every
    workspace's requests with the app's one signing secret, and the listeners would otherwise
    read and write that workspace's rows. A slash command is told why; anything else is 401."""
    org_wide = bool(identity.get("is_enterprise_install"))
    ours = identity.get("enterprise_id") if org_wide else identity.get("team_id")

    def middleware(req, resp, next):
        theirs = req.context.enterprise_id if org_wide else req.context.team_id
        if theirs is None or theirs == ours:
            return next()
        log.warning("refused a request from another workspace")
        if req.body.get("command"):
            return BoltResponse(status=200, body=FOREIGN_WORKSPACE)
        return BoltResponse(status=401, body="this app serves another workspace")

    return middleware


def org_wide_workspace(req, resp, next):
    """Through an org-wide installation, an event names its workspace only in the outer
    `team_id` (the installation's own, in `authorizations`, is null), so Bolt's context has
    no team; every listener works in one workspace, and takes it from the context."""
    context = req.context
    if context.team_id is None and context.is_enterprise_install:
        team_id = req.body.get("team_id")
        if isinstance(team_id, str) and team_id and team_id != context.enterprise_id:
            context["team_id"] = team_id
    return next()


def note_workspace(database_url: str):
    """What a request says of its workspace's installation.

    Slack sends a workspace's requests only while the app is installed there, so a
    command, a click or an event that happened after an uninstall means it was installed
    again: its rounds go on. With one bot token nothing else says so (the Home tab showed
    the next round, "Run a round now" said the program was off, and no round ran).

    A request through an org-wide installation names the workspace's Enterprise Grid org,
    which its scheduled work needs to find the org's token."""

    def middleware(req, resp, next):
        context = req.context
        team_id, seen_at = context.team_id, _happened_at(req.body)
        org_wide = context.enterprise_id if context.is_enterprise_install else None
        if team_id and (seen_at is not None or org_wide):
            try:  # a read of one row; a write only when something changed
                with session_scope(database_url) as session:
                    if programs.heard_from(session, team_id, seen_at, org_wide):
                        log.info("workspace %s installed the app again: its work goes on",
                                 team_id)  # fmt: skip
            except SQLAlchemyError as error:  # the listeners will say what is wrong
                log.warning("could not check whether the workspace is installed: %s",
                            type(error).__name__)  # fmt: skip
        return next()

    return middleware


def _happened_at(body: dict) -> dt.datetime | None:
    """When what Slack sent happened, as proof the app is installed: now for a person's
    command or click, an event's own time (Slack retries events for an hour), and None for
    the events that say it is not installed any more."""
    if body.get("type") != "event_callback":
        return utcnow()
    event = body.get("event") or {}
    if event.get("type") in ("app_uninstalled", "tokens_revoked"):
        return None
    moment = body.get("event_time")
    return values.parse_moment(moment) if isinstance(moment, int) else None


class _QuietTokenWarning(logging.Filter):
    """Bolt warns that the environment's SLACK_BOT_TOKEN is unused whenever a client is
    passed in; ours always is (to point it at SLACK_API_URL), so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_QuietTokenWarning())


def _reason(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error", "error"))
    text = str(error)
    for code in sorted(TOKEN_ERRORS):
        if code in text:
            return code
    return text.splitlines()[0][:120] if text else "unknown error"
