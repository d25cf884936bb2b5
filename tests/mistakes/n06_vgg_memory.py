"""06 Where the memory goes: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong, edited

NOTEBOOK = "06_vgg_memory"

_ACCOUNT = """
def account(layers, input_shape, bytes_per_value=4):
    rows, shape = [], tuple(input_shape)
    for layer in layers:
        if isinstance(layer, FC):
            params = ({fc_in} + {bias}) * layer.out_features
            shape = (layer.out_features,)
        else:
            if len(shape) != 3:
                raise ValueError("needs (C, H, W)")
            c, h, w = shape
            pad = {pad}
            h_out = (h + 2 * pad - layer.kernel) // layer.stride + 1
            w_out = (w + 2 * pad - layer.kernel) // layer.stride + 1
            if h_out < 1 or w_out < 1:
                raise ValueError("does not fit")
            if isinstance(layer, Conv):
                params = (layer.kernel ** 2 * c + {bias}) * layer.out_channels
                shape = (layer.out_channels, h_out, w_out)
            else:
                params, shape = 0, (c, h_out, w_out)
        acts = math.prod(shape)
        rows.append(Row(layer, shape, acts, params, acts * {bpv}, params * {bpv}))
    return rows
"""
_OK = {
    "fc_in": "math.prod(shape)",
    "bias": "1",
    "pad": "layer.pad if isinstance(layer, Conv) else 0",
    "bpv": "bytes_per_value",
}

_MEMORY = """
def training_memory(n_params, activations_per_example, batch_size, optimizer="sgd_momentum",
                    backward_factor=2.0, bytes_per_value=4):
    buffers = {{"sgd": 0, "sgd_momentum": {momentum}, "adam": 2}}
    if optimizer not in buffers:
        raise ValueError(optimizer)
    weights = n_params * {bpv}
    parts = {{"weights": weights, "gradients": weights, "optimizer_state": buffers[optimizer] * weights,
             "activations": backward_factor * activations_per_example * {batch} * bytes_per_value}}
    parts["total"] = sum(parts.values())
    return parts
"""
_MEM_OK = {"momentum": "1", "bpv": "bytes_per_value", "batch": "batch_size"}

CASES = [
    Wrong("account", "the padding is ignored", _ACCOUNT.format(**{**_OK, "pad": "0"})),
    Wrong("account", "the biases are not counted", _ACCOUNT.format(**{**_OK, "bias": "0"})),
    Wrong("account", "fed only the channels", _ACCOUNT.format(**{**_OK, "fc_in": "shape[0]"})),
    Wrong("account", "bytes are counted as values", _ACCOUNT.format(**{**_OK, "bpv": "1"})),
]

RECEPTIVE_FIELD = """
def receptive_field(kernels, strides=None):
    return max(1, sum(kernels))
"""
CASES += [
    Wrong("receptive_field", "the kernels are added", RECEPTIVE_FIELD),
    Wrong(
        "receptive_field",
        "the strides are ignored",
        edited(RECEPTIVE_FIELD, "max(1, sum(kernels)", "1 + sum(k - 1 for k in kernels"),
    ),
]

CONV_STACK_PARAMS = """
def conv_stack_params(channels, kernel, depth, bias=False):
    return depth * (kernel * kernel * channels + (channels if bias else 0))
