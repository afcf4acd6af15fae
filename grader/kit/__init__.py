"""The students' self-check kit (split next)."""
