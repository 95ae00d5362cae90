"""The App Home tab and the program settings modal, built with slack_sdk's Block Kit models.

`to_dict()` on a model checks Slack's limits (text lengths, number of blocks, elements per
block) before anything is sent, so a view Slack would refuse fails here, in tests, instead.
The builders are pure: they take what to show and return the view.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    TimePickerElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.domain.schedule import ORDINALS, today_in
from bot.domain.services.programs import CHECKIN_DAYS_MAX, KEEP_IN_TOUCH_WEEKS, ProgramSettings
from bot.edge.meet_command import GROUP_SIZES, WEEKDAY_NAMES
from bot.slack import texts
from bot.slack.client import slack_user

log = logging.getLogger(__name__)

# Action ids of the Home tab's buttons (values are program ids, or "all").
JOIN = "home_join"
LEAVE = "home_leave"
PAUSE = "home_pause"
RESUME = "home_resume"
SETTINGS = "program_settings"
RUN_NOW = "program_run_now"
FORGET_ME = "forget_me_confirm"
FORGET_ME_CANCEL = "forget_me_cancel"
AVOID = "home_avoid"
ABOUT = "home_about"
SEND_CHARTS = "admin_send_charts"
LUNCH_DAYS = "home_lunch_days"
LUNCH_TIME = "home_lunch_time"
SETTINGS_CALLBACK = "program_settings"
HOME_PAUSE_WEEKS = 2

MAX_BLOCKS = 100
MAX_PROGRAMS_SHOWN = 10
MAX_ADMIN_PROGRAMS_SHOWN = 15
MAX_HISTORY_SHOWN = 5
MAX_FAILURES_SHOWN = 3

CADENCE_LABELS = {
    "weekly": "Every week",
    "biweekly": "Every 2 weeks",
    "every4weeks": "Every 4 weeks",
    "monthly": "Monthly",
}
OPTION_LABELS = {
    "allow_guests": "Guests (single- and multi-channel) take part",
    "allow_external": "People from other organisations (Slack Connect) take part",
    "post_summary": "Post a short summary in the channel after each round",
    "heads_up": "Remind the channel the day before a round",
    "self_service_levels": "Members may set their own level (/meet level)",
    "skip_level_apart": "Keep people apart from their manager's manager too",
    "auto_schedule": "Pick the first day that suits a group if nobody has in 2 working days",
}


@dataclass(frozen=True)
class MyProgram:
    program_id: int
    channel_id: str
    schedule: str
    next_round: str  # already in the viewer's time zone
    taking_part: bool
    paused_until: dt.date | None
    group: Sequence[str] | None = None  # the others in the current group
    group_outcome: str | None = None
    left_out: str | None = None  # why they are not grouped here (a guest, another company)


@dataclass(frozen=True)
class PastGroup:
    channel_id: str
    date: dt.date
    others: Sequence[str]
    outcome: str | None


@dataclass(frozen=True)
class AdminProgram:
    program_id: int
    channel_id: str
    enabled: bool
    schedule: str
    group_size: int
    participants: int | None
    rounds: int
    meet_rate: str
    next_round: str
    failures: Sequence = ()  # stats.FailedGroup, newest first
    paused: int = 0
    members_error: str | None = None  # why the channel's members could not be read
    scheduled: str | None = None  # "12 scheduled (83% of those met)"


@dataclass
class HomeData:
    user_id: str
    programs: list[MyProgram] = field(default_factory=list)
    paused_everywhere_until: dt.date | None = None
    history: list[PastGroup] = field(default_factory=list)
    admin: list[AdminProgram] | None = None  # None: the viewer is not an admin
    notice: str | None = None
    avoided: list[str] = field(default_factory=list)  # their own avoid list: theirs alone
    reach: str | None = None  # how far their lunches reached, in words
    lunch_days: frozenset[int] | None = None  # None: Monday to Friday
    lunch_time: str | None = None  # None: no program of theirs gives one (12:00)
    about: str | None = None  # their "ask me about" line


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text[:3000])


def _button(text: str, action_id: str, value: str, style: str | None = None, **kw):
    return ButtonElement(text=text, action_id=action_id, value=value, style=style, **kw)


def home_view(data: HomeData) -> View:
    blocks: list = [HeaderBlock(text="Worth Knowing 🥪")]
    if data.notice:
        blocks.append(SectionBlock(text=_md(data.notice)))
    blocks.append(
        ContextBlock(
            elements=[
                _md(
                    "Lunch with someone from another corner of the company, on a schedule. "
                    "`/meet help` lists everything you can do."
                )
            ]
        )
    )
    blocks += _my_programs(data)
    blocks += _history(data)
    blocks += _lunch(data)
    blocks += _about(data)
    blocks += _avoid_list(data)
    if data.admin is not None:
        blocks += _admin(data.admin)
    view = View(type="home", blocks=blocks[:MAX_BLOCKS])
    view.to_dict()  # validates against Slack's limits now, not in Slack
    return view


def _my_programs(data: HomeData) -> list:
    blocks: list = [DividerBlock(), SectionBlock(text=_md("*Your lunch programs*"))]
    if data.paused_everywhere_until:
        blocks.append(
            SectionBlock(
                text=_md(
                    f"⏸️ You're paused in all programs through "
                    f"{texts.day(data.paused_everywhere_until)}."
                ),
                accessory=_button("Resume everywhere", RESUME, "all", "primary"),
            )
        )
    if not data.programs:
        blocks.append(
            SectionBlock(
                text=_md(
                    "You're not in any channel with lunch pairing. Join one, or ask an admin "
                    "to run `/meet setup` in a channel."
                )
            )
        )
        return blocks
    for program in data.programs[:MAX_PROGRAMS_SHOWN]:
        where = texts.channel(program.channel_id)
        if program.left_out:
            state = texts.left_out(program.left_out)
            buttons = []
        elif not program.taking_part:
            state = "You're not taking part."
            buttons = [_button("Take part again", JOIN, str(program.program_id), "primary")]
        elif program.paused_until:
            state = f"⏸️ Paused through {texts.day(program.paused_until)}."
            buttons = [_button("Resume", RESUME, str(program.program_id), "primary")]
        else:
            state = f"Next round: {program.next_round}."
            buttons = [
                _button(f"Pause {HOME_PAUSE_WEEKS} weeks", PAUSE, str(program.program_id)),
                _button(
                    "Stop taking part",
                    LEAVE,
                    str(program.program_id),
                    "danger",
                    confirm=ConfirmObject(
                        title="Stop taking part?",
                        text="No more lunch groups for you in this channel. You can come back "
                        "any time.",
                        confirm="Stop",
                        deny="Cancel",
                    ),
                ),
            ]
        lines = [f"*{where}*: {program.schedule}", state]
        if program.group is not None:
            lines.append(
                f"This round you're with {texts.people(program.group)}: "
                f"{texts.outcome(program.group_outcome)}."
            )
        blocks.append(SectionBlock(text=_md("\n".join(lines))))
        if buttons:
            blocks.append(ActionsBlock(block_id=f"mine-{program.program_id}", elements=buttons))
    hidden = len(data.programs) - MAX_PROGRAMS_SHOWN
    if hidden > 0:
        blocks.append(ContextBlock(elements=[_md(f"…and {hidden} more: `/meet status`.")]))
    return blocks


def _history(data: HomeData) -> list:
    if not data.history:
        return []
    lines = [
        f"• {texts.day(g.date)} in {texts.channel(g.channel_id)}: {texts.people(g.others)}, "
        f"{texts.outcome(g.outcome)}"
        for g in data.history[:MAX_HISTORY_SHOWN]
    ]
    reach = [data.reach] if data.reach else []
    return [
        DividerBlock(),
        SectionBlock(text=_md("\n".join([*reach, "*Your recent lunch groups*", *lines]))),
        ContextBlock(elements=[_md("`/meet history` shows more; `/meet forget-me` deletes it.")]),
    ]


def _lunch(data: HomeData) -> list:
    from bot.domain.lunch_dates import WEEKDAYS, WORKDAYS

    days = [_option(dt.date(2024, 1, 1 + n).strftime("%a"), name)
            for n, name in enumerate(WEEKDAYS)]  # fmt: skip
    chosen = data.lunch_days if data.lunch_days is not None else WORKDAYS
    checkboxes = CheckboxesElement(action_id=LUNCH_DAYS, options=days)
    checkboxes.initial_options = [days[n] for n in sorted(chosen)]
    return [
        DividerBlock(),
        SectionBlock(text=_md(
            "*Your lunch days and time*\nIntros offer days that suit everyone in your group. "
            "Only you see these."
        )),  # fmt: skip
        ActionsBlock(block_id="lunch", elements=[
            checkboxes,
            TimePickerElement(action_id=LUNCH_TIME, initial_time=data.lunch_time or "12:00"),
        ]),  # fmt: skip
    ]


def _about(data: HomeData) -> list:
    from bot.edge.meet_command import MAX_ABOUT_LENGTH

    return [
        DividerBlock(),
        InputBlock(
            block_id="about",
            label="Ask me about",
            hint="A line in your intros, for the people in your lunch groups. Press Enter to "
            "save; empty it to remove it.",
            dispatch_action=True,
            optional=True,
            element=PlainTextInputElement(
                action_id=ABOUT,
                initial_value=data.about or None,
                max_length=MAX_ABOUT_LENGTH,
                placeholder="sourdough, 20 years of studio history, the best noodles nearby",
                dispatch_action_config={"trigger_actions_on": ["on_enter_pressed"]},
            ),
        ),
    ]


def _avoid_list(data: HomeData) -> list:
    from bot.domain.services.avoids import MAX_AVOIDED

    picker = UserMultiSelectElement(
        action_id=AVOID,
        placeholder="Nobody",
        initial_users=data.avoided or None,
        max_selected_items=MAX_AVOIDED,
    )
    return [
        DividerBlock(),
        SectionBlock(
            block_id="avoid",
            text=_md(
                "*People you'd rather not be grouped with*\nThey're never put in your lunch "
                "group. Private: they aren't told, and nobody else can see this list."
            ),
            accessory=picker,
        ),
    ]


def _admin(programs: list[AdminProgram]) -> list:
    blocks: list = [
        DividerBlock(),
        HeaderBlock(text="Programs (admins)"),
    ]
    if programs:
        blocks.append(SectionBlock(
            text=_md("Is everyone meeting beyond their level, team and office? The charts "
                     "show it: meet rate, reach, and meetings by level and department."),
            accessory=_button("Send me the charts", SEND_CHARTS, "all"),
        ))  # fmt: skip
    if not programs:
        blocks.append(
            SectionBlock(text=_md("No programs yet: run `/meet setup` in a channel to start one."))
        )
        return blocks
    for program in programs[:MAX_ADMIN_PROGRAMS_SHOWN]:
        size = "pairs" if program.group_size == 2 else f"groups of {program.group_size}"
        state = f"next round {program.next_round}" if program.enabled else "*switched off*"
        blocks.append(
            SectionBlock(
                text=_md(
                    f"*{texts.channel(program.channel_id)}*: {program.schedule}, {size}; {state}\n"
                    f"{texts.taking_part(program.participants, program.paused)} · "
                    f"{texts.rounds(program.rounds)} · "
                    f"meet rate {program.meet_rate}"
                    + (f" · {program.scheduled}" if program.scheduled else "")
                    + (
                        "\n" + texts.channel_unreadable(program.channel_id, program.members_error)
                        if program.members_error
                        else ""
                    )
                    + _failures(program.failures)
                )
            )
        )
        buttons = [_button("Settings", SETTINGS, str(program.program_id))]
        if program.enabled:
            buttons.append(
                _button(
                    "Run a round now",
                    RUN_NOW,
                    str(program.program_id),
                    confirm=ConfirmObject(
                        title="Run a round now?",
                        text="Everyone taking part gets a lunch group and an intro message now.",
                        confirm="Run it",
                        deny="Cancel",
                    ),
                )
            )
        blocks.append(ActionsBlock(block_id=f"admin-{program.program_id}", elements=buttons))
    hidden = len(programs) - MAX_ADMIN_PROGRAMS_SHOWN
    if hidden > 0:
        blocks.append(ContextBlock(elements=[_md(f"…and {hidden} more programs.")]))
    return blocks


def _failures(failures: Sequence) -> str:
    """Groups that got no intro lately: Slack's error code and what to do."""
    lines = [
        f"\n⚠️ {texts.day(f.date)}, {texts.people(f.user_ids)}: "
        f"not delivered (`{f.error}`). {f.advice}"
        for f in failures[:MAX_FAILURES_SHOWN]
    ]
    return "".join(lines)


