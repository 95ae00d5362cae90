"""Exactly once whatever races: rounds started by two threads, two `/meet now`s, `/meet now`
against the clock's resume, four clocks closing one round, one workspace failing beside
others, and the guards that stop a lost reply or a retry from doubling a message."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from freezegun import freeze_time
from sqlalchemy import select, update
from test_meet_harness import Harness

from bot.domain.services import due, locks, rounds
from bot.domain.services.rounds import run_round
from bot.jobs.clock import Clock
from bot.slack import round_messages
from bot.storage.db import session_scope
from bot.storage.models import Group, Participation, Program, Round, utcnow

PEOPLE = [f"U{i:03d}" for i in range(40)]  # 20 pairs


def make_program(settings, channel="C1", team="T1", **options) -> int:
    with session_scope(settings.database_url) as session:
        program = Program(team_id=team, channel_id=channel, **options)
        session.add(program)
        session.flush()
        return program.id


@pytest.fixture
def program(slack, settings):
    for user in PEOPLE:
        slack.add_user("T1", user, tz="Europe/Berlin")
    slack.add_user("T1", "UADMIN", is_admin=True, tz="Europe/Berlin")
    slack.add_channel("T1", "C1", "lunch", members=PEOPLE + ["UBOT", "UADMIN"])
    return make_program(settings, post_summary=True)


def intros_per_group(slack) -> Counter:
    return Counter(
        m.channel for m in slack.messages()
        if (m.metadata or {}).get("event_type") == round_messages.INTRO_EVENT
    )


def conversations(settings) -> list[str]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Group.conversation_id)))


def assert_one_round_one_intro_per_group(slack, settings, groups=20):
    with session_scope(settings.database_url) as session:
        assert list(session.scalars(select(Round.status))) == ["delivered"]
    delivered = intros_per_group(slack)
    assert len(conversations(settings)) == groups
    assert set(delivered) == set(conversations(settings))
    assert set(delivered.values()) == {1}, delivered  # none twice, none missing


def together(*calls):
    """Run the calls in threads released at the same moment; re-raise the first failure."""
    barrier = threading.Barrier(len(calls))
    failures = []

    def run(call):
        barrier.wait()
        try:
            call()
        except Exception as error:  # noqa: BLE001 - handed to the test below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if failures:
        raise failures[0]


# -- one round, one intro per group ----------------------------------------------------------------


def test_two_threads_starting_a_round_at_once_make_one_round_and_one_intro_each(
    slack, settings, program
):
    slack.slow_next("chat.postMessage", 0.05, count=40)  # delivery takes a while
    together(lambda: run_round(settings, program), lambda: run_round(settings, program))
    assert_one_round_one_intro_per_group(slack, settings)


def test_meet_now_twice_at_once_makes_one_round_and_tells_both_admins(slack, settings, program):
    h = Harness(slack, settings)
    try:
        slack.slow_next("chat.postMessage", 0.05, count=40)
        together(
            lambda: h.command("now", user="UADMIN", channel="C1"),
            lambda: h.command("now", user="UADMIN", channel="C1"),
        )
        h.executor.drain()
    finally:
        h.close()
    assert_one_round_one_intro_per_group(slack, settings)
    outcomes = [m.text for m in slack.ephemerals("C1", user="UADMIN")]
    assert len(outcomes) == 2 and all("20 groups, 20 introduced" in t for t in outcomes)


def test_meet_now_against_the_clocks_resume_delivers_each_group_once(slack, settings, program):
    # Slack is busy for most of the first try: those groups wait for a resume
    slack.fail_next("conversations.open", error="internal_error", count=15)
    run_round(settings, program, slot=utcnow().replace(second=0, microsecond=0))
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(Round.status)) == "delivering"
    h = Harness(slack, settings)
    try:
        slack.slow_next("chat.postMessage", 0.05, count=40)
        together(
            lambda: Clock(settings).tick(),
            lambda: h.command("now", user="UADMIN", channel="C1"),
        )
        h.executor.drain()
    finally:
        h.close()
    assert_one_round_one_intro_per_group(slack, settings)


def test_a_lock_left_by_a_killed_process_is_taken_over_and_a_live_one_is_not(settings):
    url = settings.database_url
    with session_scope(url) as session:  # a process of this machine that no longer exists
        session.add(
            locks.Lock(name="deliver:1", owner=f"{locks._HOST}:999999999:dead",
                       expires_at=utcnow() + dt.timedelta(hours=1))
        )
    with locks.try_hold(url, locks.DELIVER, 1) as mine:
        assert mine
        with locks.try_hold(url, locks.DELIVER, 1) as also:
            assert not also  # held by this live process
    with session_scope(url) as session:
        session.add(
            locks.Lock(name="deliver:2", owner="elsewhere:1:x",
                       expires_at=utcnow() + dt.timedelta(minutes=1))
        )
    with locks.try_hold(url, locks.DELIVER, 2) as mine:
        assert not mine  # another machine's, still within its lease
    with freeze_time(utcnow() + dt.timedelta(minutes=2)):
        with locks.try_hold(url, locks.DELIVER, 2) as mine:
            assert mine  # its lease ran out


# -- closing once with four clocks -----------------------------------------------------------------


def test_four_clocks_closing_at_once_count_nudge_and_summarise_once(slack, settings, program):
    slot = utcnow().replace(second=0, microsecond=0) - dt.timedelta(days=8)
    run_round(settings, program, slot=slot)
    with session_scope(settings.database_url) as session:
        for user in PEOPLE:  # two silent rounds already: this close brings the nudge
            session.add(Participation(program_id=program, user_id=user, silent_rounds=2))
        session.execute(update(Program).values(next_run_at=utcnow() + dt.timedelta(days=1)))
    slack.slow_next("chat.postMessage", 0.05, count=100)
    clocks = [Clock(settings) for _ in range(4)]
    together(*[clock.tick for clock in clocks])
    assert [m.text for m in slack.messages("C1")].count(
        round_messages.summary(20, 0)
    ) == 1
    nudged = Counter(
        m.channel for m in slack.messages() if "haven't heard from you" in m.text
    )
    assert len(nudged) == 40 and set(nudged.values()) == {1}
    with session_scope(settings.database_url) as session:
        silent = set(session.scalars(
            select(Participation.silent_rounds).where(Participation.user_id.in_(PEOPLE))
        ))
        (closed,) = session.scalars(select(Round)).all()
    assert silent == {3} and closed.status == "closed" and closed.summary_posted_at


# -- each workspace and each group on its own --------------------------------------------------------


@pytest.fixture
def two_workspaces(slack, migrated_url):
    """An OAuth install where T1 is installed and T2's installation is gone."""
    from test_oauth import install, oauth_settings

    settings = oauth_settings(slack, migrated_url)
    install(settings, "T1", "xoxb-T1")
    for user in PEOPLE[:4]:
        slack.add_user("T1", user)
    slack.add_channel("T1", "C1", "lunch", members=PEOPLE[:4] + ["UBOT"])
    ok = make_program(settings, post_summary=True)
    broken = make_program(settings, channel="C2", team="T2", post_summary=True)
    return settings, ok, broken


