"""Stage 4 — diagnose: the likely cause of a failure, from the check results (its catalogue goes here).

Between the checks and the score stage: it reads the judged tests (cases, sandbox events, speed
verdicts) and says what a failure most likely means; it awards no points and never runs student
code.
"""
