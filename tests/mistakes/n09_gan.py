"""09 GANs: the usual wrong answers, and right ones written another way."""

from mistakes import Right, Wrong, edited

NOTEBOOK = "09_gan"

_D_STEP = [
    "d_loss = d_loss_fn(D(real, *c), D(fake.detach(), *c))",
    "opt_d.zero_grad()",
    "d_loss.backward()",
    "opt_d.step()",
]
_G_STEP = [
    "D.requires_grad_(False)",
    "g_loss = g_loss_fn(D(fake, *c))",
    "opt_g.zero_grad()",
    "g_loss.backward()",
    "opt_g.step()",
    "D.requires_grad_(True)",
]


def _step(d_step: list[str] = _D_STEP, g_step: list[str] = _G_STEP) -> str:
    """A train_step whose discriminator and generator parts are the statements given (the right ones by default)."""
    body = ["c = () if labels is None else (labels,)", "fake = G(z, *c)", *d_step, *g_step]
    body.append("return d_loss.item(), g_loss.item()")
    lines = "".join(f"    {line}\n" for line in body)
    return f"def train_step(G, D, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn, labels=None):\n{lines}"


def _without(steps: list[str], statement: str) -> list[str]:
    return [s for s in steps if s != statement]


def _replace(steps: list[str], old: str, new: str) -> list[str]:
    assert old in steps, old
    return [new if s == old else s for s in steps]


# --- the architectures -------------------------------------------------------------------------
GENERATOR = """
class Generator(nn.Module):
    def __init__(self, latent_dim=LATENT_DIM, width=32):
        super().__init__()
        self.width = width
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 2 * width * 49, bias=False), nn.BatchNorm1d(2 * width * 49), nn.ReLU())
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Sigmoid())

    def forward(self, z):
        return self.upsample(self.project(z).view(-1, 2 * self.width, 7, 7))
"""

CASES = [
    Wrong(
        "generator",
        "the first Linear layer has a bias",
        edited(GENERATOR, "49, bias=False),", "49),", "nn.Sigmoid())", "nn.Tanh())"),
    ),
    Wrong("generator", "Sigmoid only (0, 1)", GENERATOR),
    Right(
        "generator",
        "one nn.Sequential with nn.Unflatten, the layers in the docstring's order",
        """
        class Generator(nn.Module):
            def __init__(self, latent_dim=LATENT_DIM, width=32):
                super().__init__()
                self.net = nn.Sequential(
                    nn.Linear(latent_dim, 2 * width * 7 * 7, bias=False), nn.BatchNorm1d(2 * width * 7 * 7), nn.ReLU(),
                    nn.Unflatten(1, (2 * width, 7, 7)),
                    nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),
                    nn.BatchNorm2d(width), nn.ReLU(),
                    nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1), nn.Tanh())

            def forward(self, z):
                return self.net(z)
        """,
    ),
]

