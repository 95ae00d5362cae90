"""Slack profile fields and job titles, read through a real local Slack Web API."""

import datetime as dt

import pytest
from conftest import RATE_SCALE, wait_for
from sqlalchemy import select

from bot.common import config
from bot.domain.levels.admin import UnknownField, current_mapping, map_fields
from bot.domain.levels.profiles import level_from_field, sync_profiles
from bot.domain.levels.report import explain
from bot.domain.levels.sources import set_value
from bot.domain.services.workspaces import client_for_team
from bot.sandbox.slack import SlackDouble
from bot.storage.db import session_scope
from bot.storage.models import Member, Workspace, utcnow

FIELDS = [
    {"id": "Xf1", "label": "Grade"},
    {"id": "Xf2", "label": "Department"},
    {"id": "Xf3", "label": "Office location"},
]


@pytest.fixture
def slack():
    with SlackDouble() as double:
        double.rate_limit_scale = RATE_SCALE
        double.add_team("T1", bot_token="xoxb-T1")
        double.set_profile_fields("T1", FIELDS)
        double.add_user(
            "T1", "U1", title="Senior Engineer", profile_fields={"Xf1": "L6", "Xf2": "Finance"}
        )
        double.add_user("T1", "U2", title="Engineering Intern", profile_fields={"Xf3": "Lisbon"})
        double.add_user("T1", "U3", title="Wizard", profile_fields={"Xf1": "Senior"})
        yield double


@pytest.fixture
def client(slack):
    settings = config.load({"SLACK_BOT_TOKEN": "xoxb-T1", "SLACK_API_URL": slack.api_url})
    return client_for_team(settings, "T1")


def members(url):
    with session_scope(url) as session:
        return {m.user_id: m for m in session.scalars(select(Member).where(Member.team_id == "T1"))}


def sync(url, client, users=("U1", "U2", "U3"), **options):
    with session_scope(url) as session:
        return sync_profiles(client, session, "T1", list(users), **options)


def mapped(url, client, **labels):
    with session_scope(url) as session:
        return map_fields(session, "T1", client, **labels)


def test_without_mapped_fields_job_titles_give_the_level(migrated_url, client, slack):
    report = sync(migrated_url, client)
    assert (report.fetched, report.changed, report.failed) == (3, 3, 0)
    people = members(migrated_url)
    assert (people["U1"].level, people["U1"].sources) == (5, {"level": "title"})
    assert people["U1"].title == "Senior Engineer"
    assert people["U2"].level == 1
    assert people["U3"].level is None and people["U3"].title == "Wizard"
    assert people["U1"].department is None  # fields not mapped: not read
    assert not slack.calls("team.profile.get")
    assert len(slack.calls("users.profile.get")) == 3


def test_mapped_fields_are_read_by_label_case_insensitively(migrated_url, client, slack):
    mapping = mapped(
        migrated_url, client, level="grade", department="DEPARTMENT ", location="office  Location"
    )
    assert (mapping.level, mapping.department, mapping.location) == (
        "Grade",
        "Department",
        "Office location",
    )
    report = sync(migrated_url, client)
    assert report.unreadable == 1  # U3's "Senior" is no number
    people = members(migrated_url)
    assert (people["U1"].level, people["U1"].department) == (6, "Finance")
    assert people["U1"].sources == {"level": "profile", "department": "profile"}
    assert people["U1"].values["level"] == {"profile": 6, "title": 5}
    assert (people["U2"].level, people["U2"].location) == (1, "Lisbon")
    assert people["U3"].level is None
    assert len(slack.calls("team.profile.get")) == 2  # once to check the labels, once per sync


def test_a_changed_or_emptied_field_updates_and_clears_the_profile_value(
    migrated_url, client, slack
):
    mapped(migrated_url, client, level="Grade", department="Department")
    sync(migrated_url, client, ["U1"])
    slack.update_user("T1", "U1", profile_fields={"Xf1": "Level 8", "Xf2": None}, title="")
    report = sync(migrated_url, client, ["U1"], max_age=None)
    assert report.changed == 1
    member = members(migrated_url)["U1"]
    assert (member.level, member.department, member.title) == (8, None, None)
    assert member.values == {"level": {"profile": 8}}


def test_unmapping_a_field_forgets_what_it_said(migrated_url, client):
    mapped(migrated_url, client, department="Department")
    sync(migrated_url, client, ["U1"])
    assert members(migrated_url)["U1"].department == "Finance"
    with session_scope(migrated_url) as session:
        map_fields(session, "T1", None, department="")
        assert current_mapping(session, "T1").department is None
    sync(migrated_url, client, ["U1"], max_age=None)
    assert members(migrated_url)["U1"].department is None


