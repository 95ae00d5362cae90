"""Insights for admins: is the company's network growing across levels, teams and offices?

`measures` computes the figures from plain rows (no Slack, no database), `charts` draws
them as PNGs, `report` writes them to disk; `bot.domain.services.insights` reads the rows.
"""
