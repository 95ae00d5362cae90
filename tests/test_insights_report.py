"""`python -m bot report` as an operator runs it: real rounds in, a folder of a page, charts
and formula-safe tables out; and the reach line people see in /meet history."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from conftest import app_env, run_cli
from freezegun import freeze_time
from test_meet_harness import make_program, open_harness

from bot.cli.report import write_report
from bot.domain.levels.sources import set_value
from bot.domain.services import insights, rounds

PEOPLE = {"UADMIN": (9, "=HYPERLINK(\"x\")", "Berlin"), "U1": (1, "Support", "Berlin"),
          "U2": (8, "Finance", "Paris"), "U3": (2, "Design", "Paris"), "U4": (7, "Eng", "Berlin")}  # fmt: skip


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


@pytest.fixture
def history(harness, slack, settings):
    """Three weekly rounds in #lunch; every group says it met."""
    slack.add_member("T1", "C1", "UBOT")
    with harness.session() as session:
        for user, (level, department, office) in PEOPLE.items():
            set_value(session, "T1", user, "level", level, "admin")
            set_value(session, "T1", user, "department", department, "admin")
            set_value(session, "T1", user, "location", office, "admin")
    program_id = make_program(settings, "C1", tz_window_hours=24)
    start = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    for week in range(3):
        with freeze_time(start + dt.timedelta(weeks=week)):
            report = rounds.run_round(settings, program_id, slot=rounds.utcnow())
        with harness.session() as session:
            from bot.storage.models import Round

            for group in session.get(Round, report.round_id).groups:
                rounds.record_checkin(settings, "T1", group.id, group.members[0].user_id, "met")
    return harness


