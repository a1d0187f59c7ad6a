"""The funding rules in plain Python (no I/O): categories, missions, envelopes, levers, schedules."""
