"""`/meet` text → a typed command, or a `UsageError` that says what was wrong.

Pure: no Slack, no database, no clock (the caller passes today's date), so every rule about
what a well-formed command looks like lives here and can be tested with arbitrary text.
Slack sends the text with `&`, `<` and `>` escaped and with mentions as `<@U123|name>`
(the manifest sets `should_escape`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from dataclasses import dataclass

from bot.domain import schedule
from bot.slack import texts

MAX_PAUSE_WEEKS = 52
MAX_PAUSE_DAYS = 366
MAX_NAME_LENGTH = 80
MAX_ABOUT_LENGTH = 150
LEVELS = range(1, 10)
GROUP_SIZES = range(2, 9)
CADENCES = schedule.CADENCES
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = schedule.WEEKDAYS
CADENCE_ALIASES = {
    "fortnightly": "biweekly",
    "every-2-weeks": "biweekly",
    "every-4-weeks": "every4weeks",
    "4-weekly": "every4weeks",
}
PROFILE_ATTRIBUTES = ("level", "department", "location")

USAGE = {
    "help": "/meet help",
    "join": "/meet join",
    "leave": "/meet leave",
    "pause": "/meet pause <1-52> weeks   or   /meet pause until YYYY-MM-DD",
    "resume": "/meet resume",
    "status": "/meet status",
    "history": "/meet history",
    "level": "/meet level <1-9>   (admins: /meet level @person <1-9>)",
    "department": "/meet department <name>   (admins: /meet department @person <name>)",
    "location": "/meet location <name>   (admins: /meet location @person <name>)",
    "forget-me": "/meet forget-me",
    "about": "/meet about <what you'd like to be asked about>   or   /meet about clear",
    "keep-in-touch": "/meet keep-in-touch",
    "days": "/meet days mon tue thu   (or mon-fri)",
    "office-days": "/meet office-days <location> mon tue thu   or   /meet office-days <location> any",
    "lunchtime": "/meet lunchtime 12:30",
    "avoid": "/meet avoid @person   /meet unavoid @person   /meet avoid list",
    "unavoid": "/meet unavoid @person",
    "setup": "/meet setup",
    "schedule": "/meet schedule <weekly|biweekly|every4weeks|monthly [first..last]> <mon..sun> <HH:MM> [time zone]",
    "size": "/meet size <2-8>",
    "enable": "/meet enable",
    "disable": "/meet disable",
    "now": "/meet now",
    "stats": "/meet stats",
    "external": "/meet external on   or   /meet external off",
    "admins": "/meet admins add @person   /meet admins remove @person   /meet admins list",
}
ALIASES = {
    "?": "help",
    "forget": "forget-me",
    "forgetme": "forget-me",
    "forget_me": "forget-me",
    "unpause": "resume",
    "dept": "department",
    "admin": "admins",
    "keep": "keep-in-touch",
    "lunch-days": "days",
    "lunch-time": "lunchtime",
    "lunch": "lunchtime",
    "keepintouch": "keep-in-touch",
    "keep_in_touch": "keep-in-touch",
}


class UsageError(Exception):
    """What was wrong with the command, and the form that would have worked."""

    def __init__(self, message: str, usage: str | None = None):
        super().__init__(message)
        self.message = message
        self.usage = usage


# -- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    admin_only = False


@dataclass(frozen=True)
class Help(Command):
    pass


@dataclass(frozen=True)
class Join(Command):
    pass


@dataclass(frozen=True)
class Leave(Command):
    pass


@dataclass(frozen=True)
class Pause(Command):
    """Skip rounds through the date `until` (inclusive), or for `weeks` weeks from today
    (the person's today, which only the caller knows)."""

    until: dt.date | None = None
    weeks: int | None = None


@dataclass(frozen=True)
class Resume(Command):
    pass


@dataclass(frozen=True)
class Status(Command):
    pass


@dataclass(frozen=True)
class History(Command):
    pass


@dataclass(frozen=True)
class SetProfile(Command):
    """Set level, department or location: one's own, or someone else's (admins)."""

    attribute: str
    value: int | str
    user_id: str | None = None

    @property
    def admin_only(self) -> bool:  # type: ignore[override]
        return self.user_id is not None


@dataclass(frozen=True)
class ForgetMe(Command):
    pass


@dataclass(frozen=True)
class About(Command):
    """Set (a text), clear ("") or show (None) one's "ask me about" line."""

    text: str | None = None


@dataclass(frozen=True)
class LunchDays(Command):
    """Set (weekday numbers) or show (None) the days someone can have lunch."""

    days: frozenset[int] | None = None


@dataclass(frozen=True)
class OfficeDaysSet(Command):
    """An office's lunch days (None: any day again)."""

    admin_only = True
    location: str
    days: frozenset[int] | None


@dataclass(frozen=True)
class LunchTime(Command):
    time_of_day: str | None = None


@dataclass(frozen=True)
class KeepInTouchList(Command):
    pass


@dataclass(frozen=True)
class Avoid(Command):
    """Never be grouped with these people (a private list)."""

    user_ids: tuple[str, ...]


@dataclass(frozen=True)
class Unavoid(Command):
    user_ids: tuple[str, ...]


@dataclass(frozen=True)
class AvoidList(Command):
    pass


@dataclass(frozen=True)
class Setup(Command):
    admin_only = True


@dataclass(frozen=True)
class SetSchedule(Command):
    admin_only = True
    cadence: str
    weekday: int  # Monday = 0
    time_of_day: str  # "HH:MM"
    timezone: str | None = None
    week_of_month: int | None = None  # monthly: 1-4, or -1 for the last; None keeps it


@dataclass(frozen=True)
class SetSize(Command):
    admin_only = True
    size: int


@dataclass(frozen=True)
class Enable(Command):
    admin_only = True


@dataclass(frozen=True)
class Disable(Command):
    admin_only = True


@dataclass(frozen=True)
class RunNow(Command):
    admin_only = True


@dataclass(frozen=True)
class Stats(Command):
    admin_only = True


@dataclass(frozen=True)
class SetExternal(Command):
    """Whether people of another organisation (Slack Connect) take part in this channel."""

    admin_only = True
    allowed: bool


@dataclass(frozen=True)
class AdminsAdd(Command):
    admin_only = True
    user_id: str


@dataclass(frozen=True)
class AdminsRemove(Command):
    admin_only = True
    user_id: str


@dataclass(frozen=True)
class AdminsList(Command):
    admin_only = True


# -- small parsers, also used by the settings modal ---------------------------------------------

_MENTION = re.compile(r"^<@([UW][A-Z0-9]{1,30})(?:\|[^<>]{0,100})?>$")
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def shown(text: str, limit: int = 30) -> str:
    """Echo user input back safely: short, one line, no Slack markup. The text is as Slack
    sent it, so its escapes are undone once before the whole is escaped once."""
    text = texts.unescape_slack(text)
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text).strip()
    if len(text) > limit:
        text = text[:limit] + "…"
    return texts.escape(text)


