"""A character-level LSTM language model, and its pretrained weights: ``python -m course.char_lstm``.

Notebook 08 trains :class:`CharLSTM` on the tiny-Shakespeare corpus for a few hundred steps:
enough to watch the loss fall, not enough for convincing text. To show what the same model and
the same recipe reach with more work, the course ships weights trained for
:data:`PRETRAINED_STEPS` steps in ``data/char_lstm.pt`` (checksummed like the rest of ``data/``)::

    model = load_pretrained_char_lstm()            # a CharLSTM in eval mode
    logits, state = model(torch.tensor([[0, 1]]))  # (1, 2, 65) logits of the next character

The model: each character id is embedded in 64 dimensions, read by one ``nn.LSTM`` layer of 256
units, and a linear layer turns each hidden state into logits over the vocabulary::

    ids (N, T) -> embedding (N, T, 64) -> LSTM (N, T, 256) -> linear (N, T, V) logits

The recipe (the notebook's ``train_char_lstm`` with a larger step budget): the first 90% of the
corpus is cut into 32 parallel streams; each step reads the next 50 characters of every stream
(truncated backpropagation through time, the LSTM state carried over but detached); Adam at 4e-3
with the learning rate falling linearly to 5% of that over the steps; gradients clipped to norm 1;
seed 0, one torch thread. The file holds tensors and the vocabulary only, no code.

Running this module trains the weights again, reports the validation loss (nats per character on
the last 10% of the corpus), writes the file and prints its line for ``data/SHA256SUMS``. The
recipe is fixed; the bytes are not guaranteed across CPUs and torch versions (replace the
SHA256SUMS line with the printed one). It takes about 8 CPU-minutes.

Options: ``--steps N`` (default :data:`PRETRAINED_STEPS`), ``--output PATH``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data import data_dir, data_path, load_shakespeare, save_weights

__all__ = [
    "PRETRAINED_STEPS",
    "WEIGHTS",
    "CharLSTM",
    "corpus_ids",
    "load_pretrained_char_lstm",
    "train",
    "validation_loss",
]

WEIGHTS = "char_lstm.pt"
"""Name of the weights file inside ``data/`` (listed in ``data/SHA256SUMS``)."""
PRETRAINED_STEPS = 10_000
"""Training steps of the shipped weights (about 16 passes over the training text)."""
SEED = 0
BATCH, SEQ_LEN, LR, CLIP = 32, 50, 4e-3, 1.0


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> linear: logits of the next character after each character read.

    Args:
        chars: the vocabulary; character ``chars[k]`` has id ``k``.
        embed, hidden, layers: embedding width, LSTM units per layer, stacked LSTM layers.
    """

    def __init__(self, chars: str | list[str], embed: int = 64, hidden: int = 256, layers: int = 1) -> None:
        super().__init__()
        self.chars = list(chars)
        self.embed = nn.Embedding(len(self.chars), embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, len(self.chars))

    def forward(
        self, ids: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """ids (N, T) int64 -> (logits (N, T, V), state (h, c), each (layers, N, hidden))."""
        out, state = self.lstm(self.embed(ids), state)
        return self.head(out), state


def corpus_ids() -> tuple[str, torch.Tensor, torch.Tensor]:
    """The vocabulary (sorted characters), training ids (first 90%) and validation ids (last 10%)."""
    text = load_shakespeare()
    chars = "".join(sorted(set(text)))
    index = {ch: k for k, ch in enumerate(chars)}
    ids = torch.tensor([index[ch] for ch in text], dtype=torch.long)
    split = int(0.9 * len(ids))
    return chars, ids[:split], ids[split:]


@torch.no_grad()
def validation_loss(model: CharLSTM, ids: torch.Tensor, characters: int, streams: int = 50) -> float:
    """Mean cross-entropy (nats/char) of predicting ids[1 : characters + 1] (1-D int64) from their past.

    The first `characters` ids are read as `streams` parallel pieces, each from a zero state.
    """
    model.eval()
    length = min(characters, len(ids) - 1) // streams
    x = ids[: streams * length].view(streams, length)
    y = ids[1 : streams * length + 1].view(streams, length)
    logits, _ = model(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    model.train()
    return float(loss)


def train(model: CharLSTM, train_ids: torch.Tensor, steps: int, *, seed: int = SEED) -> list[float]:
    """Train `model` for `steps` steps of truncated BPTT on train_ids (1-D int64); returns the batch losses."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    streams = train_ids[: len(train_ids) // BATCH * BATCH].view(BATCH, -1)
    pos, state, losses = 0, None, []
    bar = tqdm(range(steps), desc="char-LSTM", unit="step")
    for step in bar:
        if pos + SEQ_LEN + 1 > streams.shape[1]:
            pos, state = 0, None  # a new pass over the text
        x, y = streams[:, pos : pos + SEQ_LEN], streams[:, pos + 1 : pos + SEQ_LEN + 1]
        pos += SEQ_LEN
        for group in opt.param_groups:
            group["lr"] = LR * max(0.05, 1.0 - step / steps)
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state)  # keep the state, cut the graph
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    return losses


def load_pretrained_char_lstm(path: str | Path | None = None) -> CharLSTM:
    """The shipped CharLSTM (checksum verified unless `path` is given), on the CPU, in eval mode."""
    saved = torch.load(path or data_path(WEIGHTS), map_location="cpu", weights_only=True)
    model = CharLSTM(saved["chars"]).float()  # float32 whatever torch's default dtype
    model.load_state_dict(saved["state_dict"])
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=PRETRAINED_STEPS)
    parser.add_argument("--output", type=Path, default=data_dir() / WEIGHTS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    chars, train_ids, val_ids = corpus_ids()
    torch.manual_seed(SEED)
    model = CharLSTM(chars)
    start = time.process_time()
    losses = train(model, train_ids, args.steps)
    print(f"{args.steps} steps in {time.process_time() - start:.0f} CPU s; last batch loss {losses[-1]:.3f}")
    for characters in (20_000, len(val_ids)):
        loss = validation_loss(model, val_ids, characters)
        print(f"validation loss on {characters:,} characters: {loss:.4f} nats/char")
    state = {k: v.float() for k, v in model.state_dict().items()}
    save_weights({"chars": chars, "state_dict": state}, args.output, WEIGHTS)


if __name__ == "__main__":
    main()