DISCRIMINATOR = """
class Discriminator(nn.Module):
    def __init__(self, in_channels=1, width=16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 49, 1))

    def forward(self, x):
        return self.net(x).squeeze(1)
"""
CASES += [
    Wrong(
        "discriminator",
        "in_channels is ignored",
        edited(
            DISCRIMINATOR,
            "in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2),\n            nn.Conv2d(width, 2 * width, 4, 2, 1",
            "1, width, 4, 2, 1), nn.LeakyReLU(0.2),\n            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False",
        ),
    ),
    Wrong("discriminator", "the second convolution has a bias", DISCRIMINATOR),
    Right(
        "discriminator",
        "separate attributes, x.flatten(1) and view(-1)",
        """
        class Discriminator(nn.Module):
            def __init__(self, in_channels=1, width=16):
                super().__init__()
                self.conv1 = nn.Conv2d(in_channels, width, kernel_size=4, stride=2, padding=1)
                self.conv2 = nn.Conv2d(width, 2 * width, kernel_size=4, stride=2, padding=1, bias=False)
                self.bn = nn.BatchNorm2d(2 * width)
                self.fc = nn.Linear(2 * width * 7 * 7, 1)

            def forward(self, x):
                h = F.leaky_relu(self.conv1(x), 0.2)
                h = F.leaky_relu(self.bn(self.conv2(h)), 0.2)
                return self.fc(h.flatten(1)).view(-1)
        """,
    ),
    # --- the losses --------------------------------------------------------------------------------
    Wrong(
        "discriminator_loss",
        "labels are swapped",
        """
        def discriminator_loss(real_logits, fake_logits):
            return -F.logsigmoid(-real_logits).mean() - F.logsigmoid(fake_logits).mean()
        """,
    ),
    Wrong(
        "discriminator_loss",
        "not finite for large logits",
        """
        def discriminator_loss(real_logits, fake_logits):
            return -torch.log(torch.sigmoid(real_logits)).mean() - torch.log(1 - torch.sigmoid(fake_logits)).mean()
        """,
    ),
    Wrong(
        "discriminator_loss",
        "concatenated and averaged together",
        """
        def discriminator_loss(real_logits, fake_logits):
            return -F.logsigmoid(torch.cat([real_logits, -fake_logits])).mean()   # one batch of N + M
        """,
    ),
    Wrong(
        "discriminator_loss",
        "the two terms are averaged",
        """
        def discriminator_loss(real_logits, fake_logits):
            return (-F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()) / 2
        """,
    ),
    Wrong(
        "discriminator_loss",
        "calls torch.nn.functional.binary_cross_entropy_with_logits",
        """
        def discriminator_loss(real_logits, fake_logits):
            bce = F.binary_cross_entropy_with_logits
            return bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
        """,
    ),
    Wrong(
        "discriminator_loss",
        "calls torch.nn.functional.binary_cross_entropy_with_logits",
        """
        def discriminator_loss(real_logits, fake_logits):
            loss = nn.BCEWithLogitsLoss()
            return loss(real_logits, torch.ones_like(real_logits)) + loss(fake_logits, torch.zeros_like(fake_logits))
        """,
    ),
    Right(
        "discriminator_loss",
        "softplus: -log sigmoid(l) = softplus(-l)",
        """
        def discriminator_loss(real_logits, fake_logits):
            return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        """,
    ),
    Right(
        "discriminator_loss",
        "the stable formula max(l, 0) - l t + log(1 + exp(-|l|)) written out",
        """
        def discriminator_loss(real_logits, fake_logits):
            def bce(l, t):
                return (l.clamp(min=0) - l * t + torch.log1p(torch.exp(-l.abs()))).mean()
            return bce(real_logits, 1.0) + bce(fake_logits, 0.0)
        """,
    ),
    Wrong(
        "generator_loss",
        "saturating loss",
        """
        def generator_loss(fake_logits):
            return F.logsigmoid(-fake_logits).mean()      # log(1 - D(G(z))), computed stably
        """,
    ),
    Wrong(
        "generator_loss",
        "summed over the batch instead of averaged",
        """
        def generator_loss(fake_logits):
            return -F.logsigmoid(fake_logits).sum()
        """,
    ),
    Wrong(
        "generator_loss",
        "calls torch.binary_cross_entropy_with_logits",
        """
        def generator_loss(fake_logits):
            return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        """,
    ),
    Wrong(
        "generator_loss",
        "not finite for large logits",
        """
        def generator_loss(fake_logits):
            return -torch.log(torch.sigmoid(fake_logits)).mean()
        """,
    ),
    Right(
        "generator_loss",
        "softplus(-l)",
        """
        def generator_loss(fake_logits):
            return F.softplus(-fake_logits).mean()
        """,
    ),
    # --- one training step -------------------------------------------------------------------------
    Wrong(
        "train_step",
        "detach the fakes",
        _step(d_step=_replace(_D_STEP, _D_STEP[0], "d_loss = d_loss_fn(D(real, *c), D(fake, *c))")),
    ),
    Wrong(
        "train_step",
        "detach the fakes",
        _step(
            d_step=_replace(_D_STEP, _D_STEP[0], "d_loss = d_loss_fn(D(real, *c), D(fake, *c))"),
            g_step=_replace(_G_STEP, _G_STEP[1], "g_loss = g_loss_fn(D(G(z, *c), *c))"),
        ),
    ),
    Wrong(
        "train_step",
        "opt_d.zero_grad()",
        _step(d_step=_without(_D_STEP, "opt_d.zero_grad()")),
    ),
    Wrong(
        "train_step",
        "opt_g.zero_grad()",
        _step(g_step=_without(_G_STEP, "opt_g.zero_grad()")),
    ),
    Wrong(
        "train_step",
        "G's optimiser stepped twice",
        _step(d_step=[*_D_STEP, "opt_g.step()"]),
    ),
    Wrong(
        "train_step",
        "freeze D",
        _step(g_step=_G_STEP[1:-1]),
    ),
    Wrong(
        "train_step",
        "D's optimiser stepped twice",
        _step(g_step=[*_G_STEP[1:-1], "opt_d.step()"]),
    ),
    Wrong(
        "train_step",
        "the generator step ran before the discriminator step",
        """
        def train_step(G, D, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn, labels=None):
            c = () if labels is None else (labels,)
            D.requires_grad_(False)
            g_loss = g_loss_fn(D(G(z, *c), *c)); opt_g.zero_grad(); g_loss.backward(); opt_g.step()
            D.requires_grad_(True)
            d_loss = d_loss_fn(D(real, *c), D(G(z, *c).detach(), *c))
            opt_d.zero_grad(); d_loss.backward(); opt_d.step()
            return d_loss.item(), g_loss.item()
        """,
    ),
    Wrong(
        "train_step",
        "arguments swapped",
        _step(d_step=_replace(_D_STEP, _D_STEP[0], "d_loss = d_loss_fn(D(fake.detach(), *c), D(real, *c))")),
    ),
    Wrong(
        "train_step",
        "unfreeze it at the end",
        _step(g_step=_G_STEP[:-1]),
    ),
    Wrong(
        "train_step",
        "Python floats",
        """
        def train_step(G, D, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn, labels=None):
            c = () if labels is None else (labels,)
            fake = G(z, *c)
            d_loss = d_loss_fn(D(real, *c), D(fake.detach(), *c)); opt_d.zero_grad(); d_loss.backward(); opt_d.step()
            D.requires_grad_(False)
            g_loss = g_loss_fn(D(fake, *c)); opt_g.zero_grad(); g_loss.backward(); opt_g.step()
            D.requires_grad_(True)
            return d_loss.detach(), g_loss.detach()
        """,
    ),
    Right(
        "train_step",
        "gradients cleared after each step (module zero_grad) and the G step's backward restricted to G's parameters",
        """
        def train_step(G, D, opt_g, opt_d, real, z, d_loss_fn, g_loss_fn, labels=None):
            kw = {} if labels is None else {"labels": labels}
            fake = G(z, **kw) if kw else G(z)
            with torch.no_grad():
                fake_fixed = fake.clone()
            d_loss = d_loss_fn(D(real, *kw.values()), D(fake_fixed, *kw.values()))
            d_loss.backward()
            opt_d.step()
            D.zero_grad(set_to_none=False)
            g_loss = g_loss_fn(D(fake, *kw.values()))
            g_loss.backward(inputs=list(G.parameters()))
            opt_g.step()
            G.zero_grad()
            return float(d_loss.detach()), float(g_loss.detach())
        """,
    ),
    Right(
        "train_step",
        "p.requires_grad_ on each parameter, fakes drawn again for G",
        _step(
            g_step=[
                "for p in D.parameters(): p.requires_grad_(False)",
                "g_loss = g_loss_fn(D(G(z, *c), *c))",
                "opt_g.zero_grad(); g_loss.backward(); opt_g.step()",
                "for p in D.parameters(): p.requires_grad_(True)",
            ]
        ),
    ),
]

