"""Carrying out a round's plan in Slack: one intro per group, exactly once.

Each group moves pending → opened → posting → posted, and every step is committed as it
happens. `conversations.open` is idempotent, so it is simply repeated after a crash. An
intro is never re-sent once it is known to have gone out; when a crash or a lost response
leaves that unknown (state `posting`), the group DM is searched for the intro's metadata
before anything is sent again.

A Slack error fails only its group (with Slack's code) unless it is transient or about the
token; those are tried again at the round's next resume, a bounded number of times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from bot.common import logs, metrics
from bot.common.config import Settings
from bot.common.privacy import describe_mix
from bot.domain.services import lunches, participants
from bot.domain.services.pacing import HISTORY_LIMITS, Pacer
from bot.slack import round_messages
from bot.slack.client import TOKEN_ERRORS, error_code, is_transient, rate_limit_only_client
from bot.storage.db import insert_missing, session_scope
from bot.storage.models import Group, Member, Program, Round, UnmatchedMember, utcnow

log = logging.getLogger(__name__)

# Why someone has no group after all (round_messages.unmatched): Slack would not introduce
# it, or everyone else in it stopped taking part before it was introduced.
GROUP_NOT_INTRODUCED = "Slack would not introduce your group, as someone in it can no longer be reached"
OTHERS_GONE = "the others in your group stopped taking part before it was introduced"
# A transient answer (bot.slack.client.TRANSIENT_ERRORS) is tried again at the next resume; any other
# error code is final for that group (recorded, the round goes on).
# Deliveries of one round (its first run and each resume, every few minutes): the last one
# marks whatever Slack still refuses as failed, so the round closes and check-ins go out.
DELIVERY_ATTEMPTS = 5
POST_ATTEMPTS = 5
WORKERS = 4
# conversations.history pages read when looking for an intro after a crash.
HISTORY_PAGES = 20


class DeliveryStopped(Exception):
    """Slack refuses this workspace's token; nothing more can be sent until it is fixed."""


@dataclass(frozen=True)
class DeliveryResult:
    delivered: int
    failed: int


