"""`python -m bot`. Loading the commands takes a moment: Ctrl-C in it ends quietly too (130),
as Ctrl-C in a command does, not with a traceback of whatever was being imported."""

try:
    from bot.cli.main import main
except KeyboardInterrupt:
    raise SystemExit(130) from None

raise SystemExit(main())
