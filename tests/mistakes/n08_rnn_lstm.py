"""08 RNN, LSTM and GRU: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong, edited

NOTEBOOK = "08_rnn_lstm"

_RNN_BACKWARD = """
def rnn_backward(dhs, x, h0, hs, Wxh, Whh):
    N, T, H = hs.shape
    dx = np.zeros_like(x, dtype=np.float64)
    dWxh = np.zeros_like(Wxh, dtype=np.float64)
    dWhh = np.zeros_like(Whh, dtype=np.float64)
    db = np.zeros(H)
    dh_next = np.zeros((N, H))
    for t in reversed(range(T)):
        da = ({dh}) * (1.0 - {h_local} ** 2)
        h_prev = hs[:, t - 1] if t > 0 else h0
        dWxh += x[:, t].T @ da
        dWhh {op} h_prev.T @ da
        db += da.sum(axis=0)
        dx[:, t] = da @ Wxh.T
        dh_next = da @ Whh.T
    return {{"dx": dx, "dh0": {dh0}, "dWxh": dWxh, "dWhh": dWhh, "db": db}}
"""


def _rnn_backward(dh="dhs[:, t] + dh_next", h_local="hs[:, t]", op="+=", dh0="dh_next"):
    return _RNN_BACKWARD.format(dh=dh, h_local=h_local, op=op, dh0=dh0)


_CLIP = """
def clip_by_global_norm(grads, max_norm):
    total_norm = {total}
    scale = {scale}
    return [{clipped} for g in grads], total_norm
"""


def _clip(
    total="float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))",
    scale="max_norm / total_norm if total_norm > max_norm else 1.0",
    clipped="np.asarray(g, dtype=np.float64) * scale",
):
    return _CLIP.format(total=total, scale=scale, clipped=clipped)


_LSTM = """
def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + {b_hh}
    {gates} = (a[:, k * H:(k + 1) * H] for k in range(4))
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c = {c}
    h = {h}
    return h, c
"""


def _lstm(gates="i, f, g, o", c="f * c_prev + i * g", h="o * np.tanh(c)", b_hh="b_hh"):
    return _LSTM.format(gates=gates, c=c, h=h, b_hh=b_hh)


_GRU = """
def gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    H = h_prev.shape[1]
    gi = x @ W_ih.T + b_ih
    gh = h_prev @ W_hh.T + {b_hh}
    {order} = (slice(k * H, (k + 1) * H) for k in range(3))
    r = sigmoid(gi[:, R] + gh[:, R])
    z = sigmoid(gi[:, Z] + gh[:, Z])
    n = np.tanh(gi[:, N] + r * gh[:, N])
    return {out}
"""


def _gru(order="R, Z, N", out="(1.0 - z) * n + z * h_prev", b_hh="b_hh"):
    return _GRU.format(order=order, out=out, b_hh=b_hh)


_FORGET = """
def init_forget_bias(lstm, value=1.0):
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith({ih}):
                p[{rows}] = {value}
            elif name.startswith({hh_name}):
                p[{rows}] = {hh}
"""


def _forget(ih='"bias_ih"', hh_name='"bias_hh"', rows="H:2 * H", value="value", hh="0.0"):
    return _FORGET.format(ih=ih, hh_name=hh_name, rows=rows, value=value, hh=hh)


# rnn_step
RNN_STEP = """
def rnn_step(x, h_prev, Wxh, Whh, b):
    return np.tanh(x @ Wxh + h_prev @ Whh.T + b)