def parse_mention(word: str) -> str | None:
    """`<@U123|name>` → "U123"; None when the word is not a Slack user mention."""
    match = _MENTION.match(word)
    return match.group(1) if match else None


def parse_time_of_day(word: str) -> str:
    match = _TIME.match(word.strip())
    if not match:
        raise UsageError(
            f"`{shown(word)}` is not a time of day: use 24-hour HH:MM, e.g. 12:00 or 09:30.",
            USAGE["schedule"],
        )
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def parse_weekday(word: str) -> int:
    key = word.strip().lower()
    for index, name in enumerate(WEEKDAY_NAMES):
        if key in (name.lower(), WEEKDAYS[index], name.lower()[:4]):
            return index
    raise UsageError(
        f"`{shown(word)}` is not a day of the week: use mon, tue, wed, thu, fri, sat or sun.",
        USAGE["schedule"],
    )


def parse_timezone(word: str) -> str:
    """An IANA time zone name, in its canonical spelling (case does not matter)."""
    try:
        return schedule.check_timezone(word)
    except ValueError:
        raise UsageError(
            f"`{shown(word)}` is not a time zone I know: use an IANA name such as "
            "Europe/Berlin, America/New_York or UTC.",
            USAGE["schedule"],
        ) from None


def parse_size(word: str) -> int:
    number = _whole_number(word)
    if number is None or number not in GROUP_SIZES:
        raise UsageError(
            f"`{shown(word)}` is not a group size: use a whole number from 2 to 8.",
            USAGE["size"],
        )
    return number


def parse_level(word: str, usage: str = USAGE["level"]) -> int:
    number = _whole_number(word)
    if number is None or number not in LEVELS:
        raise UsageError(f"`{shown(word)}` is not a level: use a whole number from 1 to 9.", usage)
    return number


def parse_name(text: str, attribute: str) -> str:
    """A department or location: plain text, 1 to 80 characters, no mentions or links."""
    return plain_text(text, USAGE[attribute], f"A {attribute}", f"the {attribute}'s name",
                      MAX_NAME_LENGTH)  # fmt: skip


