"""Concrete lunch dates a group can really make, and the calendar links for the one agreed.

Pure: people's zones, lunch days and lunch times in, dates out. A group in one time zone
gets dates that are a lunch day for everyone, at a time inside everyone's lunch window; a
group across zones gets a video lunch inside everyone's working hours (09:00-18:00 local,
an hour long) on a day that is a lunch day for each of them where they are. No such date
means no offer at all: the group is asked to find one, never offered an impossible date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKDAYS = frozenset(range(5))
DEFAULT_TIME = dt.time(12, 0)
LUNCH = dt.timedelta(hours=1)
WINDOW = dt.timedelta(minutes=90)  # a lunch may start up to this long after one's usual time
WORK_START, WORK_END = dt.time(9, 0), dt.time(18, 0)
STEP = dt.timedelta(minutes=30)
OFFERED = 3


@dataclass(frozen=True)
class Diner:
    user_id: str
    zone: str = "UTC"
    days: frozenset[int] = WORKDAYS  # Monday = 0
    lunch_time: dt.time = DEFAULT_TIME


@dataclass(frozen=True)
class Offer:
    start: dt.datetime  # UTC
    video: bool  # the group is in more than one time zone: a video lunch

    @property
    def end(self) -> dt.datetime:
        return self.start + LUNCH


def parse_days(words: Sequence[str]) -> frozenset[int]:
    """"mon tue thu" (or "mon-fri", "weekdays") → weekday numbers; ValueError if unreadable."""
    days: set[int] = set()
    for word in " ".join(words).replace(",", " ").lower().split():
        if word in ("weekdays", "workdays"):
            days |= WORKDAYS
        elif "-" in word:
            first, _, last = word.partition("-")
            a, b = _day(first), _day(last)
            days |= set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(0, b + 1))
        else:
            days.add(_day(word))
    if not days:
        raise ValueError("name at least one day, e.g. mon tue thu")
    return frozenset(days)


def _day(word: str) -> int:
    for number, name in enumerate(WEEKDAYS):
        if word[:3] == name and len(word) >= 3:
            return number
    raise ValueError(f"`{word[:20]}` is not a day of the week: use mon, tue, wed, thu or fri")


def describe_days(days: frozenset[int]) -> str:
    if days == WORKDAYS:
        return "Monday to Friday"
    return ", ".join(dt.date(2024, 1, 1 + d).strftime("%A") for d in sorted(days))


def offers(
    diners: Sequence[Diner], first: dt.date, last: dt.date, count: int = OFFERED,
    after: dt.datetime | None = None,
) -> list[Offer]:
    """Up to `count` dates from `first` to `last` (the organiser's calendar days) that everyone
    can make, each later than `after` if given."""
    if not diners:
        return []
    zones = [ZoneInfo(d.zone) for d in diners]
    found = []
    day = first
    while day <= last and len(found) < count:
        offer = _on(diners, zones, day)
        if offer is not None and (after is None or offer.start > after):
            found.append(offer)
        day += dt.timedelta(days=1)
    return found


def _on(diners: Sequence[Diner], zones: list[ZoneInfo], day: dt.date) -> Offer | None:
    noon = dt.datetime.combine(day, dt.time(12), zones[0])
    if len({noon.astimezone(z).utcoffset() for z in zones}) == 1:
        return _together(diners, zones[0], day)
    return _video(diners, zones, day)


def _together(diners: Sequence[Diner], zone: ZoneInfo, day: dt.date) -> Offer | None:
    """Everyone in one zone: a lunch day for all, at the latest usual time if it is inside
    everyone's window."""
    if any(day.weekday() not in d.days for d in diners):
        return None
    starts = [dt.datetime.combine(day, d.lunch_time, zone) for d in diners]
    start = max(starts)
    if start - min(starts) > WINDOW:
        return None
    return Offer(start.astimezone(dt.UTC), video=False)


def _video(diners: Sequence[Diner], zones: list[ZoneInfo], day: dt.date) -> Offer | None:
    """Across zones: the hour inside everyone's working day nearest the organiser's lunch."""
    host = zones[0]
    wanted = dt.datetime.combine(day, diners[0].lunch_time, host)
    fits = []
    moment = dt.datetime.combine(day, dt.time(0), host)
    while moment.date() == day:
        if all(_works(moment, d, z) for d, z in zip(diners, zones, strict=True)):
            fits.append(moment)
        moment += STEP
    if not fits:
        return None
    best = min(fits, key=lambda m: abs(m - wanted))
    return Offer(best.astimezone(dt.UTC), video=True)


def _works(moment: dt.datetime, diner: Diner, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    end = local + LUNCH
    return (
        local.weekday() in diner.days
        and local.time() >= WORK_START
        and end.date() == local.date()
        and end.time() <= WORK_END
    )


# -- the agreed lunch in people's calendars ----------------------------------------------------


def _utc(moment: dt.datetime, sep: str = "") -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ" if not sep else
                                              "%Y-%m-%dT%H:%M:%SZ")  # fmt: skip


BUTTON_URL_MAX = 3000  # Slack refuses a message whose button has a longer url


def calendar_links(offer: Offer, names: list[str], channel: str) -> tuple[str, str]:
    """Google and Outlook links naming the group, with fewer words where the names would
    make a link longer than a button takes: eight long names in a script that URL-encoding
    makes six times longer (Cyrillic, say) did, and the lunch was never announced."""
    group = ", ".join(names)
    for title, details in (
        (f"Lunch: {group}", f"Worth Knowing lunch group from {channel}: {group}"),
        (f"Lunch: {group}", f"Worth Knowing lunch group from {channel}"),
        ("Lunch", f"Worth Knowing lunch group from {channel}"),
    ):
        links = google_link(offer, title, details), outlook_link(offer, title, details)
        if max(len(link) for link in links) <= BUTTON_URL_MAX:
            return links
    return google_link(offer, "Lunch", "Worth Knowing lunch"), outlook_link(
        offer, "Lunch", "Worth Knowing lunch"
    )


def google_link(offer: Offer, title: str, details: str) -> str:
    query = {"action": "TEMPLATE", "text": title, "details": details,
             "dates": f"{_utc(offer.start)}/{_utc(offer.end)}"}  # fmt: skip
    return "https://calendar.google.com/calendar/render?" + urlencode(query)


def outlook_link(offer: Offer, title: str, details: str) -> str:
    query = {"path": "/calendar/action/compose", "rru": "addevent", "subject": title,
             "body": details, "startdt": _utc(offer.start, "-"), "enddt": _utc(offer.end, "-")}  # fmt: skip
    return "https://outlook.office.com/calendar/0/deeplink/compose?" + urlencode(query)
