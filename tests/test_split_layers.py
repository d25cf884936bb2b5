"""torch's own layers cross the split clean room as copies (``autograder/sandboxed/layers.py``).

A module made only of classes of ``torch.nn.modules`` that a call returns, or that is passed as an
argument, crosses as data both ways: the receiver holds a real ``nn.Sequential``; what the callee
changed in place is written back into the caller's module, keeping its Parameter objects, and
what it replaced is replaced. A student's subclass, a module with a hook or a callable attribute,
and a part of a student object read by ``getattr`` stay handles; a forged copy is refused.
"""

import numpy as np
import pytest
import torch
from split_ends import ends_fixture
from torch import nn

from autograder.protocol import Budget, ProtocolError, encode
from autograder.sandboxed import layers, split

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


def test_a_tester_module_with_a_hook_crosses_as_a_handle():
    m = nn.Linear(2, 2)
    assert layers.describe(m, Budget(10**6)) is not None
    m.register_forward_pre_hook(lambda *a: None)
    assert layers.describe(m, Budget(10**6)) is None
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
