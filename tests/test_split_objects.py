"""The split clean room's objects: what crosses between the tester and the student process besides data.

A tester reads the attributes of student objects, iterates them and calls their methods
(``model.features[0].padding``, ``model.parameters()``), and ``isinstance`` judges them by their
nearest trusted library class; random generators cross as their state and come back advanced;
a test's own objects (a ``Ring``, a layer spec, an ``nn.Module``) cross as handles that student
code uses by callback, reading only their public attributes; parameters cross once, linked both
ways, and a result's graph stays where it ran, either way (a student's training step on a test's
hooked model, optimizer and loss fires its hooks as in one process). Over real pipes, a thread playing
the student process, as in ``tests/test_split_cleanroom.py``.
"""

import os
import types

import numpy as np
import pytest
import torch
from split_ends import open_ends
from torch import nn

from autograder.protocol import REMOTE_OPS, Budget, ProtocolError, decode, encode
from autograder.sandboxed import split

LOCKED = """
class Spec:
    def __init__(self, width):
        self.width = width
"""

STUDENT = """
import numpy as np
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(2, 3)
        self._private = "the student's own"

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))

class Bag(list):
    pass

def draw(rng, n):
    return rng.random(n)

def shuffle(n, generator):
    return torch.randperm(n, generator=generator)

def widths(specs):
    return [s.width for s in specs if isinstance(s, Spec)]

def tally(ring, n):
    for _ in range(n):
        ring.step(2)
    return ring.steps

def count(layer):
    return sum(p.numel() for p in layer.parameters())

def kind(obj):
    return isinstance(obj, nn.Linear), isinstance(obj, nn.Conv2d), type(obj).__name__

def step(net, opt, x, loss_fn):
    # a training step on the caller's objects (its model, optimizer and loss), then a frozen forward
    loss = loss_fn(net(x))
    opt.zero_grad()
    loss.backward()
    opt.step()
    for p in net.parameters():
        p.requires_grad_(False)
    frozen = not loss_fn(net(x)).requires_grad
    for p in net.parameters():
        p.requires_grad_(True)
    return loss.item(), frozen

def same(a, b):
    return a is b

def owns(model, p):
    return any(q is p for q in model.parameters())

def swish(z):
    return z * torch.sigmoid(z)

def grad_mode(fn):
    return fn(torch.is_grad_enabled())

class LooksLikeATensor:
    shape, requires_grad = (3, 10), False
    device = type("Device", (), {"type": "meta"})()
    dtype = torch.float32

def looks_like_a_tensor():
    return LooksLikeATensor()

def forge(obj, op, *args):
    # a forged request: past the student side's own Remote, which would not ask for a dunder name
    from autograder.sandboxed import split
    return object.__getattribute__(obj, "_peer").call(split._target(obj), args, {}, op=op)

def probe(loss_fn, x, op, *args):
    # a result of the tester's keeps its graph there, under a handle: ask it something else
    loss = loss_fn(x)
    return forge(loss.grad_fn.graph, op, *args)

def peek(obj, name):
    return forge(obj, "getattr", name)
"""


@pytest.fixture
def ends():
    """A tester's client (with ``LOCKED`` run on both sides) and the student side, on a thread, over pipes."""
    with open_ends(LOCKED, STUDENT) as pair:
        yield pair


# 1. attributes, items, iteration and methods of student objects ------------------------------------


def test_a_student_model_is_read_iterated_and_called_from_the_tester(ends):
    client, _ = ends
    net = client.namespace["Net"]()
    conv = net.features[0]
    assert tuple(conv.padding) == (1, 1) and conv.kernel_size == (3, 3), "attributes cross as data"
    assert isinstance(conv.weight, torch.Tensor) and conv.weight.shape == (2, 1, 3, 3)
    assert len(net.features) == 2 and bool(net.features)
    assert sum(p.numel() for p in net.parameters()) == 2 * 9 + 2 + 2 * 3 + 3, "a method's generator, iterated"
    assert [name for name, _ in net.named_children()] == ["features", "head"]
    assert net.eval().training is False and net.training is False, "a method changes the object there"
    assert net(torch.zeros(1, 1, 4, 4)).shape == (1, 3)
    assert net._private == "the student's own", "the tester may read the student's private attributes"