# -- forget-me confirmation -------------------------------------------------------------------


def forget_me_blocks() -> list[dict]:
    blocks = [
        SectionBlock(text=_md(texts.FORGET_ME_QUESTION)),
        ActionsBlock(
            block_id="forget-me",
            elements=[
                _button("Delete everything", FORGET_ME, "confirm", "danger"),
                _button("Keep it", FORGET_ME_CANCEL, "cancel"),
            ],
        ),
    ]
    return [b.to_dict() for b in blocks]


def settings_button_blocks(text: str, program_id: int) -> list[dict]:
    blocks = [
        SectionBlock(text=_md(text)),
        ActionsBlock(
            block_id="setup",
            elements=[_button("Change settings", SETTINGS, str(program_id), "primary")],
        ),
    ]
    return [b.to_dict() for b in blocks]


# -- the settings modal -----------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsForm:
    program_id: int
    channel_name: str
    cadence: str
    weekday: int
    time_of_day: str
    timezone: str
    group_size: int
    options: frozenset[str]
    response_url: str | None = None
    checkin_after_days: int = 3
    keep_in_touch_weeks: int = 12
    week_of_month: int | None = None


# block_id -> the field name settings_form.validate() knows it by
FIELDS = {
    "cadence": "cadence",
    "weekday": "weekday",
    "time": "time_of_day",
    "timezone": "timezone",
    "size": "group_size",
    "checkin": "checkin_after_days",
    "touch": "keep_in_touch_weeks",
    "week": "week_of_month",
    "options": "options",
}


