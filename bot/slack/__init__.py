"""How the app speaks to Slack: the Web API client (retries, rate limits) and the messages and
words it sends. Below the domain, which delivers rounds itself when no request is waiting."""
