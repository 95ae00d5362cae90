"""The matching engine: who has lunch with whom this round.

Pure functions over plain data (no Slack, no database); see docs/matching.md for the design
and measured figures.
"""

from bot.domain.matching.apart import reporting_lines
from bot.domain.matching.engine import form_groups
from bot.domain.matching.history import History
from bot.domain.matching.types import (
    Grouping,
    PastGroup,
    Person,
    Rules,
    Score,
    Unmatched,
    offset_minutes,
)

__all__ = [
    "Grouping",
    "History",
    "PastGroup",
    "Person",
    "Rules",
    "Score",
    "Unmatched",
    "form_groups",
    "offset_minutes",
    "reporting_lines",
]
