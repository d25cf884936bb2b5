"""A long-lived grading worker: reads jobs as JSON lines on stdin, answers one JSON line each.

Job:    {"assignment": "01_neuron", "student": "ada"}
Answer: {"success": true} or {"success": false, "error": "..."}

Keeping the process alive saves nbgrader's start-up (about 2 s) per notebook. The parent
(:mod:`autograder.runner`) owns the wall-clock limit: it kills this process and its kernels
when a job runs over, and starts a fresh one. Because jobs and answers are plain JSON lines,
a worker can run anywhere the course and the gradebook are reachable (see the README).
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the protocol
    from autograder.nbgrader_api import api

    for line in sys.stdin:
        job = json.loads(line)
        result = api().autograde(job["assignment"], job["student"], force=True, create=True)
        answer = {"success": bool(result.get("success"))}
        if not answer["success"]:
            answer["error"] = (result.get("error") or "") + "\n" + (result.get("log") or "")
        protocol.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
