"""The /meet parser: every well-formed command, every malformed one, and arbitrary text."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.edge import meet_command as mc
from bot.edge.meet_command import UsageError, parse

TODAY = dt.date(2030, 3, 4)


def ok(text: str) -> mc.Command:
    return parse(text, TODAY)


def error(text: str) -> UsageError:
    with pytest.raises(UsageError) as info:
        parse(text, TODAY)
    assert info.value.message
    assert info.value.usage
    return info.value


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", mc.Help()),
        ("   ", mc.Help()),
        ("help", mc.Help()),
        ("HELP", mc.Help()),
        ("?", mc.Help()),
        ("join", mc.Join()),
        ("leave", mc.Leave()),
        ("resume", mc.Resume()),
        ("status", mc.Status()),
        ("  status  ", mc.Status()),
        ("history", mc.History()),
        ("forget-me", mc.ForgetMe()),
        ("forget me", mc.ForgetMe()),
        ("setup", mc.Setup()),
        ("enable", mc.Enable()),
        ("disable", mc.Disable()),
        ("now", mc.RunNow()),
        ("stats", mc.Stats()),
        ("admins", mc.AdminsList()),
        ("admins list", mc.AdminsList()),
        ("admins add <@U123|ada>", mc.AdminsAdd("U123")),
        ("admins remove <@W999>", mc.AdminsRemove("W999")),
        ("size 3", mc.SetSize(3)),
        ("size 8", mc.SetSize(8)),
        ("level 1", mc.SetProfile("level", 1)),
        ("level 9", mc.SetProfile("level", 9)),
        ("level <@U2|bob> 7", mc.SetProfile("level", 7, "U2")),
        (
            "department Research &amp; Development",
            mc.SetProfile("department", "Research & Development"),
        ),
        ("department <@U2> Sales", mc.SetProfile("department", "Sales", "U2")),
        ("location München   Büro", mc.SetProfile("location", "München Büro")),
        ("location 東京", mc.SetProfile("location", "東京")),
        # joiners are writing, not control: Persian's non-joiner, emoji sequences, flags
        ("department منابع\u200cانسانی", mc.SetProfile("department", "منابع\u200cانسانی")),
        ("location 👩\u200d💻 remote", mc.SetProfile("location", "👩\u200d💻 remote")),
        ("location 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f London",
         mc.SetProfile("location", "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f London")),
        ("pause 2 weeks", mc.Pause(weeks=2)),
        ("pause 1 week", mc.Pause(weeks=1)),
        ("pause 3", mc.Pause(weeks=3)),
        ("pause until 2030-03-04", mc.Pause(until=TODAY)),
        ("pause until 2030-4-1", mc.Pause(until=dt.date(2030, 4, 1))),
        ("schedule weekly mon 12:00", mc.SetSchedule("weekly", 0, "12:00")),
        (
            "schedule biweekly Friday 9:30 europe/berlin",
            mc.SetSchedule("biweekly", 4, "09:30", "Europe/Berlin"),
        ),
        ("schedule monthly sun 23:59 UTC", mc.SetSchedule("monthly", 6, "23:59", "UTC")),
        ("schedule monthly last fri 12:00", mc.SetSchedule("monthly", 4, "12:00", None, -1)),
        (
            "schedule monthly 2nd tue 9:00 utc",
            mc.SetSchedule("monthly", 1, "09:00", "UTC", 2),
        ),
        ("schedule fortnightly tue 12.15", mc.SetSchedule("biweekly", 1, "12:15")),
    ],
)
def test_well_formed_commands(text, expected):
    assert ok(text) == expected


def test_who_needs_to_be_an_admin():
    assert not ok("level 3").admin_only
    assert ok("level <@U2> 3").admin_only
    assert not ok("department Sales").admin_only
    for text in (
        "setup",
        "schedule weekly mon 12:00",
        "size 2",
        "now",
        "stats",
        "enable",
        "disable",
        "admins",
        "admins add <@U1>",
    ):
        assert ok(text).admin_only, text
    for text in (
        "help",
        "join",
        "leave",
        "pause 1 week",
        "resume",
        "status",
        "history",
        "forget-me",
    ):
        assert not ok(text).admin_only, text


@pytest.mark.parametrize(
    "text, says, usage",
    [
        ("dance", "I don't know `/meet dance`", "/meet help"),
        ("histroy", "Did you mean `/meet history`?", "/meet help"),
        ("help me", "takes nothing after it", "/meet help"),
        ("join now", "takes nothing after it", "/meet join"),
        ("status please", "takes nothing after it", "/meet status"),
        ("forget", "Did you mean `/meet forget-me`?", "/meet forget-me"),
        ("level", "Say which level", "/meet level"),
        ("level 0", "`0` is not a level", "/meet level <1-9>"),
        ("level 12", "`12` is not a level", "/meet level <1-9>"),
        ("level -3", "is not a level", "/meet level"),
        ("level 3.5", "is not a level", "/meet level"),
        ("level five", "is not a level", "/meet level"),
        ("level ５", "is not a level", "/meet level"),
        ("level 3 4", "Give one level", "/meet level"),
        ("level @bob 3", "I can't tell who `@bob` is", "/meet level"),
        ("level <@U2>", "Say which level", "/meet level"),
        ("department", "Say which department", "/meet department"),
        ("department <#C1|lunch>", "plain text", "/meet department"),
        ("location <https://evil.test|x>", "plain text", "/meet location"),
        ("department Sales <@U3>", "Name one person", "/meet department"),
        ("location " + "x" * 81, "keep it to 80", "/meet location"),
        ("location a\u200bb", "control characters", "/meet location"),
        ("location a\u202eb", "control characters", "/meet location"),  # reorders what others read
        ("department \u200d\u200c", "Give the department's name", "/meet department"),  # nothing visible
        ("pause", "Say for how long", "/meet pause"),
        ("pause 0 weeks", "Pause for 1 to 52 weeks", "/meet pause"),
        ("pause 53 weeks", "Pause for 1 to 52 weeks", "/meet pause"),
        ("pause two weeks", "couldn't read", "/meet pause"),
        ("pause 2 days", "couldn't read", "/meet pause"),
        ("pause 2 weeks now", "couldn't read", "/meet pause"),
        ("pause until", "Give one date", "/meet pause"),
        ("pause until tomorrow", "is not a date", "/meet pause"),
        ("pause until 2030-02-30", "is not a date", "/meet pause"),
        ("pause until 2030-03-03", "in the past", "/meet pause"),
        ("pause until 2035-01-01", "more than a year away", "/meet pause"),
        ("pause until 2030-04-01 2030-05-01", "Give one date", "/meet pause"),
        ("schedule", "how often, the day and the time", "/meet schedule"),
        ("schedule weekly mon", "how often, the day and the time", "/meet schedule"),
        ("schedule daily mon 12:00", "`daily` is not a schedule", "/meet schedule"),
        ("schedule weekly funday 12:00", "`funday` is not a day", "/meet schedule"),
        ("schedule weekly mon 25:00", "`25:00` is not a time", "/meet schedule"),
        ("schedule weekly last fri 12:00", "`last` is not a day", "/meet schedule"),
        ("schedule monthly last fri 12:00 UTC x", "how often, the day", "/meet schedule"),
        ("schedule monthly 5th fri 12:00", "`5th` is not a week of the month", "/meet schedule"),
        ("schedule monthly 0 fri 12:00 UTC", "`0` is not a week of the month", "/meet schedule"),
        ("office-days any", "Give the office's location", "/meet office-days"),
        ("schedule weekly mon noon", "`noon` is not a time", "/meet schedule"),
        ("schedule weekly mon 12:00 Mars/Olympus", "not a time zone I know", "/meet schedule"),
        ("schedule weekly mon 12:00 ../../etc/passwd", "not a time zone I know", "/meet schedule"),
        (
            "schedule weekly mon 12:00 UTC extra",
            "how often, the day and the time",
            "/meet schedule",
        ),
        ("size", "Give one group size", "/meet size"),
        ("size 1", "`1` is not a group size", "/meet size"),
        ("size 9", "`9` is not a group size", "/meet size"),
        ("size 2 3", "Give one group size", "/meet size"),
        ("admins promote <@U1>", "use add, remove or list", "/meet admins"),
        ("admins add", "Name one person", "/meet admins"),
        ("admins add bob", "I can't tell who `bob` is", "/meet admins"),
        ("admins add <@U1> <@U2>", "Name one person", "/meet admins"),
        ("admins list everyone", "`/meet admins list` takes nothing after it", "/meet admins"),
    ],
)
def test_malformed_commands_say_what_is_wrong(text, says, usage):
    problem = error(text)
    assert says in problem.message
    assert usage in problem.usage


def test_junk_is_echoed_short_and_without_markup():
    problem = error("<!channel>" + "x" * 4000)
    assert len(problem.message) < 200
    assert "<!channel>" not in problem.message and "&lt;!channel&gt;" in problem.message
    problem = error("`rm` -rf")
    assert "``" not in problem.message.replace("`/meet ", "")


def test_parsers_used_by_the_settings_form():
    assert mc.parse_time_of_day("7:05") == "07:05"
    assert mc.parse_weekday("WEDNESDAY") == 2
    assert mc.parse_weekday("thur") == 3
    assert mc.parse_timezone("america/new_york") == "America/New_York"
    assert mc.parse_size("4") == 4
    with pytest.raises(UsageError):
        mc.parse_timezone("")


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_is_a_command_or_a_usage_error(text):
    try:
        command = parse(text, TODAY)
    except UsageError as problem:
        assert problem.message.strip() and problem.usage.strip()
        assert len(problem.message) < 400
        assert "<@" not in problem.message and "<!" not in problem.message
    else:
        assert isinstance(command, mc.Command)


words = st.sampled_from(
    [
        "pause",
        "until",
        "weeks",
        "level",
        "size",
        "schedule",
        "weekly",
        "mon",
        "12:00",
        "UTC",
        "admins",
        "add",
        "<@U1>",
        "department",
        "2030-03-09",
        "9",
        "0",
        "-",
        "@x",
        "&lt;",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(words, st.text(min_size=1, max_size=8)), max_size=6))
def test_near_miss_commands_never_crash(parts):
    try:
        command = parse(" ".join(parts), TODAY)
    except UsageError as problem:
        assert problem.usage
        return
    if isinstance(command, mc.SetProfile) and command.attribute == "level":
        assert 1 <= command.value <= 9
    if isinstance(command, mc.SetSize):
        assert 2 <= command.size <= 8
    if isinstance(command, mc.Pause) and command.until is not None:
        assert TODAY <= command.until <= TODAY + dt.timedelta(days=366)
    if isinstance(command, mc.Pause) and command.weeks is not None:
        assert 1 <= command.weeks <= 52