def test_one_uninstalled_workspace_does_not_stop_closing_and_check_ins_elsewhere(
    slack, two_workspaces, caplog
):
    settings, ok, broken = two_workspaces
    slot = dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC)
    with freeze_time(slot):
        run_round(settings, ok, slot=slot)
    with session_scope(settings.database_url) as session:  # T2 had a round before it went
        session.add(Round(program_id=broken, slot=slot, status="delivered", seed=1,
                          checkin_at=slot + dt.timedelta(days=3),
                          closes_at=slot + dt.timedelta(days=7)))
    with freeze_time(slot + dt.timedelta(days=3, hours=1)):
        assert rounds.send_due_checkins(settings, utcnow()) == 2
    assert "check-ins of round 2 (program 2, workspace T2) failed" in caplog.text
    with freeze_time(slot + dt.timedelta(days=7, hours=1)):
        assert rounds.close_due_rounds(settings, utcnow()) == 1
        assert "closing round 2 (program 2, workspace T2) failed" in caplog.text
        assert len(slack.messages("C1")) == 1  # T1's summary
        with session_scope(settings.database_url) as session:
            open_ = list(session.scalars(select(Round.program_id).where(Round.closed_at.is_(None))))
        assert open_ == [broken]  # tried again at the next tick
        from test_oauth import install

        install(settings, "T2", "xoxb-T2")
        assert rounds.close_due_rounds(settings, utcnow()) == 1


def test_check_ins_are_recorded_per_group_and_a_failed_one_is_retried(slack, settings, program):
    slot = dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC)
    with freeze_time(slot):
        run_round(settings, program, slot=slot)
    with freeze_time(slot + dt.timedelta(days=3, hours=1)):
        slack.fail_next("chat.postMessage", error="internal_error", count=3)
        assert rounds.send_due_checkins(settings, utcnow()) == 17
        with session_scope(settings.database_url) as session:
            assert session.scalar(select(Round.checkin_sent_at)) is None
        assert rounds.send_due_checkins(settings, utcnow()) == 3  # only the three left
        with session_scope(settings.database_url) as session:
            assert session.scalar(select(Round.checkin_sent_at)) is not None
        assert rounds.send_due_checkins(settings, utcnow()) == 0
    checkins = Counter(
        m.channel for m in slack.messages() if m.text == round_messages.checkin(0)[0]
    )
    assert len(checkins) == 20 and set(checkins.values()) == {1}