def test_report_writes_a_page_charts_and_safe_tables(history, slack, settings, tmp_path):
    env = app_env(SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET="s",
                  SLACK_API_URL=slack.api_url, DATABASE_URL=settings.database_url)  # fmt: skip
    out = tmp_path / "insights"
    done = run_cli("report", "--out", str(out), "--channel", "C1", env=env, cwd=tmp_path,
                   timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "wrote 9 files" in done.stdout and "report.html" in done.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["departments.csv", "departments.png", "levels.csv", "levels.png",
                     "reach.csv", "reach.png", "report.html", "rounds.csv", "rounds.png"]  # fmt: skip
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4  # self-contained
    assert "Meet rate</th><td>100%" in page
    words = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(r"<@U|\bU[0-9]\b|UADMIN", words)  # names nobody
    rounds_csv = (out / "rounds.csv").read_text().splitlines()
    assert rounds_csv[0] == "date,channel,groups,people,groups_met,meet_rate,unmatched"
    assert len(rounds_csv) == 4 and rounds_csv[1].startswith("2026-06-01,C1,")
    departments = (out / "departments.csv").read_text()
    assert "'=HYPERLINK" in departments and "\n=HYPERLINK" not in departments  # formula-safe
    levels = [line.split(",")[1:] for line in (out / "levels.csv").read_text().splitlines()[1:]]
    # five people: every cell is small, and none tells which levels met and which did not
    assert levels and {cell for row in levels for cell in row} == {"<5"}


def test_report_errors_are_one_line_with_what_to_do(slack, settings, tmp_path):
    env = app_env(SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET="s",
                  SLACK_API_URL=slack.api_url, DATABASE_URL=settings.database_url)  # fmt: skip
    done = run_cli("report", "--out", str(tmp_path / "x"), "--channel", "CNONE", env=env,
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == "error: no program in channel CNONE: run /meet setup in a channel first\n"
    assert not (tmp_path / "x").exists()  # no empty folder left behind
    done = run_cli("report", "--out", str(tmp_path), "--since", "June", env=env, cwd=tmp_path)
    assert done.returncode == 2 and "'June' is not a date: use YYYY-MM-DD" in done.stderr
    blocked = tmp_path / "file"
    blocked.write_text("")
    done = run_cli("report", "--out", str(blocked / "sub"), env=env, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error: cannot write into")
    assert "Traceback" not in done.stderr


def test_history_and_home_say_how_far_a_persons_lunches_reached(history):
    text = history.command("history", user="U1").text
    line = text.splitlines()[0]
    assert re.fullmatch(r"🌱 You've had lunch with \d people? across \d teams? and \d offices?\.",
                        line), line  # fmt: skip
    assert not re.search(r"level|\b[1-9]\b \(", line)


def test_a_round_where_nobody_could_be_placed_is_in_the_report(harness, slack, settings, tmp_path):
    """`stats` counted it; the page's "Rounds" and rounds.csv left it out, and with it the
    person who could not be placed."""
    slack.add_channel("T1", "C9", "solo", members=["U1", "UBOT"])
    program_id = make_program(settings, "C9")
    with freeze_time(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)):
        report = rounds.run_round(settings, program_id, slot=rounds.utcnow())
    assert (report.groups, report.unmatched) == (0, 1)
    with harness.session() as session:
        programs = insights.programs_for(session, "T1", "C9")
        write_report(insights.measure_programs(session, programs), tmp_path)
        later = insights.measure_programs(session, programs, since=dt.date(2026, 6, 2))
    assert "<th>Rounds</th><td>1</td>" in (tmp_path / "report.html").read_text()
    rows = (tmp_path / "rounds.csv").read_text().splitlines()
    assert rows[1:] == ["2026-06-01,C9,0,0,0,,1"]
    assert later.rounds == []  # --since leaves it out like any other round


@pytest.mark.parametrize("command", [["report", "--out", "x"], ["report", "--out", "x", "--channel", "C1"],
                                     ["stats"], ["stats", "--csv"]])  # fmt: skip
def test_an_unknown_workspace_is_named_with_the_known_ones(command, slack, settings, tmp_path):
    """`--team TNOPE` was told to run /meet setup (report) or "no programs yet", exit 0
    (stats), though programs exist: the typo went unseen."""
    make_program(settings, "C1")
    env = app_env(SLACK_BOT_TOKEN="xoxb-T1", SLACK_SIGNING_SECRET="s",
                  SLACK_API_URL=slack.api_url, DATABASE_URL=settings.database_url)  # fmt: skip
    done = run_cli(*command, "--team", "TNOPE", env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert done.stderr == ("error: no program in workspace TNOPE (workspaces with programs: "
                           "T1): check --team\n")  # fmt: skip
    assert done.stdout == "" and not (tmp_path / "x").exists()


def test_left_counts_who_left_after_taking_part_and_nobody_who_used_forget_me(history, settings):
    """docs/insights.md: "Someone who used forget-me counts in no figure." Forget-me leaves an
    opt-out under the real id in every program of the workspace, and "Taking part now"
    counted each as someone who left, even in a channel they were never in."""
    from bot.domain.services import insights, people
    from bot.storage.models import Program

    random_id = make_program(settings, "C2")
    with history.session() as session:
        (lunch,) = insights.programs_for(session, "T1", "C1")
        people.leave(session, lunch, "U4")  # after three rounds: left
        people.leave(session, session.get(Program, random_id), "U1")  # before any round there
        people.forget(session, "T1", "U3")  # three rounds in #lunch, then forget-me
        people.forget(session, "T1", "U5")  # in #random only, never in a round
    with history.session() as session:
        (lunch,) = insights.programs_for(session, "T1", "C1")
        random_ = session.get(Program, random_id)
        assert insights.measure_programs(session, [lunch]).participation.left == 1
        assert insights.measure_programs(session, [random_]).participation.left == 0
        assert insights.measure_programs(session, [lunch, random_]).participation.left == 1


@pytest.mark.parametrize("zone, slot, day", [
    # Monday 12 January 2026, 12:00 in Auckland: Sunday 23:00 in UTC
    ("Pacific/Auckland", dt.datetime(2026, 1, 11, 23, tzinfo=dt.UTC), "2026-01-12"),
    # Monday 12 January 2026, 17:30 in Los Angeles: Tuesday 01:30 in UTC
    ("America/Los_Angeles", dt.datetime(2026, 1, 13, 1, 30, tzinfo=dt.UTC), "2026-01-12"),
])  # fmt: skip
def test_a_round_is_dated_by_its_day_where_the_program_is(harness, slack, settings, tmp_path,
                                                          zone, slot, day):
    """The report dated each round by its day in UTC: a Monday lunch round in Auckland was
    a bar and a row under Sunday, and `--since` that Monday left it out."""
    slack.add_member("T1", "C1", "UBOT")
    program_id = make_program(settings, "C1", timezone=zone)
    with freeze_time(slot):
        rounds.run_round(settings, program_id, slot=slot)
    monday = dt.date.fromisoformat(day)
    with harness.session() as session:
        programs = insights.programs_for(session, "T1", "C1")
        write_report(insights.measure_programs(session, programs), tmp_path)
        since_monday = insights.measure_programs(session, programs, since=monday)
        since_tuesday = insights.measure_programs(session, programs, since=monday + dt.timedelta(1))
    rows = (tmp_path / "rounds.csv").read_text().splitlines()
    assert [row.split(",")[:2] for row in rows[1:]] == [[day, "C1"]]
    assert [r.date for r in since_monday.rounds] == [monday]
    assert since_tuesday.rounds == []