def _option(text: str, value: str) -> Option:
    return Option(text=PlainTextObject(text=text), value=value)


def settings_modal(form: SettingsForm) -> View:
    cadences = [_option(label, value) for value, label in CADENCE_LABELS.items()]
    days = [_option(name, name.lower()[:3]) for name in WEEKDAY_NAMES]
    sizes = [_option("Pairs" if n == 2 else f"Groups of {n}", str(n)) for n in GROUP_SIZES]
    checkin_days = [
        _option("1 day into the round" if n == 1 else f"{n} days into the round", str(n))
        for n in range(1, CHECKIN_DAYS_MAX + 1)
    ]
    touch_weeks = [_option(f"Every {n} weeks", str(n)) for n in KEEP_IN_TOUCH_WEEKS]
    weeks = [_option(f"The {name} one", str(number)) for number, name in ORDINALS.items()]
    options = [_option(label, value) for value, label in OPTION_LABELS.items()]
    chosen = [o for o in options if o.value in form.options]
    # What each field shows at first; a value with no option of its own shows another one
    # (a weekly program's week of the month shows the first).
    cadence = next((o for o in cadences if o.value == form.cadence), cadences[0])
    week = next((o for o in weeks if o.value == str(form.week_of_month)), weeks[0])
    size = sizes[max(0, min(len(sizes) - 1, form.group_size - 2))]
    checkin = checkin_days[max(0, min(len(checkin_days), form.checkin_after_days) - 1)]
    touch = next((o for o in touch_weeks if o.value == str(form.keep_in_touch_weeks)),
                 touch_weeks[2])  # fmt: skip
    checkboxes = CheckboxesElement(action_id="value", options=options)
    if chosen:
        checkboxes.initial_options = chosen
    blocks = [
        SectionBlock(text=_md(f"Lunch pairing in *#{texts.escape(form.channel_name[:80])}*")),
        InputBlock(
            block_id="cadence",
            label="How often",
            element=StaticSelectElement(
                action_id="value", options=cadences, initial_option=cadence
            ),
        ),
        InputBlock(
            block_id="weekday",
            label="Day",
            element=StaticSelectElement(
                action_id="value", options=days, initial_option=days[form.weekday]
            ),
        ),
        InputBlock(
            block_id="week",
            label="Which week of the month",
            hint="For monthly rounds: e.g. the last Friday of every month.",
            element=StaticSelectElement(
                action_id="value",
                options=weeks,
                initial_option=week,
            ),
        ),
        InputBlock(
            block_id="time",
            label="Time",
            element=TimePickerElement(action_id="value", initial_time=form.time_of_day),
        ),
        InputBlock(
            block_id="timezone",
            label="Time zone",
            hint="An IANA name, e.g. Europe/Berlin or America/New_York.",
            element=PlainTextInputElement(
                action_id="value", initial_value=form.timezone, max_length=64
            ),
        ),
        InputBlock(
            block_id="size",
            label="Group size",
            hint="An odd one out joins a group, so some groups are one bigger.",
            element=StaticSelectElement(
                action_id="value",
                options=sizes,
                initial_option=size,
            ),
        ),
        InputBlock(
            block_id="checkin",
            label="Ask “Did you meet?”",
            element=StaticSelectElement(
                action_id="value",
                options=checkin_days,
                initial_option=checkin,
            ),
        ),
        InputBlock(
            block_id="touch",
            label="Keep-in-touch reminders",
            hint="For groups who all chose “Let's keep in touch” after lunch.",
            element=StaticSelectElement(
                action_id="value",
                options=touch_weeks,
                initial_option=touch,
            ),
        ),
        InputBlock(block_id="options", label="Options", optional=True, element=checkboxes),
    ]
    # The settings as the form shows them, so that a field left as it was is not taken for a
    # change (a weekly program's "first" week would otherwise be saved over a monthly week
    # set meanwhile, `programs.merged`).
    shown = {f.name: getattr(form, f.name) for f in fields(ProgramSettings)}
    shown.update(cadence=cadence.value, week_of_month=int(week.value), group_size=int(size.value),
                 checkin_after_days=int(checkin.value), keep_in_touch_weeks=int(touch.value))
    metadata = {"program": form.program_id, "shown": {**shown, "options": sorted(form.options)}}
    if form.response_url:
        metadata["response_url"] = form.response_url
    view = View(
        type="modal",
        callback_id=SETTINGS_CALLBACK,
        title="Lunch settings",
        submit="Save",
        close="Cancel",
        blocks=blocks,
        private_metadata=json.dumps(metadata),
    )
    view.to_dict()
    return view