def test_every_operation_of_the_protocol_is_answered():
    assert set(split._OPS) | {"call"} == set(REMOTE_OPS)
    with pytest.raises(ProtocolError):
        split._operation(object(), "setattr")


def test_an_object_that_crosses_twice_is_the_same_handle(ends):
    client, _ = ends
    net = client.namespace["Net"]()
    assert net.features is net.features and net.features[0] is next(iter(net.features))
    ring = Ring()
    assert client.namespace["peek"](ring, "me") is ring, "and the tester's object comes back as itself"


def test_a_call_runs_in_the_callers_gradient_mode_both_ways(ends):
    client, _ = ends
    seen = []
    with torch.no_grad():
        client.namespace["grad_mode"](lambda there: seen.append((there, torch.is_grad_enabled())))
    client.namespace["grad_mode"](lambda there: seen.append((there, torch.is_grad_enabled())))
    assert seen == [(False, False), (True, True)]


def test_dunder_names_are_never_asked_of_the_other_process(ends):
    client, _ = ends
    net = client.namespace["Net"]()
    for name in ("__array_interface__", "__array__", "__dlpack__", "__dict__", "__globals__"):
        with pytest.raises(AttributeError, match="not asked"):
            getattr(net, name)


# 2. isinstance -----------------------------------------------------------------------------------------


def test_isinstance_judges_a_handle_by_its_nearest_trusted_class(ends):
    client, _ = ends
    net = client.namespace["Net"]()
    assert isinstance(net, nn.Module) and not isinstance(net, nn.Sequential), "Net itself is the student's"
    assert type(net).__name__ == "Module"
    assert [type(m).__name__ for m in net.features] == ["Conv2d", "ReLU"]
    assert isinstance(net.features, nn.Sequential) and isinstance(net.features[0], nn.Conv2d)
    assert isinstance(net.features[0], split.Remote), "still a handle: nothing of it runs in the tester"
    assert isinstance(client.namespace["Bag"](), list), "a student's list subclass, as a list"


def test_the_tester_trusts_only_classes_of_imported_libraries():
    for mro in (["__main__:Net", "builtins:object"], ["os:_wrap_close"], ["torch.nn:Module.<locals>.X"]):
        assert split._nearest_class(mro) in (object, None), mro
    assert split._nearest_class(["no.such.module:Thing", "torch.nn.modules.conv:Conv2d"]) is nn.Conv2d
    assert split._nearest_class(["builtins:type"]) is None, "never a metaclass"
    assert split._nearest_class(["torch.nn.modules.conv:Conv1d.forward"]) is None, "a function is not a class"


# 3. generators as data -------------------------------------------------------------------------------------


def test_a_numpy_generator_crosses_as_its_state_and_comes_back_advanced(ends):
    client, _ = ends
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    assert client.namespace["draw"](rng, 3).tolist() == twin.random(3).tolist()
    assert rng.random() == twin.random(), "the student's draws advanced the tester's generator"


def test_a_forged_generator_state_is_refused():
    for payload in (["os.system", {"dict": []}], ["PCG64", {"dict": [["bit_generator", "MT19937"]]}], ["PCG64"]):
        with pytest.raises(ProtocolError):
            decode({"np_generator": payload})


def test_a_torch_generator_crosses_as_its_state_and_comes_back_advanced(ends):
    client, _ = ends
    gen, twin = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    assert client.namespace["shuffle"](6, gen).tolist() == torch.randperm(6, generator=twin).tolist()
    assert torch.rand(1, generator=gen).item() == torch.rand(1, generator=twin).item()


