"""torch's own layers cross the split clean room as copies (``autograder/sandboxed/layers.py``).

A module made only of classes of ``torch.nn.modules`` that a call returns, or that is passed as an
argument, crosses as data both ways: the receiver holds a real ``nn.Sequential``; what the callee
changed in place is written back into the caller's module, keeping its Parameter objects, and
what it replaced is replaced. A student's subclass, a module with a hook or a callable attribute,
and a part of a student object read by ``getattr`` stay handles; a forged copy is refused.
torch's own optimizer over such a module's parameters crosses with it (``optimizers.py``).
"""

import numpy as np
import pytest
import torch
from split_ends import ends_fixture
from torch import nn

from autograder.protocol import Budget, ProtocolError, encode
from autograder.sandboxed import layers, optimizers, split

STUDENT = """
import torch
from torch import nn

class MyConv(nn.Conv2d):
    pass

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Linear(2, 2)

    def forward(self, x):
        return self.c1(x)

def small():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))

def lstm():
    return nn.LSTM(3, 4, num_layers=2, bidirectional=True)

def mine():
    return nn.Sequential(MyConv(1, 2, 3))

def hooked():
    m = nn.Linear(2, 2)
    m.register_forward_hook(lambda *a: None)
    return m

def with_callable():
    m = nn.Linear(2, 2)
    m.act = print
    return m

def describe(m):
    return type(m).__name__, type(m) is nn.LSTM, [type(p) is nn.Parameter and p.requires_grad for p in m.parameters()]

def forget(m, value):
    H = m.hidden_size
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("bias"):
                p[H:2 * H] = value if name.startswith("bias_ih") else 0.0
    m.eval()

def replace(m):
    m.bias = nn.Parameter(torch.zeros(2))

def same(m):
    return m

def to_double(m):
    m.double()

def run(m, x):
    return m(x)

def train(model, optimizer, x, y, steps):
    for _ in range(steps):
        loss = ((model(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return type(optimizer) is torch.optim.SGD, [id(p) for p in model.parameters()] == [
        id(p) for g in optimizer.param_groups for p in g["params"]]

def schedule(model, optimizer):
    optimizer.param_groups[0]["lr"] = 0.25
"""


ends = ends_fixture(STUDENT)


def test_a_returned_sequential_is_a_real_one_in_the_tester(ends):
    client, _ = ends
    net = client.namespace["small"]()
    assert type(net) is nn.Sequential and type(net[0]) is nn.Conv2d and type(net[3]) is nn.Linear
    assert all(type(p) is nn.Parameter and p.requires_grad and p.is_leaf for p in net.parameters())
    scores = net(torch.randn(2, 1, 4, 4))
    scores.sum().backward()
    assert all(p.grad is not None for p in net.parameters()), "training works natively"
    assert client.namespace["run"](net, torch.zeros(1, 1, 4, 4)).shape == (1, 3), "and it crosses back as data"


def test_an_lstm_crosses_both_ways(ends):
    client, _ = ends
    m = client.namespace["lstm"]()
    assert type(m) is nn.LSTM and m.bidirectional and m.num_layers == 2
    out, _ = m(torch.randn(5, 1, 3))
    assert out.shape == (5, 1, 8), "flat weights rebuilt"
    mine = nn.LSTM(3, 4).double()
    assert client.namespace["describe"](mine) == ("LSTM", True, [True] * 4)


def test_an_in_place_change_is_written_back_keeping_the_parameters(ends):
    client, _ = ends
    m = nn.LSTM(3, 2, num_layers=2, bidirectional=True)
    ids = {name: id(p) for name, p in m.named_parameters()}
    weights = {n: p.detach().clone() for n, p in m.named_parameters() if n.startswith("weight")}
    assert client.namespace["forget"](m, 1.5) is None
    after = dict(m.named_parameters())
    assert {n: id(p) for n, p in after.items()} == ids, "the same Parameter objects"
    assert all(p.requires_grad and p.is_leaf for p in after.values())
    assert all(torch.equal(after[n], w) for n, w in weights.items())
    assert all(float(after[n][2:4].detach().sum()) == 3.0 for n in after if n.startswith("bias_ih"))
    assert all(float(after[n][2:4].detach().abs().sum()) == 0.0 for n in after if n.startswith("bias_hh"))
    assert m.training is False, "a training flag is written back too"
    assert m(torch.randn(4, 1, 3))[0].shape == (4, 1, 4), "and the LSTM still runs"


