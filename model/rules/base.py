"""The protocol every learning rule follows, and the record of one plasticity step.

A rule keeps its own state as named arrays (for example the reward rule's per-class
baseline); the training loop stores them in checkpoints without knowing what they mean.
One training presentation asks the rule, in this order:

1. :meth:`LearningRule.explore`: which output, if any, gets the exploration bias;
2. :meth:`LearningRule.output_bias`: that bias as currents into the outputs (nA);
3. :meth:`LearningRule.update`: new weights and state from the presentation's spikes;
4. :meth:`LearningRule.retry`: whether to show the same character again, and to which
   output the bias then goes (then 2-4 again, at most :meth:`LearningRule.max_presentations`
   showings of one image).

:meth:`LearningRule.new_epoch` is called before every epoch.

After each epoch's evaluation, :meth:`LearningRule.assign_outputs` may rename the outputs
(a rule that is never told the class does so; the reward rule does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from snn_rl.model.decision import SpikeTimes
from snn_rl.model.rules.stdp import normalise

RuleState = dict[str, np.ndarray]  #: a rule's state: named arrays, one value per output


@dataclass(frozen=True)
class StepResult:
    """What one plasticity step decided."""

    weights: np.ndarray  #: the new weights (nA), shape (n_inputs, n_outputs)
    baseline: np.ndarray  #: the reward rule's per-class expected reward (passed through otherwise)
    winner: int  #: the answer: the class whose group of outputs won, -1 for none
    reward: float  #: the scalar reward of the presentation (0 for a rule without reward)
    reward_error: float  #: reward minus expected reward
    counts: np.ndarray  #: output spike counts
    output: int = -1  #: the output that answered (the most spikes in the winning group), -1 for none


@dataclass(frozen=True)
class Update:
    """A rule's step as the training loop sees it: weights, state and what was decided."""

    weights: np.ndarray
    state: RuleState
    winner: int  #: the class answered, -1 for none
    reward: float
    rewarded: bool  #: the reward said "right"


class LearningRule(Protocol):
    """A host-side learning rule. Every method is a pure function of its arguments."""

    name: str
    #: the rule renames its outputs after an evaluation (:meth:`assign_outputs`), so training
    #: evaluates after every epoch whatever ``training.evaluate`` says
    names_outputs_after_evaluation: bool

    def initial_state(self, n_outputs: int) -> RuleState:
        """The state before the first presentation."""

    def initial_weights(self, weights: np.ndarray, mean_input: np.ndarray) -> np.ndarray:
        """The drawn initial weights (nA) as the rule starts from them; ``mean_input`` is the
        mean input pattern of the training images (no labels)."""

    def new_epoch(self, state: RuleState, epoch: int) -> RuleState:
        """The state at the start of epoch ``epoch`` (1, 2, ...)."""

    def explore(self, state: RuleState, rng: np.random.Generator) -> int:
        """The output biased in a training presentation, or -1."""

    def output_bias(self, explored: int, n_outputs: int, state: RuleState) -> np.ndarray | None:
        """Extra current into each output (nA) while the window is on, or None."""

    def max_presentations(self, n_classes: int) -> int:
        """How often one training image may be shown in a row (first showing and retries)."""

    def update(self, weights: np.ndarray, state: RuleState, pre: SpikeTimes, post: SpikeTimes, target: int,
               nudge: np.ndarray, explored: int) -> Update:
        """New weights and state from one presentation's spike times (ms)."""

    def retry(self, update: Update, state: RuleState, rng: np.random.Generator) -> int:
        """After a presentation: the output to bias in a second showing, or -1 for none."""

    def assign_outputs(self, targets: np.ndarray, counts: np.ndarray, n_classes: int) -> np.ndarray | None:
        """``order[class]`` = the output that answers for the class, or None to keep them."""


class RuleDefaults:
    """What most rules share: set up with their parameters (``p``:
    :class:`~snn_rl.model.params.PlasticityParams`), ``k``, the outputs per class, and the
    ``tie_rule`` of the network's answer (:mod:`~snn_rl.model.decision`), a per-output ``baseline`` and ``success`` as state,
    normalised initial weights, no exploration, no renaming."""

    name = ""
    names_outputs_after_evaluation = False

    def __init__(self, p, k: int = 1, tie_rule: str = "none"):
        self.p = p
        self.k = k
        self.tie_rule = tie_rule

    def initial_state(self, n_outputs: int) -> RuleState:
        return {"baseline": np.zeros(n_outputs), "success": np.zeros(n_outputs)}

    def initial_weights(self, weights: np.ndarray, mean_input: np.ndarray) -> np.ndarray:
        if self.p.init_weights == "input_mean":
            weights = weights + np.asarray(mean_input, dtype=float)[:, None]
        return normalise(weights, self.p)

    def new_epoch(self, state: RuleState, epoch: int) -> RuleState:
        return state

    def explore(self, state: RuleState, rng: np.random.Generator) -> int:
        return -1

    def output_bias(self, explored: int, n_outputs: int, state: RuleState) -> np.ndarray | None:
        return None

    def max_presentations(self, n_classes: int) -> int:
        return 2

    def retry(self, update: Update, state: RuleState, rng: np.random.Generator) -> int:
        return -1

    def assign_outputs(self, targets, counts, n_classes) -> np.ndarray | None:
        return None