# 4. the tester's objects, handed to student code ---------------------------------------------------------


class Ring:
    """A test's object: student code steps it by callback; its counters stay in the tester."""

    def __init__(self):
        self.steps = 0
        self._secret = "expected values"
        self.me = self

    def step(self, k):
        self.steps += 1
        return k


def test_a_tests_object_is_used_by_callback(ends):
    client, _ = ends
    ring = Ring()
    assert client.namespace["tally"](ring, 3) == 3 and ring.steps == 3
    specs = [client.namespace["Spec"](4), client.namespace["Spec"](7)]
    assert client.namespace["widths"](specs) == [4, 7], "isinstance of a locked cell's class, there"
    assert client.namespace["count"](nn.Linear(3, 2)) == 8, "a library module of the test's, by callback"
    assert client.namespace["kind"](nn.Linear(3, 2)) == (True, False, "Linear"), "isinstance there too"


SECRETS = """
def _hidden(x):
    expected = 42
    return x * expected
"""


def test_student_code_cannot_read_the_tests_private_or_dunder_attributes(ends):
    """Red team: what the hidden test's objects would hand over (source, expected values, globals)."""
    client, _ = ends
    exec(compile(SECRETS, "<hidden test>", "exec"), client.namespace)  # noqa: S102 - the hidden test
    ring, hidden, peek = Ring(), client.namespace["_hidden"], client.namespace["peek"]
    attempts = [(hidden, n) for n in ("__globals__", "__code__", "__closure__", "__dict__", "__defaults__")]
    attempts += [(ring, n) for n in ("_secret", "__dict__", "__class__", "__init__", "__reduce_ex__")]
    attempts += [(ring.step, n) for n in ("__self__", "__func__", "__globals__")]
    for obj, name in attempts:
        with pytest.raises(AttributeError, match="only public attributes"):
            peek(obj, name)
    assert peek(ring, "steps") == 0, "public attributes are read"


def test_of_a_tests_module_student_code_reads_the_registries_torch_reads_but_never_its_hooks(ends):
    """A student's model holding a test's module as a submodule counts its parameters (torch reads
    ``_parameters`` and ``_modules``); the test's hooks on it stay out of reach."""
    client, _ = ends

    class Shift(nn.Module):  # a test's own class: it stays a handle
        def __init__(self):
            super().__init__()
            self.offset = nn.Parameter(torch.ones(3))

        def forward(self, x):
            return x + self.offset

    shift, peek = Shift(), client.namespace["peek"]
    shift.register_forward_hook(lambda *args: None)
    assert list(peek(shift, "_parameters")) == ["offset"] and peek(shift, "_modules") == {}
    for name in ("_forward_hooks", "_forward_pre_hooks", "_state_dict_hooks", "_version"):
        with pytest.raises(AttributeError, match="only public attributes"):
            peek(shift, name)
    with pytest.raises(AttributeError, match="only public attributes"):
        peek(Ring(), "_parameters")


def test_what_leads_to_the_testers_code_or_frames_never_crosses(ends):
    client, _ = ends
    try:
        raise ValueError
    except ValueError as err:
        traceback = err.__traceback__
    for value in (os, traceback, traceback.tb_frame, traceback.tb_frame.f_code):
        assert client._outgoing(value) is None, value
    with pytest.raises(TypeError, match="cannot be passed"):
        client.namespace["peek"](os, "environ")


def test_a_tests_generator_crosses_as_an_iterator_over_its_items(ends):
    client, _ = ends
    layer = nn.Linear(2, 3)
    assert client.namespace["count"](layer) == 9, "student code iterates layer.parameters() of the test's layer"
    client._outgoing(p for p in layer.parameters())
    kept = client.handles[-1]
    assert not isinstance(kept, types.GeneratorType) and not hasattr(kept, "gi_frame"), "gi_frame leads to locals"
    assert [tuple(p.shape) for p in kept] == [(3, 2), (3,)]


