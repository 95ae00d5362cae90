"""The Slack edge: requests from Slack come in here (the Bolt app, its listeners, the Home
tab, the `/meet` parser, the HTTP server) and are translated into calls on the domain."""
