"""Detectron2 without its compiled ops: a placeholder for ``detectron2._C``.

Detectron2 built from source without its C++/CUDA extension cannot even import
``detectron2.layers`` (``from detectron2 import _C`` fails). Only rotated boxes,
deformable convolution and the fast C++ COCO evaluation really need those ops, and SISeg
uses none of them. :func:`install_placeholder_if_missing` registers a stand-in module under
``sys.modules["detectron2._C"]`` so everything else imports; touching a missing op raises
:class:`MissingCompiledOpError` naming it. An official build keeps its own ops.
"""
import importlib.util
import sys
import types

_HOW_TO_FIX = (
    "Detectron2 was installed without its compiled ops (sisieg's tools/setup_env.sh builds it "
    "that way, because no prebuilt Detectron2 exists for this torch). Install an official "
    "Detectron2 build matching your torch/CUDA (https://detectron2.readthedocs.io/en/latest/"
    "tutorials/install.html) and `pip install -e .` sisieg into that environment."
)


class MissingCompiledOpError(AttributeError):
    """A Detectron2 compiled op was used but Detectron2 has no compiled ops."""


class _MissingCompiledOps(types.ModuleType):
    """Stands in for ``detectron2._C``: answers environment queries, refuses ops."""

    __file__ = None

    def __init__(self):
        super().__init__("detectron2._C", "sisieg placeholder: Detectron2 has no compiled ops")

    @staticmethod
    def get_compiler_version():
        return "none (Detectron2 built without compiled ops; sisieg placeholder)"

    @staticmethod
    def get_cuda_version():
        return "none"

    @staticmethod
    def has_cuda():
        return False

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise MissingCompiledOpError(
            f"detectron2._C.{name} is a compiled Detectron2 op and is missing. {_HOW_TO_FIX}"
        )


def has_compiled_ops() -> bool:
    """True when the installed Detectron2 ships its real ``_C`` extension."""
    module = sys.modules.get("detectron2._C")
    if module is not None:
        return not isinstance(module, _MissingCompiledOps)
    return importlib.util.find_spec("detectron2._C") is not None


def install_placeholder_if_missing() -> bool:
    """Register the placeholder when ``detectron2._C`` does not exist; return has-real-ops."""
    if has_compiled_ops():
        return True
    placeholder = _MissingCompiledOps()
    sys.modules["detectron2._C"] = placeholder
    import detectron2

    detectron2._C = placeholder
    return False