# --- the conditional GAN -----------------------------------------------------------------------
CONDITIONAL_GENERATOR = """
class ConditionalGenerator(nn.Module):
    def __init__(self, body, n_classes=10):
        super().__init__()
        self.body = body

    def forward(self, z, labels):
        return self.body(torch.cat([z, F.one_hot(labels).to(z.dtype)], dim=1))
"""
CASES += [
    Wrong(
        "conditional_generator",
        "along dim=1",
        edited(
            CONDITIONAL_GENERATOR,
            "self.body = body",
            "self.body, self.n_classes = body, n_classes",
            ").to(z.dtype)], dim=1",
            ", self.n_classes).to(z.dtype)]",
        ),
    ),
    Wrong(
        "conditional_generator",
        "one-hot columns come before z",
        edited(
            CONDITIONAL_GENERATOR,
            "self.body = body",
            "self.body, self.n_classes = body, n_classes",
            "z, F.one_hot(labels).to(z.dtype)",
            "F.one_hot(labels, self.n_classes).to(z.dtype), z",
        ),
    ),
    Wrong("conditional_generator", "without num_classes", CONDITIONAL_GENERATOR),
    Wrong(
        "conditional_generator",
        "self.body = body",
        edited(
            CONDITIONAL_GENERATOR,
            "body = body",
            "parts = [body]\n        self.n_classes = n_classes",
            "body(torch.cat([z, F.one_hot(labels",
            "parts[0](torch.cat([z, F.one_hot(labels, self.n_classes",
        ),
    ),
    Right(
        "conditional_generator",
        "one-hot rows picked from an identity matrix",
        """
        class ConditionalGenerator(nn.Module):
            def __init__(self, body, n_classes=10):
                super().__init__()
                self.body = body
                self.n_classes = n_classes

            def forward(self, z, labels):
                eye = torch.eye(self.n_classes, dtype=z.dtype, device=z.device)
                return self.body(torch.hstack([z, eye[labels]]))
        """,
    ),
]

