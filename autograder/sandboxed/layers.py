"""torch's own layers cross the split clean room as data: a real copy on the other side, never a handle.

A module made only of classes defined in ``torch.nn.modules`` (``nn.Sequential(nn.Conv2d(...),
nn.ReLU())``, ``nn.LSTM``) runs no student code, so the receiving side can hold a copy of it:
``type(m) is nn.Sequential``, optimizers, hooks and training then work natively there. It crosses
as ``{"layers": [class, attributes, parameters, buffers, non-persistent buffers, children, fresh]}``
(:func:`describe`), and is built again by :func:`rebuild`, which in the tester decodes what the
student process sent and so trusts none of it:

* the class is looked up only among the *already imported* modules ``torch.nn.modules.*``, through
  ``vars()`` (no import, no module ``__getattr__``), and must be a subclass of ``nn.Module`` whose
  own ``__module__`` and ``__qualname__`` are the names sent;
* it is made by ``cls.__new__`` and ``nn.Module.__init__`` (the tester's own torch), then given
  only plain-data attributes (None, bool, int, float, str and tuples, lists and dicts of them),
  exact ``nn.Parameter``\\ s and plain tensors, decoded without handles or references;
* a module with a hook (or a parameter with one), an attribute that is not plain data, a tensor
  subclass, a submodule of another class, or one shared between two places is not described: it
  stays a handle.

A module argument that the call changed is written back into the caller's own module in place
(:func:`assign`), keeping its Parameter objects and buffers (their values copied in); a parameter
or submodule that the callee *replaced* is marked ``fresh`` and replaced on the caller's side
too, so that a test checking ``id(param)`` sees what the callee did.
"""

from __future__ import annotations

import functools
import json
import sys
import weakref
from typing import Any

from autograder.protocol import Budget, ProtocolError, decode, encode

PLAIN = (type(None), bool, int, float, str)

DERIVED = ("_flat_weights", "_flat_weight_refs")
"""Attributes of torch's RNNs that hold their parameters again: rebuilt on arrival, not sent."""

_FRESH: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
"""Parameters, buffers and modules of a decoded write-back that the callee made anew (:func:`assign`),
by id (a tensor's ``==`` is elementwise, so no set of them)."""


@functools.cache
def _machinery() -> frozenset[str]:
    """The attributes ``nn.Module.__init__`` sets (hooks, registries, ``training``)."""
    import torch

    return frozenset(vars(torch.nn.Module()))


