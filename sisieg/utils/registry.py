"""Registries whose entries carry short config names, built with an error that lists them."""
from detectron2.utils.registry import Registry

from ..errors import UnknownNameError


class NamedRegistry(Registry):
    """A Detectron2 Registry whose entries are registered under short config names ("oracle",
    "irnet") instead of class names."""

    def register_as(self, name: str):
        def deco(obj):
            self._do_register(name, obj)
            return obj

        return deco

    def build(self, key: str, name: str, *args, **kwargs):
        """``self.get(name)(*args, **kwargs)``; an unknown name is a KeyError naming the config
        ``key`` and the registered names."""
        if name not in self:
            raise UnknownNameError(f"{key}={name!r} is not registered; the choices are {sorted(n for n, _ in self)}")
        return self.get(name)(*args, **kwargs)
