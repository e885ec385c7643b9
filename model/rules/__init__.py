"""Learning rules, chosen by name (``plasticity.rule``) through one small protocol.

Every rule is a pure function of spike times and weights wrapped in an object of the
:class:`~snn_rl.model.rules.base.LearningRule` protocol, so the training loop
(:mod:`snn_rl.experiments.training`) is the same for all of them and each rule is
unit-testable without a simulator.

- ``reward``: host-side reward-modulated STDP (:mod:`.reward`);
- ``unsupervised``: the original work's pair STDP under winner-take-all, no reward
  (:mod:`.unsupervised`);
- ``groups``: reward-gated competitive learning for K outputs per class with a vote
  (:mod:`.groups`).

A new rule is a module with a class following the protocol and one line in
:data:`REGISTRY`; its modules are imported only when the rule is used.
"""

from __future__ import annotations

import importlib

#: rule name -> "module:class", imported on use
REGISTRY = {
    "reward": "snn_rl.model.rules.reward:RewardRule",
    "unsupervised": "snn_rl.model.rules.unsupervised:UnsupervisedRule",
    "groups": "snn_rl.model.rules.groups:GroupsRule",
}


def names() -> list[str]:
    return list(REGISTRY)


def create(p, outputs_per_class: int = 1, tie_rule: str = "none"):
    """The rule that ``p`` (:class:`~snn_rl.model.params.PlasticityParams`) names, set up with
    ``p`` for a network of ``outputs_per_class`` outputs per class whose ties between groups
    are settled by ``tie_rule`` (:data:`~snn_rl.model.decision.TIE_RULES`)."""
    try:
        target = REGISTRY[p.rule]
    except KeyError:
        raise ValueError(f"plasticity.rule must be one of {', '.join(REGISTRY)}, got {p.rule!r}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(p, outputs_per_class, tie_rule)
