"""Give a submission's cells the nbgrader metadata of the course's source notebook, matched by cell id.

A submission's ``metadata.nbgrader`` is the student's to edit: stripped by a tool, a cell marked
as graded with 1000 points, a solution cell marked as graded. nbgrader trusts it and fails the
job, or grades what it claims. Here each cell is matched to a cell of the source notebook:

1. by its cell id, when the id is a source cell's (ids are stable and equal the grade ids);
2. else by the ``grade_id`` its metadata claims, when that names a source cell: nbgrader's own
   matching, for notebooks saved without cell ids (nbformat < 4.5) and cells that Jupyter gave a
   new id (cut and paste);
3. else not at all.

A matched cell gets exactly the source cell's nbgrader metadata (none, if the source cell has
none); an unmatched cell gets none. When several cells match the same graded cell, the last one
keeps it (it is the definition the notebook ran last). A notebook in which no exercise's
solution cell can be matched is refused: it is not this assignment's notebook.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from nbformat import NotebookNode

from autograder.assignments import nbgrader_meta

__all__ = ["Realigned", "realign"]


@dataclass
class Realigned:
    """What realigning changed (notes for the instructor) and whether any exercise was found."""

    notes: list[str] = field(default_factory=list)
    solutions_found: int = 0


def _match(cell: NotebookNode, by_id: dict[str, NotebookNode], by_grade_id: dict[str, NotebookNode]):
    if cell.get("id") in by_id:
        return by_id[cell.id]
    return by_grade_id.get(nbgrader_meta(cell).get("grade_id"))


def realign(nb: NotebookNode, source: NotebookNode) -> Realigned:
    """Rewrite every cell's ``metadata.nbgrader`` in `nb` from `source`, in place."""
    by_id = {c.id: c for c in source.cells if c.get("id")}
    by_grade_id = {m["grade_id"]: c for c in source.cells if (m := nbgrader_meta(c)).get("grade_id")}
    matches = [_match(cell, by_id, by_grade_id) for cell in nb.cells]
    last = {id(m): i for i, m in enumerate(matches) if m is not None}
    out = Realigned()
    for i, (cell, match) in enumerate(zip(nb.cells, matches, strict=True)):
        claimed = nbgrader_meta(cell)
        want = nbgrader_meta(match) if match is not None else {}
        if want and last[id(match)] != i:
            out.notes.append(f"cell {want['grade_id']!r} appeared more than once; graded the last copy")
            want = {}
        elif want and {k: claimed.get(k) for k in want} != want:
            out.notes.append(f"cell {want['grade_id']!r}: its nbgrader metadata was changed; the assignment's is used")
        elif not want and claimed.get("grade"):
            gid = claimed.get("grade_id") or "without a grade id"
            out.notes.append(f"a cell the assignment does not grade claimed to be ({gid}); graded as an ordinary cell")
        if want:
            cell.metadata["nbgrader"] = copy.deepcopy(want)
            out.solutions_found += bool(want.get("solution"))
        else:
            cell.metadata.pop("nbgrader", None)
    return out
