"""The HR import against a real local Slack Web API: summary, bad rows, dry run, strict."""

import pytest
from conftest import RATE_SCALE
from sqlalchemy import select

from bot.common import config
from bot.common.csvfile import InputError
from bot.domain.levels.importer import import_levels
from bot.domain.levels.sources import set_value
from bot.domain.services.workspaces import client_for_team
from bot.sandbox.slack import SlackDouble
from bot.storage.db import session_scope
from bot.storage.models import Member

PEOPLE = [
    ("U1", "ada@acme.test"),
    ("U2", "bob@acme.test"),
    ("U3", "cy@acme.test"),
    ("U4", "dee@acme.test"),
    ("U5", "eve@acme.test"),
]


@pytest.fixture
def slack():
    with SlackDouble() as double:
        double.rate_limit_scale = RATE_SCALE
        double.add_team("T1", name="Acme", bot_token="xoxb-T1")
        for user_id, email in PEOPLE:
            double.add_user("T1", user_id, email=email)
        double.add_user("T1", "U9", email="gone@acme.test", deleted=True)
        double.max_page_size = 3  # several pages: the walk must follow the cursor
        yield double


@pytest.fixture
def client(slack):
    settings = config.load({"SLACK_BOT_TOKEN": "xoxb-T1", "SLACK_API_URL": slack.api_url})
    return client_for_team(settings, "T1")


def run(url, client, path, **options):
    with session_scope(url) as session:
        return import_levels(client, session, "T1", path, **options)


def stored(url):
    with session_scope(url) as session:
        return {
            m.user_id: (m.level, m.department, m.location)
            for m in session.scalars(select(Member).where(Member.team_id == "T1"))
        }