CONDITIONAL_DISCRIMINATOR = """
class ConditionalDiscriminator(nn.Module):
    def __init__(self, body, n_classes=10):
        super().__init__()
        self.body, self.n_classes = body, n_classes

    def forward(self, x, labels):
        n, _, h, w = x.shape
        planes = F.one_hot(labels, self.n_classes).to(x.dtype)[:, :, None, None].expand(n, self.n_classes, h, w)
        return self.body(torch.cat([planes, x], dim=1))
"""
CASES += [
    Wrong(
        "conditional_discriminator",
        "join it along dim=1",
        edited(CONDITIONAL_DISCRIMINATOR, "planes, x], dim=", "x, planes], dim=-"),
    ),
    Wrong("conditional_discriminator", "label planes come before the image", CONDITIONAL_DISCRIMINATOR),
    Wrong(
        "conditional_discriminator",
        "not constant over the image",
        edited(
            CONDITIONAL_DISCRIMINATOR,
            ":, None, None].expand(n, self.n_classes, h, w)\n        return self.body(torch.cat([planes, x",
            "None, None, :].expand(n, h, w, self.n_classes)\n"
            "        return self.body(torch.cat([x, planes.reshape(n, self.n_classes, h, w)",
        ),
    ),
    Right(
        "conditional_discriminator",
        "planes by broadcasting a comparison with arange, then repeat",
        """
        class ConditionalDiscriminator(nn.Module):
            def __init__(self, body, n_classes=10):
                super().__init__()
                self.body = body
                self.n_classes = n_classes

            def forward(self, x, labels):
                hit = labels.view(-1, 1, 1, 1) == torch.arange(self.n_classes).view(1, -1, 1, 1)
                planes = hit.to(x.dtype).repeat(1, 1, x.shape[2], x.shape[3])
                return self.body(torch.cat((x, planes), 1))
        """,
    ),
]

