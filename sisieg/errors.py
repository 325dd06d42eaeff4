"""Errors that are the user's to fix: a bad input file, a bad config value, a missing file.

The tools print these as one line naming the file or key and the problem, without a
traceback (``--debug`` or ``SISIEG_DEBUG=1`` shows it), and batch tools go on with the next
input. Anything else is a bug and keeps its traceback.
"""


class InputError(ValueError):
    """A problem with an input the user gave: the message names it and says what is wrong."""


class ConfigError(InputError):
    """A config key or value that cannot be used; the message names the key and the choices."""


class UnknownNameError(ConfigError, KeyError):
    """A registry name that is not registered (also a KeyError, as Detectron2's registries raise)."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def check_choice(key: str, value: str, choices) -> str:
    """``value`` if it is one of ``choices``, else a ConfigError naming the key and the choices."""
    if value not in choices:
        raise ConfigError(f"{key} must be one of {tuple(choices)}, got {value!r}")
    return value