def test_profile_sits_below_import_and_admin_and_above_self_and_title(migrated_url, client):
    mapped(migrated_url, client, level="Grade")
    with session_scope(migrated_url) as session:
        set_value(session, "T1", "U1", "level", 3, "import")
        set_value(session, "T1", "U2", "level", 9, "self")
    sync(migrated_url, client)
    people = members(migrated_url)
    assert (people["U1"].level, people["U1"].sources["level"]) == (3, "import")
    # U2's own word beats the job title's guess (an intern's title gives 1)
    assert (people["U2"].level, people["U2"].sources["level"]) == (9, "self")
    assert people["U2"].values["level"]["title"] == 1
    with session_scope(migrated_url) as session:
        text = explain(session, "T1", "U1").text()
    assert "level       3  (HR import)" in text
    assert "  import    3  ← used" in text and "  profile   6" in text
    assert 'from "Senior Engineer" by rule' in text and '"senior" → 5' in text
    with session_scope(migrated_url) as session:
        lines = explain(session, "T1", "U2").text().splitlines()
    mine, titles = (next(i for i, line in enumerate(lines) if line.startswith(f"  {source}"))
                    for source in ("self", "title"))  # fmt: skip
    assert mine < titles and "← used" in lines[mine] and "← used" not in lines[titles]


def test_recently_read_profiles_are_skipped_until_they_are_stale(migrated_url, client, slack):
    now = utcnow()
    sync(migrated_url, client, now=now)
    slack.reset_calls()
    report = sync(migrated_url, client, now=now + dt.timedelta(hours=1))
    assert (report.fresh, report.fetched) == (3, 0) and not slack.calls("users.profile.get")
    report = sync(migrated_url, client, now=now + dt.timedelta(hours=13))
    assert report.fetched == 3


def test_unreadable_profiles_are_counted_and_the_rest_still_sync(migrated_url, client, slack):
    report = sync(migrated_url, client, ["U1", "UGONE", "U2"])
    assert (report.fetched, report.failed, report.error) == (2, 1, None)
    assert set(members(migrated_url)) == {"U1", "U2"}


def test_a_revoked_token_stops_reading_without_raising(migrated_url, client, slack):
    slack.fail_next("users.profile.get", error="token_revoked")
    report = sync(migrated_url, client)
    assert report.error == "users.profile.get: token_revoked"
    assert report.fetched == 0 and len(slack.calls("users.profile.get")) == 1


def test_rate_limits_are_waited_out(migrated_url, client, slack):
    slack.fail_next("users.profile.get", status=429, retry_after=1)
    report = sync(migrated_url, client, ["U1"])
    assert report.fetched == 1
    assert [call.status for call in slack.calls("users.profile.get")] == [429, 200]


def test_a_label_slack_does_not_have_is_refused_with_the_labels_it_has(migrated_url, client):
    with pytest.raises(UnknownField) as error:
        mapped(migrated_url, client, level="Level")
    assert str(error.value) == (
        'no custom profile field is labelled "Level"; the workspace has: '
        '"Grade", "Department", "Office location"'
    )
    with session_scope(migrated_url) as session:
        assert session.get(Workspace, "T1") is None


def test_a_field_renamed_after_mapping_is_reported(migrated_url, client, slack):
    mapped(migrated_url, client, level="Grade")
    slack.set_profile_fields("T1", [{"id": "Xf1", "label": "Band"}])
    report = sync(migrated_url, client, ["U1"])
    assert report.missing_fields == ["Grade"]
    assert members(migrated_url)["U1"].sources["level"] == "title"


@pytest.mark.parametrize(
    "text, level",
    [
        ("5", 5),
        ("L5", 5),
        ("Level 7", 7),
        ("Grade 3 - Analyst", 3),
        ("IC4", 4),
        ("10", None),
        ("Senior", None),
        ("", None),
        (None, None),
        ("3 or 4", None),
        ("0", None),
    ],
)
def test_levels_written_in_profile_fields(text, level):
    assert level_from_field(text) == level


def test_what_an_import_writes_while_profiles_are_read_is_kept(migrated_url, client, slack):
    """A sync read its members, spent a long time asking Slack (minutes, at Slack's rate
    limits, for a large workspace), then wrote its stale copy of each member back: an HR
    import in between was undone, while `levels explain` said it was used."""
    import threading

    mapped(migrated_url, client, level="Grade")
    sync(migrated_url, client)  # everyone has a row and a profile read
    slack.update_user("T1", "U1", profile_fields={"Xf1": "L7"})  # promoted: the sync writes
    slack.latency = 0.3  # each profile read now takes a while
    done = threading.Thread(target=sync, args=(migrated_url, client), kwargs={"max_age": None})
    done.start()
    try:
        wait_for(lambda: slack.calls("users.profile.get")[-1:] and len(
            slack.calls("users.profile.get")) > 3)  # fmt: skip  # the second sync is reading
        with session_scope(migrated_url) as session:
            set_value(session, "T1", "U1", "department", "Treasury", "import")
    finally:
        done.join()
    person = members(migrated_url)["U1"]
    assert (person.department, person.values["department"]["import"]) == ("Treasury", "Treasury")
    assert person.values["level"]["profile"] == 7  # and the sync's own change is there