def read_settings_state(state_values: dict) -> dict[str, object]:
    """The submitted form as plain values keyed by field name (missing fields left out)."""
    raw: dict[str, object] = {}
    for block_id, name in FIELDS.items():
        element = (state_values.get(block_id) or {}).get("value")
        if not isinstance(element, dict):
            continue
        if "selected_options" in element:
            raw[name] = [o.get("value") for o in element.get("selected_options") or []]
        elif "selected_option" in element:
            raw[name] = (element.get("selected_option") or {}).get("value")
        elif "selected_time" in element:
            raw[name] = element.get("selected_time")
        else:
            raw[name] = element.get("value")
    return raw


def read_metadata(private_metadata: str | None) -> tuple[str | None, str | None, dict | None]:
    """(program id, response_url, the settings the form showed) from the modal's private
    metadata; the settings are as written, to be checked (settings_form.shown_settings)."""
    try:
        data = json.loads(private_metadata or "{}")
    except ValueError:
        return None, None, None
    if not isinstance(data, dict):
        return None, None, None
    url, shown = data.get("response_url"), data.get("shown")
    return (str(data.get("program")), url if isinstance(url, str) else None,
            shown if isinstance(shown, dict) else None)  # fmt: skip


def errors_by_block(errors: dict[str, str]) -> dict[str, str]:
    by_name = {name: block for block, name in FIELDS.items()}
    return {by_name.get(name, "cadence"): message[:150] for name, message in errors.items()}


