"""Point an instructor at submission code that reaches into the grading machinery (notes, never scores).

The clean room (:mod:`autograder.verify`) undoes and detects monkeypatching, but code that
runs inside the same process as a test can always inspect its caller (frames, code objects,
the garbage collector). Such code has no place in an answer, so :func:`suspicious` names it
for a human to look at: assignments to attributes of imported modules, frame and tracing
APIs, IPython's input transformers, process and signal control, sockets.
"""

from __future__ import annotations

import ast

from nbformat import NotebookNode

from autograder.assignments import graded_chain, nbgrader_meta

__all__ = ["suspicious"]

_NAMES = {
    "_getframe": "reads the caller's frame",
    "currentframe": "reads the caller's frame",
    "f_back": "reads the caller's frame",
    "f_locals": "reads another frame's variables",
    "f_globals": "reads another frame's variables",
    "settrace": "installs a tracer (can skip lines)",
    "setprofile": "installs a profiler",
    "__code__": "swaps a function's code",
    "get_objects": "searches every live object",
    "get_referrers": "searches every live object",
    "input_transformers_cleanup": "rewrites later cells (IPython input transformer)",
    "input_transformers_post": "rewrites later cells (IPython input transformer)",
    "ast_transformers": "rewrites later cells (IPython AST transformer)",
    "showtraceback": "hides errors",
    "_exit": "ends the kernel",
    "fork": "starts processes",
    "kill": "signals processes",
    "ctypes": "calls C code",
    "socket": "opens network connections",
    "subprocess": "starts processes",
    "NBGRADER_EXECUTION": "detects the grader",
    "linecache": "reads the source of other cells",
}


def _module_names(tree: ast.AST) -> set[str]:
    return {(a.asname or a.name).split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}


def _findings(tree: ast.AST, modules: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else []
        targets = [node.target] if isinstance(node, ast.AugAssign) else targets
        for target in targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in modules:
                found.add(f"assigns {target.value.id}.{target.attr} (monkeypatching)")
            if isinstance(target, ast.Name) and target.id in modules:
                found.add(f"rebinds the module name {target.id}")
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setattr" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Name) and first.id in modules:
                found.add(f"calls setattr on the module {first.id} (monkeypatching)")
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        if isinstance(node, ast.alias):
            name = node.name.split(".")[-1]
        if isinstance(node, ast.Constant) and node.value == "NBGRADER_EXECUTION":
            name = node.value
        if name in _NAMES:
            found.add(f"uses {name}: {_NAMES[name]}")
    return found


def suspicious(nb: NotebookNode) -> list[str]:
    """One note per answer cell that does something an answer should not, for manual review.

    Cells outside the graded chain (a demonstration, a cell the student added) are never run by
    the grader, so they are not read; locked cells are the course's own.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    trees, cells = [], []
    for cell in nb.cells:
        if not graded_chain(cell) or nbgrader_meta(cell).get("locked"):
            continue
        try:
            trees.append(ast.parse(TransformerManager().transform_cell(cell.source)))
        except (SyntaxError, ValueError):
            continue
        cells.append(nbgrader_meta(cell).get("grade_id") or cell.get("id", "?"))
    modules = set().union(*map(_module_names, trees)) | {"np", "torch", "checks", "plt", "F", "nn"}
    notes = []
    for name, tree in zip(cells, trees, strict=True):
        if found := sorted(_findings(tree, modules)):
            notes.append(f"review cell {name}: " + "; ".join(found))
    return notes
