"""What the app says to people, kept together so the voice stays consistent."""

HELP = (
    "*Worth Knowing* pairs people in this channel for lunch with someone from another corner "
    "of the company, on a schedule.\n"
    "• `/meet status`: your programs, next round and current group\n"
    "• `/meet history`: whom you have met\n"
    "• `/meet leave` / `/meet join`: stop or start taking part in this channel\n"
    "• `/meet pause 2 weeks` or `/meet pause until 2026-01-31`, `/meet resume`: skip a while\n"
    "• `/meet level <1-9>`, `/meet department <name>`, `/meet location <name>`: "
    "help matching find you a good lunch\n"
    "• `/meet forget-me`: delete what the app stores about you\n"
    "Admins: `/meet setup`, `/meet schedule`, `/meet size`, `/meet now`, `/meet stats`, "
    "`/meet enable` / `disable`, `/meet admins add @user`."
)


def unknown_command(word: str) -> str:
    shown = word if len(word) <= 30 else word[:30] + "…"
    return f"I don't know `/meet {shown}`. Try `/meet help` to see what I can do."
