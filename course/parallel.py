"""Real processes for notebook 11: data and pipeline parallelism with torch.distributed (gloo) on this machine.

A notebook cannot hand a function it defines to a *spawned* process (the child imports the
function by module name, and a notebook's ``__main__`` is not importable), so the worker lives
here. :func:`run_data_parallel` starts `world` processes, each holding the same small MLP:

1. each computes the gradient of the loss on its share of one batch, sums the gradients with
   ``dist.all_reduce`` and divides by the world size; rank 0 also computes the gradient of the
   whole batch in one go, and reports the largest difference;
2. the same with ``DistributedDataParallel``, which does the all-reduce during ``backward()``;
3. a fixed number of SGD steps of DDP training, timed (wall clock, rank 0).

:func:`run_pipeline` starts two processes that each hold one **stage** of the same MLP (cut after
its first ReLU, as in the notebook): stage 0 sends the activations of each micro-batch to stage 1
(``dist.isend``, so that it can go on with the next micro-batch), stage 1 sends their gradients
back after its backward pass (GPipe's order: every forward, then every backward). Both compare
their stage's gradients with the whole model's on the whole batch, then a fixed number of
training steps is timed.

The processes always stop: the parent joins them with a timeout in a ``try/finally`` that
terminates whatever is still alive (also after a KeyboardInterrupt, i.e. an interrupted cell).
This module holds no exercise's answer: the notebook's exercises do the all-reduce and the
pipeline schedule by hand.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from course.i18n import tr

__all__ = ["make_mlp", "make_batch", "free_port", "run_data_parallel", "run_pipeline", "time_one_process"]

CUT = 2
"""The two pipeline stages are ``make_mlp()[:CUT]`` and ``make_mlp()[CUT:]``."""


def make_mlp(seed: int = 0, width: int = 256) -> nn.Sequential:
    """A 784 -> width -> width -> 10 MLP with ReLUs, float64, initialised from `seed`."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10)
    ).double()