def parse_about(text: str) -> str:
    """What someone would like to be asked about: plain text, up to 150 characters."""
    return plain_text(text, USAGE["about"], "What you'd like to be asked about",
                      "what you'd like to be asked about", MAX_ABOUT_LENGTH)  # fmt: skip


def about_from_input(value: str | None) -> str:
    """The Home tab's field, typed as is (Slack escapes nothing there, and a ``<`` is just a
    character): the same rules as `/meet about`; "" clears the line."""
    if not (value or "").strip():
        return ""
    return parse_about(texts.as_slack_sends(value))


# Invisible characters that are part of writing, not control: the zero-width non-joiner of
# Persian and Indic scripts, the joiner of emoji sequences (👩‍💻) and the tags of subdivision
# flags (🏴 of England). Other format characters (zero-width spaces, direction overrides
# that reorder what others read) stay refused.
_JOINING = {"\u200c", "\u200d", *map(chr, range(0xE0020, 0xE0080))}


def _control(character: str) -> bool:
    category = unicodedata.category(character)
    return category in ("Cc", "Cs", "Co", "Cn") or (
        category == "Cf" and character not in _JOINING
    )


def plain_text(text: str, usage: str, subject: str, missing: str, limit: int) -> str:
    """Text a person gives to be shown to others, as the plain text they meant.

    A real ``<`` or ``>`` is markup Slack made (a mention, channel or link) and is refused;
    characters the person typed arrive escaped and are kept as the plain text they meant.
    """
    if "<" in text or ">" in text:
        raise UsageError(
            f"{subject} is plain text: mentions, channels and links can't be used.", usage
        )
    value = texts.unescape_slack(text)
    if any(_control(c) for c in value):
        raise UsageError(f"{subject} can't contain control characters.", usage)
    value = " ".join(value.split())
    if all(c in _JOINING for c in value):  # nothing, or nothing visible
        raise UsageError(f"Give {missing}.", usage)
    if len(value) > limit:
        raise UsageError(
            f"That is {len(value)} characters long: keep it to {limit}.", usage
        )
    return value


def _whole_number(word: str) -> int | None:
    word = word.strip()
    if not word.isascii() or not word.isdigit() or len(word) > 4:
        return None
    return int(word)


# -- the command line ---------------------------------------------------------------------------


def parse(text: str, today: dt.date) -> Command:
    """Turn the text after `/meet` into a command; raise UsageError when it is malformed.

    `today` is the earliest date that is today somewhere, so that no one's today counts as
    "in the past".
    """
    words = (text or "").split()
    if not words:
        return Help()
    # An invisible character pasted around the command's name (a zero-width space) is no
    # part of it: "status" followed by one was "unknown, did you mean status?"
    name = "".join(c for c in words[0] if unicodedata.category(c) != "Cf").lower()
    name = ALIASES.get(name, name)
    args = words[1:]
    if name == "forget-me" and words[0].lower() == "forget":
        # "/meet forget me"
        if args[:1] and args[0].lower() == "me":
            args = args[1:]
        else:
            raise UsageError("Did you mean `/meet forget-me`?", USAGE["forget-me"])
    parser = _PARSERS.get(name)
    if parser is None:
        raise UsageError(_unknown(words[0]), USAGE["help"])
    return parser(args, today)


def _unknown(word: str) -> str:
    close = difflib.get_close_matches(word.lower(), list(_PARSERS), n=1, cutoff=0.75)
    hint = f" Did you mean `/meet {close[0]}`?" if close else ""
    return f"I don't know `/meet {shown(word)}`.{hint}"


def _no_args(command: Command, name: str):
    def parse_(args: list[str], today: dt.date) -> Command:
        if args:
            raise UsageError(
                f"`/meet {name}` takes nothing after it (got `{shown(' '.join(args))}`).",
                USAGE[name],
            )
        return command

    return parse_