class Delivery:
    def __init__(self, settings: Settings, client: WebClient, pacer: Pacer):
        self.settings = settings
        self.client = client
        # No automatic retry of a post whose fate is unknown: that is how intros double.
        self.post_client = rate_limit_only_client(settings, client.token)
        self.pacer = pacer
        per_minute, self.history_page = HISTORY_LIMITS[settings.app_distribution]
        pacer.set_limit("conversations.history", per_minute)
        self.final = False  # the round's last allowed delivery: give up on what still fails
        self.stopped: str | None = None  # the token error that stopped this delivery

    def deliver(self, round_id: int, progress: Callable[[int, int], None] | None = None):
        with session_scope(self.settings.database_url) as session:
            round_ = session.get(Round, round_id)
            program = session.get(Program, round_.program_id)
            channel_id = program.channel_id
            if round_.status in ("planned", "delivering"):
                round_.status = "delivering"
                round_.delivery_attempts = (round_.delivery_attempts or 0) + 1
                self.final = round_.delivery_attempts >= DELIVERY_ATTEMPTS
            todo = _undelivered(session, round_, program)
        total, done = len(todo), 0
        # A few groups in flight at once: the pacer, not each call's latency, sets the pace.
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            deliver = logs.carry(self._deliver_group)  # its lines name the round too
            for _ in pool.map(lambda plan: deliver(plan, channel_id), todo):
                done += 1
                if progress:
                    progress(done, total)
        if self.stopped and not self.final:
            raise DeliveryStopped(self.stopped)
        self._notify_unmatched(round_id, channel_id)
        return self._finish(round_id)

    def _deliver_group(self, plan: GroupPlan, channel_id: str) -> None:
        group_id, user_ids = plan.group_id, plan.user_ids
        conversation = plan.conversation_id
        if self.stopped:
            if self.final:  # the token is refused: no use asking Slack again for each group
                self._set(group_id, delivery="failed", error=self.stopped)
            return
        try:
            if plan.state == "posting" and conversation:
                ts = self._find_intro(conversation, group_id, plan.post_started_at)
                if ts:
                    self._set(group_id, delivery="posted", message_ts=ts)
                    return
            if not conversation:
                self.pacer.wait("conversations.open")
                response = self.client.conversations_open(users=",".join(user_ids))
                conversation = response["channel"]["id"]
                self._set(group_id, delivery="opened", conversation_id=conversation)
            text, blocks = round_messages.intro(
                channel_id, user_ids, plan.organiser_id, plan.starter, plan.why, group_id,
                plan.abouts, plan.dates, plan.zone,
            )  # fmt: skip
            ts = self._post_once(group_id, conversation, text, blocks, plan.state == "posting")
            self._set(group_id, delivery="posted", message_ts=ts, error=None)
        except (SlackApiError, URLError, OSError) as error:
            code = error_code(error)
            if code in TOKEN_ERRORS:
                self.stopped = self.stopped or code
            if not self.final and (code in TOKEN_ERRORS or is_transient(error)):
                log.warning("group %s not delivered yet (%s): tried again later", group_id, code)
                return
            log.warning("group %s not delivered: %s", group_id, code)
            # the others are told, as people the engine could not place are, and go first
            # next round, instead of hearing nothing (in the same commit as the failure)
            apart = () if code in TOKEN_ERRORS else plan.user_ids
            self._set(group_id, apart=apart, delivery="failed", error=code)

    def _post_once(
        self, group_id: int, conversation: str, text: str, blocks: list, unsure: bool
    ) -> str:
        """The intro's ts, posted at most once. `unsure`: an earlier post may have gone out."""
        metadata = {"event_type": round_messages.INTRO_EVENT, "event_payload": {"group_id": group_id}}
        for attempt in range(POST_ATTEMPTS):
            started = utcnow()
            self._set(group_id, delivery="posting", post_started_at=started)
            self.pacer.wait("chat.postMessage", conversation)
            try:
                response = self.post_client.chat_postMessage(
                    channel=conversation, text=text, blocks=blocks, metadata=metadata
                )
                return response["ts"]
            except (SlackApiError, URLError, OSError) as error:
                status = getattr(getattr(error, "response", None), "status_code", None)
                if isinstance(error, SlackApiError) and (status is None or status < 500):
                    if not unsure:  # Slack answered, so nothing went out: no need to look
                        self._set(group_id, delivery="opened")
                    raise
                unsure = True  # this post may still land: a resume looks for it first
                log.warning("intro for group %s: %s; checking before retrying", group_id, error)
                time.sleep(min(30.0, 2.0**attempt))
                ts = self._find_intro(conversation, group_id, started)
                if ts:
                    return ts
        raise SlackApiError("intro could not be posted", {"ok": False, "error": "post_failed"})

    def _find_intro(self, conversation: str, group_id: int, since) -> str | None:
        """The ts of this group's intro if it is already in the DM.

        Pages stay within the app's conversations.history limits (15 messages, one call a
        minute for an app distributed outside the Marketplace), walked newest first.
        """
        oldest = f"{since.timestamp() - 5:.6f}" if since else "0"
        cursor = None
        for _ in range(HISTORY_PAGES):
            self.pacer.wait("conversations.history")
            response = self.client.conversations_history(
                channel=conversation,
                oldest=oldest,
                limit=self.history_page,
                include_all_metadata=True,
                cursor=cursor,
            )
            for message in response.get("messages", []):
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == round_messages.INTRO_EVENT and str(
                    payload.get("group_id")
                ) == str(group_id):
                    return message["ts"]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        log.warning("intro of group %s not found in %d pages of history", group_id, HISTORY_PAGES)
        return None

    def _set(self, group_id: int, apart: Sequence[str] = (), **values) -> None:
        """Set the group's columns; `apart`: its people, to be told it was not introduced."""
        with session_scope(self.settings.database_url) as session:
            group = session.get(Group, group_id)
            for key, value in values.items():
                setattr(group, key, value)
            rows = [{"round_id": group.round_id, "user_id": user_id,
                     "reason": GROUP_NOT_INTRODUCED, "notified": False} for user_id in apart]  # fmt: skip
            if rows:
                insert_missing(session, UnmatchedMember, rows, ["round_id", "user_id"])
        if values.get("delivery") == "posted":
            metrics.GROUPS_DELIVERED.inc()
        elif values.get("delivery") == "failed":
            metrics.group_failed(values.get("error") or "unknown_error")

    def _notify_unmatched(self, round_id: int, channel_id: str) -> None:
        """Tell everyone the engine could not place why; they go first next round.

        Each message is claimed (`notified`) in a commit of its own before it is sent, so a
        message whose record was lost (the database went away, the process was killed) is
        never sent again; a message Slack surely did not take gets its claim back."""
        with session_scope(self.settings.database_url) as session:
            waiting = [
                (u.id, u.user_id, u.reason)
                for u in session.scalars(
                    select(UnmatchedMember).where(
                        UnmatchedMember.round_id == round_id, UnmatchedMember.notified.is_(False)
                    )
                )
            ]
        for row_id, user_id, reason in waiting:
            if not self._set_notified(row_id, True):
                continue  # told meanwhile
            try:
                self.pacer.wait("chat.postMessage", user_id)
                self.post_client.chat_postMessage(
                    channel=user_id, text=round_messages.unmatched(channel_id, reason)
                )
            except (SlackApiError, URLError, OSError) as error:
                code = error_code(error)
                if not surely_not_sent(error):  # its fate is unknown: never sent twice
                    log.warning("%s may not have been told they were unmatched: %s",
                                user_id, code)  # fmt: skip
                    continue
                if not self.final and (code in TOKEN_ERRORS or is_transient(error)):
                    self._set_notified(row_id, False)  # told at the next resume
                    if code in TOKEN_ERRORS:
                        raise DeliveryStopped(code) from None
                    log.warning("could not tell %s they were unmatched yet: %s", user_id, code)
                    continue
                log.warning("could not tell %s they were unmatched: %s", user_id, code)

    def _set_notified(self, row_id: int, notified: bool) -> bool:
        """Claim (or give back) telling one person; False if it was not as expected."""
        with session_scope(self.settings.database_url) as session:
            return bool(
                session.execute(
                    update(UnmatchedMember)
                    .where(UnmatchedMember.id == row_id, UnmatchedMember.notified.is_(not notified))
                    .values(notified=notified)
                    .execution_options(synchronize_session=False)
                ).rowcount
            )

    def _finish(self, round_id: int) -> DeliveryResult:
        with session_scope(self.settings.database_url) as session:
            round_ = session.get(Round, round_id)
            states = list(session.scalars(select(Group.delivery).where(Group.round_id == round_id)))
            untold = session.scalar(
                select(UnmatchedMember.id).where(
                    UnmatchedMember.round_id == round_id, UnmatchedMember.notified.is_(False)
                ).limit(1)
            )
            finished = all(s in ("posted", "failed") for s in states) and untold is None
            if finished and round_.status in ("planned", "delivering"):
                round_.status = "delivered"
            return DeliveryResult(delivered=states.count("posted"), failed=states.count("failed"))


