"""11 parallel training: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong, edited

NOTEBOOK = "11_parallel"

SPLIT = """
def split_counts(layers):
    rows = []
    for _name, k, c_in, out, cross, in_size in layers:
        reads = 2 * c_in if cross else c_in
        params = out * k * k * reads + out
        cross_weights = out * k * k * c_in if cross else 0
        sent = in_size * in_size * c_in if cross else 0
        rows.append([params, cross_weights, sent])
    return np.array(rows, dtype=np.int64)
"""

CASES = [
    Right("split_counts", "the base: a loop over the rows", SPLIT),
    Wrong("split_counts", "the biases are left out", edited(SPLIT, "* reads + out", "* reads")),
    Wrong(
        "split_counts",
        "read only their own GPU's channels",
        edited(SPLIT, "reads = 2 * c_in if cross else c_in", "reads = c_in"),
    ),
    Wrong(
        "split_counts",
        "the whole network's parameters",
        edited(SPLIT, "rows.append([params,", "rows.append([2 * params,"),
    ),
    Wrong(
        "split_counts",
        "the biases are counted as cross weights",
        edited(SPLIT, "out * k * k * c_in if cross", "out * k * k * c_in + out if cross"),
    ),
    Wrong(
        "split_counts",
        "all weights of a crossing layer are counted",
        edited(SPLIT, "out * k * k * c_in if cross", "out * k * k * reads if cross"),
    ),
    Wrong(
        "split_counts",
        "both GPUs' maps are counted",
        edited(SPLIT, "in_size * in_size * c_in if cross", "2 * in_size * in_size * c_in if cross"),
    ),
    Right(
        "split_counts",
        "vectorised with numpy columns",
        """
def split_counts(layers):
    k, c, out, cross, size = (np.array([r[i] for r in layers], dtype=np.int64) for i in range(1, 6))
    return np.stack([out * k * k * c * (1 + cross) + out, out * k * k * c * cross, size * size * c * cross], axis=1)
""",
    ),
]

AVERAGE = """
def allreduce_average(grads, world):
    total = [torch.zeros_like(g) for g in grads[0]]
    for worker in grads:
        for i, g in enumerate(worker):
            total[i] = total[i] + g
    return [[t / world for t in total] for _ in range(world)]
"""

CASES += [
    Right("allreduce_average", "the base", AVERAGE),
    Wrong("allreduce_average", "summed but not divided", edited(AVERAGE, "[t / world for t", "[t for t")),
    Wrong("allreduce_average", "divided by the number of parameters", edited(AVERAGE, "t / world", "t / len(total)")),
    Wrong(
        "allreduce_average",
        "nothing was reduced",
        """
def allreduce_average(grads, world):
    return [[g.clone() for g in worker] for worker in grads]
""",
    ),
    Wrong(
        "allreduce_average",
        "changed in place",
        """
def allreduce_average(grads, world):
    total = grads[0]
    for worker in grads[1:]:
        for i, g in enumerate(worker):
            total[i] += g
    return [[t / world for t in total] for _ in range(world)]
""",
    ),
    Wrong(
        "allreduce_average",
        "the same tensor object",
        edited(
            AVERAGE,
            "return [[t / world for t in total] for _ in range(world)]",
            "return [[t / world for t in total]] * world",
        ),
    ),
    Right(
        "allreduce_average",
        "stack and mean",
        """
def allreduce_average(grads, world):
    return [[torch.stack([w[i] for w in grads]).mean(0) for i in range(len(grads[0]))] for _ in range(world)]
""",
    ),
]

RING = """
def ring_allreduce(data, ring):
    n = len(data)
    chunks = [list(torch.tensor_split(v.clone(), n)) for v in data]
    for s in range(n - 1):
        incoming = ring.exchange([chunks[i][(i - s) % n] for i in range(n)])
        for i in range(n):
            c = (i - 1 - s) % n
            chunks[i][c] = chunks[i][c] + incoming[i]
    for s in range(n - 1):
        incoming = ring.exchange([chunks[i][(i + 1 - s) % n] for i in range(n)])
        for i in range(n):
            chunks[i][(i - s) % n] = incoming[i]
    return [torch.cat(c) for c in chunks]