def _parse_pause(args: list[str], today: dt.date) -> Pause:
    usage = USAGE["pause"]
    if not args:
        raise UsageError("Say for how long: a number of weeks, or until a date.", usage)
    if args[0].lower() == "until":
        if len(args) != 2:
            raise UsageError("Give one date after `until`, as YYYY-MM-DD.", usage)
        match = _DATE.match(args[1])
        try:
            until = dt.date(*(int(g) for g in match.groups())) if match else None
        except ValueError:
            until = None
        if until is None:
            raise UsageError(
                f"`{shown(args[1])}` is not a date: write it as YYYY-MM-DD, e.g. "
                f"{(today + dt.timedelta(days=14)).isoformat()}.",
                usage,
            )
        if until < today:
            raise UsageError(f"{until.isoformat()} is in the past: pick a later date.", usage)
        if until > today + dt.timedelta(days=MAX_PAUSE_DAYS):
            raise UsageError(
                f"{until.isoformat()} is more than a year away: pause for a year at most, "
                "or `/meet leave`.",
                usage,
            )
        return Pause(until=until)
    weeks = _whole_number(args[0])
    if (
        weeks is None
        or len(args) > 2
        or (len(args) == 2 and args[1].lower() not in ("week", "weeks", "w", "wk", "wks"))
    ):
        raise UsageError(f"I couldn't read `{shown(' '.join(args))}` as a pause.", usage)
    if not 1 <= weeks <= MAX_PAUSE_WEEKS:
        raise UsageError(
            f"Pause for 1 to {MAX_PAUSE_WEEKS} weeks (got {weeks}); to stop for good, "
            "use `/meet leave`.",
            usage,
        )
    return Pause(weeks=weeks)


def _profile(attribute: str):
    def parse_(args: list[str], today: dt.date) -> SetProfile:
        usage = USAGE[attribute]
        user_id = None
        if args:
            user_id = parse_mention(args[0])
            if user_id is not None:
                args = args[1:]
            elif args[0].startswith("@"):
                raise UsageError(
                    f"I can't tell who `{shown(args[0])}` is: pick the person from the @ list "
                    "so Slack links their name.",
                    usage,
                )
        if not args:
            raise UsageError(f"Say which {attribute}.", usage)
        if attribute == "level":
            if len(args) != 1:
                raise UsageError("Give one level, a whole number from 1 to 9.", usage)
            return SetProfile("level", parse_level(args[0], usage), user_id)
        if any(parse_mention(a) for a in args):
            raise UsageError(f"Name one person, before the {attribute}.", usage)
        return SetProfile(attribute, parse_name(" ".join(args), attribute), user_id)

    return parse_


def _parse_schedule(args: list[str], today: dt.date) -> SetSchedule:
    usage = USAGE["schedule"]
    if len(args) not in (3, 4, 5):
        raise UsageError("Give how often, the day and the time, and optionally a time zone.", usage)
    cadence = args[0].lower()
    cadence = CADENCE_ALIASES.get(cadence, cadence)
    if cadence not in CADENCES:
        raise UsageError(
            f"`{shown(args[0])}` is not a schedule: use weekly, biweekly, every4weeks or monthly.",
            usage,
        )
    week_of_month = None
    if cadence == "monthly" and len(args) in (4, 5) and _is_week_of_month(args[1]):
        week_of_month = schedule.parse_week_of_month(args[1])  # "monthly last fri 12:00"
        args = [args[0], *args[2:]]
    elif cadence == "monthly" and re.fullmatch(r"\d+(st|nd|rd|th)?|fifth", args[1].lower()):
        raise UsageError(
            f"`{shown(args[1])}` is not a week of the month: use first, second, third, fourth "
            "or last.",
            usage,
        )
    elif len(args) == 5:
        raise UsageError("Give how often, the day and the time, and optionally a time zone.", usage)
    weekday = parse_weekday(args[1])
    time_of_day = parse_time_of_day(args[2])
    timezone = parse_timezone(args[3]) if len(args) == 4 else None
    return SetSchedule(cadence, weekday, time_of_day, timezone, week_of_month)


def _is_week_of_month(text: str) -> bool:
    try:
        schedule.parse_week_of_month(text)
    except ValueError:
        return False
    return True


def _parse_size(args: list[str], today: dt.date) -> SetSize:
    if len(args) != 1:
        raise UsageError("Give one group size, from 2 to 8.", USAGE["size"])
    return SetSize(parse_size(args[0]))


def _parse_admins(args: list[str], today: dt.date) -> Command:
    usage = USAGE["admins"]
    if not args or args[0].lower() == "list":
        if len(args) > 1:
            raise UsageError("`/meet admins list` takes nothing after it.", usage)
        return AdminsList()
    action = args[0].lower()
    if action not in ("add", "remove"):
        raise UsageError(f"`{shown(args[0])}`: use add, remove or list.", usage)
    if len(args) != 2:
        raise UsageError(f"Name one person to {action}, with @.", usage)
    user_id = parse_mention(args[1])
    if user_id is None:
        raise UsageError(
            f"I can't tell who `{shown(args[1])}` is: pick the person from the @ list "
            "so Slack links their name.",
            usage,
        )
    return AdminsAdd(user_id) if action == "add" else AdminsRemove(user_id)