# --- sampling ----------------------------------------------------------------------------------
GENERATE_DIGITS = """
def generate_digits(G, digits, per_digit, latent_dim=LATENT_DIM, seed=0):
    labels = torch.as_tensor(list(digits), dtype=torch.int64).repeat_interleave(per_digit)
    z = torch.randn(len(labels), latent_dim, generator=torch.Generator().manual_seed(seed))
    G.eval()
    with torch.no_grad():
        images = G(z, labels)
    return ((images[:, 0] + 1) / 2).numpy(), labels.numpy()
"""
CASES += [
    Wrong(
        "generate_digits",
        "tiled",
        edited(
            GENERATE_DIGITS,
            "repeat_interleave",
            "repeat",
            "    G.eval()",
            "    was = G.training\n    G.eval()",
            "    return ((images[:,",
            "    G.train(was)\n    return ((images[:,",
        ),
    ),
    Wrong(
        "generate_digits",
        "rescale with (x + 1) / 2",
        edited(
            GENERATE_DIGITS,
            "    G.eval()",
            "    was = G.training\n    G.eval()",
            "return ((images[:, 0] + 1) / 2)",
            "G.train(was)\n    return images[:, 0]",
        ),
    ),
    Wrong("generate_digits", "eval mode", edited(GENERATE_DIGITS, "    G.eval()\n", "")),
    Wrong("generate_digits", "restore the generator's mode", GENERATE_DIGITS),
    Right(
        "generate_digits",
        "numpy repeat, inference_mode, images in float64 cast back to float32",
        """
        def generate_digits(G, digits, per_digit, latent_dim=LATENT_DIM, seed=0):
            labels = np.repeat(np.asarray(list(digits), dtype=np.int64), per_digit)
            z = torch.randn(len(labels), latent_dim, generator=torch.Generator().manual_seed(seed))
            mode = G.training
            G.train(False)
            with torch.inference_mode():
                images = G(z, torch.from_numpy(labels)).double()
            G.train(mode)
            return (images.squeeze(1).numpy() * 0.5 + 0.5).astype(np.float32), labels
        """,
    ),
]

# --- the JS divergence -------------------------------------------------------------------------
JS_DIVERGENCE = """
def js_divergence(p, q):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    m = (p + q) / 2
    kl_p = np.sum(p[p > 0] * np.log(p[p > 0] / m[p > 0]))
    kl_q = np.sum(q[q > 0] * np.log(q[q > 0] / m[q > 0]))
    return float(0.5 * kl_p + 0.5 * kl_q)
"""

CASES += [
    Wrong("js_divergence", "base 2", edited(JS_DIVERGENCE, "np.log(p[p", "np.log2(p[p", "np.log(q[q", "np.log2(q[q")),
    Wrong(
        "js_divergence",
        "the 1/2 in front of each KL term is missing",
        edited(JS_DIVERGENCE, "0.5 * kl_p + 0.5 * kl_q", "kl_p + kl_q"),
    ),
    Wrong("js_divergence", "add KL(q || m) / 2", edited(JS_DIVERGENCE, "0.5 * kl_p + 0.5 * kl_q", "0.5 * kl_p")),
    Wrong(
        "js_divergence",
        "0 * log 0, which counts as 0",
        """
        def js_divergence(p, q):
            m = (p + q) / 2
            return float(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m)))
        """,
    ),
    Wrong(
        "js_divergence",
        "is this KL(p || q)",
        """
        def js_divergence(p, q):
            with np.errstate(divide="ignore"):
                return float(np.sum(p[p > 0] * np.log(p[p > 0] / q[p > 0])))
        """,
    ),
    Wrong(
        "js_divergence",
        "V(D*, G), the game's value",
        """
        def js_divergence(p, q):
            d = p / (p + q)
            return float(np.sum(p[p > 0] * np.log(d[p > 0])) + np.sum(q[q > 0] * np.log(1 - d[q > 0])))
        """,
    ),
    Right("js_divergence", "the mistakes' base, with boolean masks", JS_DIVERGENCE),
    Right(
        "js_divergence",
        "from the game: (V(D*, G) + log 4) / 2, zeros masked with np.where",
        """
        def js_divergence(p, q):
            d = np.where(p + q > 0, p / np.where(p + q > 0, p + q, 1), 0.5)
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.sum(np.where(p > 0, p * np.log(d), 0)) + np.sum(np.where(q > 0, q * np.log(1 - d), 0))
            return float((v + np.log(4)) / 2)
        """,
    ),
]

