"""torch's own optimizers cross the split clean room with the modules they step: a copy over the copies.

A test that hands student code a model and its optimizer (``train_one_epoch(model, optimizer, ...)``)
passes the model as a copy (:mod:`autograder.sandboxed.layers`); an optimizer left behind as a
handle would step the tester's parameters, not the copy the student's code trains. So an optimizer
crosses as a copy too, when

* its class is one of ``torch.optim``'s own (found among already imported modules, as layers are),
* it has no hook (a hook is the caller's code, which must run where the caller is),
* and every parameter it steps belongs to a module that crossed as a copy *earlier in the same
  call's arguments* (the usual order: the model, then its optimizer);

else it stays a handle. It crosses as ``{"optimizer": [class, defaults, state, positions]}``: its
``defaults``, its ``state_dict()`` (each group's hyperparameters, each parameter's momentum buffers
and step counts), and per group the positions of its parameters among those the call's modules
sent, in their ``named_parameters()`` order. The student process builds it again over its copies of
those parameters (:func:`rebuild`); after the call its ``state_dict()`` comes back as data and is
loaded into the caller's optimizer (:func:`assign`), after the modules' write-back has put the
trained values into the caller's parameters.
"""

from __future__ import annotations

import sys
from typing import Any

from autograder.protocol import Budget, ProtocolError, decode, encode, opaque_encoded
from autograder.sandboxed import layers

HOOKS = (
    "_optimizer_step_pre_hooks",
    "_optimizer_step_post_hooks",
    "_optimizer_state_dict_pre_hooks",
    "_optimizer_state_dict_post_hooks",
    "_optimizer_load_state_dict_pre_hooks",
    "_optimizer_load_state_dict_post_hooks",
)


def torch_optimizer_class(name: Any) -> type | None:
    """The class ``"module:qualname"`` of an already imported ``torch.optim.*`` module, else None."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(name, str) or not name.startswith("torch.optim."):
        return None
    found = layers.imported_class(name)
    return found if found is not None and issubclass(found, torch.optim.Optimizer) else None


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def describe(optimizer: Any, budget: Budget, sent: list[Any]) -> dict | None:
    """`optimizer` as ``{"optimizer": ...}`` if it can cross (see the module's docstring), else None.

    `sent`: the parameters of the modules already sent as copies in this call, in order.
    """
    cls = type(optimizer)
    if torch_optimizer_class(_name(cls)) is not cls or any(getattr(optimizer, hook, None) for hook in HOOKS):
        return None
    position = {id(p): i for i, p in enumerate(sent)}
    positions = [[position.get(id(p)) for p in group["params"]] for group in optimizer.param_groups]
    if any(i is None for group in positions for i in group):
        return None
    defaults, state = optimizer.defaults, optimizer.state_dict()
    if type(defaults) is not dict or not layers.plain(defaults) or not _state_dict(state):
        return None
    trial = Budget(budget.left)  # an optimizer that stays a handle spends nothing of the call's budget
    out = [_name(cls), encode(defaults, trial), encode(state, trial), positions]
    if opaque_encoded(out):
        return None
    budget.left = trial.left
    return {"optimizer": out}


def rebuild(payload: Any, arrived: list[Any]) -> Any:
    """The optimizer `payload` (what :func:`describe` wrote) describes, over `arrived`: the parameters of
    the modules that arrived as copies in this call, in order.

    Raises:
        ProtocolError: a class that is not one of torch's optimizers, positions of no parameter
            that arrived, or a state that torch refuses.
    """
    if type(payload) is not list or len(payload) != 4:
        raise ProtocolError("an optimizer value of the wrong shape")
    name, defaults, state, positions = payload
    cls = torch_optimizer_class(name)
    if cls is None:
        raise ProtocolError(f"an optimizer of a class that is not one of torch's: {name!r}")
    defaults, state = decode(defaults), decode(state)
    if type(defaults) is not dict or not layers.plain(defaults) or not _state_dict(state):
        raise ProtocolError("an optimizer whose settings are not plain data")
    if type(positions) is not list or not all(type(group) is list for group in positions):
        raise ProtocolError("an optimizer value of the wrong shape")
    if not all(type(i) is int and 0 <= i < len(arrived) for group in positions for i in group):
        raise ProtocolError("an optimizer of parameters that did not arrive")
    try:
        optimizer = cls([{"params": [arrived[i] for i in group]} for group in positions], **defaults)
        optimizer.load_state_dict(state)
    except (TypeError, ValueError, KeyError, RuntimeError) as err:
        raise ProtocolError(f"an optimizer that torch refuses ({err})") from None
    return optimizer


def _state_dict(value: Any) -> bool:
    """Whether `value` is shaped as ``Optimizer.state_dict()``, of plain data and plain tensors only."""
    import torch

    if type(value) is not dict or set(value) != {"state", "param_groups"}:
        return False
    state, groups = value["state"], value["param_groups"]
    if type(state) is not dict or type(groups) is not list or not all(type(g) is dict for g in groups):
        return False
    for entry in state.values():
        if type(entry) is not dict:
            return False
        if not all(type(k) is str and (type(v) is torch.Tensor or layers.plain(v)) for k, v in entry.items()):
            return False
    return all(type(k) is int for k in state) and all(layers.plain(g) for g in groups)


def state(optimizer: Any, budget: Budget) -> Any:
    """What a call did to `optimizer` (a copy that arrived), for the caller: its ``state_dict()`` as data."""
    return encode(optimizer.state_dict(), budget)


def assign(original: Any, new: Any) -> None:
    """Load `new` (an optimizer's state, decoded from a write-back) into the caller's `original`.

    Raises:
        ProtocolError: `new` is not an optimizer's state of plain data and tensors, or torch refuses it.
    """
    if not _state_dict(new):
        raise ProtocolError("an optimizer's state that is not plain data")
    try:
        original.load_state_dict(new)
    except (TypeError, ValueError, KeyError, RuntimeError) as err:
        raise ProtocolError(f"an optimizer's state that torch refuses ({err})") from None
