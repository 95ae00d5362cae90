"""Reporting lines: nobody has lunch with their own manager or a direct report (and, where a
program asks, their manager's manager), whether the line came from the HR import, a Slack
profile field of type user or preview's members CSV."""

from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from test_levels_import import PEOPLE as IMPORT_PEOPLE
from test_levels_import import run as run_import
from test_levels_import import write
from test_meet_harness import make_program, open_harness
from test_preview import run as run_preview

from bot.common import config
from bot.domain.levels.admin import map_fields
from bot.domain.levels.profiles import sync_profiles
from bot.domain.levels.sources import set_value
from bot.domain.matching import Person, Rules, form_groups, reporting_lines
from bot.domain.services import rounds
from bot.domain.services.workspaces import client_for_team
from bot.sandbox.slack import SlackDouble
from bot.storage.db import session_scope
from bot.storage.models import Group, Member, Program

# A manager, their three reports, the manager's own manager, and three others.
LINES = {"R1": "M", "R2": "M", "R3": "M", "M": "VP", "VP": None, "A": None, "B": None, "C": None}


def together(groups) -> set[frozenset]:
    return {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}


def test_reporting_lines_are_each_person_with_their_manager_and_skip_level_on_request():
    assert reporting_lines(LINES) == {("R1", "M"), ("R2", "M"), ("R3", "M"), ("M", "VP")}
    assert reporting_lines(LINES, skip_level=True) - reporting_lines(LINES) == {
        ("R1", "VP"), ("R2", "VP"), ("R3", "VP")
    }
    assert reporting_lines({"X": "X", "Y": "Z", "Z": "Y"}, skip_level=True) == {
        ("Y", "Z"), ("Z", "Y")
    }  # nobody is their own manager, and a loop in the data does not pair anyone with themself


@pytest.mark.parametrize("size", [2, 3, 4])
def test_no_group_holds_a_manager_and_their_report_in_any_of_many_rounds(size):
    people = [Person(p, level=(9 if p == "VP" else 6 if p == "M" else 2)) for p in LINES]
    for skip, seed in itertools.product((False, True), range(30)):
        grouping = form_groups(people, rules=Rules(group_size=size), seed=seed,
                               apart=reporting_lines(LINES, skip_level=skip))  # fmt: skip
        pairs = together(grouping.groups)
        assert not pairs & {frozenset(p) for p in reporting_lines(LINES, skip_level=skip)}
        assert not grouping.unmatched  # eight people: a clean grouping always exists


def test_the_hr_import_takes_a_manager_by_user_id_or_email_and_names_bad_cells(
    migrated_url, tmp_path
):
    with SlackDouble() as slack:
        slack.add_team("T1", name="Acme", bot_token="xoxb-T1")
        for user_id, email in IMPORT_PEOPLE:
            slack.add_user("T1", user_id, email=email)
        client = client_for_team(
            config.load({"SLACK_BOT_TOKEN": "xoxb-T1", "SLACK_API_URL": slack.api_url}), "T1"
        )
        path = write(tmp_path, "user_id,manager\nU1,bob@acme.test\nU3,U2\nU4,nobody@acme.test\n"
                     "U5,U5\n")  # fmt: skip
        report = run_import(migrated_url, client, path)
    with session_scope(migrated_url) as session:
        managers = dict(session.execute(select(Member.user_id, Member.manager)).all())
    assert managers == {"U1": "U2", "U3": "U2"}
    problems = [str(p).split("/")[-1] for p in report.problems]
    assert problems == [
        'people.csv line 4, column "manager": no Slack user with email "nobody@acme.test"',
        'people.csv line 5, column "manager": is the person themself: a manager is someone else',
    ]


