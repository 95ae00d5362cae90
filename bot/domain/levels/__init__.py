"""Levels, departments and locations: where they come from and which source wins.

Sources by precedence: an admin, the HR import, a Slack profile field, the job title, the
person themself. Services call these; listeners and jobs stay thin around them.
"""

from bot.domain.levels.admin import map_fields, set_title_rules, workspace_row
from bot.domain.levels.importer import ImportReport, import_levels
from bot.domain.levels.profiles import SyncReport, retitle, sync_profiles
from bot.domain.levels.report import explain, export_rows
from bot.domain.levels.sources import (
    ATTRIBUTES,
    PRECEDENCE,
    InvalidValue,
    Resolution,
    clear_value,
    member_for,
    parse_level,
    self_service_allowed,
    set_value,
    visible_level,
)
from bot.domain.levels.titles import TitleRules, rules_for, shipped_rules

__all__ = [
    "ATTRIBUTES",
    "PRECEDENCE",
    "ImportReport",
    "InvalidValue",
    "Resolution",
    "SyncReport",
    "TitleRules",
    "clear_value",
    "workspace_row",
    "explain",
    "export_rows",
    "import_levels",
    "map_fields",
    "member_for",
    "parse_level",
    "retitle",
    "rules_for",
    "self_service_allowed",
    "set_title_rules",
    "set_value",
    "shipped_rules",
    "sync_profiles",
    "visible_level",
]
