"""The settings form on the Home tab: what an admin typed, checked field by field, as the
program's settings; each error is keyed by the form's field name so Slack shows it there."""

from __future__ import annotations

from bot.domain import schedule
from bot.domain.services import programs
from bot.edge import meet_command
from bot.edge.meet_command import UsageError


def shown_settings(shown: dict | None) -> programs.ProgramSettings | None:
    """The settings the form showed when it opened, as kept in its metadata; None when they
    are missing or not of their types (a form opened before they were kept)."""
    if not shown:
        return None
    kinds = {"cadence": str, "weekday": int, "time_of_day": str, "timezone": str,
             "group_size": int, "checkin_after_days": int, "keep_in_touch_weeks": int,
             "week_of_month": int | None}  # fmt: skip
    options = shown.get("options")
    if set(shown) != {*kinds, "options"} or not isinstance(options, list):
        return None
    if not all(isinstance(shown[name], kind) and not isinstance(shown[name], bool)
               for name, kind in kinds.items()):  # fmt: skip
        return None
    if not all(option in programs.OPTIONS for option in options):
        return None
    values = {name: shown[name] for name in kinds}
    return programs.ProgramSettings(options=frozenset(options), **values)


def validate(raw: dict[str, object]) -> tuple[programs.ProgramSettings | None, dict[str, str]]:
    """(settings, {}) when every field is good, else (None, errors by field name)."""
    errors: dict[str, str] = {}

    def check(name: str, parse):
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = "Please fill this in."
            return None
        try:
            return parse(value)
        except UsageError as problem:
            errors[name] = problem.message.replace("`", "")
            return None

    def cadence(value: str) -> str:
        if value not in meet_command.CADENCES:
            raise UsageError("Choose weekly, every 2 weeks, every 4 weeks or monthly.")
        return value

    def checkin_day(value: str) -> int:
        if not value.isdigit() or not 1 <= int(value) <= programs.CHECKIN_DAYS_MAX:
            raise UsageError(f"Choose a day from 1 to {programs.CHECKIN_DAYS_MAX} after the round.")
        return int(value)

    def week_of_month(value: str) -> int:
        try:
            return schedule.parse_week_of_month(value)
        except ValueError:
            raise UsageError("Choose first, second, third, fourth or last.") from None

    def timezone(value: str) -> str:
        # Slack shows a modal's errors as plain text, under the field that holds what they
        # typed: not echoed, so nothing of it is escaped for mrkdwn (meet_command's message)
        try:
            return schedule.check_timezone(value)
        except ValueError:
            raise UsageError("That isn't a time zone I know: use an IANA name such as "
                             "Europe/Berlin, America/New_York or UTC.") from None

    def touch_weeks(value: str) -> int:
        if not value.isdigit() or int(value) not in programs.KEEP_IN_TOUCH_WEEKS:
            raise UsageError("Choose one of the intervals offered.")
        return int(value)

    values = {
        "cadence": check("cadence", cadence),
        "weekday": check("weekday", meet_command.parse_weekday),
        "time_of_day": check("time_of_day", meet_command.parse_time_of_day),
        "timezone": check("timezone", timezone),
        "group_size": check("group_size", meet_command.parse_size),
    }
    if "checkin_after_days" in raw:  # older forms had no check-in day
        values["checkin_after_days"] = check("checkin_after_days", checkin_day)
    if "keep_in_touch_weeks" in raw:  # nor a keep-in-touch interval
        values["keep_in_touch_weeks"] = check("keep_in_touch_weeks", touch_weeks)
    if "week_of_month" in raw:  # nor a week of the month
        values["week_of_month"] = check("week_of_month", week_of_month)
    options = raw.get("options") or []
    if not isinstance(options, list | tuple | set | frozenset) or any(
        o not in programs.OPTIONS for o in options
    ):
        errors["options"] = "Unknown option."
    if errors:
        return None, errors
    return programs.ProgramSettings(options=frozenset(options), **values), {}