def test_a_replaced_parameter_shows_as_replaced(ends):
    client, _ = ends
    m = nn.Linear(2, 2)
    weight, bias = m.weight, m.bias
    client.namespace["replace"](m)
    assert m.weight is weight and m.bias is not bias and torch.equal(m.bias, torch.zeros(2))


def test_a_returned_argument_is_the_callers_own_module(ends):
    client, _ = ends
    m = nn.Sequential(nn.Linear(2, 2))
    assert client.namespace["same"](m) is m
    assert client.namespace["same"](None) is None, "None is no module that arrived"


def test_a_dtype_change_is_written_back_into_the_same_parameters(ends):
    client, _ = ends
    m = nn.Linear(2, 2)
    weight = m.weight
    client.namespace["to_double"](m)
    assert m.weight is weight and weight.dtype == torch.float64 and m.bias.dtype == torch.float64


@pytest.mark.parametrize("maker", ["mine", "hooked", "with_callable"])
def test_a_module_with_student_code_stays_a_handle(ends, maker):
    client, _ = ends
    assert isinstance(client.namespace[maker](), split.Remote)


def test_a_part_of_a_student_object_stays_a_handle(ends):
    client, _ = ends
    net = client.namespace["Net"]()
    assert isinstance(net, split.Remote)
    assert isinstance(net.c1, split.Remote), "hooks on it fire in the student's forward"


def test_a_tester_module_with_a_hook_or_a_hooked_parameter_crosses_as_a_handle():
    m = nn.Linear(2, 2)
    assert layers.describe(m, Budget(10**6)) is not None
    m.register_forward_pre_hook(lambda *a: None)
    assert layers.describe(m, Budget(10**6)) is None
    for hook in ("register_hook", "register_post_accumulate_grad_hook"):
        m = nn.Sequential(nn.Linear(2, 2))
        getattr(m[0].bias, hook)(lambda *a: None)
        assert layers.describe(m, Budget(10**6)) is None, f"a parameter's {hook} is the caller's code too"
    assert layers.describe(nn.Linear(200, 200), Budget(1000)) is None, "past the budget: a handle"


def _forged(**changes):
    payload = layers.describe(nn.Linear(2, 2), Budget(10**6))["layers"]
    index = {"cls": 0, "attributes": 1, "params": 2}
    for key, value in changes.items():
        payload[index[key]] = value
    return payload


def _rnn(**changes):
    m = nn.RNN(2, 2)
    vars(m).update(changes)
    return layers.describe(m, Budget(10**6))["layers"]


@pytest.mark.parametrize(
    "payload",
    [
        _forged(cls="builtins:dict"),
        _forged(cls="torch.nn.modules.linear:Linear.__init__"),
        _forged(cls="torch.nn.parameter:Parameter"),
        _forged(cls="autograder.sandboxed.split:Remote"),
        _forged(cls="__main__:Net"),
        _forged(attributes={"dict": [["act", {"ref": "os.system"}]]}),
        _forged(attributes={"dict": [["training", True], ["act", {"remote": "print"}]]}),
        _forged(attributes={"dict": [["training", True], ["_forward_hooks", {"dict": []}]]}),
        _forged(attributes={"dict": [["training", True], ["x", encode(torch.zeros(2), Budget(10**6))]]}),
        _forged(params={"weight": [encode(np.zeros((2, 2)), Budget(10**6)), True, None, False]}),
        _forged(params={"weight": [encode(torch.zeros(2, 2), Budget(10**6)), "yes", None, False]}),
        _forged(params={"weight": [{"remote": "#0"}, True, None, False]}),
        ["torch.nn.modules.linear:Linear"],
        _rnn(_flat_weights_names=["weight_ih_l0", "forward"]),
    ],
)
def test_a_forged_copy_is_refused_in_the_tester(ends, payload):
    client, _ = ends
    with pytest.raises(ProtocolError, match="layers value|unknown tag|undecodable"):
        client.decode({"layers": payload})


