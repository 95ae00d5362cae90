"""Placeholder until the preview command lands (replace this whole file)."""


def add_parser(subparsers) -> None:
    return None