# -- the guards ------------------------------------------------------------------------------------


def test_an_intro_whose_reply_was_lost_after_it_went_out_is_not_sent_again(
    slack, settings, program
):
    slack.fail_after_next("chat.postMessage", status=500, count=3)
    run_round(settings, program)
    assert_one_round_one_intro_per_group(slack, settings)
    assert sum(c.status == 500 for c in slack.calls("chat.postMessage")) == 3


def test_a_manual_round_repeated_within_ten_minutes_resumes_and_later_starts_anew(
    slack, settings, program
):
    start = dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC)
    with freeze_time(start):
        first = run_round(settings, program)
    with freeze_time(start + dt.timedelta(minutes=9)):
        again = run_round(settings, program)
    assert (again.round_id, again.created) == (first.round_id, False)
    assert_one_round_one_intro_per_group(slack, settings)
    with freeze_time(start + dt.timedelta(minutes=11)):
        assert run_round(settings, program).created


def test_a_schedule_changed_while_the_clock_runs_a_round_is_kept(settings):
    program_id = make_program(settings)
    slot = dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC)  # a Monday
    with session_scope(settings.database_url) as session:
        session.get(Program, program_id).next_run_at = slot

    def round_during_which_an_admin_moves_the_schedule(settings, program_id, slot):
        with session_scope(settings.database_url) as session:
            program = session.get(Program, program_id)
            program.weekday = 3  # Thursday
            due.reschedule(program, slot)

    clock = Clock(settings, start_round=round_during_which_an_admin_moves_the_schedule)
    clock.tick(slot + dt.timedelta(minutes=1))
    with session_scope(settings.database_url) as session:
        moved = session.get(Program, program_id).next_run_at
    assert moved == dt.datetime(2026, 5, 7, 12, tzinfo=dt.UTC)  # the admin's Thursday



# -- a channel Slack won't list is an error, never an empty channel ------------------------------


def test_a_channel_slack_will_not_list_stops_the_round_and_admins_are_told_what_to_do(
    slack, settings, program, caplog
):
    import json

    from bot.domain.services.participants import ChannelUnreadable

    slack.fail_next("conversations.members", error="not_in_channel")
    with pytest.raises(ChannelUnreadable):
        run_round(settings, program)
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(Round.id)) is None  # no empty round in its place
    h = Harness(slack, settings)
    try:
        stats = h.command("stats", user="UADMIN", channel="C1").text
        assert "I can't see who is in <#C1> (Slack says `not_in_channel`)" in stats
        assert "`/invite @Worth Knowing`" in stats
        h.event({"type": "app_home_opened", "user": "UADMIN", "tab": "home"})
        home = json.dumps(slack.home_view("T1", "UADMIN"))
        assert "Slack says `not_in_channel`" in home and "/invite @Worth Knowing" in home
        run_round(settings, program)  # Slack answers again: the warning goes
        assert "can't see who is in" not in h.command("stats", user="UADMIN", channel="C1").text
    finally:
        h.close()
    assert_one_round_one_intro_per_group(slack, settings)


@pytest.mark.slow
def test_four_clock_processes_close_each_round_once(slack, settings, tmp_path):
    from test_clock import clock_env, start_clocks, stop_clocks, wait_for

    channels = ["C1", "C2", "C3"]
    for user in PEOPLE[:12]:
        slack.add_user("T1", user)
    slot = utcnow().replace(second=0, microsecond=0) - dt.timedelta(days=8)
    for n, channel in enumerate(channels):
        people = PEOPLE[4 * n: 4 * n + 4]
        slack.add_channel("T1", channel, channel, members=[*people, "UBOT"])
        program_id = make_program(settings, channel=channel, post_summary=True)
        run_round(settings, program_id, slot=slot)
        with session_scope(settings.database_url) as session:
            for user in people:
                session.add(Participation(program_id=program_id, user_id=user, silent_rounds=2))
    slack.slow_next("chat.postMessage", 0.2, count=30)  # closing takes a while: room to race

    def all_closed():
        with session_scope(settings.database_url) as session:
            return session.scalar(select(Round.id).where(Round.closed_at.is_(None))) is None

    clocks = start_clocks(4, clock_env(settings, slack), tmp_path)
    try:
        wait_for(all_closed, clocks)
    finally:
        stop_clocks(clocks)
    for channel in channels:
        assert [m.text for m in slack.messages(channel)] == [round_messages.summary(2, 0)]
    nudged = Counter(m.channel for m in slack.messages() if "haven't heard from you" in m.text)
    assert len(nudged) == 12 and set(nudged.values()) == {1}
    with session_scope(settings.database_url) as session:
        assert set(session.scalars(select(Participation.silent_rounds))) == {3}
