"""A raw-memory attack, as student code: no audit event sees it (the split clean room is the defence)."""

HEAP_SCAN = """
import re as _re

class _Window:
    def __init__(self, address, size):  # raw memory as a numpy array: CPython audits nothing
        self.__array_interface__ = {"data": (address, True), "shape": (size,), "typestr": "|u1", "version": 3}

def _heap_scan():
    \"\"\"The hidden tests' first lines and every string that looks like a sealing key, in this process's heap.\"\"\"
    import numpy as _np
    marker = ("BEGIN HIDDEN" + " TESTS").encode()  # assembled: the constant alone is not a match
    lines, keys = [], set()
    with open("/proc/self/maps") as f:
        maps = f.read().splitlines()
    for entry in maps:
        parts = entry.split()
        if not parts[1].startswith("rw") or (len(parts) > 5 and parts[5] != "[heap]"):
            continue
        start, end = (int(x, 16) for x in parts[0].split("-"))
        data = _np.asarray(_Window(start, end - start)).tobytes()
        at = data.find(marker)
        while at != -1:
            text = data[at + len(marker) : at + len(marker) + 400].split(bytes(1))[0]
            if b"assert" in text:
                lines.append(text.decode("ascii", "replace").strip().splitlines()[0])
            at = data.find(marker, at + 1)
        keys.update(m.group(1).decode() for m in _re.finditer(rb"(?<![0-9a-f])([0-9a-f]{64})\\x00", data))
    return lines, keys
"""
"""Student code that reads its own process's heap (numpy's ``__array_interface__`` on addresses from
``/proc/self/maps``): the hidden tests' lines and the sealing keys, where that process holds them."""
