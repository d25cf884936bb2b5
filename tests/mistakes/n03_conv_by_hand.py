"""03 Convolution by hand: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong, edited

NOTEBOOK = "03_conv_by_hand"

_CONV_LOOP = """
def conv_forward(x, w, b, stride=1, pad=0):
    x = np.asarray(x, dtype=np.float64)
    N, C, H, W = x.shape
    F_out, _, HH, WW = w.shape
    H_out = (H + 2 * pad - HH) // {step} + 1
    W_out = (W + 2 * pad - WW) // {step} + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F_out, H_out, W_out))
    for n in range(N):
        for f in range(F_out):
            for i in range(H_out):
                for j in range(W_out):
                    window = xp[n, :, i * {step}:i * {step} + HH, j * {step}:j * {step} + WW]
                    out[n, f, i, j] = {body}
    return out
"""

_POOL_BACKWARD = """
def pool_backward(dout, x, size, stride, mode="max"):
    x = np.asarray(x, dtype=np.float64)
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        rows, cols = slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)
        window = x[n, c, rows, cols]
        if mode == "max":
            {max_line}
        else:
            dx[n, c, rows, cols] {op} dout[n, c, i, j] / (size * size)
    return dx
"""

_DX_FULL = """
def conv_dx_full(dout, w, x_shape, stride=1, pad=0):
    N, F_out, H_out, W_out = dout.shape
    _, C, HH, WW = w.shape
    H, W = x_shape[2], x_shape[3]
    step = {step}
    spread = np.zeros((N, F_out, (H_out - 1) * step + 1, (W_out - 1) * step + 1))
    spread[:, :, ::step, ::step] = dout
    spread = np.pad(spread, ((0, 0), (0, 0), (HH - 1, HH - 1), (WW - 1, WW - 1)))
    full = torch_conv2d(spread, {kernel})
    {finish}