def test_next_takes_one_item_there(ends):
    client, _ = ends
    params = client.namespace["Net"]().parameters()
    assert next(params).shape == (2, 1, 3, 3) and next(params).shape == (2,)


# 5. autograd across a call ------------------------------------------------------------------------------


def test_backward_through_a_student_result_reaches_the_tests_inputs_and_the_students_parameters(ends):
    client, _ = ends
    z = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
    (got,) = torch.autograd.grad(client.namespace["swish"](z * 2).sum(), z)
    w = z.detach().clone().requires_grad_(True)
    (want,) = torch.autograd.grad(((2 * w) * torch.sigmoid(2 * w)).sum(), w)
    assert torch.allclose(got, want), "the chain rule runs on both sides"
    net = client.namespace["Net"]()
    assert all(p.requires_grad and p.grad is None for p in net.parameters()), "a parameter crosses as a leaf"
    net(torch.randn(2, 1, 4, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters()), "the student's parameters got their gradients there"
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_a_leaf_crosses_with_its_gradient_only_in_the_split_clean_rooms_calls():
    weight = torch.ones(3, requires_grad=True)
    (weight * 2).sum().backward()
    assert list(encode(weight, Budget(10**6))) == ["tensor"], "a record's tensor is plain data"
    got = decode(encode(weight, Budget(10**6), lambda value: None))
    assert got.requires_grad and got.is_leaf and got.grad.tolist() == [2.0, 2.0, 2.0]


def test_no_graph_is_kept_for_a_call_without_gradients(ends):
    client, student = ends
    net = client.namespace["Net"]()
    with torch.no_grad():
        out = net(torch.randn(1, 1, 4, 4))
    assert not out.requires_grad and not any(isinstance(h, split._Graph) for h in student.handles)


def test_student_code_cannot_back_propagate_through_or_write_into_the_testers_objects(ends):
    client, _ = ends

    class Layer(nn.Linear):  # a test's own class: a handle (torch's own Linear would cross as a copy)
        pass

    layer = Layer(2, 2)
    with pytest.raises(TypeError, match="backward"):
        client.namespace["forge"](layer, "backward", torch.ones(2))
    with pytest.raises(TypeError, match="assign"):
        client.namespace["forge"](layer, "assign", "weight", torch.zeros(2, 2))
    assert layer.weight.abs().sum() > 0


def test_what_a_test_changes_in_place_in_a_students_tensor_reaches_the_students_object(ends):
    """``net.head.bias.fill_(...)`` changes the test's copy; it is copied there before the next call."""
    client, student = ends
    net = client.namespace["Net"]()
    x = torch.zeros(1, 1, 4, 4)
    with torch.no_grad():
        net.head.weight.zero_()
        bias = net.head.bias
        bias.fill_(2.0)
        assert net(x).tolist() == [[2.0, 2.0, 2.0]], "both changes reached the student's Linear"
        bias.add_(1.0)
    assert net(x).tolist() == [[3.0, 3.0, 3.0]], "and a later one too"
    assert net.head.bias.tolist() == [3.0, 3.0, 3.0]
    unchanged = [h for h in student.handles if isinstance(h, nn.Linear)]
    assert len(unchanged) == 1 and unchanged[0].weight.requires_grad, "changed as a test would, in no_grad"


def test_a_graph_is_freed_there_once_the_tester_holds_it_no_more(ends):
    client, student = ends
    net = client.namespace["Net"]()
    out = net(torch.randn(1, 1, 4, 4))
    graphs = lambda: sum(isinstance(h, split._Graph) for h in student.handles)  # noqa: E731
    assert out.requires_grad and graphs() == 1
    del out
    net.training  # noqa: B018 - the next call carries the release
    assert graphs() == 0


def test_a_model_built_on_the_meta_device_is_built_there_and_its_parameters_cross_as_shapes(ends):
    client, student = ends
    with torch.device("meta"):
        net = client.namespace["Net"]()
    assert [tuple(p.shape) for p in net.parameters()] == [(2, 1, 3, 3), (2,), (3, 2), (3,)]
    assert all(p.device.type == "meta" and p.requires_grad for p in net.parameters())
    assert next(h for h in student.handles if type(h).__name__ == "Net").head.weight.device.type == "meta"
    assert client.namespace["Net"]().head.weight.device.type == "cpu", "and outside the block, on the CPU"


def test_a_forged_meta_tensor_is_refused():
    back = decode(encode(torch.empty(2, 3, device="meta"), Budget(100)))
    assert back.device.type == "meta" and back.shape == (2, 3) and back.dtype == torch.float32
    for forged in ([[2, -1], "float32", False], [[2], "Tensor", False], [[2.5], "float32", False]):
        with pytest.raises(ProtocolError):
            decode({"meta": forged})


def test_a_handle_whose_class_names_a_tensor_is_never_recorded_as_one(ends):
    """A forged class message can make ``isinstance(handle, torch.Tensor)`` true in the tester; the
    codec judges by the real type, so a check records it as opaque, never as a shape of its choosing."""
    client, _ = ends
    honest = client.namespace["looks_like_a_tensor"]()
    forged = split._remote_type(torch.Tensor)(client, split._target(honest))
    assert isinstance(forged, torch.Tensor) and forged.shape == (3, 10)
    assert set(encode(forged, Budget(10_000))) == {"opaque"}
    assert not split._is_tensor(forged)


# 6. a student's parameters, linked ------------------------------------------------------------------------


def _students_net(student: split.StudentSide) -> nn.Module:
    return next(h for h in student.handles if type(h).__name__ == "Net")


def test_a_parameter_crosses_once_so_is_holds_as_in_one_process(ends):
    client, _ = ends
    net = client.namespace["Net"]()
    weight = net.head.weight
    assert isinstance(weight, nn.Parameter) and weight.requires_grad and weight.is_leaf
    assert net.head.weight is weight and list(net.parameters())[2] is weight


def test_an_optimizer_of_the_test_steps_the_students_parameters(ends):
    """``torch.optim.SGD(model.parameters())`` in the test, ``model`` the student's: its step and
    ``zero_grad`` change the test's copies, and the student's model computes with what they hold."""
    client, student = ends
    torch.manual_seed(0)
    net, x = client.namespace["Net"](), torch.randn(4, 1, 4, 4)
    params = list(net.parameters())
    before = [p.detach().clone() for p in params]
    opt = torch.optim.SGD(params, lr=0.5)
    net(x).pow(2).sum().backward()
    grads = [p.grad.clone() for p in params]
    assert all(g.abs().sum() > 0 for g in grads), "backward there filled the test's copies' .grad"
    opt.step()
    opt.zero_grad()
    mine = _students_net(student)
    net.training  # noqa: B018 - the next call carries the step
    for p, theirs, b, g in zip(params, mine.parameters(), before, grads, strict=True):
        assert torch.allclose(p.detach(), b - 0.5 * g) and torch.equal(theirs.detach(), p.detach())
        assert p.grad is None and theirs.grad is None


def test_what_the_student_changes_in_a_parameter_reaches_the_tests_copy(ends):
    client, student = ends
    net, x = client.namespace["Net"](), torch.randn(2, 1, 4, 4)
    weight = net.head.weight
    net(x).sum().backward()
    assert weight.grad is not None and torch.equal(weight.grad, _students_net(student).head.weight.grad)
    net.zero_grad()
    assert weight.grad is None, "the student's zero_grad reached the copy the test holds"


def test_an_in_place_change_with_no_reference_kept_reaches_the_student(ends):
    client, student = ends
    net = client.namespace["Net"]()
    with torch.no_grad():
        list(net.head.parameters())[0].mul_(0.0)
        net.head.bias.fill_(1.5)
    assert net(torch.randn(1, 1, 4, 4)).tolist() == [[1.5, 1.5, 1.5]]
    assert _students_net(student).head.weight.abs().sum() == 0


def test_a_change_of_a_parameter_that_is_not_linked_is_refused_both_ways(ends):
    client, student = ends
    client.namespace["Net"]().head.weight  # noqa: B018 - one parameter linked: #3 of the student's
    forged = {"#0": encode(torch.zeros(2), Budget(100))}
    for end in (client, student):
        with pytest.raises(ProtocolError, match="no linked parameter"):
            end._links_in({}, forged)
        with pytest.raises(ProtocolError, match="no linked parameter"):
            end._links_in(forged, {})


def test_a_parameter_handed_back_to_student_code_is_the_students_own(ends):
    client, student = ends
    net = client.namespace["Net"]()
    with torch.no_grad():
        net.head.bias.fill_(4.0)
    assert client.namespace["owns"](net, net.head.bias), "the student's code gets its own parameter, not a copy"
    assert _students_net(student).head.bias.tolist() == [4.0] * 3


def test_student_code_trains_a_tests_model_through_the_tests_loss_firing_its_hooks(ends):
    """The test's model, optimizer and loss stay in the tester (a hook on each parameter, a hook on
    the optimizer): what they compute crosses as data joined to the student's graph and back, and
    ``requires_grad_`` on the parameters the student's code holds reaches the test's."""
    client, _ = ends

    class Layer(nn.Linear):  # a test's own class: a handle
        pass

    local: dict = {}
    exec(compile(STUDENT, "<student>", "exec"), local)  # noqa: S102 - the same code, in one process
    torch.manual_seed(0)
    x, nets = torch.randn(4, 3), [Layer(3, 2)]
    nets.append(Layer(3, 2))
    nets[1].load_state_dict(nets[0].state_dict())
    logs, results = [[], []], []
    for net, log, run in zip(nets, logs, (client.namespace["step"], local["step"]), strict=True):
        for p in net.parameters():
            p.register_hook(lambda g, log=log: log.append("grad"))
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        opt.register_step_pre_hook(lambda *_, log=log: log.append("step"))
        results.append([run(net, opt, x, lambda out: ((out - 1) ** 2).mean()) for _ in range(2)])
    assert results[0] == results[1] and all(frozen for _, frozen in results[0])
    assert logs[0] == logs[1] == ["grad", "grad", "step"] * 2, logs
    for theirs, mine in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert torch.equal(theirs, mine) and torch.equal(theirs.grad, mine.grad) and theirs.requires_grad


def test_a_result_handed_back_is_the_other_ends_own_tensor_with_its_graph(ends):
    """``net(x)`` passed back to student code is the student's own output (``is`` holds, one backward
    there goes through both calls), not a leaf copy joined twice."""
    client, student = ends
    net, x = client.namespace["Net"](), torch.randn(2, 1, 4, 4)
    out = net(x)
    assert client.namespace["same"](out, out)
    client.namespace["swish"](out).sum().backward()
    local = _students_net(student)
    local.zero_grad()
    z = local(x)
    (z * torch.sigmoid(z)).sum().backward()
    for theirs, mine in zip(net.parameters(), local.parameters(), strict=True):
        assert torch.allclose(theirs.grad, mine.grad)


def test_a_graph_of_the_testers_is_only_back_propagated(ends):
    client, _ = ends
    x = torch.ones(3, requires_grad=True)
    grads = client.namespace["probe"](lambda t: (t * 3.0).sum(), x, "backward", torch.tensor(2.0))
    assert [g.tolist() for g in grads] == [[6.0, 6.0, 6.0]]
    for op, args in (("getattr", ("tensor",)), ("getattr", ("leaves",)), ("call", ()), ("assign", ("x", x))):
        with pytest.raises(TypeError, match="cannot ask that"):
            client.namespace["probe"](lambda t: (t * 3.0).sum(), x, op, *args)
