"""``python -m autograder <command>`` (also the ``autograder`` console script).

Commands: release, grade, feedback, export, lint, demo, translation. Run with ``-h`` for the options.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat

from autograder import paths
from autograder.edition import EDITIONS


def _editions(langs: list[str] | None = None) -> str:
    """'en (English), zh (中文)': the editions a command can make, from :data:`autograder.edition.EDITIONS`."""
    return ", ".join(f"{lang} ({EDITIONS[lang]})" for lang in langs or EDITIONS)


def _assignments(names: list[str] | None):
    from autograder.assignments import all_assignments, find_assignment

    return [find_assignment(n) for n in names] if names else all_assignments()


def cmd_release(args: argparse.Namespace) -> int:
    from autograder.release import release, workspace

    if args.workspace:
        copied, kept = workspace(Path(args.workspace), args.edition)
        for p in copied:
            print(f"copied  {p}")
        if not args.quiet:
            for p in kept:
                print(f"kept    {p} (already there: your work is never overwritten)")
        print(f"{args.workspace}/: {len(copied) + len(kept)} notebooks, {len(copied)} new")
    else:
        for p in release(_assignments(args.assignment), args.edition):
            print(f"released {p}")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from autograder.report import grade_table
    from autograder.runner import grade

    start = time.perf_counter()
    results = grade(
        Path(args.submissions) if args.submissions else paths.submitted(),
        assignments=_assignments(args.assignment),
        students=args.student,
        workers=args.workers,
        cpu_limit=args.cpu_limit,
        force=args.force,
        sandbox=args.sandbox,
        worker_command=args.worker_command,
        cell_timeout=args.cell_timeout,
    )
    print(grade_table(results))
    print(f"\n{len(results)} notebooks in {time.perf_counter() - start:.1f} s; results in {paths.results()}")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from autograder.report import selected, write_feedback

    start = time.perf_counter()
    files, kept = write_feedback(selected(args.student, args.assignment), workers=args.workers, force=args.force)
    print(
        f"wrote {len(files)} feedback files under {paths.feedback()} in {time.perf_counter() - start:.1f} s "
        f"(checked: no hidden-test text, no script); {kept} already up to date"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from autograder.report import export_csv, selected

    print(f"wrote {export_csv(Path(args.to), selected(args.student, args.assignment))}")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from autograder.lint import lint_assignment

    problems = [p for a in _assignments(args.assignment) for p in lint_assignment(a)]
    print(
        "\n".join(problems)
        if problems
        else f"lint: {len(_assignments(args.assignment))} notebooks follow the grading contract"
    )
    return 1 if problems else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from autograder.demo import expected_scores, make_samples, own_work_folder, samples_dir
    from autograder.report import export_csv, grade_table, write_feedback
    from autograder.runner import grade

    start = time.perf_counter()
    print(f"the demo works in {own_work_folder()}, apart from the class's gradebook, results and CSV")
    samples = make_samples(samples_dir())
    print(f"released every notebook and wrote sample submissions to {samples}")
    results = grade(samples, workers=args.workers, cpu_limit=args.cpu_limit, force=True)
    print(grade_table(results))
    feedback, _ = write_feedback(results, workers=args.workers, force=True)
    csv_path = export_csv(paths.work() / "grades.csv", results)
    print(f"\nfeedback: {len(feedback)} HTML files under {paths.feedback()}; grades: {csv_path}")
    expected = expected_scores()
    wrong = [
        f"{r.student}/{r.assignment}: {r.score:g}, expected {want:g} ({r.status} {r.reason})"
        for r in results
        if abs(r.score - (want := expected[r.student, r.assignment])) > 1e-9
    ]
    print(f"demo finished in {time.perf_counter() - start:.0f} s")
    if wrong:
        print("UNEXPECTED SCORES:\n  " + "\n  ".join(wrong))
        return 1
    print("every sample got the score it should: complete = full marks, untouched = 0, one_wrong = full minus one")
    return 0


def cmd_translation(args: argparse.Namespace) -> int:
    from autograder import edition

    problems = []
    for a in _assignments(args.assignment):
        path = edition.translation_path(a.path, args.lang)
        old = edition.Translation.load(path, args.lang) if path.exists() else None
        if args.action == "skeleton":
            path.write_text(edition.skeleton(a.nb, args.lang, old), encoding="utf-8")
            print(f"wrote {path}")
        elif old is None:
            problems.append(f"{a.name}: {path} is missing (python -m autograder translation skeleton)")
        elif args.action == "check":
            problems += [f"{a.name}: {p}" for p in edition.problems(a.nb, old)]
        else:
            out = Path(args.out) / a.name / a.path.name
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(edition.translate(a.nb, old), out)
            print(f"wrote {out}")
    print("\n".join(problems) if problems else f"translation {args.action}: done")
    return 1 if problems else 0


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--assignment", nargs="*", help="only these assignments (folder names)")
    p.add_argument("--student", nargs="*", help="only these students")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="build the student release (nbgrader generate_assignment)")
    p.add_argument("--assignment", nargs="*", help="only these assignments (folder names)")
    p.add_argument("--workspace", help="also copy the release into this folder, keeping existing notebooks")
    p.add_argument("--quiet", action="store_true", help="with --workspace: list only the notebooks copied")
    p.add_argument("--edition", default="en", choices=list(EDITIONS), help=f"the language: {_editions()}")
    p.set_defaults(fn=cmd_release)

    p = sub.add_parser("grade", help="grade DIR/<student>/<assignment>/<notebook>.ipynb")
    p.add_argument(
        "--submissions",
        help="folder of submissions, left unchanged (default: where nbgrader collect puts them, "
        "autograder/work/submitted)",
    )
    _filters(p)
    p.add_argument("--workers", type=int, default=2, help="notebooks graded at once (default 2)")
    p.add_argument(
        "--cpu-limit",
        "--timeout",
        type=float,
        default=300,
        help="CPU seconds the processes of one notebook may use, clean re-run included (default 300); "
        "the wall-clock backstop is 10 times that",
    )
    p.add_argument("--force", action="store_true", help="grade again even if a result is up to date")
    p.add_argument(
        "--sandbox",
        choices=["auto", "bwrap", "rlimits"],
        default="auto",
        help="auto (default): bubblewrap if it works here, else resource limits only, with a warning",
    )
    p.add_argument("--worker-command", help='worker command line, e.g. "ssh host python -m autograder.worker"')
    p.add_argument("--cell-timeout", type=float, help="CPU seconds per cell (default: nbgrader's Execute.timeout)")
    p.set_defaults(fn=cmd_grade)

    p = sub.add_parser(
        "feedback", help="write HTML feedback (hidden tests removed) for notebooks graded since their last feedback"
    )
    _filters(p)
    p.add_argument("--workers", type=int, default=2, help="feedback files written at once (default 2)")
    p.add_argument("--force", action="store_true", help="write every feedback file again")
    p.set_defaults(fn=cmd_feedback)

    p = sub.add_parser("export", help="write a CSV of scores with a status column")
    p.add_argument("--to", default=str(paths.work() / "grades.csv"))
    _filters(p)
    p.set_defaults(fn=cmd_export)

    p = sub.add_parser("lint", help="check the source notebooks against the grading contract")
    p.add_argument("--assignment", nargs="*")
    p.set_defaults(fn=cmd_lint)

    p = sub.add_parser("demo", help="release, grade three sample students, print the grade table")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cpu-limit", "--timeout", type=float, default=300, help="CPU seconds per notebook")
    p.set_defaults(fn=cmd_demo)

    p = sub.add_parser("translation", help="check, start or build a notebook edition in another language")
    p.add_argument("action", choices=["check", "skeleton", "build"],
                   help="check: name stale or missing translations; skeleton: write or update the translation "
                        "file for a translator; build: write the translated source notebooks under --out")  # fmt: skip
    translated = [lang for lang in EDITIONS if lang != "en"]
    p.add_argument("--lang", default=translated[0], choices=translated, help=f"the edition: {_editions(translated)}")
    p.add_argument("--assignment", nargs="*", help="only these assignments (folder names)")
    p.add_argument("--out", default=str(paths.work() / "edition"), help="with build: where the notebooks go")
    p.set_defaults(fn=cmd_translation)

    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
