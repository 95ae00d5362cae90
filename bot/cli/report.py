"""`python -m bot report`: the insights on disk, as one page to read and files to reuse.

Writes `report.html` (self-contained: the key numbers, each chart embedded, a short reading
of each), every chart as a PNG and the tables as formula-safe CSV.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import os
import sys
from pathlib import Path

from bot.common.config import ConfigError
from bot.common.csvfile import write_csv
from bot.domain.insights.measures import ACROSS_LEVELS, Matrix, Measures


def add_parser(sub) -> None:
    report = sub.add_parser(
        "report",
        help="write the insights (charts, tables and a page to read) into a folder",
        description="Is the network growing across levels, teams and offices? Writes "
        "report.html (self-contained), a PNG per chart and the tables as CSV into --out. "
        "Cells of fewer than five people are shown as <5.",
    )
    report.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    report.add_argument("--team", help="only this workspace")
    report.add_argument("--channel", metavar="CHANNEL_ID", help="only this program channel")
    report.add_argument("--since", type=_date, metavar="YYYY-MM-DD",
                        help="only rounds from this date on")  # fmt: skip
    report.set_defaults(func=cmd_report)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def cmd_report(args) -> int:
    from bot.cli.runtime import settings_for_command, unknown_team
    from bot.domain.services import insights
    from bot.storage.db import session_scope

    out = Path(args.out)
    _check_writable(out)
    say = _progress()
    settings = settings_for_command(existing=True)
    say("reading the history…")
    with session_scope(settings.database_url) as session:
        programs = insights.programs_for(session, args.team, args.channel)
        if not programs and args.team:
            known = insights.program_teams(session)
            if args.team not in known:
                raise unknown_team(args.team, known)
        if not programs:
            where = f"channel {args.channel}" if args.channel else "this database"
            raise ConfigError(f"no program in {where}: run /meet setup in a channel first")
        try:  # only now: a report that cannot be made leaves no empty folder behind
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"cannot write into {out}: {error.strerror}") from None
        measures = insights.measure_programs(session, programs, args.since)
    written = write_report(measures, out, say)
    say(None)
    print(f"wrote {len(written)} files into {out}: open {out / 'report.html'}")
    return 0


def _check_writable(out: Path) -> None:
    """Before the work, whether the folder can be made (it is made only once there is a
    report to write, so a refused report leaves no empty folder behind)."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        return
    why = "Permission denied" if existing.is_dir() else "Not a directory"
    raise ConfigError(f"cannot write into {out}: {why}")


def _progress():
    terminal = sys.stderr.isatty()

    def say(text: str | None) -> None:
        if terminal:
            sys.stderr.write("\r\033[K" + (text or ""))
            sys.stderr.flush()

    return say


def write_report(measures: Measures, out: Path, say=lambda _: None) -> list[Path]:
    written = []
    pictures = {}
    for name, png in _charts(measures, say):
        (out / name).write_bytes(png)
        pictures[name] = png
        written.append(out / name)
    say("writing the tables…")
    for name, (header, rows) in tables(measures).items():
        path = out / name
        with path.open("w", newline="", encoding="utf-8") as stream:
            write_csv(stream, header, rows)
        written.append(path)
    (out / "report.html").write_text(page(measures, pictures), encoding="utf-8")
    written.append(out / "report.html")
    return written


def _charts(measures: Measures, say):
    from bot.domain.insights import charts  # matplotlib: only the commands that draw pay for it

    for name, png in charts.all_charts(measures).items():
        say(f"drawing {name}…")
        yield name, png


def _matrix_rows(matrix: Matrix) -> tuple[list[str], list[list[str]]]:
    return ["", *matrix.labels], [[a, *(matrix.shown(a, b) for b in matrix.labels)]
                                  for a in matrix.labels]  # fmt: skip


def tables(measures: Measures) -> dict[str, tuple[list[str], list[list]]]:
    return {
        "rounds.csv": (
            ["date", "channel", "groups", "people", "groups_met", "meet_rate", "unmatched"],
            [[r.date.isoformat(), r.channel_id, r.groups, r.people, r.met,
              "" if r.meet_rate is None else f"{r.meet_rate:.2f}", r.unmatched]
             for r in measures.rounds],
        ),  # fmt: skip
        "reach.csv": (["colleagues_met", "people"], measures.reach_distribution()),
        "levels.csv": _matrix_rows(measures.levels),
        "departments.csv": _matrix_rows(measures.departments),
    }


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def page(measures: Measures, pictures: dict[str, bytes]) -> str:
    """One HTML page, charts inline: it can be mailed or opened offline as it is."""
    p = measures.participation
    numbers = [
        ("Rounds", str(len(measures.rounds))),
        ("Taking part now", f"{p.taking_part} ({p.paused} paused, {p.left} left)"),
        ("Meet rate", _percent(measures.meet_rate)),
        ("Colleagues met per person (median)", f"{measures.median_reach:g}"),
        (f"Meetings across {ACROSS_LEVELS}+ levels", _percent(measures.share(measures.across_levels))),
        ("Meetings across departments", _percent(measures.share(measures.across_departments))),
        ("Meetings across offices", _percent(measures.share(measures.across_offices))),
    ]  # fmt: skip
    readings = {
        "rounds.png": "Bars: people in groups each round. Line: the share of groups that "
        "said they met. A falling line is worth a reminder in the channel.",
        "reach.png": "How many different colleagues each person has had lunch with. The "
        "further right the bars move over time, the wider everyone's network.",
        "levels.png": "Pairs who met, by the level of each. Cells far from the diagonal are "
        "lunches across seniority, the point of the app. Cells of fewer than five people "
        "read <5.",
        "departments.png": "Pairs who met, by department. Off-diagonal cells are lunches "
        "across teams.",
    }
    rows = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                     for k, v in numbers)  # fmt: skip
    figures = "\n".join(
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"><figcaption>{html.escape(readings[name])}'
        "</figcaption></figure>"
        for name, png in pictures.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Worth Knowing: insights</title>
<style>body{{font-family:system-ui,sans-serif;max-width:860px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}th,td{{text-align:left;padding:.3em 1em .3em 0}}
figure{{margin:2em 0}}img{{max-width:100%}}figcaption{{color:#555}}</style></head>
<body><h1>Is everyone meeting someone worth knowing?</h1>
<table>{rows}</table>
{figures}
</body></html>
"""