"""

CASES = [
    Wrong("rnn_step", "applied as Whh @ h (transposed)", RNN_STEP),
    Wrong("rnn_step", "the bias is left out", edited(RNN_STEP, "Whh.T + b)", "Whh)")),
    Wrong(
        "rnn_step",
        "the tanh is left out",
        """
        def rnn_step(x, h_prev, Wxh, Whh, b):
            return x @ Wxh + h_prev @ Whh + b
    """,
    ),
    Wrong(
        "rnn_step",
        "calls torch_rnn_cell",
        """
        def rnn_step(x, h_prev, Wxh, Whh, b):
            return torch_rnn_cell(x, h_prev, Wxh, Whh, b)
    """,
    ),
    Wrong(
        "rnn_step",
        "calls torch.rnn_tanh_cell",
        """
        def rnn_step(x, h_prev, Wxh, Whh, b):
            t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))
            zero = torch.zeros(Whh.shape[1], dtype=torch.float64)
            return torch.rnn_tanh_cell(t(x), t(h_prev), t(Wxh).T, t(Whh).T, t(b), zero).numpy()
    """,
    ),
    Right(
        "rnn_step",
        "einsum, one row of the batch at a time",
        """
        def rnn_step(x, h_prev, Wxh, Whh, b):
            return np.stack([np.tanh(np.einsum("d,dh->h", xi, Wxh) + np.einsum("k,kh->h", hi, Whh) + b)
                             for xi, hi in zip(x, h_prev)])
    """,
    ),
    # rnn_forward
    Wrong(
        "rnn_forward",
        "every step starts from h0",
        """
        def rnn_forward(x, h0, Wxh, Whh, b, step):
            return np.stack([step(x[:, t], h0, Wxh, Whh, b) for t in range(x.shape[1])], axis=1)
    """,
    ),
    Wrong(
        "rnn_forward",
        "off by one in time",
        """
        def rnn_forward(x, h0, Wxh, Whh, b, step):
            hs, h = [], h0
            for t in range(x.shape[1]):
                hs.append(h)
                h = step(x[:, t], h, Wxh, Whh, b)
            return np.stack(hs, axis=1)
    """,
    ),
    Wrong(
        "rnn_forward",
        "is never called",
        """
        def my_step(x, h_prev, Wxh, Whh, b):
            return np.tanh(x @ Wxh + h_prev @ Whh + b)


        def rnn_forward(x, h0, Wxh, Whh, b, step):
            hs, h = [], h0
            for t in range(x.shape[1]):
                h = my_step(x[:, t], h, Wxh, Whh, b)
                hs.append(h)
            return np.stack(hs, axis=1)
    """,
    ),
    Wrong(
        "rnn_forward",
        "calls torch.nn.RNN",
        """
        def rnn_forward(x, h0, Wxh, Whh, b, step):
            with torch.no_grad():
                return torch_rnn(Wxh, Whh, b)(to_torch(x), to_torch(h0)[None])[0].numpy()
    """,
    ),
    Right(
        "rnn_forward",
        "a list of states stacked at the end",
        """
        def rnn_forward(x, h0, Wxh, Whh, b, step):
            states = [h0]
            for x_t in np.moveaxis(x, 1, 0):
                states.append(step(x_t, states[-1], Wxh, Whh, b))
            return np.stack(states[1:], axis=1)
    """,
    ),
    # rnn_backward
    Wrong("rnn_backward", "assigned (=) at each step instead of accumulated", _rnn_backward(op="=")),
    Wrong("rnn_backward", "not carried back through Whh", _rnn_backward(dh="dhs[:, t]")),
    Wrong("rnn_backward", "dh0 is left at zero", _rnn_backward(dh0="np.zeros_like(h0)")),
    Wrong(
        "rnn_backward",
        "calls autograd (.backward()",
        """
        def rnn_backward(dhs, x, h0, hs, Wxh, Whh):
            b = (np.arctanh(hs[:, 0]) - x[:, 0] @ Wxh - h0 @ Whh).mean(axis=0)  # the bias, read off the first step
            xt, h0t = to_torch(x).requires_grad_(True), to_torch(h0).requires_grad_(True)
            W, U, bt = (to_torch(a).requires_grad_(True) for a in (Wxh, Whh, b))
            h, out = h0t, []
            for t in range(x.shape[1]):
                h = torch.tanh(xt[:, t] @ W + h @ U + bt)
                out.append(h)
            (torch.stack(out, 1) * to_torch(dhs)).sum().backward()
            return {"dx": xt.grad.numpy(), "dh0": h0t.grad.numpy(), "dWxh": W.grad.numpy(), "dWhh": U.grad.numpy(),
                    "db": bt.grad.numpy()}
    """,
    ),
    Wrong(
        "rnn_backward",
        "calls autograd (.backward() or torch.autograd.grad)",
        """
        def rnn_backward(dhs, x, h0, hs, Wxh, Whh):
            b = (np.arctanh(hs[:, 0]) - x[:, 0] @ Wxh - h0 @ Whh).mean(axis=0)
            inputs = [to_torch(a).requires_grad_(True) for a in (x, h0, Wxh, Whh, b)]
            xt, h, W, U, bt = inputs
            out = []
            for t in range(x.shape[1]):
                h = torch.tanh(xt[:, t] @ W + h @ U + bt)
                out.append(h)
            grads = torch.autograd.grad((torch.stack(out, 1) * to_torch(dhs)).sum(), inputs)
            return dict(zip(("dx", "dh0", "dWxh", "dWhh", "db"), (g.numpy() for g in grads)))
    """,
    ),
    Wrong(
        "rnn_backward",
        "db has shape",
        """
        def rnn_backward(dhs, x, h0, hs, Wxh, Whh):
            N, T, H = hs.shape
            dx, dWxh, dWhh, db = np.zeros(x.shape), np.zeros(Wxh.shape), np.zeros(Whh.shape), np.zeros((N, H))
            dh_next = np.zeros((N, H))
            for t in reversed(range(T)):
                da = (dhs[:, t] + dh_next) * (1.0 - hs[:, t] ** 2)
                h_prev = hs[:, t - 1] if t > 0 else h0
                dWxh += x[:, t].T @ da
                dWhh += h_prev.T @ da
                db += da
                dx[:, t] = da @ Wxh.T
                dh_next = da @ Whh.T
            return {"dx": dx, "dh0": dh_next, "dWxh": dWxh, "dWhh": dWhh, "db": db}
    """,
    ),
    Right(
        "rnn_backward",
        "the time loop written with einsum and a stacked h_prev",
        """
        def rnn_backward(dhs, x, h0, hs, Wxh, Whh):
            N, T, H = hs.shape
            h_prev = np.concatenate([h0[:, None], hs[:, :-1]], axis=1)
            das = np.zeros_like(hs)
            carry = np.zeros((N, H))
            for t in range(T - 1, -1, -1):
                das[:, t] = (dhs[:, t] + carry) * (1.0 - hs[:, t] * hs[:, t])
                carry = das[:, t] @ Whh.T
            return {"dx": np.einsum("nth,dh->ntd", das, Wxh), "dh0": carry,
                    "dWxh": np.einsum("ntd,nth->dh", x, das), "dWhh": np.einsum("ntk,nth->kh", h_prev, das),
                    "db": das.sum(axis=(0, 1))}
    """,
    ),
    # clip_by_global_norm
    Wrong(
        "clip_by_global_norm",
        "each entry was clipped to [-max_norm, max_norm]",
        _clip(clipped="np.clip(g, -max_norm, max_norm)"),
    ),
    Wrong(
        "clip_by_global_norm",
        "each gradient was clipped separately",
        """
        def clip_by_global_norm(grads, max_norm):
            total_norm = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))
            out = []
            for g in grads:
                n = np.linalg.norm(g)
                out.append(g * (max_norm / n) if n > max_norm else g.copy())
            return out, total_norm
    """,
    ),
    Wrong(
        "clip_by_global_norm",
        "the norms of the separate gradients are added",
        _clip(total="float(sum(np.linalg.norm(g) for g in grads))"),
    ),
    Wrong("clip_by_global_norm", "rescaled to max_norm even below the threshold", _clip(scale="max_norm / total_norm")),
    Wrong(
        "clip_by_global_norm",
        "g *= scale scales the caller's array in place",
        """
        def clip_by_global_norm(grads, max_norm):
            total_norm = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))
            if total_norm > max_norm:
                for g in grads:
                    g *= max_norm / total_norm
            return grads, total_norm
    """,
    ),
    Wrong(
        "clip_by_global_norm",
        "(torch's epsilon)",
        _clip(scale="max_norm / (total_norm + 1e-6) if total_norm > max_norm else 1.0"),
    ),
    Wrong(
        "clip_by_global_norm",
        "calls torch.nn.utils.clip_grad_norm_",
        """
        def clip_by_global_norm(grads, max_norm):
            params = [torch.nn.Parameter(torch.zeros(np.shape(g), dtype=torch.float64)) for g in grads]
            for p, g in zip(params, grads):
                p.grad = torch.tensor(np.array(g, dtype=np.float64))
            total = torch.nn.utils.clip_grad_norm_(params, max_norm)
            return [p.grad.numpy() for p in params], float(total)
    """,
    ),
    Right(
        "clip_by_global_norm",
        "the norm of all entries concatenated, np.minimum for the scale",
        _clip(
            total="float(np.linalg.norm(np.concatenate([np.ravel(g) for g in grads])))",
            scale="float(np.minimum(1.0, max_norm / total_norm)) if total_norm > 0 else 1.0",
            clipped="np.multiply(g, scale)",
        ),
    ),
    # lstm_cell
    Wrong("lstm_cell", "the order i, f, o, g", _lstm(gates="i, f, o, g")),
    Wrong("lstm_cell", "the order f, i, g, o", _lstm(gates="f, i, g, o")),
    Wrong("lstm_cell", "the tanh of the cell state is missing", _lstm(h="o * c")),
    Wrong("lstm_cell", "the input gate is not applied to the candidate", _lstm(c="f * c_prev + g")),
    Wrong("lstm_cell", "b_hh is left out", _lstm(b_hh="0")),
    Wrong(
        "lstm_cell",
        "calls torch.nn.LSTMCell",
        """
        def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
            cell = torch.nn.LSTMCell(W_ih.shape[1], W_hh.shape[1]).double()
            with torch.no_grad():
                for p, a in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh), (W_ih, W_hh, b_ih, b_hh)):
                    p.copy_(torch.tensor(a))
                h, c = cell(torch.tensor(x), (torch.tensor(h_prev), torch.tensor(c_prev)))
            return h.numpy(), c.numpy()
    """,
    ),
    Wrong(
        "lstm_cell",
        "calls torch.nn.LSTM",
        """
        def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
            with torch.no_grad():
                _, (h, c) = torch_gated("lstm", W_ih, W_hh, b_ih, b_hh)(
                    to_torch(x)[:, None], (to_torch(h_prev)[None], to_torch(c_prev)[None]))
            return h[0].numpy(), c[0].numpy()
    """,
    ),
    Wrong(
        "lstm_cell",
        "calls torch.nn.LSTM",
        """
        from course.lstm_viewer import lstm_gate_trace


        def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
            # the viewer's gates of a one-step LSTM that reads [x, h_prev]: every gate, no formula
            D, H = x.shape[1], h_prev.shape[1]
            layer = torch.nn.LSTM(D + H, H).double()
            with torch.no_grad():
                layer.weight_ih_l0.copy_(torch.tensor(np.concatenate([W_ih, W_hh], axis=1)))
                layer.weight_hh_l0.zero_()
                layer.bias_ih_l0.copy_(torch.tensor(b_ih))
                layer.bias_hh_l0.copy_(torch.tensor(b_hh))
            rows = [lstm_gate_trace(layer, np.concatenate([xn, hn])[None]) for xn, hn in zip(x, h_prev)]
            i, f, g, o = (np.concatenate([getattr(r, k) for r in rows]) for k in "ifgo")
            c = f * c_prev + i * g
            return o * np.tanh(c), c
    """,
    ),
    Wrong(
        "lstm_cell",
        "calls course.lstm_viewer.view_lstm_gates",
        """
        def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
            # course.lstm_viewer accepts a state_dict: its trace of a one-step LSTM reading [x, h_prev]
            from course.lstm_viewer import view_lstm_gates
            import matplotlib.pyplot as plt
            weights = {"weight_ih_l0": np.concatenate([W_ih, W_hh], axis=1), "weight_hh_l0": 0 * W_hh,
                       "bias_ih_l0": b_ih, "bias_hh_l0": b_hh}
            view_lstm_gates(weights, np.concatenate([x[:1], h_prev[:1]], axis=1), interactive=False)
            plt.close("all")
            raise NotImplementedError("the gates are drawn, not returned")
    """,
    ),
    Right(
        "lstm_cell",
        "each gate from its own slice of the weights, np.split",
        """
        def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
            gates = [x @ wi.T + h_prev @ wh.T + bi + bh
                     for wi, wh, bi, bh in zip(*(np.split(w, 4, axis=0) for w in (W_ih, W_hh, b_ih, b_hh)))]
            i, f, o = (1.0 / (1.0 + np.exp(-gates[k])) for k in (0, 1, 3))
            c = f * c_prev + i * np.tanh(gates[2])
            return o * np.tanh(c), c
    """,
    ),
    # gru_cell
    Wrong("gru_cell", "the roles of z and 1 - z are swapped", _gru(out="z * n + (1.0 - z) * h_prev")),
    Wrong("gru_cell", "the order z, r, n", _gru(order="Z, R, N")),
    Wrong("gru_cell", "b_hh is left out", _gru(b_hh="0")),
    Wrong(
        "gru_cell",
        "calls torch.nn.GRUCell",
        """
        def gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh):
            cell = torch.nn.GRUCell(W_ih.shape[1], W_hh.shape[1]).double()
            with torch.no_grad():
                for p, a in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh), (W_ih, W_hh, b_ih, b_hh)):
                    p.copy_(torch.tensor(a))
                return cell(torch.tensor(x), torch.tensor(h_prev)).numpy()
    """,
    ),
    Right(
        "gru_cell",
        "the update written as h + (1 - z)(n - h), the gates from separate slices",
        """
        def gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh):
            (Wr, Wz, Wn), (Ur, Uz, Un) = np.split(W_ih, 3), np.split(W_hh, 3)
            (br, bz, bn), (cr, cz, cn) = np.split(b_ih, 3), np.split(b_hh, 3)
            r = 1.0 / (1.0 + np.exp(-(x @ Wr.T + br + h_prev @ Ur.T + cr)))
            z = 1.0 / (1.0 + np.exp(-(x @ Wz.T + bz + h_prev @ Uz.T + cz)))
            n = np.tanh(x @ Wn.T + bn + r * (h_prev @ Un.T + cn))
            return h_prev + (1.0 - z) * (n - h_prev)
    """,
    ),
    # init_forget_bias
    Wrong("init_forget_bias", "the input gate's block", _forget(rows=":H")),
    Wrong("init_forget_bias", "the forget block of both bias_ih and bias_hh is set to value", _forget(hh="value")),
    Wrong("init_forget_bias", "bias_hh's forget block is not zeroed", _forget(hh_name='"nothing"')),
    Wrong("init_forget_bias", "the whole bias_ih is set", _forget(rows=":")),
    Wrong("init_forget_bias", "set every layer", _forget(ih='"bias_ih_l0"', hh_name='"bias_hh_l0"')),
    Wrong(
        "init_forget_bias",
        "with torch.no_grad()",
        """
        def init_forget_bias(lstm, value=1.0):
            H = lstm.hidden_size
            for name, p in lstm.named_parameters():
                if name.startswith("bias_ih"):
                    p[H:2 * H] = value
                elif name.startswith("bias_hh"):
                    p[H:2 * H] = 0.0
    """,
    ),
    Wrong(
        "init_forget_bias",
        "the parameters were replaced",
        """
        def init_forget_bias(lstm, value=1.0):
            H = lstm.hidden_size
            for name, p in list(lstm.named_parameters()):
                if name.startswith("bias"):
                    new = p.detach().clone()
                    new[H:2 * H] = value if name.startswith("bias_ih") else 0.0
                    setattr(lstm, name, torch.nn.Parameter(new))
    """,
    ),
    Right(
        "init_forget_bias",
        "through .data and the layer-by-layer attribute names",
        """
        def init_forget_bias(lstm, value=1.0):
            H = lstm.hidden_size
            for layer in range(lstm.num_layers):
                for suffix in ("", "_reverse") if lstm.bidirectional else ("",):
                    getattr(lstm, f"bias_ih_l{layer}{suffix}").data[H:2 * H] = value
                    getattr(lstm, f"bias_hh_l{layer}{suffix}").data[H:2 * H].zero_()
    """,
    ),
]

# lstm_cell_backward
_LSTM_BACKWARD = """
def lstm_cell_backward(dh_next, dc_next, cache):
    x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh = cache
    H = h_prev.shape[1]
    a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    {gates} = (a[:, k * H:(k + 1) * H] for k in range(4))
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    dc = {dc}
    dsig = lambda s: {dsig}
    da = {{"i": dc * g * dsig(i), "f": dc * c_prev * dsig(f), "g": dc * i * (1.0 - g ** 2),
          "o": dh_next * tanh_c * dsig(o)}}
    da = np.concatenate([da[k] for k in {order!r}], axis=1)
    return da @ W_ih, da @ W_hh, {dc_prev}, da.T @ x, da.T @ h_prev, da.sum(axis=0)
