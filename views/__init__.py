"""Thin blueprints: validate the form, call one operation in `models`, commit, redirect."""
