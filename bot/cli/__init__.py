"""The command line (`python -m bot ...`): each command reads its arguments and files, calls
the domain, and prints what happened."""