"""

CASES += [
    Right("ring_allreduce", "the base", RING),
    Wrong(
        "ring_allreduce",
        "only one phase ran",
        edited(
            RING,
            "    for s in range(n - 1):\n        incoming = ring.exchange([chunks[i][(i + 1 - s) % n]",
            "    for s in range(0):\n        incoming = ring.exchange([chunks[i][(i + 1 - s) % n]",
        ),
    ),
    Wrong(
        "ring_allreduce",
        "each phase took n steps",
        edited(
            RING,
            "for s in range(n - 1):\n        incoming = ring.exchange([chunks[i][(i - s)",
            "for s in range(n):\n        incoming = ring.exchange([chunks[i][(i - s)",
            "for s in range(n - 1):\n        incoming = ring.exchange([chunks[i][(i + 1 - s)",
            "for s in range(n):\n        incoming = ring.exchange([chunks[i][(i + 1 - s)",
        ),
    ),
    Wrong(
        "ring_allreduce",
        "sends the whole vector",
        """
def ring_allreduce(data, ring):
    n = len(data)
    held = [v.clone() for v in data]
    total = [v.clone() for v in data]
    for _ in range(2 * (n - 1)):
        held = ring.exchange(held)
        total = [t + h for t, h in zip(total, held)]
    return total
""",
    ),
    Wrong(
        "ring_allreduce",
        "this is the average",
        edited(RING, "return [torch.cat(c) for c in chunks]", "return [torch.cat(c) / n for c in chunks]"),
    ),
    Wrong(
        "ring_allreduce",
        "changed in place",
        edited(
            RING,
            "torch.tensor_split(v.clone(), n)",
            "torch.tensor_split(v, n)",
            "chunks[i][c] = chunks[i][c] + incoming[i]",
            "chunks[i][c] += incoming[i]",
        ),
    ),
    Right(
        "ring_allreduce",
        "chunks kept as index ranges of one copy per worker",
        """
def ring_allreduce(data, ring):
    n = len(data)
    out = [v.clone() for v in data]
    pieces = torch.tensor_split(torch.arange(len(data[0])), n)
    bounds = [(int(c[0]), int(c[-1]) + 1) if len(c) else (0, 0) for c in pieces]
    for s in range(n - 1):
        incoming = ring.exchange([out[i][slice(*bounds[(i - s) % n])] for i in range(n)])
        for i in range(n):
            out[i][slice(*bounds[(i - 1 - s) % n])] += incoming[i]
    for s in range(n - 1):
        incoming = ring.exchange([out[i][slice(*bounds[(i + 1 - s) % n])] for i in range(n)])
        for i in range(n):
            out[i][slice(*bounds[(i - s) % n])] = incoming[i]
    return out
""",
    ),
]

PIPE = """
def pipeline_schedule(stages, micro):
    steps = micro + stages - 1
    table = np.full((steps, stages), -1, dtype=np.int64)
    for t in range(steps):
        for s in range(stages):
            if 0 <= t - s < micro:
                table[t, s] = t - s
    return table, (stages - 1) / steps
"""

CASES += [
    Right("pipeline_schedule", "the base", PIPE),
    Wrong(
        "pipeline_schedule", "idle time over busy time", edited(PIPE, "(stages - 1) / steps", "(stages - 1) / micro")
    ),
    Wrong("pipeline_schedule", "the busy fraction", edited(PIPE, "(stages - 1) / steps", "micro / steps")),
    Wrong(
        "pipeline_schedule",
        "idle slots should hold -1",
        edited(PIPE, "np.full((steps, stages), -1,", "np.zeros((steps, stages),"),
    ),
    Wrong(
        "pipeline_schedule",
        "the table is flipped",
        edited(PIPE, "table[t, s] = t - s", "table[t, stages - 1 - s] = t - s"),
    ),
    Wrong(
        "pipeline_schedule",
        "never overlap",
        """
def pipeline_schedule(stages, micro):
    steps = micro * stages
    table = np.full((steps, stages), -1, dtype=np.int64)
    for m in range(micro):
        for s in range(stages):
            table[m * stages + s, s] = m
    return table, (stages - 1) / stages
""",
    ),
    Right(
        "pipeline_schedule",
        "built by stage with slices",
        """
def pipeline_schedule(stages, micro):
    table = -np.ones((micro + stages - 1, stages), dtype=int)
    for s in range(stages):
        table[s:s + micro, s] = np.arange(micro)
    return table.tolist(), float(np.mean(table == -1))
""",
    ),
]
