"""04 im2col: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong

NOTEBOOK = "04_im2col"

_IM2COL = """
def {name}(x, HH, WW, stride=1, pad=0):
    N, C, H, W = x.shape
    Ho, Wo = (H + 2 * pad - HH) // {step} + 1, (W + 2 * pad - WW) // {step} + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty(({rows}, N, Ho, Wo), dtype=x.dtype)
    for y in range(Ho):
        for x_ in range(Wo):
            patch = xp[:, :, y * {step}:y * {step} + HH, x_ * {step}:x_ * {step} + WW]
            cols[:, :, y, x_] = {patch}.reshape(N, -1).T
    return cols.reshape({rows}, N * Ho * Wo){tail}
"""

_COL2IM = """
def col2im(cols, x_shape, HH, WW, stride=1, pad=0):
    N, C, H, W = x_shape
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    c6 = cols.reshape(C, HH, WW, N, Ho, Wo)
    for y in range(Ho):
        for x_ in range(Wo):
            xp[:, :, y * stride:y * stride + HH, x_ * stride:x_ * stride + WW] {op} c6[..., y, x_].transpose(3, 0, 1, 2)
    return {ret}
"""

_BACKWARD = """
def conv_backward_im2col(dout, cache, col2im_fn=None):
    x, w, b, stride, pad, X_col = cache
    n_filters, C, HH, WW = w.shape
    dout_mat = {dout_mat}
    dX_col = w.reshape(n_filters, -1).T @ dout_mat
    return col2im_fn(dX_col, x.shape, HH, WW, stride, pad), {dw}, {db}
"""

_FORWARD = """
def conv_forward_im2col(x, w, b, stride=1, pad=0, im2col_fn=None):
    N, C, H, W = x.shape
    n_filters, _, HH, WW = w.shape
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    X_col = im2col_fn(x, HH, WW, stride, pad)
    out = w.reshape(n_filters, -1) @ X_col{bias}
    return {out}, (x, w, b, stride, pad, X_col)
"""

_OFFSETS = """
def im2col_offsets(x, HH, WW, stride=1, pad=0):
    N, C, H, W = x.shape
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    buf = np.empty((C, HH, WW, N, Ho, Wo), dtype=x.dtype)
    for i in range(HH):
        for j in range(WW):
            buf[:, i, j] = xp[:, :, {rows}, {cols}]{swap}
    return buf.reshape(C * HH * WW, -1)