def plain(value: Any) -> bool:
    """Whether `value` is plain data: None, bool, int, float, str, and tuples, lists, dicts of them."""
    if type(value) in PLAIN:
        return True
    if type(value) in (tuple, list):
        return all(plain(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and plain(v) for k, v in value.items())
    return False


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def imported_class(name: Any) -> type | None:
    """The class named ``"module:qualname"`` in a module already imported here, else None.

    Found through the module's and its classes' ``__dict__`` (no import, no module ``__getattr__``,
    no descriptor runs); its own ``__module__`` and ``__qualname__`` must be the names, and it is
    not a metaclass. The caller says which modules it trusts.
    """
    if not isinstance(name, str):
        return None
    module, _, qualname = name.partition(":")
    if "<" in qualname:
        return None
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = vars(found).get(part) if hasattr(found, "__dict__") else None
    if isinstance(found, type) and not issubclass(found, type):
        if (found.__module__, found.__qualname__) == (module, qualname):
            return found
    return None


def torch_class(name: Any) -> type | None:
    """The class ``"module:qualname"`` of an already imported ``torch.nn.modules.*`` module, else None."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(name, str) or not name.startswith("torch.nn.modules."):
        return None
    found = imported_class(name)
    return found if found is not None and issubclass(found, torch.nn.Module) else None


def _tensor(value: Any, budget: Budget) -> Any:
    """A CPU tensor (not a subclass) as data, or None if it is not one or does not fit."""
    import torch

    if type(value) not in (torch.Tensor, torch.nn.Parameter) or value.device.type != "cpu":
        return None
    out = encode(value.detach(), budget)
    return None if "opaque" in out else out


def describe(
    module: Any, budget: Budget, arrived: dict[str, Any] | None = None, sent: list[Any] | None = None
) -> dict | None:
    """`module` as ``{"layers": ...}`` if it and its submodules are only torch's own layers, else None.

    `arrived` (a write-back): the parts the module had when it arrived (:func:`parts`); a
    parameter or submodule that is not the one that arrived is marked fresh. `sent` (a call's
    arguments): gets the module's parameters, in ``named_parameters()`` order, if it is described.
    """
    trial = Budget(budget.left)  # a module that stays a handle spends nothing of the call's budget
    described = _describe(module, trial, set(), arrived, "")
    if described is None:
        return None
    budget.left = trial.left
    if sent is not None:
        sent.extend(parameters(module))
    return {"layers": described}


def parameters(module: Any) -> list[Any]:
    """`module`'s parameters in ``named_parameters()`` order: the same on both ends for a module and its copy."""
    return [p for _, p in module.named_parameters(remove_duplicate=False)]


def _describe(module: Any, budget: Budget, seen: set[int], arrived: dict | None, path: str) -> list | None:
    import torch

    cls = type(module)
    if torch_class(_name(cls)) is not cls or id(module) in seen:
        return None
    seen.add(id(module))
    state = vars(module)
    attributes = {}
    for key, value in state.items():
        if key in _machinery():
            if "hook" in key and value:
                return None
        elif key not in DERIVED:
            if not plain(value):
                return None
            attributes[key] = value
    attributes["training"] = module.training
    params: dict[str, Any] = {}
    for key, param in module._parameters.items():
        if param is not None:
            if type(param) is not torch.nn.Parameter or id(param) in seen or _hooked(param):
                return None
            seen.add(id(param))
            data = _tensor(param, budget)
            grad = None if param.grad is None else _tensor(param.grad, budget)
            if data is None or (param.grad is not None and grad is None):
                return None
            fresh = arrived is not None and arrived.get(f"{path}{key}") is not param
            param = [data, param.requires_grad, grad, fresh]
        params[key] = param
    buffers: dict[str, Any] = {}
    for key, buffer in module._buffers.items():
        if buffer is not None and (buffer := _tensor(buffer, budget)) is None:
            return None
        buffers[key] = buffer
    children: dict[str, Any] = {}
    for key, child in module._modules.items():
        if child is not None and (child := _describe(child, budget, seen, arrived, f"{path}{key}.")) is None:
            return None
        children[key] = child
    fresh = arrived is not None and arrived.get(path) is not module
    attributes = encode(attributes, budget)
    if not budget.spend(len(json.dumps(attributes))):
        return None
    return [_name(cls), attributes, params, buffers, sorted(module._non_persistent_buffers_set), children, fresh]


def _hooked(tensor: Any) -> bool:
    """Whether `tensor` has a gradient hook (the caller's code, which a copy would not run)."""
    return bool(tensor._backward_hooks or tensor._post_accumulate_grad_hooks)


def parts(module: Any) -> dict[str, Any]:
    """`module`'s submodules (``"c1."``, ``""`` for itself) and parameters (``"c1.weight"``), by path:
    what :func:`describe` compares with to tell a part the callee replaced."""
    out = {f"{name}." if name else "": m for name, m in module.named_modules(remove_duplicate=False)}
    out.update(module.named_parameters(remove_duplicate=False))
    return out


def _refuse(what: str) -> ProtocolError:
    return ProtocolError(f"a layers value with {what}")


def rebuild(payload: Any) -> Any:
    """The module that `payload` (what :func:`describe` wrote) describes, built of this process's own torch.

    Raises:
        ProtocolError: `payload` names a class that is not one of torch's own layers, holds
            anything but plain data and tensors, or is not shaped as :func:`describe` writes.
    """
    import torch

    if type(payload) is not list or len(payload) != 7:
        raise _refuse("the wrong shape")
    name, attributes, params, buffers, transient, children, fresh = payload
    cls = torch_class(name)
    if cls is None:
        raise _refuse(f"a class that is not one of torch's layers: {name!r}")
    attributes = decode(attributes)  # no handles, no references: plain data only
    if type(attributes) is not dict or not plain(attributes) or type(attributes.get("training")) is not bool:
        raise _refuse("attributes that are not plain data")
    if any(key in _machinery() and key != "training" or key in DERIVED or key.startswith("__") for key in attributes):
        raise _refuse("an attribute of the module machinery")
    if not all(type(part) is dict for part in (params, buffers, children)) or type(transient) is not list:
        raise _refuse("the wrong shape")
    module = cls.__new__(cls)
    torch.nn.Module.__init__(module)
    vars(module).update(attributes)
    for key, entry in params.items():
        param = None
        if entry is not None:
            if type(entry) is not list or len(entry) != 4 or type(entry[1]) is not bool:
                raise _refuse("a parameter of the wrong shape")
            param = torch.nn.Parameter(_plain_tensor(entry[0]), requires_grad=entry[1])
            if entry[2] is not None:
                param.grad = _plain_tensor(entry[2])
            _mark(param, entry[3])
        module.register_parameter(key, param)
    for key, entry in buffers.items():
        buffer = None if entry is None else _mark(_plain_tensor(entry), False)
        module.register_buffer(key, buffer, persistent=key not in transient)
    for key, entry in children.items():
        module.register_module(key, None if entry is None else rebuild(entry))
    if isinstance(module, torch.nn.RNNBase):
        if not set(module._flat_weights_names) <= set(module._parameters):
            raise _refuse("an RNN whose flat weights are not its parameters")
        module._init_flat_weights()
    return _mark(module, fresh)


def _plain_tensor(data: Any) -> Any:
    import torch

    tensor = decode(data)
    if type(tensor) is not torch.Tensor:
        raise _refuse("a parameter or buffer that is not a tensor")
    return tensor


def _mark(part: Any, fresh: Any) -> Any:
    if type(fresh) is not bool:
        raise _refuse("the wrong shape")
    if fresh:
        _FRESH[id(part)] = part
    return part


def _fresh(part: Any) -> bool:
    return _FRESH.get(id(part)) is part


def _copy(mine: Any, new: Any) -> None:
    """`new`'s values into the tensor `mine`, in place (its data swapped if the callee changed its
    dtype, as ``module.double()`` does); untouched if equal (no version bump)."""
    import torch

    with torch.no_grad():
        if mine.dtype != new.dtype:
            mine.data = new.detach()
        elif not torch.equal(mine, new):
            mine.copy_(new)


def assign(original: Any, new: Any) -> None:
    """Write `new` (a callee's copy of `original`, decoded from a write-back) into `original` in place.

    Parameters and buffers keep their objects (values, ``requires_grad`` and ``.grad`` copied in);
    what the callee replaced (fresh in `new`) replaces the caller's, as it did the callee's.
    """
    import torch

    if type(original) is not type(new):
        return
    for key, value in vars(new).items():
        if key not in _machinery() and key not in DERIVED:
            vars(original)[key] = value
    original.training = new.training
    replaced = False
    for key, param in new._parameters.items():
        mine = original._parameters.get(key)
        if param is None or mine is None or _fresh(param) or mine.shape != param.shape:
            original._parameters[key] = param
            replaced = True
        else:
            _copy(mine, param)
            mine.requires_grad_(param.requires_grad)
            mine.grad = param.grad
    for key in set(original._parameters) - set(new._parameters):
        del original._parameters[key]
        replaced = True
    for key, buffer in new._buffers.items():
        mine = original._buffers.get(key)
        if buffer is None or mine is None or _fresh(buffer) or mine.shape != buffer.shape:
            original._buffers[key] = buffer
        else:
            _copy(mine, buffer)
    for key in set(original._buffers) - set(new._buffers):
        del original._buffers[key]
    original._non_persistent_buffers_set = set(new._non_persistent_buffers_set)
    for key, child in new._modules.items():
        mine = original._modules.get(key)
        if child is None or mine is None or _fresh(child) or type(mine) is not type(child):
            original._modules[key] = child
        else:
            assign(mine, child)
    for key in set(original._modules) - set(new._modules):
        del original._modules[key]
    if replaced and isinstance(original, torch.nn.RNNBase):
        original._init_flat_weights()