def make_batch(batch: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch: x (batch, 784) float64, y (batch,) class labels in 0..9."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 784, generator=g, dtype=torch.float64), torch.randint(0, 10, (batch,), generator=g)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _grads(model: nn.Module) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in model.parameters()]


def _max_diff(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


def _join_group(rank: int, world: int, port: int) -> None:
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=timedelta(seconds=60))


def _worker(rank: int, world: int, port: int, batch: int, steps: int, queue) -> None:
    _join_group(rank, world, port)
    try:
        loss_fn = nn.CrossEntropyLoss()
        x, y = make_batch(batch)
        mine = slice(rank * batch // world, (rank + 1) * batch // world)

        # 1. gradients of my share, summed over the processes by all_reduce, then averaged
        model = make_mlp()
        loss_fn(model(x[mine]), y[mine]).backward()
        for p in model.parameters():
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= world
        reduced = _grads(model)
        whole = make_mlp()
        loss_fn(whole(x), y).backward()
        manual_diff = _max_diff(reduced, _grads(whole))

        # 2. DistributedDataParallel: the same all-reduce, hidden inside backward()
        ddp = nn.parallel.DistributedDataParallel(make_mlp())
        loss_fn(ddp(x[mine]), y[mine]).backward()
        ddp_diff = _max_diff(_grads(ddp.module), _grads(whole))

        # 3. a fixed number of DDP training steps, timed
        opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
        dist.barrier()
        start = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            loss_fn(ddp(x[mine]), y[mine]).backward()
            opt.step()
        dist.barrier()
        seconds = time.perf_counter() - start
        if rank == 0:
            queue.put({"manual_diff": manual_diff, "ddp_diff": ddp_diff, "seconds_per_step": seconds / steps})
    finally:
        dist.destroy_process_group()


def _pipeline_step(stage: nn.Module, rank: int, x: torch.Tensor, y: torch.Tensor, micro: int) -> None:
    """One GPipe step of this process's stage: every micro-batch forward, then every one backward."""
    xs, ys = torch.tensor_split(x, micro), torch.tensor_split(y, micro)
    if rank == 0:
        outs = [stage(xm) for xm in xs]
        sends = [dist.isend(out.detach().contiguous(), dst=1) for out in outs]
        for out in outs:
            grad = torch.empty_like(out)
            dist.recv(grad, src=1)
            out.backward(grad)
        for request in sends:
            request.wait()
    else:
        width = stage[0].in_features  # stage 1 starts with a Linear layer
        received = []
        for xm in xs:
            a = torch.empty(len(xm), width, dtype=torch.float64)
            dist.recv(a, src=0)
            received.append(a.requires_grad_())
        pairs = zip(received, ys, strict=True)
        losses = [nn.functional.cross_entropy(stage(a), ym) * len(ym) / len(y) for a, ym in pairs]
        for a, loss in zip(received, losses, strict=True):  # loss scaled by its share: the whole batch's mean
            loss.backward()
            dist.send(a.grad, dst=0)


def _pipeline_worker(rank: int, port: int, batch: int, micro: int, steps: int, queue) -> None:
    _join_group(rank, 2, port)
    try:
        x, y = make_batch(batch)
        whole = make_mlp()
        nn.functional.cross_entropy(whole(x), y).backward()
        stage = make_mlp()[:CUT] if rank == 0 else make_mlp()[CUT:]
        _pipeline_step(stage, rank, x, y, micro)
        mine = list(whole[:CUT].parameters() if rank == 0 else whole[CUT:].parameters())
        diff = _max_diff(_grads(stage), [p.grad for p in mine])
        opt = torch.optim.SGD(stage.parameters(), lr=0.1)
        dist.barrier()
        start = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            _pipeline_step(stage, rank, x, y, micro)
            opt.step()
        dist.barrier()
        queue.put({"rank": rank, "diff": diff, "seconds_per_step": (time.perf_counter() - start) / steps})
    finally:
        dist.destroy_process_group()


def run_pipeline(micro: int, batch: int = 256, steps: int = 20, timeout: float = 120.0) -> dict:
    """Train the MLP split into two stages in two gloo processes with `micro` micro-batches per step.

    Returns {"diff": the largest difference between a stage's gradient and the whole model's on the
    whole batch, over both stages; "seconds_per_step": the slower stage's}. Raises RuntimeError
    as :func:`run_data_parallel` does; every process is stopped before this returns.
    """
    figures = _launch(_pipeline_worker, 2, lambda port, queue: (port, batch, micro, steps, queue), timeout, 2)
    return {"diff": max(f["diff"] for f in figures),
            "seconds_per_step": max(f["seconds_per_step"] for f in figures)}  # fmt: skip


def run_data_parallel(world: int = 2, batch: int = 256, steps: int = 20, timeout: float = 120.0) -> dict:
    """Start `world` gloo processes on 127.0.0.1 and return rank 0's figures (see the module doc).

    Returns {"manual_diff", "ddp_diff", "seconds_per_step"}. Raises RuntimeError if a process
    fails or the run exceeds `timeout` seconds; every process is stopped before this returns.
    """
    return _launch(_worker, world, lambda port, queue: (world, port, batch, steps, queue), timeout, 1)[0]


def _launch(target, world: int, arguments, timeout: float, answers: int) -> list[dict]:
    """Run ``target(rank, *arguments(port, queue))`` in `world` spawned processes; the `answers` they put."""
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    port = free_port()
    procs = [ctx.Process(target=target, args=(r, *arguments(port, queue))) for r in range(world)]
    try:
        for p in procs:
            p.start()
        deadline = time.monotonic() + timeout
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
        if any(p.is_alive() for p in procs):
            raise RuntimeError(
                tr("the {world} processes did not finish within {timeout:g} s", world=world, timeout=timeout)
            )
        if any(p.exitcode != 0 for p in procs) or queue.empty():
            raise RuntimeError(tr("a process failed (exit codes {codes})", codes=[p.exitcode for p in procs]))
        return [queue.get() for _ in range(answers)]
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join()


def time_one_process(batch: int = 256, steps: int = 20, device: str = "cpu") -> float:
    """Seconds per SGD step of the same MLP on the whole batch in this process (one thread on CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, loss_fn = make_mlp().to(device), nn.CrossEntropyLoss()
        x, y = (t.to(device) for t in make_batch(batch))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(2):  # warm-up
            opt.zero_grad()
            loss_fn(model(x), y).backward()
        if device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        if device != "cpu":
            torch.cuda.synchronize()
        return (time.perf_counter() - start) / steps
    finally:
        torch.set_num_threads(threads)
