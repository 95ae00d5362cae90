"""The dates an intro offers: lunch days everyone shares, a time inside everyone's lunch
window, or across time zones a video lunch inside everyone's working day; DST-correct."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from bot.domain.lunch_dates import (
    WORKDAYS,
    Diner,
    Offer,
    describe_days,
    google_link,
    offers,
    outlook_link,
    parse_days,
)

MON = dt.date(2026, 6, 1)  # a Monday


def local(offer: Offer, zone: str) -> dt.datetime:
    return offer.start.astimezone(ZoneInfo(zone))


def test_same_place_days_everyone_shares_at_the_latest_usual_time():
    ada = Diner("ADA", "Europe/Berlin", frozenset({1, 3}), dt.time(12, 30))
    bob = Diner("BOB", "Europe/Berlin", WORKDAYS, dt.time(12, 0))
    found = offers([ada, bob], MON, MON + dt.timedelta(days=6))
    assert [local(o, "Europe/Berlin").strftime("%a %H:%M") for o in found] == ["Tue 12:30",
                                                                              "Thu 12:30"]  # fmt: skip
    assert not any(o.video for o in found)


def test_windows_that_do_not_overlap_and_no_common_day_give_no_date_at_all():
    early = Diner("A", "Europe/Berlin", lunch_time=dt.time(11, 0))
    late = Diner("B", "Europe/Berlin", lunch_time=dt.time(13, 0))
    assert offers([early, late], MON, MON + dt.timedelta(days=6)) == []
    mondays = Diner("C", "Europe/Berlin", frozenset({0}))
    fridays = Diner("D", "Europe/Berlin", frozenset({4}))
    assert offers([mondays, fridays], MON, MON + dt.timedelta(days=6)) == []


def test_across_zones_a_video_lunch_inside_everyones_working_day():
    berlin = Diner("B", "Europe/Berlin", lunch_time=dt.time(12, 30))
    kathmandu = Diner("K", "Asia/Kathmandu")  # UTC+5:45
    found = offers([berlin, kathmandu], MON, MON + dt.timedelta(days=4))
    assert len(found) == 3 and all(o.video for o in found)
    for offer in found:
        for zone in ("Europe/Berlin", "Asia/Kathmandu"):
            start = local(offer, zone)
            assert dt.time(9) <= start.time() and (start + dt.timedelta(hours=1)).time() <= dt.time(18)
            assert start.weekday() < 5
    la, sydney = Diner("L", "America/Los_Angeles"), Diner("S", "Australia/Sydney")
    for offer in offers([la, sydney], MON, MON + dt.timedelta(days=6)):
        assert local(offer, "America/Los_Angeles").weekday() < 5
        assert local(offer, "Australia/Sydney").weekday() < 5  # Friday LA is Saturday there
    honolulu, tokyo_sundays = Diner("H", "Pacific/Honolulu"), Diner("T", "Asia/Tokyo", frozenset({6}))
    assert offers([honolulu, tokyo_sundays], MON, MON + dt.timedelta(days=6)) == []  # Sat there


def test_the_local_time_holds_across_the_spring_dst_change():
    pair = [Diner("A", "Europe/Berlin"), Diner("B", "Europe/Berlin")]
    found = offers(pair, dt.date(2026, 3, 26), dt.date(2026, 3, 31))  # DST starts on the 29th
    assert [o.start.hour for o in found] == [11, 11, 10]  # Thu, Fri before; Mon after
    assert {local(o, "Europe/Berlin").strftime("%H:%M") for o in found} == {"12:00"}


def test_only_dates_after_a_given_moment_when_more_are_asked_for():
    pair = [Diner("A"), Diner("B")]
    first = offers(pair, MON, MON + dt.timedelta(days=13))
    more = offers(pair, MON, MON + dt.timedelta(days=13), after=first[-1].start)
    assert more[0].start > first[-1].start and len(more) == 3


@pytest.mark.parametrize("words, days", [
    (["mon", "tue", "thu"], {0, 1, 3}), (["Monday,", "Friday"], {0, 4}),
    (["mon-wed"], {0, 1, 2}), (["weekdays"], {0, 1, 2, 3, 4}), (["fri-mon"], {4, 5, 6, 0}),
])  # fmt: skip
def test_days_are_read_forgivingly(words, days):
    assert parse_days(words) == days


def test_unreadable_days_say_what_to_write():
    with pytest.raises(ValueError, match="`someday` is not a day of the week"):
        parse_days(["someday"])
    assert describe_days(WORKDAYS) == "Monday to Friday"
    assert describe_days(frozenset({1, 3})) == "Tuesday, Thursday"


def test_calendar_links_carry_title_time_and_details():
    offer = Offer(dt.datetime(2026, 6, 2, 10, 30, tzinfo=dt.UTC), video=False)
    google = parse_qs(urlsplit(google_link(offer, "Lunch: Ada, Bob", "from #lunch")).query)
    assert google["dates"] == ["20260602T103000Z/20260602T113000Z"]
    assert google["text"] == ["Lunch: Ada, Bob"] and google["details"] == ["from #lunch"]
    outlook = parse_qs(urlsplit(outlook_link(offer, "Lunch: Ada, Bob", "from #lunch")).query)
    assert outlook["startdt"] == ["2026-06-02T10:30:00Z"] and outlook["enddt"] == ["2026-06-02T11:30:00Z"]
    assert outlook["subject"] == ["Lunch: Ada, Bob"]