"""
_DX_PLACE = (
    "dx_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad)); "
    "dx_pad[:, :, :full.shape[2], :full.shape[3]] = full; return dx_pad[:, :, pad:pad + H, pad:pad + W]"
)
_ROT = "w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)"

CONV1D = """
def conv1d(x, w, mode="full"):
    if mode not in ("full", "same", "valid"):
        raise ValueError(mode)
    x, w = np.asarray(x, float), np.asarray(w, float)
    n, k = len(x), len(w)
    padded = np.concatenate([np.zeros(k - 1), x, np.zeros(k - 1)])
    full = np.array([np.dot(padded[i:i + k], w[::-1]) for i in range(n + k - 1)])
    return {"full": full, "same": full[k // 2:k // 2 + n], "valid": full[k - 1:n]}[mode]
"""

CASES = [
    Wrong(
        "conv1d",
        "the kernel is not flipped",
        edited(
            CONV1D,
            '[::-1]) for i in range(n + k - 1)])\n    return {"full": full, "same": full[k // 2:k',
            ') for i in range(n + k - 1)])\n    return {"full": full, "same": full[(k - 1) // 2:(k - 1)',
        ),
    ),
    Wrong("conv1d", "starts at K // 2", CONV1D),
    Wrong(
        "conv1d",
        "calls numpy.convolve",
        """
        def conv1d(x, w, mode="full"):
            if mode not in ("full", "same", "valid"):
                raise ValueError(mode)
            return np.convolve(x, w, mode).astype(float)
    """,
    ),
    Wrong(
        "zero_pad",
        "padded the channel axis too",
        """
        def zero_pad(x, pad, layout="CHW"):
            if layout not in ("CHW", "HWC"):
                raise ValueError(layout)
            return np.pad(x, pad)
    """,
    ),
]

CONV_OUTPUT_SIZE = """
def conv_output_size(n, f, pad=0, stride=1):
    span = n - f + 2 * pad
    if span < 0:
        raise ValueError("does not fit")
    return span // stride
"""
CASES += [
    Wrong("conv_output_size", "the +1 is forgotten", CONV_OUTPUT_SIZE),
    Wrong(
        "conv_output_size",
        "PyTorch rounds the size down (floor), it does not refuse",
        """
        def conv_output_size(n, f, pad=0, stride=1):
            span = n - f + 2 * pad
            if span < 0 or span % stride:
                raise ValueError("the windows do not tile the input")
            return span // stride + 1
    """,
    ),
    Wrong(
        "conv_output_size",
        "the fraction is rounded up (ceil)",
        edited(CONV_OUTPUT_SIZE, "span // stride", "-(-span // stride) + 1"),
    ),
    Wrong("conv_forward", "the stride is ignored", _CONV_LOOP.format(step=1, body="np.sum(window * w[f]) + b[f]")),
    Wrong(
        "conv_forward",
        "the kernel is flipped",
        _CONV_LOOP.format(step="stride", body="np.sum(window * w[f, :, ::-1, ::-1]) + b[f]"),
    ),
    Wrong("conv_forward", "the bias is left out", _CONV_LOOP.format(step="stride", body="np.sum(window * w[f])")),
    Wrong(
        "conv_forward",
        "the bias is added inside the window sum",
        _CONV_LOOP.format(step="stride", body="np.sum(window * w[f] + b[f])"),
    ),
    Wrong(
        "conv_forward",
        "calls torch_conv2d",
        """
        def conv_forward(x, w, b, stride=1, pad=0):
            return torch_conv2d(x, w, b, stride, pad)
    """,
    ),
    Wrong(
        "conv_channels_last",
        "reorder axes with transpose",
        """
        def conv_channels_last(x, w, b, stride, pad, conv):
            H, W, C = x.shape
            K, HH, WW, _ = w.shape
            out = conv(x.reshape(1, C, H, W), w.reshape(K, C, HH, WW), b, stride=stride, pad=pad)
            return out[0].transpose(1, 2, 0)
    """,
    ),
]

CONV_BACKWARD = """
def conv_backward(dout, x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F_out, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros(w.shape)
    for n, f, i, j in np.ndindex(N, F_out, *dout.shape[2:]):
        rows, cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
        dw[f] += xp[n, :, rows, cols] * dout[n, f, i, j]
        dxp[n, :, rows, cols] += w[f] * dout[n, f, i, j]
    return dxp, dw, dout.sum(axis=(0, 2, 3))
"""
CASES += [
    Wrong(
        "conv_backward",
        "only the first example of the batch contributes to dw",
        edited(
            CONV_BACKWARD,
            "        dw[f] +=",
            "        if n == 0:\n            dw[f] +=",
            "return dxp,",
            "return dxp[:, :, pad:pad + H, pad:pad + W],",
        ),
    ),
    Wrong(
        "conv_backward",
        "the kernel is flipped when it is spread back",
        edited(
            CONV_BACKWARD,
            "] * dout[n, f, i, j]\n    return dxp",
            ", :, ::-1, ::-1] * dout[n, f, i, j]\n    return dxp[:, :, pad:pad + H, pad:pad + W]",
        ),
    ),
    Wrong("conv_backward", "dx still has the padding", CONV_BACKWARD),
    Wrong(
        "conv_backward",
        "calls autograd (.backward() or torch.autograd.grad)",
        """
        def conv_backward(dout, x, w, b, stride=1, pad=0):
            xt, wt, bt = (to_torch(a).requires_grad_() for a in (x, w, b))
            win = F.pad(xt, (pad,) * 4).unfold(2, w.shape[2], stride).unfold(3, w.shape[3], stride)
            out = torch.einsum("nchwij,fcij->nfhw", win, wt) + bt[None, :, None, None]
            (out * to_torch(dout)).sum().backward()
            return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()
    """,
    ),
    Wrong(
        "conv_dx_full",
        "the kernel is not rotated by 180 degrees",
        _DX_FULL.format(step="stride", kernel="w.transpose(1, 0, 2, 3)", finish=_DX_PLACE),
    ),
    Wrong(
        "conv_dx_full",
        "the filter and channel axes are not swapped",
        _DX_FULL.format(step="stride", kernel="w[:, :, ::-1, ::-1]", finish=_DX_PLACE),
    ),
    Wrong(
        "conv_dx_full",
        "dout is not spread out by the stride",
        _DX_FULL.format(step="1", kernel=_ROT, finish=_DX_PLACE),
    ),
    Wrong(
        "conv_dx_full",
        "give the rows and columns no window saw",
        _DX_FULL.format(step="stride", kernel=_ROT, finish="return full[:, :, pad:pad + H, pad:pad + W]"),
    ),
    Wrong(
        "conv_dx_full",
        "cut the padding off",
        _DX_FULL.format(
            step="stride",
            kernel=_ROT,
            finish="dx_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad)); "
            "dx_pad[:, :, :full.shape[2], :full.shape[3]] = full; return dx_pad",
        ),
    ),
    Wrong(
        "conv_dx_full",
        "calls torch.nn.functional.conv_transpose2d",
        """
        def conv_dx_full(dout, w, x_shape, stride=1, pad=0):
            out = F.conv_transpose2d(to_torch(dout), to_torch(w), stride=stride, padding=pad).numpy()
            dx = np.zeros(x_shape)
            dx[:, :, :out.shape[2], :out.shape[3]] = out
            return dx
    """,
    ),
    Right(
        "conv_dx_full",
        "the full correlation written with sliding_window_view and einsum, no torch",
        """
        def conv_dx_full(dout, w, x_shape, stride=1, pad=0):
            N, F_out, H_out, W_out = dout.shape
            _, C, HH, WW = w.shape
            spread = np.zeros((N, F_out, (H_out - 1) * stride + 1, (W_out - 1) * stride + 1))
            spread[:, :, ::stride, ::stride] = dout
            spread = np.pad(spread, ((0, 0), (0, 0), (HH - 1, HH - 1), (WW - 1, WW - 1)))
            win = np.lib.stride_tricks.sliding_window_view(spread, (HH, WW), axis=(2, 3))
            full = np.einsum("nfhwij,fcij->nchw", win, w[:, :, ::-1, ::-1])
            dx_pad = np.zeros((N, C, x_shape[2] + 2 * pad, x_shape[3] + 2 * pad))
            dx_pad[:, :, :full.shape[2], :full.shape[3]] = full
            return dx_pad[:, :, pad:pad + x_shape[2], pad:pad + x_shape[3]]
    """,
    ),
    Wrong(
        "pool_forward",
        "the windows move by the window size instead of the stride",
        """
        def pool_forward(x, size, stride, mode="max"):
            if mode not in ("max", "avg"):
                raise ValueError(mode)
            N, C, H, W = x.shape
            Ho, Wo = (H - size) // size + 1, (W - size) // size + 1
            reduce = np.max if mode == "max" else np.mean
            out = np.zeros((N, C, Ho, Wo))
            for i, j in np.ndindex(Ho, Wo):
                out[:, :, i, j] = reduce(x[:, :, i * size:i * size + size, j * size:j * size + size], axis=(2, 3))
            return out
    """,
    ),
    Wrong(
        "pool_forward",
        "calls torch.nn.functional.max_pool2d",
        """
        def pool_forward(x, size, stride, mode="max"):
            if mode not in ("max", "avg"):
                raise ValueError(mode)
            fn = F.max_pool2d if mode == "max" else F.avg_pool2d
            return fn(to_torch(x), size, stride).numpy()
    """,
    ),
    Wrong(
        "pool_backward",
        "instead of assigning it (=)",
        _POOL_BACKWARD.format(
            max_line="a, b_ = np.unravel_index(np.argmax(window), window.shape); "
            "dx[n, c, i * stride + a, j * stride + b_] = dout[n, c, i, j]",
            op="=",
        ),
    ),
    Wrong(
        "pool_backward",
        "a tie",
        _POOL_BACKWARD.format(max_line="dx[n, c, rows, cols] += (window == window.max()) * dout[n, c, i, j]", op="+="),
    ),
    Wrong(
        "pool_backward",
        "not divided by the window size",
        """
        def pool_backward(dout, x, size, stride, mode="max"):
            dx = np.zeros_like(np.asarray(x, dtype=np.float64))
            for n, c, i, j in np.ndindex(*dout.shape):
                rows, cols = slice(i * stride, i * stride + size), slice(j * stride, j * stride + size)
                window = x[n, c, rows, cols]
                if mode == "max":
                    a, b_ = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + a, j * stride + b_] += dout[n, c, i, j]
                else:
                    dx[n, c, rows, cols] += dout[n, c, i, j]
            return dx
    """,
    ),
    Wrong(
        "lp_pool",
        "the window mean is replaced by a sum",
        """
        def lp_pool(x, size, stride, p):
            x = np.abs(np.asarray(x, dtype=np.float64))
            N, C, H, W = x.shape
            Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
            out = np.zeros((N, C, Ho, Wo))
            for i, j in np.ndindex(Ho, Wo):
                win = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
                out[:, :, i, j] = np.sum(win ** p, axis=(2, 3)) ** (1 / p)
            return out
    """,
    ),
    Wrong(
        "dilate_kernel",
        "only d - 1 zeros go between neighbours",
        """
        def dilate_kernel(w, dilation):
            F_out, C, HH, WW = w.shape
            d = dilation + 1
            out = np.zeros((F_out, C, d * (HH - 1) + 1, d * (WW - 1) + 1))
            out[:, :, ::d, ::d] = w
            return out
    """,
    ),
    Wrong(
        "receptive_field",
        "the stride of earlier layers is ignored",
        """
        def receptive_field(layers):
            sizes, r = [], 1
            for layer in layers:
                r += (layer[2] if len(layer) > 2 else 1) * (layer[0] - 1)
                sizes.append(r)
            return sizes
    """,
    ),
    Right(
        "conv1d",
        "a double loop straight from the definition y[n] = sum_k x[k] w[n - k]",
        """
        def conv1d(x, w, mode="full"):
            if mode not in ("full", "same", "valid"):
                raise ValueError(mode)
            x, w = np.asarray(x, float), np.asarray(w, float)
            n, k = len(x), len(w)
            full = np.zeros(n + k - 1)
            for i in range(n):
                for j in range(k):
                    full[i + j] += x[i] * w[j]
            start = {"full": 0, "same": (k - 1) // 2, "valid": k - 1}[mode]
            length = {"full": n + k - 1, "same": n, "valid": n - k + 1}[mode]
            return full[start:start + length]
    """,
    ),
    Right(
        "conv_output_size",
        "math.floor of the formula, the fit checked by comparing F with W + 2P",
        """
        import math

        def conv_output_size(n, f, pad=0, stride=1):
            if f > n + 2 * pad:
                raise ValueError("window larger than the padded input")
            return int(math.floor((n - f + 2 * pad) / stride)) + 1
    """,
    ),
    Right(
        "conv_forward",
        "vectorised: sliding windows and einsum, float32 inputs accepted",
        """
        def conv_forward(x, w, b, stride=1, pad=0):
            xp = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            HH, WW = w.shape[2:]
            win = np.lib.stride_tricks.sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
            return np.einsum("nchwij,fcij->nfhw", win, w) + b[None, :, None, None]
    """,
    ),
    Right(
        "conv_backward",
        "the loop order turned around (positions outside, examples inside)",
        """
        def conv_backward(dout, x, w, b, stride=1, pad=0):
            N, C, H, W = x.shape
            F_out, _, HH, WW = w.shape
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            dxp, dw = np.zeros_like(xp), np.zeros(w.shape)
            for i, j in np.ndindex(*dout.shape[2:]):
                rows, cols = slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW)
                dw += np.einsum("nf,nchw->fchw", dout[:, :, i, j], xp[:, :, rows, cols])
                dxp[:, :, rows, cols] += np.einsum("nf,fchw->nchw", dout[:, :, i, j], w)
            return dxp[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
    """,
    ),
    Right(
        "pool_backward",
        "ties split evenly between the maxima",
        _POOL_BACKWARD.format(
            max_line="ties = window == window.max(); dx[n, c, rows, cols] += ties * dout[n, c, i, j] / ties.sum()",
            op="+=",
        ),
    ),
]