def _mentions(args: list[str], usage: str, doing: str) -> tuple[str, ...]:
    if not args:
        raise UsageError(f"Name the person to {doing}, with @.", usage)
    found = []
    for word in args:
        user_id = parse_mention(word)
        if user_id is None:
            raise UsageError(
                f"I can't tell who `{shown(word)}` is: pick the person from the @ list so "
                "Slack links their name.",
                usage,
            )
        found.append(user_id)
    return tuple(dict.fromkeys(found))


def _parse_days(args: list[str], today: dt.date) -> LunchDays:
    from bot.domain.lunch_dates import parse_days

    if not args:
        return LunchDays()
    try:
        return LunchDays(parse_days(args))
    except ValueError as problem:
        raise UsageError(f"{problem}.", USAGE["days"]) from None


def _parse_office_days(args: list[str], today: dt.date) -> OfficeDaysSet:
    from bot.domain.lunch_dates import parse_days

    usage = USAGE["office-days"]
    if args and args[-1].lower() in ("any", "all", "clear"):
        if len(args) == 1:
            raise UsageError(f"Give the office's location before `{shown(args[0])}`.", usage)
        return OfficeDaysSet(parse_name(" ".join(args[:-1]), "location"), None)
    days: list[str] = []
    while args and _is_day_word(args[-1]):
        days.insert(0, args.pop())
    if not days:
        raise UsageError("Give the office's location, then its days.", usage)
    try:
        return OfficeDaysSet(parse_name(" ".join(args), "location"), parse_days(days))
    except UsageError as problem:
        raise UsageError(problem.message, usage) from None


def _is_day_word(word: str) -> bool:
    from bot.domain.lunch_dates import parse_days

    try:
        parse_days([word])
    except ValueError:
        return False
    return True


def _parse_lunchtime(args: list[str], today: dt.date) -> LunchTime:
    if not args:
        return LunchTime()
    if len(args) != 1:
        raise UsageError("Give one time, as HH:MM.", USAGE["lunchtime"])
    try:
        return LunchTime(parse_time_of_day(args[0]))
    except UsageError as problem:
        raise UsageError(problem.message, USAGE["lunchtime"]) from None


def _parse_about(args: list[str], today: dt.date) -> About:
    if not args:
        return About()
    if len(args) == 1 and args[0].lower() in ("clear", "none", "-"):
        return About("")
    return About(parse_about(" ".join(args)))


def _parse_avoid(args: list[str], today: dt.date) -> Command:
    if not args or (len(args) == 1 and args[0].lower() == "list"):
        return AvoidList()
    return Avoid(_mentions(args, USAGE["avoid"], "avoid"))


def _parse_unavoid(args: list[str], today: dt.date) -> Unavoid:
    return Unavoid(_mentions(args, USAGE["unavoid"], "take off your avoid list"))


_ON = ("on", "yes", "allow", "true")
_OFF = ("off", "no", "deny", "false")


def _parse_external(args: list[str], today: dt.date) -> SetExternal:
    usage = USAGE["external"]
    word = args[0].lower() if len(args) == 1 else ""
    if word not in _ON + _OFF:
        raise UsageError("Say `on` or `off`.", usage)
    return SetExternal(word in _ON)


_PARSERS = {
    "help": _no_args(Help(), "help"),
    "join": _no_args(Join(), "join"),
    "leave": _no_args(Leave(), "leave"),
    "pause": _parse_pause,
    "resume": _no_args(Resume(), "resume"),
    "status": _no_args(Status(), "status"),
    "history": _no_args(History(), "history"),
    "level": _profile("level"),
    "department": _profile("department"),
    "location": _profile("location"),
    "forget-me": _no_args(ForgetMe(), "forget-me"),
    "about": _parse_about,
    "keep-in-touch": _no_args(KeepInTouchList(), "keep-in-touch"),
    "days": _parse_days,
    "lunchtime": _parse_lunchtime,
    "office-days": _parse_office_days,
    "avoid": _parse_avoid,
    "unavoid": _parse_unavoid,
    "setup": _no_args(Setup(), "setup"),
    "schedule": _parse_schedule,
    "size": _parse_size,
    "enable": _no_args(Enable(), "enable"),
    "disable": _no_args(Disable(), "disable"),
    "now": _no_args(RunNow(), "now"),
    "stats": _no_args(Stats(), "stats"),
    "admins": _parse_admins,
    "external": _parse_external,
}