"""


def _lstm_backward(
    gates="i, f, g, o", dc="dc_next + dh_next * o * (1.0 - tanh_c ** 2)", dsig="s * (1.0 - s)", dc_prev="dc * f"
):
    order = "".join(gates.split(", "))
    return _LSTM_BACKWARD.format(gates=gates, dc=dc, dsig=dsig, dc_prev=dc_prev, order=order)


CASES += [
    Right("lstm_cell_backward", "the gates named by block, stacked back in i, f, g, o order", _lstm_backward()),
    Wrong(
        "lstm_cell_backward",
        "the path from dh through tanh(c) into the cell state is left out",
        _lstm_backward(dc="dc_next"),
    ),
    Wrong(
        "lstm_cell_backward",
        "the derivative of tanh(c) is written 1 - c^2",
        _lstm_backward(dc="dc_next + dh_next * o * (1.0 - c ** 2)"),
    ),
    Wrong(
        "lstm_cell_backward",
        "dc_next is not added to the cell-state gradient",
        _lstm_backward(dc="dh_next * o * (1.0 - tanh_c ** 2)"),
    ),
    Wrong("lstm_cell_backward", "it must pass through the forget gate", _lstm_backward(dc_prev="dc")),
    Wrong(
        "lstm_cell_backward",
        "the sigmoid's derivative is written as s instead of s * (1 - s)",
        _lstm_backward(dsig="s"),
    ),
    Wrong("lstm_cell_backward", "the order i, f, o, g", _lstm_backward(gates="i, f, o, g")),
    Wrong("lstm_cell_backward", "the order f, i, g, o", _lstm_backward(gates="f, i, g, o")),
    Wrong(
        "lstm_cell_backward",
        "calls autograd (.backward() or torch.autograd.grad)",
        """
        def lstm_cell_backward(dh_next, dc_next, cache):
            t = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in cache]
            x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh = t
            H = h_prev.shape[1]
            zi, zf, zg, zo = (x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh).split(H, dim=1)
            c = torch.sigmoid(zf) * c_prev + torch.sigmoid(zi) * torch.tanh(zg)
            h = torch.sigmoid(zo) * torch.tanh(c)
            ((h * torch.tensor(dh_next)).sum() + (c * torch.tensor(dc_next)).sum()).backward()
            return tuple(a.grad.numpy() for a in (x, h_prev, c_prev, W_ih, W_hh, b_ih))
    """,
    ),
]