def test_a_tensor_subclass_is_refused():
    class Sub(torch.Tensor):
        pass

    m = nn.Linear(2, 2)
    m.register_buffer("extra", torch.zeros(2).as_subclass(Sub))
    assert layers.describe(m, Budget(10**6)) is None


def _trained(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> None:
    x, y = torch.linspace(-1, 1, 8)[:, None], torch.linspace(1, -1, 8)[:, None]
    for _ in range(steps):
        loss = ((model(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize(
    "make", [lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5), lambda p: torch.optim.Adam(p, lr=0.05)]
)
def test_an_optimizer_crosses_with_its_model_and_its_state_comes_back(ends, make):
    client, _ = ends
    ours, theirs = (nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)) for _ in range(2))
    theirs.load_state_dict(ours.state_dict())
    mine, reference = make(ours.parameters()), make(theirs.parameters())
    weight = ours[0].weight
    x, y = torch.linspace(-1, 1, 8)[:, None], torch.linspace(1, -1, 8)[:, None]
    for _ in range(3):  # momentum and Adam's moments carry from call to call, as in one process
        assert client.namespace["train"](ours, mine, x, y, 2) == (isinstance(mine, torch.optim.SGD), True)
        _trained(theirs, reference, 2)
    assert ours[0].weight is weight, "the caller's own parameters, trained"
    assert all(torch.allclose(a, b) for a, b in zip(ours.parameters(), theirs.parameters(), strict=True))
    state, expected = mine.state_dict(), reference.state_dict()
    assert state["param_groups"] == expected["param_groups"] and state["state"].keys() == expected["state"].keys()
    for got, want in zip(state["state"].values(), expected["state"].values(), strict=True):
        assert got.keys() == want.keys() and all(torch.allclose(got[k], want[k]) for k in want)
    assert mine.param_groups[0]["params"][0] is weight, "still stepping the caller's parameters"


def test_a_changed_hyperparameter_comes_back(ends):
    client, _ = ends
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    client.namespace["schedule"](model, optimizer)
    assert optimizer.param_groups[0]["lr"] == 0.25, "a learning-rate schedule of the student's code"


def test_an_optimizer_without_its_model_or_with_a_hook_stays_a_handle(ends):
    client, _ = ends
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    assert optimizers.describe(optimizer, Budget(10**6), []) is None, "its model was not sent first"
    sent = layers.parameters(model)
    assert optimizers.describe(optimizer, Budget(10**6), sent) is not None
    optimizer.register_step_pre_hook(lambda *a: None)
    assert optimizers.describe(optimizer, Budget(10**6), sent) is None, "a hook is the caller's code"


@pytest.mark.parametrize(
    "payload",
    [
        ["torch.optim.sgd:SGD.step", {"dict": []}, {"dict": []}, [[0]]],
        ["builtins:dict", {"dict": []}, {"dict": []}, [[0]]],
        ["torch.optim.sgd:SGD", {"dict": [["lr", {"ref": "os.system"}]]}, {"dict": []}, [[0]]],
        ["torch.optim.sgd:SGD", {"dict": [["lr", 0.1]]}, {"dict": []}, [[7]]],
        ["torch.optim.sgd:SGD", {"dict": [["lr", 0.1]]}, {"dict": []}, "0"],
    ],
)
def test_a_forged_optimizer_is_refused(payload):
    with pytest.raises(ProtocolError, match="optimizer|unknown tag"):
        optimizers.rebuild(payload, [nn.Parameter(torch.zeros(2))])


def test_a_forged_optimizer_state_is_refused():
    optimizer = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.5)
    state = optimizer.state_dict()
    with pytest.raises(ProtocolError, match="not plain data"):
        optimizers.assign(optimizer, {**state, "state": {0: {"momentum_buffer": np.zeros(2)}}})
    with pytest.raises(ProtocolError, match="torch refuses"):
        optimizers.assign(optimizer, {**state, "param_groups": []})
    optimizers.assign(optimizer, {**state, "param_groups": [{**state["param_groups"][0], "lr": 0.125}]})
    assert optimizer.param_groups[0]["lr"] == 0.125
