"""Every command README's "Try it" shows runs, as a real process, and says what README says.

Commands that need Slack run against the simulated workspace (bot/sandbox/slack.py) seeded
with examples/members.csv, as they would against a connected workspace.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest
from conftest import RATE_SCALE, ROOT, app_env

from bot.sandbox.demo import read_people
from bot.sandbox.slack import SlackDouble

pytestmark = pytest.mark.slow


def quoted_summary() -> str:
    """The summary line README quotes for its preview command, as one line."""
    readme = (ROOT / "README.md").read_text()
    return " ".join(re.search(r"then a line such as\s+`([^`]+)`", readme).group(1).split())


# What each command shown must print (a fragment of the command → patterns in its output).
PROMISES = {
    "python -m bot demo": [r"Group DM with", r"types /meet stats", r"#lunch: 1 round,"],
    "demo --weeks 2 --keep demo-data": [r"== Week 2:", r"The database is kept"],
    "bot stats": [r"TDEMO CLUNCH: 2 rounds, \d+ people paired"],
    "levels export": [r"U01001"],
    '--team TDEMO --try "Staff Engineer"': [r'"Staff Engineer" → \d'],
    "preview --members examples/members.csv": [
        r"Round 2 \(",
        r"\d+ groups, mean level spread [\d.]+, 0 repeated pairs",
        re.escape(quoted_summary()),  # word for word: the seed is fixed
    ],
    "levels import examples/hr-levels.csv --dry-run": [
        r'examples/hr-levels.csv line 14, column "level": "twelve" is not a whole number '
        r"from 1 to 9",
        r"dry run: nothing was changed",
    ],
    'titles --try "Senior Recruiter"': [r'"Senior Recruiter" → \d'],
}
EXIT_CODES = {"levels import examples/hr-levels.csv --dry-run": 1}  # one row skipped


def shown_commands() -> list[str]:
    """The shell lines in README's "Try it" section, in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try it", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def promise_for(command: str) -> str:
    matches = [fragment for fragment in PROMISES if fragment in command]
    assert matches, f"README shows a command this test does not check: {command}"
    return max(matches, key=len)


@pytest.fixture
def workspace():
    """The example company in a simulated workspace, for the commands that talk to Slack."""
    with SlackDouble() as double:
        double.rate_limit_scale = RATE_SCALE
        double.add_team("T1", name="Example Co", bot_token="xoxb-T1")
        for person in read_people(ROOT / "examples" / "members.csv"):
            double.add_user(
                "T1", person.user_id, real_name=person.name, email=person.email,
                title=person.title, tz=person.timezone,
            )
        yield double


def run(command: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    """One README line: leading NAME=value words set the environment, `&&` chains."""
    results = None
    for part in command.split("&&"):
        words = shlex.split(part)
        extra = {}
        while "=" in words[0]:
            name, value = words.pop(0).split("=", 1)
            extra[name] = value
        if words[:4] == ["python", "-m", "pip", "install"]:
            assert words[4:] == ["-e", "."]  # installing is what this test environment did
            continue
        assert words[:3] == ["python", "-m", "bot"], command
        results = subprocess.run(
            [sys.executable, *words[1:]], env={**env, **extra}, cwd=cwd,
            capture_output=True, text=True, timeout=120,
        )
        if results.returncode not in (0, 1):
            break
    return results


def test_every_command_in_try_it_does_what_readme_says(tmp_path, workspace, database_url):
    commands = shown_commands()
    assert any(c.startswith("python -m pip install -e . && python -m bot demo") for c in commands)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    slack_env = app_env(
        SLACK_BOT_TOKEN="xoxb-T1", SLACK_API_URL=workspace.api_url, DATABASE_URL=database_url,
        SLACK_RATE_SCALE=str(RATE_SCALE),
    )
    plain_env = app_env()
    for command in commands:
        fragment = promise_for(command)
        needs_slack = "levels import" in command or command.startswith("python -m bot levels")
        # The first demo plays one week instead of four: the same code, a quarter of the time.
        line = command.replace("python -m bot demo", "python -m bot demo --weeks 1") if (
            command.endswith("python -m bot demo")) else command
        result = run(line, slack_env if needs_slack else plain_env, tmp_path)
        assert result.returncode == EXIT_CODES.get(fragment, 0), (command, result.stderr)
        assert "Traceback" not in result.stderr
        for pattern in PROMISES[fragment]:
            assert re.search(pattern, result.stdout), (command, pattern, result.stdout[-2000:])
    assert os.path.exists(tmp_path / "demo-data" / "worthknowing.db")