# --- the generator of the student's design -----------------------------------------------------
SMALL_GENERATOR = """
class SmallGenerator(nn.Module):
    def __init__(self, latent_dim=LATENT_DIM):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(latent_dim, 8 * 49, bias=False), nn.BatchNorm1d(8 * 49), nn.ReLU())
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(8, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z):
        return self.upsample(self.project(z).view(-1, 8, 7, 7))
"""

CASES += [
    Wrong(
        "small_generator",
        "more than 30,000",
        edited(
            SMALL_GENERATOR,
            "8 * 49, bias=False), nn.BatchNorm1d(8 * 49)",
            "16 * 49, bias=False), nn.BatchNorm1d(16 * 49)",
            "nn.ConvTranspose2d(8, 8,",
            "nn.ConvTranspose2d(16, 8,",
            "view(-1, 8, 7, 7)",
            "view(-1, 16, 7, 7)",
        ),
    ),
    Wrong("small_generator", "Sigmoid only (0, 1)", edited(SMALL_GENERATOR, "nn.Tanh())", "nn.Sigmoid())")),
    Wrong(
        "small_generator",
        "shape",
        edited(SMALL_GENERATOR, "nn.ConvTranspose2d(8, 1, 4, 2, 1)", "nn.ConvTranspose2d(8, 1, 4, 2, 0)"),
    ),
    Wrong(
        "small_generator",
        "no nn.ConvTranspose2d or nn.Upsample layer",
        """
        class SmallGenerator(nn.Module):
            def __init__(self, latent_dim=LATENT_DIM):
                super().__init__()
                self.net = nn.Sequential(nn.Linear(latent_dim, 16), nn.ReLU(), nn.Linear(16, 784), nn.Tanh())

            def forward(self, z):
                return self.net(z).view(-1, 1, 28, 28)
        """,
    ),
    Wrong(
        "small_generator",
        "does forward use z",
        edited(SMALL_GENERATOR, "self.project(z)", "self.project(torch.ones_like(z))"),
    ),
    Wrong(
        "small_generator",
        "without a gradient",
        edited(SMALL_GENERATOR, "nn.Tanh())\n", "nn.Tanh())\n        self.unused = nn.Linear(2, 2)\n"),
    ),
    Right("small_generator", "the mistakes' base: two transposed convolutions", SMALL_GENERATOR),
    Right(
        "small_generator",
        "nearest-neighbour nn.Upsample, each followed by a 3x3 convolution, no batch norm",
        """
        class SmallGenerator(nn.Module):
            def __init__(self, latent_dim=LATENT_DIM):
                super().__init__()
                self.fc = nn.Linear(latent_dim, 6 * 49)
                self.body = nn.Sequential(
                    nn.LeakyReLU(0.2), nn.Upsample(scale_factor=2), nn.Conv2d(6, 12, 3, padding=1), nn.LeakyReLU(0.2),
                    nn.Upsample(scale_factor=2), nn.Conv2d(12, 1, 3, padding=1), nn.Tanh())

            def forward(self, z):
                return self.body(self.fc(z).reshape(len(z), 6, 7, 7))
        """,
    ),
]
