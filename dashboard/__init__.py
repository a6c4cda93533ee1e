"""The browser dashboard (built in a later issue)."""
