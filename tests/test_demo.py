"""`python -m bot demo` as a person runs it: a real process, no Slack settings, no network."""

from __future__ import annotations

import csv
import re
import sqlite3
import time

import pytest
from conftest import ROOT, app_env, interrupt_cli, run_cli

pytestmark = pytest.mark.slow

NAMES = {row["name"] for row in csv.DictReader((ROOT / "examples" / "members.csv").open())}
# Development-only packages: the demo must run without them.
DEV_ONLY = ("yaml", "freezegun", "hypothesis", "networkx", "jsonschema", "pytest")


def demo_env(tmp_path) -> dict[str, str]:
    """No Slack settings, a `.env` that would lead nowhere, and dev packages unimportable."""
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-a-developers-dotenv\n"
        "SLACK_SIGNING_SECRET=not-this-one\n"
        "SLACK_API_URL=http://192.0.2.1/api/\n"
        "DATABASE_URL=postgresql://nobody@192.0.2.1/nothing\n"
    )
    blocked = tmp_path / "no-dev-packages"
    blocked.mkdir()
    for name in DEV_ONLY:
        (blocked / f"{name}.py").write_text(f"raise ImportError('{name} is a dev dependency')\n")
    return app_env(PYTHONPATH=str(blocked))


def intros(out: str) -> list[tuple[list[str], str]]:
    """(the people in the group DM, what the intro says) for every intro printed."""
    found = []
    for match in re.finditer(r"  Group DM with (.+):\n((?:    .*\n)+)", out):
        found.append((match.group(1).split(", "), match.group(2)))
    return found


def test_the_demo_plays_weeks_of_lunch_groups_as_people_see_them(tmp_path):
    env, kept = demo_env(tmp_path), tmp_path / "demo-data"
    started = time.monotonic()
    result = run_cli(
        "demo", "--weeks", "2", "--seed", "3", "--keep", str(kept), env=env, cwd=tmp_path
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert elapsed < 60
    assert "Traceback" not in result.stderr
    assert "== Week 1:" in out and "== Week 2:" in out and "== Week 3:" not in out
    days = re.findall(r"== Week \d: round on \w+ (\d+) \w+, \d\d:\d\d", out)
    assert len(days) == 2 and not any(day.startswith("0") for day in days)  # "7", not "07"

    shown = intros(out)
    assert len(shown) >= 4  # a few intros each week
    for people, text in shown:
        assert set(people) <= NAMES and len(people) >= 2
        assert "Hi " + " and ".join(f"@{p}" for p in people) in text.replace(", @", " and @")
        organiser = re.search(r"@(.+?) is organising this one", text)
        assert organiser and organiser.group(1) in people
        assert re.search(r"To get you started: \S.+", text)
        assert "[ We met 🎉 ]" in text
        assert "level" not in text.lower() and not re.search(r"\bL\d\b", text)

    assert "== Hannah Schmidt types /meet setup in #lunch" in out
    assert "Lunch pairing is on in #lunch" in out
    assert "Welcome to #lunch!" in out  # the person who joined
    assert "Paused in #lunch" in out
    assert "Saved: your level is now 3. Only you and admins can see your level." in out
    assert re.search(r"the app asks \d+ groups \"Did you get to meet\?\"", out)
    assert re.search(r"says you met|says not yet|couldn't make it", out)
    home = out.split("opens Worth Knowing's Home tab")[1].split("== ")[0]
    assert "Your lunch programs" in home and "#lunch" in home
    stats = out.split("types /meet stats")[1]
    assert re.search(r"#lunch: 2 rounds, \d+ groups, \d+ people paired, \d+ scheduled "
                     r"\(\d+% of those met\), \d+ groups met", stats)  # fmt: skip
    assert "gets the charts in a direct message (rounds.png, reach.png, levels.png" in stats

    # The kept database answers the admin tools.
    url = f"sqlite:///{kept.resolve() / 'worthknowing.db'}"
    assert f"DATABASE_URL={url} python -m bot stats" in out
    kept_stats = run_cli("stats", env=app_env(DATABASE_URL=url), cwd=tmp_path)
    assert kept_stats.returncode == 0, kept_stats.stderr
    assert re.search(r"TDEMO CLUNCH: 2 rounds, \d+ people paired", kept_stats.stdout)
    again = run_cli("demo", "--keep", str(kept), env=env, cwd=tmp_path)
    assert again.returncode == 2 and "already holds a worthknowing.db" in again.stderr


def _set_up(temporary) -> bool:
    """Whether the demo's database, in its temporary folder, holds the #lunch program yet."""
    for database in temporary.glob("worth-knowing-demo-*/worthknowing.db"):
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
                return bool(connection.execute("SELECT count(*) FROM programs").fetchone()[0])
        except sqlite3.Error:
            return False
    return False


def test_ctrl_c_just_after_setup_stops_quietly(tmp_path):
    """Ctrl-C while the app still works on /meet setup (the announcement, the Home tab): the
    demo stopped the simulated Slack and deleted its database under that work, which logged
    dozens of ERROR lines, now and then with a traceback from deleting the folder (exit
    code 1). A race, so tried a few times."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = app_env(TMPDIR=str(temporary))
    for _ in range(4):
        code, err = interrupt_cli("demo", "--seed", "1", env=env, cwd=tmp_path,
                                  once=lambda: _set_up(temporary))  # fmt: skip
        assert (code, err.strip()) == (130, "interrupted: the demo stopped; run it again to "
                                             "see it all"), err[-3000:]  # fmt: skip
        assert list(temporary.iterdir()) == []  # the database went with its folder


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--weeks", "0"), "error: --weeks is '0': use a whole number from 1 to 12"),
        (("--weeks", "two"), "error: --weeks is 'two'"),
        (("--size", "9"), "error: --size is '9': use a whole number from 2 to 8"),
        (("--people", "nobody.csv"), "error: nobody.csv: no such file"),
        (("--weeks", "2", "--colour"), "python -m bot: error: unrecognized arguments: --colour"),
        (("--keep", "/dev/null/x"), "error: --keep /dev/null/x: cannot make this folder (Not a "
                                    "directory): name a folder you can write to"),
        (("--keep", "/proc/nope"), "error: --keep /proc/nope: cannot make this folder ("),
    ],
)
def test_bad_options_get_one_line_and_exit_code_2(tmp_path, args, says):
    result = run_cli("demo", *args, env=app_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(says)


def test_a_bad_people_file_is_named_by_line_and_column(tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("user_id,level\nU1,3\nU2,senior\n")
    result = run_cli("demo", "--people", str(people), env=app_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        'error: people.csv line 3, column "level": "senior" is not a whole number from 1 to 9\n'
    )


def test_help_names_the_options(tmp_path):
    result = run_cli("demo", "--help", env=app_env(), cwd=tmp_path)
    assert result.returncode == 0
    for option in ("--weeks", "--people", "--size", "--seed", "--keep"):
        assert option in result.stdout
