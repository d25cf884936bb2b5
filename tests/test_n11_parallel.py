"""Notebook 11's real processes: all-reduce, DDP and a two-stage pipeline equal one process; they always stop."""

import multiprocessing

import pytest

import course.parallel as par


def _children() -> list:
    return [p for p in multiprocessing.active_children() if p.is_alive()]


def test_two_gloo_processes_give_the_whole_batch_gradient():
    figures = par.run_data_parallel(world=2, batch=32, steps=1)
    assert figures["manual_diff"] < 1e-12 and figures["ddp_diff"] < 1e-12
    assert figures["seconds_per_step"] > 0
    assert not _children()


def test_processes_are_stopped_when_the_run_is_cut_short():
    with pytest.raises(RuntimeError, match="did not finish"):
        par.run_data_parallel(world=2, batch=32, steps=1, timeout=0.1)
    assert not _children(), "a worker process outlived the run"


def test_one_process_timing_is_positive():
    assert par.time_one_process(batch=8, steps=1) > 0


@pytest.mark.parametrize("micro", [1, 3])
def test_two_pipeline_stages_in_two_processes_give_the_whole_models_gradient(micro):
    figures = par.run_pipeline(micro, batch=30, steps=1)
    assert figures["diff"] < 1e-12
    assert figures["seconds_per_step"] > 0
    assert not _children()
