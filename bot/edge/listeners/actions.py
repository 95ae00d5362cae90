"""Buttons: the Home tab's, the settings button, and forget-me's confirmation.

Each button is acknowledged at once, then does what it says and refreshes what the person
sees (the Home tab, or the message the button was on).
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.common import values
from bot.domain.schedule import today_in
from bot.domain.services import (
    after_lunch,
    avoids,
    insights,
    lunches,
    membership,
    people,
    programs,
)
from bot.domain.services.rounds import answer_nudge, record_checkin
from bot.edge import home, meet_command
from bot.edge.background import in_background
from bot.edge.listeners.commands import run_round_now
from bot.slack import round_messages as msgs
from bot.slack import texts
from bot.storage.db import session_scope
from bot.storage.models import utcnow

log = logging.getLogger(__name__)


def register(app: App, deps) -> None:
    _home_buttons(app, deps)
    _admin_buttons(app, deps)
    _forget_me_buttons(app, deps)
    register_round_buttons(app, deps)


def _ids(body: dict, context) -> tuple[str, str, str]:
    action = (body.get("actions") or [{}])[0]
    team_id = context.team_id or (body.get("team") or {}).get("id")
    user_id = (body.get("user") or {}).get("id")
    return team_id, user_id, str(action.get("value") or "")


def _home_buttons(app: App, deps) -> None:
    url = deps.settings.database_url

    @app.action(home.JOIN)
    @app.action(home.LEAVE)
    @in_background(deps)
    def join_or_leave(ack: Ack, body: dict, context, client: WebClient) -> None:
        team_id, user_id, value = _ids(body, context)
        joining = body["actions"][0]["action_id"] == home.JOIN
        notice = None
        with session_scope(url) as session:
            program = programs.by_id(session, team_id, value)
            if program is not None:
                (people.join if joining else people.leave)(session, program, user_id)
                reply = texts.joined if joining else texts.left
                notice = reply(program.channel_id, True)
                if joining:
                    notice = _unless_stale(session, program, user_id, notice)
        home.publish(deps, client, team_id, user_id, notice=notice)

    @app.action(home.AVOID)
    @in_background(deps)
    def avoid(ack: Ack, body: dict, context, client: WebClient) -> None:
        team_id, user_id, _ = _ids(body, context)
        chosen = body["actions"][0].get("selected_users") or []
        with session_scope(url) as session:
            avoids.replace(session, team_id, user_id, chosen)
            kept = avoids.of(session, team_id, user_id)
        home.publish(deps, client, team_id, user_id, notice=texts.avoid_list(kept))

    @app.action(home.LUNCH_DAYS)
    @app.action(home.LUNCH_TIME)
    @in_background(deps)
    def lunch(ack: Ack, body: dict, context, client: WebClient) -> None:
        from bot.domain.lunch_dates import WEEKDAYS

        team_id, user_id, _ = _ids(body, context)
        action = body["actions"][0]
        days = time_of_day = notice = None
        if action["action_id"] == home.LUNCH_DAYS:
            picked = {o.get("value") for o in action.get("selected_options") or []}
            days = frozenset(n for n, name in enumerate(WEEKDAYS) if name in picked)
            if not days:
                days, notice = None, texts.NO_LUNCH_DAYS
        else:
            try:
                time_of_day = meet_command.parse_time_of_day(action.get("selected_time") or "")
            except meet_command.UsageError as problem:
                notice = problem.message
        if days is not None or time_of_day is not None:
            with session_scope(url) as session:
                people.set_lunch(session, team_id, user_id, days, time_of_day)
        home.publish(deps, client, team_id, user_id, notice=notice)

    @app.action(home.ABOUT)
    @in_background(deps)
    def about(ack: Ack, body: dict, context, client: WebClient) -> None:
        team_id, user_id, value = _ids(body, context)
        try:
            about = meet_command.about_from_input(value)
        except meet_command.UsageError as problem:
            notice = problem.message
        else:
            with session_scope(url) as session:
                people.set_about(session, team_id, user_id, about)
            notice = texts.about_saved(user_id, about)
        home.publish(deps, client, team_id, user_id, notice=notice)

    @app.action(home.PAUSE)
    @in_background(deps)
    def pause(ack: Ack, body: dict, context, client: WebClient) -> None:
        team_id, user_id, value = _ids(body, context)
        user = home.viewer(client, user_id)
        notice = None
        with session_scope(url) as session:
            program = programs.by_id(session, team_id, value)
            if program is not None:
                # their own today; the program's when Slack has no time zone for them
                today = today_in((user or {}).get("tz") or program.timezone)
                until = today + dt.timedelta(weeks=home.HOME_PAUSE_WEEKS)
                people.pause(session, team_id, user_id, until, program)
                notice = texts.paused(program.channel_id, until)
                if not program.enabled:
                    notice += " " + texts.switched_off_now(program.channel_id)
        home.publish(deps, client, team_id, user_id, notice=notice, user=user)

    @app.action(home.RESUME)
    @in_background(deps)
    def resume(ack: Ack, body: dict, context, client: WebClient) -> None:
        team_id, user_id, value = _ids(body, context)
        user = home.viewer(client, user_id)
        notice = None
        with session_scope(url) as session:
            program = None if value == "all" else programs.by_id(session, team_id, value)
            if value == "all" or program is not None:
                zone = (user or {}).get("tz") or (program.timezone if program else None)
                today = today_in(zone)
                result = people.resume(session, team_id, user_id, program, today)
                channel_id = program.channel_id if program else None
                notice = texts.resumed(channel_id, result.resumed, result.still_paused_until)
        home.publish(deps, client, team_id, user_id, notice=notice, user=user)


def _admin_buttons(app: App, deps) -> None:
    url = deps.settings.database_url

    def admin_program(client: WebClient, team_id: str, user_id: str, value: str):
        with session_scope(url) as session:
            if not people.is_admin(session, client, team_id, user_id):
                return None, texts.NOT_ADMIN
            program = programs.by_id(session, team_id, value)
            if program is None:
                return None, "That program no longer exists."
            return program, None

    @app.action(home.SETTINGS)
    @in_background(deps)
    def open_settings(ack: Ack, body: dict, context, client: WebClient, respond) -> None:
        team_id, user_id, value = _ids(body, context)
        program, problem = admin_program(client, team_id, user_id, value)
        if problem:
            _tell(body, client, team_id, user_id, respond, problem, deps)
            return
        form = home.SettingsForm(
            program_id=program.id,
            channel_name=_channel_name(client, program.channel_id),
            **vars(programs.settings_of(program)),
            response_url=body.get("response_url"),
        )
        try:
            client.views_open(trigger_id=body["trigger_id"], view=home.settings_modal(form))
        except SlackApiError as error:  # the trigger expired (over 3 s) or Slack refused
            log.warning("could not open the settings: %s", error.response.get("error"))
            _tell(body, client, team_id, user_id, respond, texts.SOMETHING_WRONG, deps)

    @app.action(home.SEND_CHARTS)
    @in_background(deps)
    def send_charts(ack: Ack, body: dict, context, client: WebClient, respond) -> None:
        team_id, user_id, _ = _ids(body, context)
        with session_scope(url) as session:
            admin = people.is_admin(session, client, team_id, user_id)
        notice = (insights.send_charts(deps.settings, client, team_id, user_id) if admin
                  else texts.NOT_ADMIN)  # fmt: skip
        _tell(body, client, team_id, user_id, respond, notice, deps)

    @app.action(home.RUN_NOW)
    @in_background(deps)
    def run_now(ack: Ack, body: dict, context, client: WebClient, respond) -> None:
        team_id, user_id, value = _ids(body, context)
        program, problem = admin_program(client, team_id, user_id, value)
        if problem is None and not program.enabled:
            problem = texts.program_off(program.channel_id)
        if problem:
            _tell(body, client, team_id, user_id, respond, problem, deps)
            return
        home.publish(
            deps, client, team_id, user_id, notice=texts.round_starting(program.channel_id)
        )
        try:
            outcome = run_round_now(deps.settings, program)
        except Exception:
            log.exception("round of program %s failed", program.id)
            outcome = texts.SOMETHING_WRONG
        home.publish(deps, client, team_id, user_id, notice=outcome)


def _channel_name(client: WebClient, channel_id: str) -> str:
    try:
        return client.conversations_info(channel=channel_id)["channel"].get("name") or channel_id
    except SlackApiError:
        return channel_id


def _tell(body, client, team_id, user_id, respond, text: str, deps) -> None:
    """Answer where the button was: on its message, or at the top of the Home tab."""
    if body.get("response_url"):
        respond(text=text, response_type="ephemeral", replace_original=False)
    else:
        home.publish(deps, client, team_id, user_id, notice=text)


def _forget_me_buttons(app: App, deps) -> None:
    url = deps.settings.database_url

    @app.action(home.FORGET_ME)
    @in_background(deps)
    def forget(ack: Ack, body: dict, context, client: WebClient, respond) -> None:
        team_id, user_id, _ = _ids(body, context)
        with session_scope(url) as session:
            people.forget(session, team_id, user_id)
        respond(text=texts.FORGOTTEN, replace_original=True, response_type="ephemeral")
        home.publish(deps, client, team_id, user_id, notice=texts.FORGOTTEN)

    @app.action(home.FORGET_ME_CANCEL)
    @in_background(deps)
    def keep(ack: Ack, respond) -> None:
        respond(text=texts.FORGET_ME_CANCELLED, replace_original=True, response_type="ephemeral")


def register_round_buttons(app: App, deps) -> None:
    """Buttons in round messages: "did you meet?" answers and the stay-or-leave nudge."""

    settings = deps.settings

    @app.action(re.compile("^(" + "|".join(msgs.CHECKIN_ACTIONS) + ")$"))
    @in_background(deps)
    def checkin(ack: Ack, body: dict, context, client: WebClient, respond) -> None:
        team_id, user_id, value = _ids(body, context)
        outcome = msgs.CHECKIN_ACTIONS[body["actions"][0]["action_id"]]
        channel = (body.get("channel") or {}).get("id")
        recorded = record_checkin(settings, team_id, _int(value), user_id, outcome)
        if recorded is None:
            _not_yours(respond)
            return
        message = body.get("message") or {}
        # Acknowledged where it was asked: the message keeps its words and gets the answer.
        text, blocks = msgs.answered_on(message.get("blocks") or [], outcome, user_id,
                                        _int(value), recorded.round_over)  # fmt: skip
        client.chat_update(channel=channel, ts=message.get("ts"), text=text, blocks=blocks)

    @app.action(msgs.SAY_THANKS)
    @in_background(deps)
    def say_thanks(ack: Ack, body: dict, context, client: WebClient, respond) -> None:
        team_id, user_id, value = _ids(body, context)
        with session_scope(settings.database_url) as session:
            group = after_lunch.own_group(session, team_id, _int(value), user_id)
        if group is None:
            _not_yours(respond)
            return
        if not group.others:  # the others asked to be forgotten
            respond(text=texts.NOBODY_TO_THANK, response_type="ephemeral", replace_original=False)
            return
        client.views_open(trigger_id=body.get("trigger_id"),
                          view=msgs.thanks_modal(group.group_id, group.others))  # fmt: skip

    @app.action(msgs.KEEP_IN_TOUCH)
    @in_background(deps)
    def keep_in_touch(ack: Ack, body: dict, context, client: WebClient, respond) -> None:
        team_id, user_id, value = _ids(body, context)
        with session_scope(settings.database_url) as session:
            group = after_lunch.own_group(session, team_id, _int(value), user_id)
            choice = group and after_lunch.keep_in_touch(session, group.group_id, user_id,
                                                         utcnow())  # fmt: skip
        if group is None:
            _not_yours(respond)
            return
        if choice.formed and group.conversation_id:
            client.chat_postMessage(channel=group.conversation_id,
                                    text=msgs.keep_in_touch_formed(group.weeks))  # fmt: skip
            return
        text = (texts.KEEP_IN_TOUCH_CLOSED if choice.closed
                else texts.keep_in_touch_noted(choice.already, group.weeks))  # fmt: skip
        respond(text=text, response_type="ephemeral", replace_original=False)

    @app.action(msgs.STOP_KEEPING_IN_TOUCH)
    @in_background(deps)
    def stop_keeping_in_touch(ack: Ack, body: dict, context, client: WebClient, respond) -> None:
        team_id, user_id, value = _ids(body, context)
        with session_scope(settings.database_url) as session:
            group = after_lunch.own_group(session, team_id, _int(value), user_id)
            stopped = group is not None and after_lunch.stop(session, group.group_id)
        if group is None:
            _not_yours(respond)
            return
        respond(text=texts.keep_in_touch_stopped(stopped, group.others),
                response_type="ephemeral", replace_original=False)  # fmt: skip

    @app.action(re.compile(f"^{msgs.LUNCH_PICK}_[0-9]+$"))
    @in_background(deps)
    def lunch_pick(ack: Ack, body: dict, context, client: WebClient, respond) -> None:
        team_id, user_id, value = _ids(body, context)
        group_part, _, epoch = value.partition(":")
        start = values.parse_moment(epoch) if epoch else None
        with session_scope(settings.database_url) as session:
            found = lunches.load(session, team_id, _int(group_part))
            group = found[0] if found else None
            members = [m.user_id for m in group.members] if group else []
            # a closed round's lunch is history, kept in the stats: no day is set for it
            over = group is not None and not lunches.still_planned(found[2])
            mine = group is not None and user_id in members and start is not None and not over
            if mine:
                lunches.hold_group(session, group)
            zone = lunches.zone_of(lunches.diners(session, group, found[1]), found[1]) if mine else "UTC"
            chosen = lunches.pick(session, group, user_id, start, zone) if mine else None
            conversation, organiser = (group.conversation_id, lunches.organiser_of(session, group)) if group else (None, None)
            channel_id = found[1].channel_id if found else None
        if over and user_id in members:
            respond(text=msgs.ROUND_OVER, response_type="ephemeral", replace_original=False)
            return
        if chosen is None:
            _not_yours(respond)
            return
        if chosen.already is not None or chosen.gone or chosen.again:
            text = (msgs.lunch_day_gone(chosen.start) if chosen.gone
                    else msgs.lunch_already_agreed(chosen.already) if chosen.already
                    else msgs.date_chosen_before(chosen.start, organiser))  # fmt: skip
            respond(text=text, response_type="ephemeral", replace_original=False)
            return
        if not chosen.agreed:
            client.chat_postMessage(channel=conversation,
                                    text=msgs.date_picked(user_id, chosen.start, organiser))  # fmt: skip
            return
        links = lunches.calendar_links(client, chosen.start, members, channel_id)
        text, blocks = msgs.lunch_agreed(_group_id(value), chosen.start, *links)
        client.chat_postMessage(channel=conversation, text=text, blocks=blocks)

    @app.action(msgs.LUNCH_NONE)
    @app.action(msgs.LUNCH_RESCHEDULE)
    @in_background(deps)
    def lunch_more(ack: Ack, body: dict, context, client: WebClient, respond) -> None:
        team_id, user_id, value = _ids(body, context)
        again = body["actions"][0]["action_id"] == msgs.LUNCH_RESCHEDULE
        with session_scope(settings.database_url) as session:
            found = lunches.load(session, team_id, _int(value))
            if found is None or user_id not in {m.user_id for m in found[0].members}:
                found = None
            else:
                group, program, round_ = found
            # a closed round's lunch is history, kept in the stats: no other day for it
            over = found is not None and not lunches.still_planned(round_)
            if found is not None and not over:
                lunches.hold_group(session, group)
                more = lunches.more(session, group, program, round_, again)
                conversation = group.conversation_id
                zone = lunches.zone_of(more.people, program)
        if found is None:
            _not_yours(respond)
            return
        if over or more.already is not None:
            text = msgs.ROUND_OVER if over else msgs.lunch_already_agreed(more.already)
            respond(text=text, response_type="ephemeral", replace_original=False)
            return
        intro = texts.more_dates(user_id, again)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": intro}},
                  *(b.to_dict() for b in msgs.date_blocks(_int(value), more.dates, zone))]  # fmt: skip
        client.chat_postMessage(channel=conversation, text=intro, blocks=blocks)

    @app.action(re.compile("^calendar_(google|outlook)$"))
    def calendar_link(ack: Ack) -> None:
        ack()  # a link button: Slack opens the link and tells the app, which has nothing to do

    @app.action(msgs.NUDGE_STAY)
    @app.action(msgs.NUDGE_LEAVE)
    @in_background(deps)
    def nudge(ack: Ack, body: dict, context, client: WebClient) -> None:
        team_id, user_id, value = _ids(body, context)
        stay = body["actions"][0]["action_id"] == msgs.NUDGE_STAY
        program_channel = answer_nudge(settings, team_id, _int(value), user_id, stay)
        if program_channel is None:
            return
        reply = msgs.nudge_answer(stay, program_channel)
        if stay:  # an old nudge: the program may be off now, or they left the channel
            with session_scope(settings.database_url) as session:
                program = programs.by_id(session, team_id, _int(value))
                reply = _unless_stale(session, program, user_id, reply)
        message = body.get("message") or {}
        client.chat_update(channel=(body.get("channel") or {}).get("id"), ts=message.get("ts"),
                           text=reply, blocks=[])


def _unless_stale(session, program, user_id: str, notice: str) -> str:
    """A Home tab is a picture of when it was drawn: "Take part again" may be clicked after
    its person left the channel, or after the program was switched off; say so, instead of
    promising the next round."""
    read = program.members_read_at is not None
    kinds = membership.kinds_of(session, program.team_id, user_id)
    if read and program.id not in kinds:
        return texts.not_in_channel_now(program.channel_id)
    why_not = membership.left_out(kinds.get(program.id), program)
    if why_not:  # a guest now, say, where guests don't take part
        return texts.left_out(why_not)
    if not program.enabled:
        return f"{notice} {texts.switched_off_now(program.channel_id)}"
    return notice


def _not_yours(respond) -> None:
    """A button of a group the clicker is not in (or a forged one): nothing changes."""
    respond(text=texts.NOT_YOUR_GROUP, response_type="ephemeral", replace_original=False)


def _group_id(value: str) -> int:
    return _int(value.partition(":")[0])


def _int(value: str) -> int:
    """Button values are ids we wrote; anything else matches nothing."""
    number = values.parse_id(value)
    return -1 if number is None else number