def write(tmp_path, text, name="people.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


GOOD = (
    "email,level,department,location\n"
    "ada@acme.test,7,Finance,Berlin\n"
    "BOB@acme.test ,3,Design,\n"
    "gone@acme.test,2,Sales,Paris\n"
)


def test_emails_are_matched_with_one_paginated_walk_and_applied(
    migrated_url, client, slack, tmp_path
):
    report = run(migrated_url, client, write(tmp_path, GOOD))
    assert (report.rows, report.matched, report.updated, report.unchanged) == (3, 3, 3, 0)
    assert report.applied and not report.problems
    assert stored(migrated_url) == {
        "U1": (7, "Finance", "Berlin"),
        "U2": (3, "Design", None),
        "U9": (2, "Sales", "Paris"),
    }
    walks = slack.calls("users.list")
    assert len(walks) == 3 and all(call.ok for call in walks)  # 8 users, 3 a page
    assert [bool(call.args.get("cursor")) for call in walks] == [False, True, True]
    assert not slack.calls("users.lookupByEmail") and not slack.calls("users.info")
    assert "matched         3" in report.summary() and "updated         3" in report.summary()


def test_importing_the_same_file_again_changes_nothing(migrated_url, client, tmp_path):
    path = write(tmp_path, GOOD)
    run(migrated_url, client, path)
    before = stored(migrated_url)
    report = run(migrated_url, client, path)
    assert (report.matched, report.updated, report.unchanged) == (3, 0, 3)
    assert stored(migrated_url) == before


def test_bad_rows_are_listed_with_line_and_column_and_good_rows_apply(
    migrated_url, client, tmp_path
):
    path = write(
        tmp_path,
        "user_id,email,level,department\n"
        "U1,,4,Finance\n"
        "U2,,abc,Design\n"
        ",nobody@acme.test,5,Ops\n"
        "U1,,6,Legal\n"
        "UNOPE,,5,Ops\n"
        ",,5,Ops\n"
        "U3,ada@acme.test,5,Ops\n"
        "U4,,10,Ops\n"
        "U5,,2,Ops,extra\n"
        '"U3",,"5","Research, Development"\n',
    )
    report = run(migrated_url, client, path)
    name = str(path)
    assert [str(p) for p in report.bad] == [
        f'{name} line 3, column "level": "abc" is not a whole number from 1 to 9',
        f'{name} line 5, column "user_id": same person as line 2 (U1); keep one row per person',
        f'{name} line 7, column "user_id": is empty: who is this row?',
        f'{name} line 8, column "email": "ada@acme.test" belongs to U1, not to U3',
        f'{name} line 9, column "level": "10" is not a whole number from 1 to 9',
        f"{name} line 10: has 1 more cell(s) than the header has columns",
    ]
    assert [str(p) for p in report.unknown] == [
        f'{name} line 4, column "email": no Slack user with email "nobody@acme.test"',
        f'{name} line 6, column "user_id": no Slack user "UNOPE" in this workspace',
    ]
    assert report.applied and (report.matched, report.updated) == (2, 2)
    assert stored(migrated_url) == {
        "U1": (4, "Finance", None),
        "U3": (5, "Research, Development", None),
    }
    summary = report.summary()
    assert "bad rows        6" in summary and "unknown         2" in summary
    assert "the rows above were skipped; every other row was applied" in summary


def test_strict_applies_nothing_when_any_row_is_bad(migrated_url, client, tmp_path):
    path = write(tmp_path, "user_id,level\nU1,4\nU2,eleven\n")
    report = run(migrated_url, client, path, strict=True)
    assert not report.applied and len(report.bad) == 1 and report.matched == 1
    assert stored(migrated_url) == {}
    assert "--strict: nothing was changed" in report.summary()
    path = write(tmp_path, "user_id,level\nU1,4\nU2,5\n")
    assert run(migrated_url, client, path, strict=True).applied
    assert stored(migrated_url) == {"U1": (4, None, None), "U2": (5, None, None)}


def test_unknown_people_also_stop_a_strict_import(migrated_url, client, tmp_path):
    path = write(tmp_path, "email,level\nada@acme.test,4\nnew@acme.test,5\n")
    report = run(migrated_url, client, path, strict=True)
    assert not report.applied and len(report.unknown) == 1
    assert stored(migrated_url) == {}


def test_dry_run_reports_what_would_change_and_changes_nothing(migrated_url, client, tmp_path):
    path = write(tmp_path, GOOD)
    report = run(migrated_url, client, path, dry_run=True)
    assert (report.matched, report.updated) == (3, 3) and not report.applied
    assert "dry run: nothing was changed" in report.summary()
    assert stored(migrated_url) == {}
    run(migrated_url, client, path)
    changed = write(tmp_path, GOOD.replace("ada@acme.test,7", "ada@acme.test,8"))
    report = run(migrated_url, client, changed, dry_run=True)
    assert (report.updated, report.unchanged) == (1, 2)
    assert stored(migrated_url)["U1"][0] == 7


def test_empty_cells_clear_the_import_and_absent_columns_are_left_alone(
    migrated_url, client, tmp_path
):
    run(migrated_url, client, write(tmp_path, GOOD))
    report = run(migrated_url, client, write(tmp_path, "email,department\nada@acme.test,\n"))
    assert report.updated == 1
    assert stored(migrated_url)["U1"] == (7, None, "Berlin")


def test_an_admin_value_outranks_the_import_which_outranks_the_title(
    migrated_url, client, tmp_path
):
    with session_scope(migrated_url) as session:
        set_value(session, "T1", "U1", "level", 9, "admin")
        set_value(session, "T1", "U2", "level", 5, "title")
        set_value(session, "T1", "U3", "level", 2, "self")
    run(migrated_url, client, write(tmp_path, "user_id,level\nU1,4\nU2,3\nU3,6\n"))
    levels = {user: values[0] for user, values in stored(migrated_url).items()}
    assert levels == {"U1": 9, "U2": 3, "U3": 6}


def test_header_aliases_semicolons_and_a_byte_order_mark(migrated_url, client, tmp_path):
    path = write(tmp_path, "\ufeffE-Mail;Grade;Dept;Office;Name\nada@acme.test;6;Ops;Oslo;Ada\n")
    report = run(migrated_url, client, path)
    assert report.ignored_columns == ["name"] and "ignored columns: name" in report.summary()
    assert stored(migrated_url) == {"U1": (6, "Ops", "Oslo")}


@pytest.mark.parametrize(
    "content, encoding, expected",
    [
        ("", "utf-8", "people.csv: is empty: expected a header row"),
        ("\n\n  \n", "utf-8", "people.csv: is empty"),
        ("name,level\nAda,4\n", "utf-8", 'people.csv line 1: has no "user_id" or "email" column'),
        ("email,name\nada@acme.test,Ada\n", "utf-8", 'people.csv line 1: has no "level", "depart'),
        ("email,level,mail\nx,1,y\n", "utf-8", 'people.csv line 1, column "mail": names the same'),
        # comment lines before the header: the header's own line is named
        ("# HR\n\n# 2024\nemail,level,grade\nx,1,2\n", "utf-8",
         'people.csv line 4, column "grade": names the same column as "level"; keep one'),
        ("# HR\nname,level\nAda,4\n", "utf-8", 'people.csv line 2: has no "user_id" or "email"'),
        ("# HR\nemail,name\nada@acme.test,Ada\n", "utf-8", 'people.csv line 2: has no "level"'),
        # an unnamed column between named ones, or one that holds a value, is still refused
        ("email,,level\nada@acme.test,,4\n", "utf-8",
         "people.csv line 1: column 2 of the header has no name"),
        ("email,level,,\nada@acme.test,4,,\nbob@acme.test,5,,HR\n", "utf-8",
         "people.csv line 3: has a value in column 4, which has no name in the header: name the "
         "column, or empty it"),
        ("email,level,level\nx,1,2\n", "utf-8", 'people.csv line 1, column "level": appears twice'),
        ("email,level\nada@acme.test,4\n", "utf-16", "people.csv: is UTF-16 encoded, not UTF-8"),
        (
            "email,department\nada@acme.test,Finance\nbob@acme.test,Comptabilité\n",
            "latin-1",
            "people.csv line 3: is not UTF-8 (byte 0xe9, perhaps Latin-1",
        ),
    ],
)
def test_unusable_files_raise_one_line_naming_the_problem(
    migrated_url, client, slack, tmp_path, content, encoding, expected
):
    path = write(tmp_path, content, encoding=encoding)
    with pytest.raises(InputError) as error:
        run(migrated_url, client, path)
    message = str(error.value).replace(str(tmp_path) + "/", "")
    assert message.startswith(expected) and "\n" not in message
    assert not slack.calls("users.list")
    assert stored(migrated_url) == {}


def test_a_missing_file_is_named(migrated_url, client, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        run(migrated_url, client, tmp_path / "nope.csv")


def test_a_header_alone_is_refused_without_asking_slack(migrated_url, client, slack, tmp_path):
    with pytest.raises(InputError) as error:
        run(migrated_url, client, write(tmp_path, "user_id,level\n"))
    assert str(error.value).endswith(
        "people.csv: has no rows after the header: add one person a line"
    )
    assert not slack.calls("users.list")


def test_emails_without_the_email_scope_say_which_scope_is_missing(migrated_url, tmp_path):
    with SlackDouble() as double:
        double.rate_limit_scale = RATE_SCALE
        double.add_team("T1", bot_token="xoxb-T1")
        double.add_user("T1", "U1")  # Slack hides emails without users:read.email
        settings = config.load({"SLACK_BOT_TOKEN": "xoxb-T1", "SLACK_API_URL": double.api_url})
        client = client_for_team(settings, "T1")
        with pytest.raises(InputError, match="users:read.email"):
            run(migrated_url, client, write(tmp_path, "email,level\nada@acme.test,3\n"))


def test_progress_is_reported_for_long_imports(migrated_url, client, tmp_path):
    seen = []
    run(
        migrated_url,
        client,
        write(tmp_path, GOOD),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(3, 3)]


def test_the_walk_of_the_members_reports_each_page(migrated_url, client, slack, tmp_path):
    """users.list gives 20 pages a minute: the caller can show the walk as it goes."""
    seen = []
    run(migrated_url, client, write(tmp_path, GOOD), reading=lambda *page: seen.append(page))
    assert len(seen) == len(slack.calls("users.list")) == 3
    assert seen == [(3, False), (6, False), (seen[-1][0], True)] and seen[-1][0] > 6
