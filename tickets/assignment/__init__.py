"""Automatic assignment: who gets which waiting appeal (services.py), the agents' load (selectors.py), and
the tasks that run it after commit and from beat (tasks.py)."""
