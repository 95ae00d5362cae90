"""`python -m bot demo`'s command line, kept apart from the demo itself so that every other
command (serve above all) starts without loading the simulated workspace."""

from __future__ import annotations


def add_parser(sub) -> None:
    demo = sub.add_parser(
        "demo",
        help="try it without Slack: a simulated workspace, a few weeks of rounds in a minute",
        description="Runs the real app on 127.0.0.1 against a simulated Slack workspace of a "
        "sample company and plays several weeks: setup, people joining and pausing, rounds, "
        "check-ins, the Home tab and the stats. Needs no Slack settings and no network.",
    )
    demo.add_argument("--weeks", default="4", metavar="N", help="weekly rounds to play (default 4)")
    demo.add_argument(
        "--people", metavar="CSV",
        help="members as `preview --members` reads them (user_id, level, department, location, "
        "timezone; optional name, email, title); default: the sample company",
    )
    demo.add_argument("--size", default=None, metavar="K", help="people per group, 2-8 (default 2)")
    demo.add_argument("--seed", default=None, metavar="S", help="seed for who answers (default: random)")
    demo.add_argument(
        "--keep", metavar="DIR",
        help="keep the database in DIR (for `python -m bot stats`, `levels export`)",
    )
    demo.set_defaults(func=_run, interrupted="the demo stopped; run it again to see it all")



def _run(args) -> int:
    from bot.sandbox.demo import cmd_demo

    return cmd_demo(args)