@dataclass(frozen=True)
class GroupPlan:
    """What delivering one group needs, read once for the whole round."""

    group_id: int
    user_ids: list[str]
    state: str
    conversation_id: str | None
    post_started_at: object
    organiser_id: str | None
    starter: str | None
    why: str
    abouts: list[tuple[str, str]]  # (member, their "ask me about" line), group order
    dates: list  # lunch_dates.Offer: the days everyone can make
    zone: str | None  # the organiser's, for the times of a group in one zone


def _dates(session, group: Group, program: Program, round_: Round, people) -> list:
    """The days the intro offers, worked out once (a resumed delivery offers the same)."""
    if group.offered is None:  # never a day already gone (a round delivered late, say)
        lunches.offer(session, group, program, round_, after=utcnow(), people=people)
    return lunches.offers_of(group)


def _undelivered(session, round_: Round, program: Program) -> list[GroupPlan]:
    groups = session.scalars(
        select(Group)
        .where(Group.round_id == round_.id, Group.delivery.not_in(("posted", "failed")))
        .order_by(Group.position)
        .options(selectinload(Group.members))  # one query for all members, not one per group
    ).all()
    ids = {m.user_id for g in groups for m in g.members}
    members = {
        m.user_id: m
        for m in session.scalars(
            select(Member).where(Member.team_id == program.team_id, Member.user_id.in_(ids))
        )
    }
    groups = _without_the_gone(session, round_, program, groups, members)
    plans = []
    for group in groups:
        user_ids = [m.user_id for m in group.members]
        known = [members[u] for u in user_ids if u in members]
        people = lunches.diners(session, group, program, members)
        plans.append(
            GroupPlan(
                group_id=group.id,
                user_ids=user_ids,
                state=group.delivery,
                conversation_id=group.conversation_id,
                post_started_at=group.post_started_at,
                organiser_id=group.organiser_id,
                starter=group.starter,
                # Why this group is interesting, in words that never reveal a level.
                why=f"You come from {describe_mix(known)}.",
                abouts=[(u, members[u].about) for u in user_ids
                        if u in members and members[u].about],  # fmt: skip
                dates=_dates(session, group, program, round_, people),
                zone=lunches.zone_of(people, program),
            )
        )
    return plans


def _without_the_gone(
    session, round_: Round, program: Program, groups: list[Group], members: dict[str, Member]
) -> list[Group]:
    """The groups less anyone who stopped taking part since the round was planned (Slack can
    hold a delivery up for hours). A group whose intro may already be in its DM is left as it
    is; one left with a single person is no group: that person is told, and goes first next
    round, like anyone the engine could not place."""
    open_ = {g.id for g in groups if g.delivery in ("pending", "opened")}
    ids = {m.user_id for g in groups if g.id in open_ for m in g.members}
    gone = participants.gone_since_planning(session, program, round_.slot, ids, members)
    if not gone:
        return groups
    kept = []
    for group in groups:
        staying = [m.user_id for m in group.members if m.user_id not in gone]
        if group.id not in open_ or len(staying) == len(group.members):
            kept.append(group)
            continue
        log.info("group %s: %d stopped taking part before the intro",
                 group.id, len(group.members) - len(staying))  # fmt: skip
        if len(staying) < 2:
            rows = [{"round_id": round_.id, "user_id": u, "reason": OTHERS_GONE,
                     "notified": False} for u in staying]  # fmt: skip
            insert_missing(session, UnmatchedMember, rows, ["round_id", "user_id"])
            session.delete(group)
            continue
        group.members = [m for m in group.members if m.user_id not in gone]
        if group.organiser_id not in staying:
            group.organiser_id = staying[0]
        # a DM opened with them would show them the intro: the others get one of their own
        group.conversation_id, group.delivery, group.offered = None, "pending", None
        kept.append(group)
    session.flush()
    return kept


def surely_not_sent(error: Exception) -> bool:
    """Slack answered and refused (or throttled): the message did not go out. A broken
    connection or a 5xx may have come after Slack acted."""
    if not isinstance(error, SlackApiError):
        return False
    status = getattr(error.response, "status_code", None)
    return status is not None and status < 500
