"""The host-side training loop, and :func:`train`, the API call that trains and saves a run.

For each presentation: drive the inputs with one character, run the window and the rest gap,
read the spikes back, let the learning rule (:mod:`snn_rl.model.rules`) compute the new
weights, write them. After each epoch (every image once, in a seeded random order) the
network is evaluated with plasticity off; the criterion is met when every character is
answered by its own neuron with a spike count in the target band and the others nearly
silent. The weights of the first epoch that meets it (or, failing that, of the best epoch)
are the run's result. A checkpoint is written after every epoch
(:mod:`snn_rl.experiments.checkpoints`), so ``resume=True`` continues an interrupted run
to the weights an uninterrupted one would have had.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from snn_rl import backends
from snn_rl.analysis import plots
from snn_rl.errors import InputError
from snn_rl.experiments import checkpoints
from snn_rl.experiments.checkpoints import Streams, TrainState
from snn_rl.experiments.evaluation import Evaluation, evaluate
from snn_rl.experiments.exchange import CONNECTIONS_FILE, write_connections
from snn_rl.experiments.outputs import output_folder, prepare_out
from snn_rl.experiments.provenance import git_commit, package_versions, provenance
from snn_rl.experiments.storage import WEIGHTS_FILE, StorageError, TrainedWeights, save_weights, write_json
from snn_rl.model import rules
from snn_rl.model.rules.base import LearningRule
from snn_rl.model.rules.stdp import norm_for_data
from snn_rl.model.dataset import Dataset, as_dataset, encode, flip_pixels, n_inputs
from snn_rl.model.network import CharacterNetwork, initial_weights, input_gains
from snn_rl.model.decision import class_counts, winner
from snn_rl.model.params import Params, TrainingParams

#: what a finished run writes; train.json, the marker of a finished result, last
RESULT_FILES = ("train.json", WEIGHTS_FILE, "learning_curve.png", "weights.png")
#: every top-level name a training run writes into its folder
PRODUCES = (*RESULT_FILES, CONNECTIONS_FILE, checkpoints.CHECKPOINT_DIR)


def _print_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


@dataclass(frozen=True)
class TrainResult:
    """A finished run: the weights, and ``summary``, the content of ``train.json``."""

    trained: TrainedWeights
    summary: dict
    out: Path | None = None  #: the run folder (None: nothing written)

    def describe(self) -> str:
        s = self.summary
        crit = s["epochs_to_criterion"]
        return (f"{s['dataset']} on {s['backend']} seed {s['seed']}: "
                + (f"criterion after {crit} epochs" if crit else f"criterion not met in {s['epochs_run']} epochs")
                + f", {s['wall_seconds']:.1f} s ({s['sim_ms_per_wall_s']:.0f} simulated ms per wall second)"
                + (f" -> {self.out}" if self.out else ""))


def train(params: Params, dataset: Dataset | str, backend: str, out: Path | str, *, seed: int = 1,
          resume: bool = False, overwrite: bool = False, threads: int = 1, progress: bool = True,
          warn: Callable[[str], None] = _print_warning, heldout: Dataset | str | None = None) -> TrainResult:
    """Train the network on ``backend`` and save the run into ``out``.

    Writes ``weights.npz``, ``learning_curve.png``, ``weights.png``, ``checkpoints/`` and,
    last, ``train.json``. ``resume``: continue from the newest good checkpoint in ``out``;
    ``overwrite``: replace a finished result (with ``resume``: start again where no
    checkpoint fits). ``heldout``: a data set of the same classes tested (plasticity off) after
    every epoch, its accuracy in the learning curve. Everything is checked before the
    simulator starts.
    """
    dataset = as_dataset(dataset)
    heldout = as_dataset(heldout) if heldout is not None else None
    if heldout is not None and (heldout.labels != dataset.labels or heldout.shape != dataset.shape):
        raise InputError(f"--heldout {heldout.name} has the classes {''.join(heldout.labels)} of "
                         f"{heldout.shape[0]} x {heldout.shape[1]}, the training set {''.join(dataset.labels)} of "
                         f"{dataset.shape[0]} x {dataset.shape[1]}: use a held-out set of the same classes")
    out = prepare_out(out, "train.json", overwrite, resume, command="train", produces=PRODUCES,
                      recognise=checkpoints.is_checkpoint_name)
    if checkpoints.checkpoint_paths(out) and not (resume or overwrite):
        raise InputError(f"{out} holds the checkpoints of an unfinished run; pass --resume to continue it "
                         "or --overwrite to start again")
    adapter = backends.get(backend)
    adapter.check("training")
    # train.json records the parameters as given (what every other target runs, each in its
    # own arithmetic) and, as run_params, what this backend ran (a fixed-step target's 1 ms)
    requested, params = params, adapter.constrain(params)
    # a weight norm set from the training images (plasticity.match_drive_nA) is resolved here, once
    resolved = norm_for_data(params.plasticity, [encode(img, params.network.input_encoding) for img in dataset.images])
    params = params.replace(plasticity={"weight_norm_nA": resolved.weight_norm_nA,
                                        "match_drive_nA": resolved.match_drive_nA})
    if resume:
        try:
            checkpoints.check_resume(out, adapter.name, dataset, params, seed)
        except StorageError as exc:
            if not overwrite:
                raise
            warn(f"not resuming: {exc}")
            resume = False
    adapter.require()
    # starting again, the old result goes first (train.json first of all), so that an
    # interrupted new run leaves a folder of checkpoints only, never a stale result
    with output_folder(out, "train", "train.json", produces=PRODUCES, overwrite=overwrite,
                       resume=resume or overwrite, recognise=checkpoints.is_checkpoint_name,
                       clear=overwrite and not resume):
        trained, summary = run_training(adapter, dataset, params, seed, out, resume=resume, threads=threads,
                                        progress=progress, warn=warn, heldout=heldout)
        save_weights(out / WEIGHTS_FILE, trained)
        write_connections(out / CONNECTIONS_FILE, trained.weights, params.network.delay_ms)
        plots.learning_curve(summary["learning_curve"], out / "learning_curve.png",
                             title=f"{dataset.name} on {adapter.name}, seed {seed}")
        plots.weight_grids(trained.weights, dataset.labels, dataset.shape, trained.input_encoding,
                           out / "weights.png", title=f"weights after epoch {summary['weights_from_epoch']}")
        summary = {**summary, "params": requested.to_dict(), "run_params": summary["params"]}
        write_json(out / "train.json", {**summary, "provenance": provenance({"dataset": dataset.path})})
    return TrainResult(trained=trained, summary=summary, out=out)


class _Progress:
    """A tqdm bar on a terminal; one line every few epochs in a log file."""

    def __init__(self, total: int, initial: int, desc: str):
        self.interactive = sys.stderr.isatty()
        self.desc = desc
        self.total = total
        if self.interactive:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=desc, unit="epoch", file=sys.stderr)

    def update(self, epoch: int, info: dict) -> None:
        if self.interactive:
            self.bar.set_postfix(info)
            self.bar.update(1)
        elif epoch == 1 or epoch % 10 == 0 or info.get("criterion"):
            fields = " ".join(f"{k}={v}" for k, v in info.items())
            print(f"{self.desc}: epoch {epoch}/{self.total} {fields}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.interactive:
            self.bar.close()


@dataclass
class _Run:
    """What stays fixed while one run trains."""

    rule: LearningRule
    dataset: Dataset
    params: Params
    drives: list[np.ndarray]  #: the input pattern of every image
    streams: Streams
    heldout: Dataset | None = None  #: tested after every epoch (plasticity off)


def _start(adapter, run: _Run, gains: np.ndarray, seed: int, run_dir: Path, resume: bool, warn) -> TrainState:
    """The state to train from: a checkpoint's, or the initial weights'."""
    net_p = run.params.network
    n_out = len(run.dataset) * net_p.outputs_per_class
    w0 = run.rule.initial_weights(initial_weights(len(gains), n_out, net_p, run.streams.init),
                                  np.mean(run.drives, axis=0))
    fitted = checkpoints.fingerprint(adapter.name, run.dataset, run.params, seed)
    st = checkpoints.restore(run_dir, run.streams, fitted, run.params.training.max_epochs, warn) if resume else None
    if resume and st is None:
        warn(f"no checkpoint in {run_dir}; starting from epoch 0")
    checkpoints.clear(run_dir, keep_good=st is not None)
    if st is None:
        st = TrainState(epoch=0, weights=w0, rule_state=run.rule.initial_state(n_out), best_weights=w0.copy())
    here = {"git_commit": git_commit(), "packages": package_versions()}
    if st.segments and {k: st.segments[-1][k] for k in here} != here:
        warn(f"epochs {st.segments[-1]['from_epoch']}-{st.epoch} were trained with other code or packages "
             f"(git commit {st.segments[-1]['git_commit']}); train.json lists both under segments")
    st.segments.append({"from_epoch": st.epoch + 1, **here})
    return st


def _present(net: CharacterNetwork, run: _Run, st: TrainState, drive: np.ndarray, cls: int, explored: int):
    """One training presentation (``explored`` >= 0: that output gets the rule's bias), the
    rule's update, and the new weights written; returns the update, the output spike counts
    and the network."""
    n_out = st.weights.shape[1]
    pres = net.present(drive, output_bias=run.rule.output_bias(explored, n_out, st.rule_state))
    update = run.rule.update(st.weights, st.rule_state, pres.pre, pres.post, cls,
                             nudge=run.streams.nudge.random(n_out), explored=explored)
    st.weights, st.rule_state = update.weights, update.state
    return update, pres.post_counts, net.with_weights(st.weights)


def _meets(counts: np.ndarray, cls: int, t: TrainingParams, k: int = 1) -> bool:
    """One presentation's answer meets the criterion: right, in the spike band, by the margin
    (spikes counted per class: each group of ``k`` outputs summed)."""
    votes = class_counts(counts, k)
    other = np.delete(votes, cls).max(initial=0)
    return bool(winner(votes) == cls and t.min_winner_spikes <= votes[cls] <= t.max_winner_spikes
                and other <= t.max_other_spikes and votes[cls] - other >= t.min_margin)


def _train_epoch(net: CharacterNetwork, run: _Run, st: TrainState) -> tuple[CharacterNetwork, dict]:
    """Every training image once, in a seeded random order; returns the epoch's tallies."""
    ds, noise = run.dataset, run.params.training.noise_flips
    rewards, correct, retries, clean = [], 0, 0, True
    limit = run.rule.max_presentations(len(ds))
    for idx in run.streams.order.permutation(ds.n_images):
        cls = int(ds.targets[idx])
        drive = run.drives[idx]
        if noise:
            drive = encode(flip_pixels(ds.images[idx], noise, run.streams.noise), run.params.network.input_encoding)
        explored = run.rule.explore(st.rule_state, run.streams.explore)
        update, counts, net = _present(net, run, st, drive, cls, explored)
        clean = clean and explored < 0 and _meets(counts, cls, run.params.training,
                                                   run.params.network.outputs_per_class)
        again, shown = run.rule.retry(update, st.rule_state, run.streams.explore), 1
        while again >= 0:  # trial and error: the same character again, the outputs biased by the rule
            update_again, _, net = _present(net, run, st, drive, cls, again)
            retries += 1
            shown += 1
            clean = False
            if shown >= limit:
                break
            again = run.rule.retry(update_again, st.rule_state, run.streams.explore)
        rewards.append(update.reward)
        correct += update.winner == cls
    return net, {"train_correct": correct / ds.n_images, "retries": retries, "mean_reward": float(np.mean(rewards)),
                 "clean_pass": clean}


def _evaluate_epoch(net: CharacterNetwork, run: _Run, st: TrainState) -> tuple[CharacterNetwork, Evaluation]:
    """Evaluation with plasticity off; a rule that is never told the class names its outputs now."""
    ev = evaluate(net, run.dataset, run.params.network.input_encoding)
    order = run.rule.assign_outputs(ev.targets, ev.counts, len(run.dataset))
    if order is not None:
        st.weights = st.weights[:, order]
        net = net.with_weights(st.weights)
        ev = ev.relabelled(order)
    return net, ev


def _should_evaluate(run: _Run, tallies: dict) -> bool:
    """``training.evaluate``: after every epoch, or after a clean training pass only. A rule
    that names its outputs after the evaluation (the unsupervised one) is always evaluated.
    (Not the last epoch either: a run extended by ``--resume --epochs`` must equal one that
    ran that long from the start.)"""
    return run.params.training.evaluate == "every" or tallies["clean_pass"] or run.rule.names_outputs_after_evaluation


def _record_epoch(st: TrainState, ev: Evaluation | None, tallies: dict, run: _Run) -> bool:
    """Keep the best weights and the learning curve; True if the criterion is met. An epoch
    without evaluation (``ev`` None) records its training pass and cannot meet the criterion."""
    if ev is None:
        st.history.append({"epoch": st.epoch, **tallies, "evaluated": False, "eval_accuracy": None,
                           "criterion": False, "min_margin": None, "mean_weight_nA": float(st.weights.mean())})
        return False
    met = ev.meets_criterion(run.params.training)
    score = (int(met), ev.accuracy)
    if score > st.best_score:
        st.best_score, st.best_epoch, st.best_weights = score, st.epoch, st.weights.copy()
    if met and st.epochs_to_criterion is None:
        st.epochs_to_criterion = st.epoch
    st.history.append({"epoch": st.epoch, **tallies, "evaluated": True, "eval_accuracy": ev.accuracy,
                       "criterion": met, "min_margin": int(ev.margins().min()),
                       "mean_weight_nA": float(st.weights.mean())})
    return met


def run_training(adapter, dataset: Dataset, params: Params, seed: int, run_dir: Path, resume: bool = False,
                 threads: int = 1, progress: bool = True, warn: Callable[[str], None] = _print_warning,
                 heldout: Dataset | None = None) -> tuple[TrainedWeights, dict]:
    """The epoch loop on ``adapter`` (a not yet set-up backend), checkpoints in ``run_dir``;
    returns the trained weights and the summary (``train.json`` without provenance)."""
    net_p, tr_p = params.network, params.training
    streams = checkpoints.seed_streams(seed)
    run = _Run(rule=rules.create(params.plasticity, net_p.outputs_per_class, net_p.tie_rule), dataset=dataset, params=params,
               drives=[encode(img, net_p.input_encoding) for img in dataset.images], streams=streams,
               heldout=heldout)
    gains = input_gains(n_inputs(dataset.n_pixels, net_p.input_encoding), net_p.input_jitter, streams.init)
    st = _start(adapter, run, gains, seed, run_dir, resume, warn)
    resumed_from = st.epoch
    fitted = checkpoints.fingerprint(adapter.name, dataset, params, seed)

    t0 = time.perf_counter()
    adapter.setup(net_p.timestep_ms, threads=threads)
    net = CharacterNetwork(adapter, net_p, st.weights, gains)
    setup_s = time.perf_counter() - t0
    bar = _Progress(tr_p.max_epochs, st.epoch, f"train {dataset.name} on {adapter.name} seed {seed}") if progress else None
    t1 = time.perf_counter()
    done = st.epochs_to_criterion is not None and tr_p.stop_at_criterion
    while st.epoch < tr_p.max_epochs and not done:
        st.rule_state = run.rule.new_epoch(st.rule_state, st.epoch + 1)
        net, tallies = _train_epoch(net, run, st)
        if run.heldout is not None:
            tallies["heldout_accuracy"] = evaluate(net, run.heldout, net_p.input_encoding).accuracy
            tallies["heldout_presentations"] = run.heldout.n_images
        st.epoch += 1
        ev = None
        if _should_evaluate(run, tallies):
            net, ev = _evaluate_epoch(net, run, st)
        met = _record_epoch(st, ev, tallies, run)
        checkpoints.save(run_dir, st, streams, fitted)
        if bar:
            bar.update(st.epoch, {"acc": f"{ev.accuracy:.2f}" if ev else f"{tallies['train_correct']:.2f} (training)",
                                  "criterion": met})
        done = met and tr_p.stop_at_criterion
    if bar:
        bar.close()
    train_s = time.perf_counter() - t1
    adapter.end()
    summary = _summary(adapter.name, seed, dataset, params, st, resumed_from if resume else None,
                       net.presentation_ms, setup_s, train_s)
    # the best evaluated weights; with no epoch evaluated (never a clean pass), the last ones
    final = st.best_weights if st.best_epoch else st.weights
    trained = TrainedWeights(weights=final, input_gains=gains, labels=dataset.labels,
                             image_shape=dataset.shape, input_encoding=net_p.input_encoding)
    return trained, summary


def _summary(backend: str, seed: int, dataset: Dataset, params: Params, st: TrainState, resumed_from: int | None,
             presentation_ms: float, setup_s: float, train_s: float) -> dict:
    """The content of ``train.json`` (without provenance)."""
    first = resumed_from or 0
    retried = sum(h.get("retries", 0) for h in st.history[first:])
    evaluated = sum(h.get("evaluated", True) for h in st.history[first:])
    # every epoch presents each image for training, an evaluated one once more, plus the retries
    held = sum(h.get("heldout_presentations", 0) for h in st.history[first:])
    sim_ms = ((st.epoch - first + evaluated) * dataset.n_images + retried + held) * presentation_ms
    return {
        "backend": backend, "seed": seed, **dataset.record(), "labels": list(dataset.labels),
        "epochs_run": st.epoch, "epochs_to_criterion": st.epochs_to_criterion,
        "criterion_met": st.epochs_to_criterion is not None, "weights_from_epoch": st.best_epoch or st.epoch,
        "best_eval_accuracy": st.best_score[1] if st.best_epoch else None, "resumed_from_epoch": resumed_from, "segments": st.segments,
        "learning_curve": st.history, "setup_seconds": setup_s, "wall_seconds": train_s, "simulated_ms": sim_ms,
        "sim_ms_per_wall_s": sim_ms / train_s if train_s > 0 else None, "params": params.to_dict(),
    }
