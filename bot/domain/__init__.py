"""What the app decides: programs, members, rounds, lunches, levels and the pure matching
engine. Called by the edge, the command line and the jobs; calls only what lies below it."""