"""
_ROWS, _COLS = "i:i + stride * Ho:stride", "j:j + stride * Wo:stride"

_RIGHT_PATCH = "patch"
CASES = [
    Wrong(
        "conv_forward_loops",
        "the stride is ignored",
        """
        def conv_forward_loops(x, w, b, stride=1, pad=0):
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            F_, _, HH, WW = w.shape
            Ho, Wo = xp.shape[2] - HH + 1, xp.shape[3] - WW + 1
            out = np.zeros((x.shape[0], F_, Ho, Wo))
            for n, f, i, j in np.ndindex(*out.shape):
                out[n, f, i, j] = np.sum(xp[n, :, i:i + HH, j:j + WW] * w[f]) + b[f]
            return out
    """,
    ),
    Wrong(
        "conv_forward_loops",
        "calls conv_reference",
        """
        def conv_forward_loops(x, w, b, stride=1, pad=0):
            return conv_reference(x, w, b, stride=stride, pad=pad)
    """,
    ),
    Wrong(
        "im2col",
        "transposed",
        _IM2COL.format(name="im2col", step="stride", rows="C * HH * WW", patch="patch", tail=".T"),
    ),
    Wrong(
        "im2col",
        "channels last",
        _IM2COL.format(name="im2col", step="stride", rows="C * HH * WW", patch="patch.transpose(0, 2, 3, 1)", tail=""),
    ),
    Wrong(
        "im2col",
        "the stride is ignored",
        _IM2COL.format(name="im2col", step="1", rows="C * HH * WW", patch="patch", tail=""),
    ),
    Wrong(
        "im2col",
        "calls torch.nn.functional.unfold",
        """
        def im2col(x, HH, WW, stride=1, pad=0):
            cols = torch.nn.functional.unfold(torch.from_numpy(x), (HH, WW), stride=stride, padding=pad)
            return cols.permute(1, 0, 2).reshape(cols.shape[1], -1).numpy()
    """,
    ),
    Wrong("col2im", "overwritten instead of added", _COL2IM.format(op="=", ret="xp[:, :, pad:pad + H, pad:pad + W]")),
    Wrong("col2im", "the padding border is not cut off", _COL2IM.format(op="+=", ret="xp")),
    Wrong(
        "conv_forward",
        "without moving the filter axis",
        _FORWARD.format(bias=" + b[:, None]", out="out.reshape(N, n_filters, Ho, Wo)"),
    ),
    Wrong(
        "conv_forward",
        "the bias is not added",
        _FORWARD.format(bias="", out="out.reshape(n_filters, N, Ho, Wo).transpose(1, 0, 2, 3)"),
    ),
    Wrong(
        "im2col_offsets",
        "the stride is ignored: the windows are taken one pixel apart",
        _OFFSETS.format(rows="i:i + Ho", cols="j:j + Wo", swap=".transpose(1, 0, 2, 3)"),
    ),
    Wrong(
        "im2col_offsets",
        "has exactly H_out entries",
        _OFFSETS.format(rows="i:i + Ho:stride", cols="j:j + Wo:stride", swap=".transpose(1, 0, 2, 3)"),
    ),
    Wrong(
        "im2col_offsets",
        "the batch and channel axes are swapped",
        _OFFSETS.format(rows=_ROWS, cols=_COLS, swap=""),
    ),
    Wrong(
        "im2col_offsets",
        "loops over output positions",
        _IM2COL.format(name="im2col_offsets", step="stride", rows="C * HH * WW", patch="patch", tail=""),
    ),
    Wrong(
        "im2col_offsets",
        "sliding_window_view",
        """
        def im2col_offsets(x, HH, WW, stride=1, pad=0):
            N, C, H, W = x.shape
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            win = sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
            return win.transpose(1, 4, 5, 0, 2, 3).reshape(C * HH * WW, -1)
    """,
    ),
    Right(
        "im2col_offsets",
        "a (N, C, HH, WW, H_out, W_out) buffer as in Saito's book, transposed at the end",
        """
        def im2col_offsets(x, HH, WW, stride=1, pad=0):
            N, C, H, W = x.shape
            Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
            img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
            col = np.zeros((N, C, HH, WW, Ho, Wo), dtype=x.dtype)
            for y in range(HH):
                for x_ in range(WW):
                    col[:, :, y, x_, :, :] = img[:, :, y:y + stride * Ho:stride, x_:x_ + stride * Wo:stride]
            return col.transpose(1, 2, 3, 0, 4, 5).reshape(C * HH * WW, N * Ho * Wo)
    """,
    ),
    Wrong(
        "im2col_strided",
        "the stride is ignored",
        """
        def im2col_strided(x, HH, WW, stride=1, pad=0):
            N, C, H, W = x.shape
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            win = sliding_window_view(xp, (HH, WW), axis=(2, 3))
            return win.transpose(1, 4, 5, 0, 2, 3).reshape(C * HH * WW, -1)
    """,
    ),
    Wrong(
        "im2col_strided",
        "still loops in Python",
        _IM2COL.format(name="im2col_strided", step="stride", rows="C * HH * WW", patch="patch", tail=""),
    ),
    Wrong(
        "im2col_strided",
        "calls unfold_reference",
        """
        def im2col_strided(x, HH, WW, stride=1, pad=0):
            return unfold_reference(x, HH, WW, stride, pad)
    """,
    ),
    Wrong(
        "conv_backward",
        "without moving the filter axis first",
        _BACKWARD.format(
            dout_mat="dout.reshape(n_filters, -1)",
            dw="(dout_mat @ X_col.T).reshape(w.shape)",
            db="dout.sum(axis=(0, 2, 3))",
        ),
    ),
    Wrong(
        "conv_backward",
        "summed over the batch axis only",
        _BACKWARD.format(
            dout_mat="dout.transpose(1, 0, 2, 3).reshape(n_filters, -1)",
            dw="(dout_mat @ X_col.T).reshape(w.shape)",
            db="dout.sum(axis=0)",
        ),
    ),
    Wrong(
        "conv_backward",
        "check your reshape",
        _BACKWARD.format(
            dout_mat="dout.transpose(1, 0, 2, 3).reshape(n_filters, -1)",
            dw="dout_mat @ X_col.T",
            db="dout.sum(axis=(0, 2, 3))",
        ),
    ),
    Right(
        "im2col",
        "a loop over kernel offsets instead of positions",
        """
        def im2col(x, HH, WW, stride=1, pad=0):
            N, C, H, W = x.shape
            Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            cols = np.empty((C, HH, WW, N, Ho, Wo), dtype=x.dtype)
            for i in range(HH):
                for j in range(WW):
                    cols[:, i, j] = xp[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride].transpose(1, 0, 2, 3)
            return cols.reshape(C * HH * WW, -1)
    """,
    ),
    Right(
        "col2im",
        "np.add.at over kernel offsets",
        """
        def col2im(cols, x_shape, HH, WW, stride=1, pad=0):
            N, C, H, W = x_shape
            Ho, Wo = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
            xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
            c6 = cols.reshape(C, HH, WW, N, Ho, Wo)
            for i in range(HH):
                for j in range(WW):
                    xp[:, :, i:i + stride * Ho:stride, j:j + stride * Wo:stride] += c6[:, i, j].transpose(1, 0, 2, 3)
            return xp[:, :, pad:pad + H, pad:pad + W]
    """,
    ),
    Right(
        "conv_backward",
        "einsum instead of reshapes",
        """
        def conv_backward_im2col(dout, cache, col2im_fn=None):
            x, w, b, stride, pad, X_col = cache
            F_, C, HH, WW = w.shape
            N, _, Ho, Wo = dout.shape
            d = dout.reshape(N, F_, Ho * Wo)
            cols = X_col.reshape(C * HH * WW, N, Ho * Wo)
            dw = np.einsum("nfl,knl->fk", d, cols).reshape(w.shape)
            dX_col = np.einsum("fk,nfl->knl", w.reshape(F_, -1), d).reshape(C * HH * WW, -1)
            return col2im_fn(dX_col, x.shape, HH, WW, stride, pad), dw, d.sum(axis=(0, 2))
    """,
    ),
]
