"""The demo prints Slack messages as people read them: names, channels, dates, buttons."""

from bot.sandbox import render
from bot.slack import round_messages

NAMES = {"U1": "Ada Lovelace", "U2": "Grace Hopper"}
CHANNELS = {"C1": "lunch"}


def test_mentions_channels_dates_and_markup_read_as_plain_text():
    text = (
        "*Hi* <@U1> and <@U2|grace>! From <#C1> and <#C9|random>, "
        "<!date^1767268800^{date_short_pretty}|Thursday 1 January> — _see_ "
        "<https://example.com/x|the guide> &amp; `/meet help`"
    )
    assert render.text(text, NAMES, CHANNELS) == (
        "Hi @Ada Lovelace and @Grace Hopper! From #lunch and #random, Thursday 1 January — "
        "see the guide & `/meet help`"
    )


def test_someone_unknown_keeps_their_id():
    assert render.text("<@U7> joined", NAMES, CHANNELS) == "@U7 joined"


def test_an_intro_reads_with_names_and_its_buttons():
    _, blocks = round_messages.intro("C1", ["U1", "U2"], "U2", "What's your favourite tool?",
                                     "You come from different teams.", 7)
    shown = render.message({"text": "ignored", "blocks": blocks}, NAMES, CHANNELS)
    assert shown.splitlines() == [
        "👋 Hi @Ada Lovelace and @Grace Hopper! You're a lunch group from #lunch this round.",
        "You come from different teams.",
        "🗓️ @Grace Hopper is organising this one: suggest a day and a place that works for "
        "everyone.",
        "💬 To get you started: What's your favourite tool?",
        "[ We met 🎉 ]  [ We can't make it ]",
    ]


def test_a_message_without_blocks_shows_its_text():
    assert render.message({"text": "Paused in <#C1>."}, NAMES, CHANNELS) == "Paused in #lunch."
