"""manifest.yml: valid for Slack and in step with what the code listens to and asks for."""

import json
from pathlib import Path

import jsonschema
import yaml

from bot.common.config import BOT_SCOPES

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_schema():
    schema = json.loads((Path(__file__).parent / "data/manifest.schema.1.0.0.json").read_text())
    jsonschema.validate(MANIFEST, schema)


def test_manifest_declares_the_meet_command_home_tab_and_events():
    assert MANIFEST["display_information"]["name"] == "Worth Knowing"
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/meet" and command["usage_hint"]
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert set(MANIFEST["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "member_joined_channel",
        "member_left_channel",
        "user_change",
        "app_uninstalled",
        "tokens_revoked",
        "team_access_granted",
        "team_access_revoked",
    }


def test_scopes_are_the_ones_oauth_asks_for_and_each_is_explained():
    assert MANIFEST["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    readme = (ROOT / "README.md").read_text()
    for scope in BOT_SCOPES:
        assert f"`{scope}`" in readme, f"README does not explain why {scope} is needed"


def test_procfile_runs_release_web_and_clock():
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert lines["release"].strip() == "python -m bot migrate"
    assert "python -m bot serve" in lines["web"]
    assert lines["clock"].strip() == "python -m bot clock"