"""
CASES += [
    Wrong("conv_stack_params", "the channels appear once", CONV_STACK_PARAMS),
    Wrong(
        "conv_stack_params",
        "one bias per layer instead of per filter",
        edited(CONV_STACK_PARAMS, "+ (channels", "* channels + (1"),
    ),
    Wrong(
        "vgg16",
        "the padding is missing",
        """
        class VGG16(nn.Module):
            def __init__(self, num_classes=1000, image_size=224):
                super().__init__()
                layers, c_in = [], 3
                for v in VGG16_D:
                    if v == "M":
                        layers.append(nn.MaxPool2d(2, 2))
                    else:
                        layers += [nn.Conv2d(c_in, v, 3), nn.ReLU(inplace=True)]
                        c_in = v
                self.features = nn.Sequential(*layers)
                side = image_size // 32
                self.classifier = nn.Sequential(
                    nn.Linear(512 * side * side, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
                    nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(4096, num_classes))

            def forward(self, x):
                return self.classifier(torch.flatten(self.features(x), 1))
    """,
    ),
    Wrong(
        "measure_activations",
        "the batch axis is kept in the shape",
        """
        def measure_activations(model, x, layer_types=(nn.Conv2d, nn.MaxPool2d, nn.Linear)):
            names = {m: n for n, m in model.named_modules()}
            records = []
            hook = lambda m, i, o: records.append((names[m], tuple(o.shape), int(o[0].numel())))
            handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, layer_types)]
            with torch.no_grad():
                model(x)
            for h in handles:
                h.remove()
            return records
    """,
    ),
    Wrong(
        "measure_activations",
        "hooks are still registered",
        """
        def measure_activations(model, x, layer_types=(nn.Conv2d, nn.MaxPool2d, nn.Linear)):
            names = {m: n for n, m in model.named_modules()}
            records = []
            hook = lambda m, i, o: records.append((names[m], tuple(o.shape[1:]), int(o[0].numel())))
            for m in model.modules():
                if isinstance(m, layer_types):
                    m.register_forward_hook(hook)
            with torch.no_grad():
                model(x)
            return records
    """,
    ),
    Wrong("training_memory", "the batch size is ignored", _MEMORY.format(**{**_MEM_OK, "batch": "1"})),
    Wrong("training_memory", "bytes are counted as values", _MEMORY.format(**{**_MEM_OK, "bpv": "1"})),
    Wrong("training_memory", "momentum is given no buffer", _MEMORY.format(**{**_MEM_OK, "momentum": "0"})),
    Wrong(
        "largest_batch",
        "the first batch that does NOT fit",
        """
        def largest_batch(memory_fn, capacity, max_batch=2**30):
            lo, hi = 0, max_batch + 1
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if memory_fn(mid) <= capacity else (lo, mid)
            return hi
    """,
    ),
    Wrong(
        "largest_batch",
        "double, then bisect",
        """
        def largest_batch(memory_fn, capacity, max_batch=2**30):
            b = 0
            while b < max_batch and memory_fn(b + 1) <= capacity:
                b += 1
            return b
    """,
    ),
    Wrong(
        "largest_batch",
        "calls bisect.bisect_right",
        """
        import bisect

        def largest_batch(memory_fn, capacity, max_batch=2**30):
            return bisect.bisect_right(range(1, max_batch + 1), capacity, key=memory_fn)
    """,
    ),
    Right(
        "account",
        "match/case on the spec type",
        """
        def account(layers, input_shape, bytes_per_value=4):
            rows, shape = [], tuple(int(s) for s in input_shape)
            for layer in layers:
                match layer:
                    case FC(out_features=f):
                        params, shape = (math.prod(shape) + 1) * f, (f,)
                    case Conv() | Pool():
                        if len(shape) != 3:
                            raise ValueError("needs (C, H, W)")
                        c, h, w = shape
                        p = getattr(layer, "pad", 0)
                        size = [(n + 2 * p - layer.kernel) // layer.stride + 1 for n in (h, w)]
                        if min(size) < 1:
                            raise ValueError("does not fit")
                        out_c = getattr(layer, "out_channels", c)
                        params = (layer.kernel ** 2 * c + 1) * out_c if isinstance(layer, Conv) else 0
                        shape = (out_c, *size)
                n = math.prod(shape)
                rows.append(Row(layer, shape, n, params, n * bytes_per_value, params * bytes_per_value))
            return rows
    """,
    ),
    Right(
        "largest_batch",
        "plain bisection on [0, max_batch] without doubling",
        """
        def largest_batch(memory_fn, capacity, max_batch=2**30):
            lo, hi = 0, max_batch + 1
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if memory_fn(mid) <= capacity:
                    lo = mid
                else:
                    hi = mid
            return lo
    """,
    ),
]

# Exercise 8 is a design: the base is one right design; each wrong one breaks one limit of the budget
# (or the behaviour), and the test must name which.
SMALL_VGG = """
def small_vgg(num_classes=10):
    def conv(c_in, c_out, stride=1):
        return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *conv(3, 16, stride=2), *conv(16, 16), nn.MaxPool2d(2),
        *conv(16, 32), *conv(32, 32), nn.MaxPool2d(2),
        *conv(32, 64), *conv(64, 64), nn.MaxPool2d(2),
        *conv(64, 64), nn.MaxPool2d(4),
        nn.Flatten(), nn.Linear(64, num_classes),
    )
