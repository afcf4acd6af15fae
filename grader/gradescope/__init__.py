"""The Gradescope deployment (split next)."""
