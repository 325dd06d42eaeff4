"""Weight averaging (``SOLVER.SISEG.WEIGHT_AVERAGE_DECAY``): the model trained is the last
iterate, the model saved as ``model_final`` and evaluated is an exponential moving average
of the iterates.

After every step the average moves towards the weights by ``1 - decay`` (floating-point
parameters and buffers alike, batch-norm statistics included; integer buffers are copied).
Early on the decay is lowered to ``(1 + t) / (10 + t)`` at update ``t`` so that the average
forgets the random initialisation quickly. At the last iteration the average replaces the
weights, before the checkpointer writes ``model_final`` and before the final evaluation; the
intermediate checkpoints keep the iterates and carry the average, so ``--resume`` continues it.
The cost is one in-place interpolation over the weights a step.
"""
from typing import Dict

import torch
from detectron2.engine import HookBase

from ..errors import ConfigError


def check_decay(decay: float) -> float:
    decay = float(decay)
    if not 0.0 <= decay < 1.0:
        raise ConfigError(f"SOLVER.SISEG.WEIGHT_AVERAGE_DECAY must be in [0, 1) (0 = off), got {decay}")
    return decay


class WeightAverage(HookBase):
    """An exponential moving average of ``model``'s state, put into the model at the end."""

    def __init__(self, model: torch.nn.Module, decay: float):
        """``model``: the module itself (unwrapped from DistributedDataParallel)."""
        self.model = model
        self.decay = check_decay(decay)
        self.updates = 0
        self.average: Dict[str, torch.Tensor] = {
            name: value.detach().clone() for name, value in model.state_dict().items()
        }
        self.averaged = [name for name, value in self.average.items() if value.is_floating_point()]
        self.copied = [name for name, value in self.average.items() if not value.is_floating_point()]

    def current_decay(self) -> float:
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    def update(self):
        """One step of the average towards the model's current state."""
        self.updates += 1
        weight = 1.0 - self.current_decay()
        state = self.model.state_dict()
        with torch.no_grad():
            torch._foreach_lerp_([self.average[n] for n in self.averaged], [state[n] for n in self.averaged], weight)
            for name in self.copied:
                self.average[name].copy_(state[name])

    def apply(self):
        """The average into the model (its weights are replaced)."""
        self.model.load_state_dict(self.average)

    def after_step(self):
        self.update()
        if self.trainer.iter + 1 >= self.trainer.max_iter:
            self.apply()

    def state_dict(self) -> dict:
        return {"average": self.average, "updates": self.updates}

    def load_state_dict(self, state: dict):
        for name, value in state["average"].items():
            self.average[name].copy_(value)
        self.updates = int(state["updates"])