"""

# pools first, widths doubling, a small classifier: 366,632 activation bytes, just under the limit
POOL_FIRST = """
def small_vgg(num_classes=10):
    layers, c_in = [], 3
    for v in [8, "M", 16, "M", 32, 32, "M", 64, 64, "M", 128, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c_in, v, 3, padding=1), nn.ReLU(inplace=True)]
            c_in = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * 2 * 2, num_classes))
"""

CASES += [
    Wrong(
        "small_vgg",
        "too much activation memory",
        """
        def small_vgg(num_classes=10):
            # VGG-16 with every width divided by 8: fine on parameters, 615,464 activation bytes
            layers, c_in = [], 3
            for v in VGG16_D:
                if v == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    layers += [nn.Conv2d(c_in, v // 8, 3, padding=1), nn.ReLU(inplace=True)]
                    c_in = v // 8
            return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * 2 * 2, num_classes))
    """,
    ),
    Wrong(
        "small_vgg",
        "a ReLU not in place keeps a copy",
        edited(POOL_FIRST, "nn.ReLU(inplace=True)", "nn.ReLU()"),
    ),
    Wrong(
        "small_vgg",
        "one Linear layer fed 1,024 numbers",
        edited(
            SMALL_VGG,
            "nn.MaxPool2d(4),\n        nn.Flatten(), nn.Linear(64, num_classes),",
            "\n        nn.Flatten(), nn.Linear(64 * 4 * 4, 512), nn.ReLU(inplace=True), nn.Linear(512, num_classes),",
        ),
    ),
    Wrong(
        "small_vgg",
        "receptive field too small",
        edited(
            SMALL_VGG,
            "*conv(16, 16), nn.MaxPool2d(2)",
            "nn.MaxPool2d(2)",
            "*conv(32, 32), nn.MaxPool2d(2)",
            "nn.MaxPool2d(2)",
            "*conv(64, 64), nn.MaxPool2d(2),\n        *conv(64, 64), nn.MaxPool2d(4)",
            "nn.MaxPool2d(8)",
        ),
    ),
    Wrong("small_vgg", "one score per class", edited(SMALL_VGG, "nn.Linear(64, num_classes)", "nn.Linear(64, 10)")),
    Wrong(
        "small_vgg",
        "3x3 convolutions",
        edited(
            SMALL_VGG,
            "nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)",
            "nn.Conv2d(c_in, c_out, 5, stride=stride, padding=2)",
        ),
    ),
    Right("small_vgg", "a stride-2 first convolution, narrow early layers, a 1x1 map before one Linear", SMALL_VGG),
    Right("small_vgg", "pool after the first conv, widths doubling as the map halves", POOL_FIRST),
    Right(
        "small_vgg",
        "features and classifier as nested Sequentials, average pooling, dropout",
        edited(
            SMALL_VGG,
            "return nn.Sequential(\n",
            "return nn.Sequential(nn.Sequential(\n",
            "nn.MaxPool2d(4),\n        nn.Flatten(), nn.Linear(64, num_classes),\n    )",
            "nn.AvgPool2d(4)),\n        nn.Sequential(nn.Flatten(), nn.Dropout(), nn.Linear(64, num_classes)),\n    )",
        ),
    ),
]
