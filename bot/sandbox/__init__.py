"""A simulated Slack workspace on loopback: the one the tests and `python -m bot demo` use."""