def test_a_manager_profile_field_of_type_user_is_read_when_mapped(migrated_url):
    with SlackDouble() as slack:
        slack.add_team("T1", name="Acme", bot_token="xoxb-T1")
        slack.set_profile_fields("T1", [{"id": "Xf9", "label": "Manager", "type": "user"}])
        slack.add_user("T1", "U1", profile_fields={"Xf9": "U2"})
        slack.add_user("T1", "U2", profile_fields={"Xf9": "not a user"})
        client = client_for_team(
            config.load({"SLACK_BOT_TOKEN": "xoxb-T1", "SLACK_API_URL": slack.api_url}), "T1"
        )
        with session_scope(migrated_url) as session:
            mapping = map_fields(session, "T1", client, manager="manager")
            assert mapping.manager == "Manager"  # Slack's own spelling is kept
        with session_scope(migrated_url) as session:
            sync_profiles(client, session, "T1", ["U1", "U2"])
    with session_scope(migrated_url) as session:
        managers = dict(session.execute(select(Member.user_id, Member.manager)).all())
        sources = {m.user_id: m.sources.get("manager") for m in session.scalars(select(Member))}
    assert managers == {"U1": "U2", "U2": None} and sources == {"U1": "profile", "U2": None}


@pytest.fixture
def harness(slack, settings):
    yield from open_harness(slack, settings)


def test_rounds_keep_reporting_lines_apart_and_skip_level_when_the_program_asks(
    harness, slack, settings
):
    slack.add_member("T1", "C1", "UBOT")
    # In #lunch: U1 manages U2 and U3; UADMIN manages U1.
    with harness.session() as session:
        for person, manager in (("U2", "U1"), ("U3", "U1"), ("U1", "UADMIN")):
            set_value(session, "T1", person, "manager", manager, "import")
    program_id = make_program(settings, "C1")
    start = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    for week in range(4):
        if week == 2:  # from the third round on, skip-level too
            with harness.session() as session:
                session.get(Program, program_id).skip_level_apart = True
        with freeze_time(start + dt.timedelta(weeks=week)):
            rounds.run_round(settings, program_id, slot=rounds.utcnow())
    with harness.session() as session:
        by_round = {}
        for group in session.scalars(select(Group)):
            by_round.setdefault(group.round_id, []).append([m.user_id for m in group.members])
    assert len(by_round) == 4
    for number, (_, groups) in enumerate(sorted(by_round.items())):
        pairs = together(groups)
        assert not pairs & {frozenset(("U1", "U2")), frozenset(("U1", "U3")),
                            frozenset(("U1", "UADMIN"))}, groups  # fmt: skip
        if number >= 2:
            assert not pairs & {frozenset(("U2", "UADMIN")), frozenset(("U3", "UADMIN"))}


def test_preview_reads_a_manager_column_by_user_id_or_email(capsys, tmp_path):
    rows = ["user_id,email,manager,level"]
    rows += ["M,m@acme.test,,6", "R1,r1@acme.test,M,2", "R2,,m@acme.test,2", "A,,,5", "B,,,9",
             "C,,,3"]  # fmt: skip
    members = tmp_path / "members.csv"
    members.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = run_preview(capsys, "--members", members, "--rounds", 3, "--seed", 4,
                                 "--json")  # fmt: skip
    assert code == 0 and err == ""
    for line in out.splitlines():
        pairs = together(json.loads(line)["groups"])
        assert not pairs & {frozenset(("M", "R1")), frozenset(("M", "R2"))}
    (tmp_path / "self.csv").write_text("user_id,manager\nM,M\n", encoding="utf-8")
    code, _, err = run_preview(capsys, "--members", tmp_path / "self.csv")
    assert code == 2
    assert err == 'error: self.csv line 2, column "manager": is the person themself: a manager ' \
        "is someone else\n"


def test_preview_keeps_an_avoid_column_apart_too(capsys, tmp_path):
    rows = ["user_id,avoid,level", "A,B C,1", "B,,9", "C,,8", "D,,2", "E,,7", "F,,3"]
    members = tmp_path / "members.csv"
    members.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = run_preview(capsys, "--members", members, "--rounds", 4, "--seed", 2,
                                 "--json")  # fmt: skip
    assert code == 0 and err == ""
    for line in out.splitlines():
        assert not together(json.loads(line)["groups"]) & {frozenset("AB"), frozenset("AC")}