# -- gathering and publishing -----------------------------------------------------------------
# Below here the Home tab meets storage and Slack; everything above stays pure.


def viewer(client, user_id: str) -> dict | None:
    """The person's Slack user object ({} when Slack has no such person); None when Slack
    refused, so that `publish` asks again."""

    try:
        return slack_user(client, user_id) or {}
    except SlackApiError:
        return None


def gather(
    deps, client, team_id: str, user_id: str, notice: str | None = None, user: dict | None = None
) -> HomeData:
    """What the person's Home tab shows; `user` is their Slack user object when the caller
    already has it."""
    from bot.domain.services import (
        avoids,
        history,
        insights,
        membership,
        people,
        programs,
        stats,
    )
    from bot.domain.services.participants import read_never_read
    from bot.storage.db import session_scope

    if user is None:
        user = slack_user(client, user_id) or {}
    own_zone = user.get("tz")  # None: each program's zone stands in for the person's days
    data = HomeData(user_id=user_id, notice=notice)
    read_never_read(client, deps.settings.database_url, team_id)
    with session_scope(deps.settings.database_url) as session:
        team_programs = programs.of_team(session, team_id)
        admin = people.is_admin(session, client, team_id, user_id, user)
        # The channels they are in, as the app keeps them: no Slack call per program.
        mine = membership.kinds_of(session, team_id, user_id)
        data.paused_everywhere_until = people.paused_until(
            session, team_id, user_id, None, today_in(own_zone)
        )
        recent = history.groups_of(
            session, team_id, user_id, own_zone, limit=MAX_HISTORY_SHOWN + history.CURRENT_WITHIN
        )
        current = history.current_groups(recent)
        grouped_in = []  # the programs whose rounds group them: their lunch time's default
        for program in team_programs:
            if not program.enabled or program.id not in mine:
                continue
            today = today_in(own_zone or program.timezone)
            choice = people.participation(session, program, user_id, create=False)
            group = current.get(program.id)
            taking_part = not (choice is not None and choice.opted_out)
            left_out = membership.left_out(mine[program.id], program)
            if taking_part and left_out is None:
                grouped_in.append(program)
            data.programs.append(
                MyProgram(
                    program_id=program.id,
                    channel_id=program.channel_id,
                    schedule=programs.describe(program),
                    next_round=programs.next_round_for(program, own_zone),
                    taking_part=taking_part,
                    paused_until=choice.paused_until
                    if choice is not None and people.paused_on(choice.paused_until, today)
                    else None,
                    group=group.others if group else None,
                    group_outcome=group.outcome if group else None,
                    left_out=left_out,
                )
            )
        data.history = [
            PastGroup(g.channel_id, g.date, g.others, g.outcome) for g in recent if not g.current
        ][:MAX_HISTORY_SHOWN]
        data.avoided = avoids.of(session, team_id, user_id)
        reach = insights.reach_of(session, team_id, user_id)
        data.reach = texts.reach_line(reach) if reach.people else None
        person = people.member(session, team_id, user_id, create=False)
        data.about = person.about if person else None
        data.lunch_days, data.lunch_time = people.lunch_of(person, grouped_in)
        if admin:
            data.admin = []
            for program in team_programs:
                figures = stats.program_stats(session, program)
                count = membership.count(session, program)
                data.admin.append(
                    AdminProgram(
                        program_id=program.id,
                        channel_id=program.channel_id,
                        enabled=program.enabled,
                        schedule=programs.describe(program),
                        group_size=program.group_size,
                        participants=count.taking_part,
                        rounds=figures.rounds,
                        meet_rate=stats.format_rate(figures),
                        scheduled=stats.format_scheduled(figures) if figures.groups_scheduled else None,
                        next_round=programs.next_round_for(program, own_zone),
                        failures=figures.failures,
                        paused=count.paused,
                        members_error=count.error,
                    )
                )
    return data


def publish(
    deps, client, team_id: str, user_id: str, notice: str | None = None, user: dict | None = None
) -> None:
    """Build the person's Home tab and publish it; a failure is logged, never shown."""
    try:
        view = home_view(gather(deps, client, team_id, user_id, notice, user))
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        log.warning("could not publish the Home tab: %s", error.response.get("error"))
    except Exception:
        log.exception("could not build the Home tab")
