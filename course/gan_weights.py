"""Pretrained weights for notebook 09's conditional DCGAN generator, loaded into your own classes.

Notebook 09 trains a conditional DCGAN for a few hundred steps: enough to watch it learn, not
enough for good digits. To show what the method reaches, the course ships the generator of the
same conditional DCGAN trained by the notebook's own ``train_gan`` for :data:`PRETRAINED_STEPS`
steps, in ``data/cgan_generator.pt`` (checksummed like the rest of ``data/``).

The file holds no code, only tensors, in the order in which the Generator exercise's docstring
lists the layers (Linear, BatchNorm1d, ConvTranspose2d, BatchNorm2d, ConvTranspose2d; for each
layer its parameters, then its buffers, as torch's ``state_dict`` lists them).
:func:`load_pretrained_generator` copies them by position into *your*
``ConditionalGenerator(Generator(latent_dim=64 + 10))``, so the names of your attributes do not
matter, only the order in which you create the layers and their shapes::

    G = load_pretrained_generator(ConditionalGenerator(Generator(latent_dim=LATENT_DIM + 10)))

``python -m course.gan_weights`` trains the weights again. The course package holds no answer
to a graded exercise, so this command takes the model, the losses and the training step from
the solution cells of the source notebook ``notebooks/09_gan/gan.ipynb`` (the instructor's copy;
in a student release those cells are stubs and the command stops with a message). It executes
the notebook's definition cells on one torch thread, as the notebook runs, trains the conditional
DCGAN with the notebook's ``train_gan`` from seed 0, scores 2,000 samples with
``course.sample_score``, writes the file and prints its line for ``data/SHA256SUMS``. The recipe
is fixed; the bytes are not guaranteed across CPUs and torch versions (replace the SHA256SUMS line
with the printed one). It takes about 5 CPU-minutes.

Options: ``--steps N`` (default :data:`PRETRAINED_STEPS`), ``--output PATH``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch import nn

from .data import data_dir, data_path, save_weights
from .i18n import tr

__all__ = ["PRETRAINED_STEPS", "WEIGHTS", "layer_table", "load_pretrained_generator"]

WEIGHTS = "cgan_generator.pt"
"""Name of the weights file inside ``data/`` (listed in ``data/SHA256SUMS``)."""

PRETRAINED_STEPS = 6000
"""Training steps (batches of 64) of the shipped weights: notebook 09's train_gan, seed 0."""

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "09_gan" / "gan.ipynb"
CELLS = [
    "setup",
    "data",
    "generator",
    "discriminator",
    "discriminator_loss",
    "generator_loss",
    "train_step",
    "train-loop",
    "conditional_generator",
    "conditional_discriminator",
    "generate_digits",
]
"""Cells of the notebook that define what training needs, executed in this order."""


def layer_table(model: nn.Module) -> list[tuple[str, str, tuple[int, ...]]]:
    """Every entry of ``model.state_dict()`` in order: (key, "LayerType.attribute", shape)."""
    table = []
    for key, tensor in model.state_dict().items():
        owner, _, attribute = key.rpartition(".")
        layer = type(model.get_submodule(owner)).__name__
        table.append((key, f"{layer}.{attribute}", tuple(tensor.shape)))
    return table


def ordered_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state of `model` keyed "NN LayerType.attribute" (NN = position), floats as float32."""
    state = model.state_dict()
    return {
        f"{i:02d} {name}": (state[key].float() if state[key].is_floating_point() else state[key]).clone()
        for i, (key, name, _) in enumerate(layer_table(model))
    }


def load_pretrained_generator(model: nn.Module, path: str | Path | None = None) -> nn.Module:
    """Copy the pretrained conditional generator into `model` by position; returns it in eval mode.

    Args:
        model: ``ConditionalGenerator(Generator(latent_dim=64 + 10))`` built from your classes,
            whose layers are created in the order the Generator docstring lists them.
        path: a weights file; default ``data/cgan_generator.pt``, checksum verified.

    Raises:
        ValueError: the model's state entries differ in number or shape from the file's; the
            message shows the first difference (usually a layer created out of order or missing).
    """
    saved = torch.load(path or data_path(WEIGHTS), map_location="cpu", weights_only=True)
    mine = layer_table(model)
    for i, ((key, name, shape), (their_name, tensor)) in enumerate(zip(mine, saved.items(), strict=False)):
        if shape != tuple(tensor.shape):
            raise ValueError(
                tr(
                    "entry {i} of your model's state_dict, {key} ({name}, shape {shape}), meets "
                    "{theirs} of shape {their_shape} in the pretrained file: "
                    "create the layers in __init__ in the order the Generator docstring lists them",
                    i=i,
                    key=key,
                    name=name,
                    shape=shape,
                    theirs=their_name.split(" ", 1)[1],
                    their_shape=tuple(tensor.shape),
                )
            )
    if len(mine) != len(saved):
        names = [name for _, name, _ in mine]
        raise ValueError(
            tr(
                "your model's state_dict has {mine} entries, the pretrained file {saved}: "
                "yours are {names}, the file's are {theirs}",
                mine=len(mine),
                saved=len(saved),
                names=names,
                theirs=[k.split(" ", 1)[1] for k in saved],
            )
        )
    model.load_state_dict({key: tensor for (key, _, _), tensor in zip(mine, saved.values(), strict=True)})
    return model.eval()


def notebook_namespace() -> dict:
    """Execute the definition cells (:data:`CELLS`) of the source notebook; return their namespace."""
    import matplotlib

    matplotlib.use("Agg")
    if not NOTEBOOK.is_file():
        raise SystemExit(f"{NOTEBOOK} is missing: training needs the course's source notebook")
    cells = {c.get("id"): c for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]}
    namespace: dict = {"__name__": "__main__"}
    for cell_id in CELLS:
        code = "".join(cells[cell_id]["source"])
        try:
            exec(compile(code, f"<{NOTEBOOK.name} cell {cell_id}>", "exec"), namespace)  # noqa: S102
        except NotImplementedError as e:
            raise SystemExit(f"cell {cell_id!r} of {NOTEBOOK} is a stub: this needs the source notebook") from e
    return namespace


def train(steps: int = PRETRAINED_STEPS) -> tuple[nn.Module, dict, dict]:
    """Train the notebook's conditional DCGAN for `steps` steps from seed 0.

    Returns:
        (generator in eval mode, training history of train_gan, the notebook's namespace).
    """
    ns = notebook_namespace()
    torch.manual_seed(0)
    G = ns["ConditionalGenerator"](ns["Generator"](latent_dim=ns["LATENT_DIM"] + 10))
    D = ns["ConditionalDiscriminator"](ns["Discriminator"](in_channels=1 + 10))
    hist = ns["train_gan"](G, D, steps, conditional=True, snapshots=max(1, steps // 500), desc="conditional DCGAN")
    return G.eval(), hist, ns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=PRETRAINED_STEPS)
    parser.add_argument("--output", type=Path, default=data_dir() / WEIGHTS)
    args = parser.parse_args()
    cpu = time.process_time()
    G, hist, ns = train(args.steps)
    print(f"trained {args.steps} steps in {time.process_time() - cpu:.0f} CPU seconds")
    for step, score in zip(hist["step"], hist["scores"], strict=True):
        print(f"step {step:>6}: {score}")
    images, labels = ns["generate_digits"](G, range(10), per_digit=200, seed=2024)
    print("2,000 samples, 200 of each digit:", ns["score_samples"](images, requested=labels))
    save_weights(ordered_state(G), args.output, WEIGHTS)


if __name__ == "__main__":
    main()
