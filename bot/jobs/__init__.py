"""Work nobody asked for: the clock that starts rounds, reminders and follow-ups on time."""
