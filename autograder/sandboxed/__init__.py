"""Code that runs inside the grading sandbox, next to student code.

Nothing here decides a score. Modules of this package import nothing from :mod:`autograder`
but :mod:`autograder.protocol` (the wire format and typed messages shared with the grader);
``tests/test_trust_core.py`` keeps that rule. Everything that judges runs outside, in
processes that never run student code.
"""
