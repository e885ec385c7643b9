"""The host-side training loop.

For each presentation: drive the inputs with one character, run the window and the rest gap,
read the spikes back, apply :func:`model.plasticity.plasticity_step`, write the new weights.
After each epoch (every character once, in a seeded random order) the network is evaluated
with plasticity off; the criterion is met when every character is answered by its own neuron
with a spike count in the target band and the others nearly silent. The weights of the first
epoch that meets it (or, failing that, of the best epoch) are the run's result.

An atomic, digest-checked checkpoint is written after every epoch; ``resume=True`` continues
from the newest good one (random generator states included), so an interrupted run ends
with the weights an uninterrupted run would have had.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from model.dataset import Dataset, encode, flip_pixels, n_inputs
from model.evaluation import evaluate
from model.network import CharacterNetwork, initial_weights, input_gains
from model.params import Params
from model.provenance import git_commit, package_versions
from model.plasticity import choose_exploration, normalise, plasticity_step, update_success
from model.unsupervised import assign_classes, relabel, unsupervised_step
from model.storage import StorageError, TrainedWeights, load_checkpoint, save_checkpoint

CHECKPOINT_DIR = "checkpoints"
KEEP_CHECKPOINTS = 3
_CKPT_RE = re.compile(r"^epoch_(\d+)\.npz$")


@dataclass
class TrainState:
    """Everything needed to continue training exactly where it stopped."""

    epoch: int  #: epochs completed
    weights: np.ndarray
    baseline: np.ndarray
    success: np.ndarray  #: per output, running mean of "rewarded when it won"
    best_weights: np.ndarray
    best_score: tuple[int, float] = (-1, -1.0)  #: (criterion met, evaluation accuracy)
    best_epoch: int = 0
    epochs_to_criterion: int | None = None
    history: list[dict] = field(default_factory=list)
    #: one entry per process that trained: first epoch, git commit and package versions
    segments: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class TrainResult:
    trained: TrainedWeights
    summary: dict  #: the content of train.json (without provenance)


def _generators(seed: int) -> tuple[np.random.Generator, ...]:
    """Independent streams for initialisation, presentation order, silent nudges, exploration
    and training noise (adding a stream leaves the draws of the earlier ones unchanged)."""
    return tuple(np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(5))


def checkpoint_paths(run_dir: Path) -> list[Path]:
    """Checkpoints of a run directory, newest first."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    found = [(int(m.group(1)), p) for p in folder.glob("epoch_*.npz") if (m := _CKPT_RE.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def _fingerprint(backend_name: str, dataset: Dataset, params: Params, seed: int) -> dict:
    """What a checkpoint must share with the run that resumes it.

    ``training.max_epochs`` is left out: it only says where to stop, so a resumed run may
    go on for longer than the interrupted one planned to.
    """
    fitted = params.to_dict()
    fitted["training"].pop("max_epochs")
    images = np.ascontiguousarray(dataset.images)
    return {"backend": backend_name, "seed": seed, "labels": list(dataset.labels),
            "images": f"{images.shape} sha256:{hashlib.sha256(images.tobytes()).hexdigest()}",
            "params": fitted}


def _first_difference(stored: dict, wanted: dict, prefix: str = "") -> str:
    """The first key (dotted) whose values differ, e.g. ``seed`` or ``params.network.delay_ms``;
    backend, seed and data set are named before any parameter."""
    order = {"backend": 0, "seed": 1, "labels": 2, "images": 3}
    for key in sorted(set(stored) | set(wanted), key=lambda k: (order.get(k, len(order)), k)):
        a, b = stored.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = _first_difference(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key}"
    return ""


def _describe(key: str, stored: dict, wanted: dict) -> str:
    if key in ("backend", "seed"):
        return f"{key} {stored.get(key)!r} (this run: {wanted.get(key)!r})"
    if key in ("labels", "images"):
        return "another data set"
    return f"another {key.removeprefix('params.')}"


def _history_columns(history: list[dict]) -> dict[str, np.ndarray]:
    """The learning curve as one array per field: its cost per checkpoint stays small
    however long the curve grows (as JSON it grew with every epoch)."""
    keys = list(history[0]) if history else []
    return {f"history/{k}": np.array([h[k] for h in history]) for k in keys}


def _history_rows(arrays: dict[str, np.ndarray], keys: list[str]) -> list[dict]:
    columns = [arrays[f"history/{k}"].tolist() for k in keys]
    return [dict(zip(keys, row)) for row in zip(*columns)]


def _save(run_dir: Path, st: TrainState, rngs, fingerprint: dict) -> None:
    arrays = {"weights": st.weights, "baseline": st.baseline, "best_weights": st.best_weights, "success": st.success,
              **_history_columns(st.history)}
    state = {
        "epoch": st.epoch, "best_score": list(st.best_score), "best_epoch": st.best_epoch,
        "epochs_to_criterion": st.epochs_to_criterion, "history_keys": list(st.history[0]) if st.history else [],
        "segments": st.segments, "rng": [g.bit_generator.state for g in rngs], "fingerprint": fingerprint,
    }
    path = Path(run_dir) / CHECKPOINT_DIR / f"epoch_{st.epoch:04d}.npz"
    save_checkpoint(path, arrays, state)
    for old in checkpoint_paths(run_dir)[KEEP_CHECKPOINTS:]:
        old.unlink()


def _restore(run_dir: Path, rngs, fingerprint: dict, max_epochs: int,
             warn: Callable[[str], None]) -> TrainState | None:
    """The newest good checkpoint's state (generators restored in place), or None if none exist.

    A checkpoint that is unreadable or fails its digest is reported through ``warn`` and the
    next older one is tried; :class:`StorageError` if there are checkpoints but none is
    good, or if the newest good one belongs to another run.
    """
    paths = checkpoint_paths(run_dir)
    for path in paths:
        try:
            arrays, state = load_checkpoint(path)
        except StorageError as exc:
            warn(f"{exc}; trying the next older checkpoint")
            continue
        stored = state.get("fingerprint", {})
        if stored != fingerprint:
            key = _first_difference(stored, fingerprint)
            raise StorageError(
                f"{path} was written by a run with {_describe(key, stored, fingerprint)}; "
                "resume with the same settings, or drop --resume and pass --overwrite to start again"
            )
        if state["epoch"] > max_epochs:
            raise StorageError(f"{path} is at epoch {state['epoch']}, beyond max_epochs {max_epochs}; "
                               f"raise --epochs to at least {state['epoch']}")
        for g, s in zip(rngs, state["rng"]):
            g.bit_generator.state = s
        return TrainState(
            epoch=state["epoch"], weights=arrays["weights"], baseline=arrays["baseline"], success=arrays["success"],
            best_weights=arrays["best_weights"], best_score=tuple(state["best_score"]),
            best_epoch=state["best_epoch"], epochs_to_criterion=state["epochs_to_criterion"],
            history=_history_rows(arrays, state["history_keys"]), segments=state.get("segments", []),
        )
    if paths:
        raise StorageError(f"none of the {len(paths)} checkpoints in {paths[0].parent} is good; "
                           "drop --resume and pass --overwrite to start again")
    return None


def check_resume(run_dir: Path, backend_name: str, dataset: Dataset, params: Params, seed: int) -> int | None:
    """The epoch ``train(..., resume=True)`` would continue from (None: no checkpoints yet).

    Raises :class:`StorageError` exactly where that call would, without starting a simulator
    and without the warnings about damaged checkpoints (``train`` gives those).
    """
    state = _restore(run_dir, _generators(seed), _fingerprint(backend_name, dataset, params, seed),
                     params.training.max_epochs, warn=lambda msg: None)
    return None if state is None else state.epoch


def _clear_checkpoints(run_dir: Path, keep_good: bool) -> None:
    """Remove what a killed checkpoint write left behind and, unless ``keep_good``, every
    checkpoint (a run started afresh must not be pruned against an older run's epochs)."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    stale = list(folder.glob(".epoch_*.tmp"))
    for path in stale + ([] if keep_good else checkpoint_paths(run_dir)):
        path.unlink()


def _reward_trial(net, st: TrainState, drive: np.ndarray, cls: int, p, nudge_rng: np.random.Generator, explored: int):
    """Present once (``explored`` >= 0: that output gets the exploration bias), apply the
    reward rule, write the weights; returns the :class:`model.plasticity.StepResult`."""
    n_out = len(st.success)
    bias = None if explored < 0 else p.explore_bias_nA * (np.arange(n_out) == explored)
    pres = net.present(drive, output_bias=bias)
    step = plasticity_step(
        st.weights, st.baseline, pres.pre, pres.post, cls, p,
        nudge=nudge_rng.random(n_out), explored=explored, success=st.success,
    )
    st.weights, st.baseline = step.weights, step.baseline
    st.success = update_success(st.success, step.winner, step.reward, p)
    net.set_weights(st.weights)
    return step


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


def train(
    backend,
    dataset: Dataset,
    params: Params,
    seed: int,
    run_dir: Path,
    resume: bool = False,
    threads: int = 1,
    progress: bool = True,
    warn: Callable[[str], None] = lambda msg: print(f"warning: {msg}", file=sys.stderr),
) -> TrainResult:
    """Train on ``backend`` (a not yet set-up adapter); checkpoints go to ``run_dir``."""
    net_p, tr_p, pl_p = params.network, params.training, params.plasticity
    unsupervised = pl_p.rule == "unsupervised"
    encoding = net_p.input_encoding
    n_in, n_out = n_inputs(dataset.n_pixels, encoding), len(dataset)
    drives = [encode(img, encoding) for img in dataset.images]

    rngs = _generators(seed)
    init_rng, order_rng, nudge_rng, explore_rng, noise_rng = rngs
    gains = input_gains(n_in, net_p.input_jitter, init_rng)
    w0 = normalise(initial_weights(n_in, n_out, net_p, init_rng), pl_p)
    fingerprint = _fingerprint(backend.name, dataset, params, seed)
    st = _restore(run_dir, rngs, fingerprint, tr_p.max_epochs, warn) if resume else None
    if resume and st is None:
        warn(f"no checkpoint in {run_dir}; starting from epoch 0")
    _clear_checkpoints(run_dir, keep_good=st is not None)
    if st is None:
        st = TrainState(epoch=0, weights=w0, baseline=np.zeros(n_out), success=np.zeros(n_out), best_weights=w0.copy())
    resumed_from = st.epoch
    here = {"git_commit": git_commit(), "packages": package_versions()}
    if st.segments and {k: st.segments[-1][k] for k in here} != here:
        warn(f"epochs {st.segments[-1]['from_epoch']}-{st.epoch} were trained with other code or packages "
             f"(git commit {st.segments[-1]['git_commit']}); train.json lists both under segments")
    st.segments.append({"from_epoch": st.epoch + 1, **here})

    def build() -> CharacterNetwork:
        backend.setup(net_p.timestep_ms, threads=threads)
        return CharacterNetwork(backend, net_p, st.weights, gains)

    t0 = time.perf_counter()
    net = build()
    setup_s = time.perf_counter() - t0

    bar = _Progress(tr_p.max_epochs, st.epoch, f"train {dataset.name} on {backend.name} seed {seed}") if progress else None
    t1 = time.perf_counter()
    done = st.epochs_to_criterion is not None and tr_p.stop_at_criterion
    while st.epoch < tr_p.max_epochs and not done:
        if st.epoch > resumed_from and not backend.capabilities.resets_synapses:
            # A resumed run starts in a fresh simulator; when reset_state cannot clear the
            # synaptic currents, every epoch starts in one too, so that the tiny currents left
            # over from the previous epoch cannot make a resumed run differ.
            backend.end()
            net = build()
        rewards, correct, retries = [], 0, 0
        for idx in order_rng.permutation(dataset.n_images):
            cls = int(dataset.targets[idx])
            drive = drives[idx]
            if tr_p.noise_flips:
                drive = encode(flip_pixels(dataset.images[idx], tr_p.noise_flips, noise_rng), encoding)
            if unsupervised:
                pres = net.present(drive)
                step = unsupervised_step(st.weights, st.baseline, pres.pre, pres.post, pl_p, nudge=nudge_rng.random(n_out))
                st.weights = step.weights
                net.set_weights(st.weights)
            else:
                exploring = pl_p.explore_prob > 0
                step = _reward_trial(net, st, drive, cls, pl_p, nudge_rng,
                                     choose_exploration(st.success, pl_p, explore_rng) if exploring and pl_p.explore_on == "any" else -1)
                if exploring and pl_p.explore_on == "wrong" and step.reward != pl_p.reward_correct:
                    # trial and error: the same character again, one output given a head start
                    explored = choose_exploration(st.success, pl_p, explore_rng)
                    if explored >= 0:
                        _reward_trial(net, st, drive, cls, pl_p, nudge_rng, explored)
                        retries += 1
            rewards.append(step.reward)
            correct += step.winner == cls
        st.epoch += 1
        ev = evaluate(net, dataset, encoding)
        if unsupervised:
            # no output was told its class: name them now by their answers (model.unsupervised)
            order = assign_classes(np.array(ev.targets), np.array(ev.counts), n_out)
            st.weights = st.weights[:, order]
            net.set_weights(st.weights)
            ev = relabel(ev, order)
        met = ev.meets_criterion(tr_p)
        score = (int(met), ev.accuracy)
        if score > st.best_score:
            st.best_score, st.best_epoch, st.best_weights = score, st.epoch, st.weights.copy()
        if met and st.epochs_to_criterion is None:
            st.epochs_to_criterion = st.epoch
        st.history.append({
            "epoch": st.epoch,
            "train_correct": correct / dataset.n_images,
            "retries": retries,
            "mean_reward": float(np.mean(rewards)),
            "eval_accuracy": ev.accuracy,
            "criterion": met,
            "mean_weight_nA": float(st.weights.mean()),
        })
        _save(run_dir, st, rngs, fingerprint)
        if bar:
            bar.update(st.epoch, {"acc": f"{ev.accuracy:.2f}", "criterion": met})
        done = met and tr_p.stop_at_criterion
    if bar:
        bar.close()
    train_s = time.perf_counter() - t1
    backend.end()

    epochs_run = st.epoch - resumed_from
    retried = sum(h.get("retries", 0) for h in st.history[resumed_from:])
    sim_ms = (epochs_run * 2 * dataset.n_images + retried) * net.presentation_ms  # training, retries, evaluation
    summary = {
        "backend": backend.name,
        "seed": seed,
        "dataset": dataset.name,
        "labels": list(dataset.labels),
        "epochs_run": st.epoch,
        "epochs_to_criterion": st.epochs_to_criterion,
        "criterion_met": st.epochs_to_criterion is not None,
        "weights_from_epoch": st.best_epoch,
        "best_eval_accuracy": st.best_score[1],
        "resumed_from_epoch": resumed_from if resume else None,
        "segments": st.segments,
        "learning_curve": st.history,
        "setup_seconds": setup_s,
        "wall_seconds": train_s,
        "simulated_ms": sim_ms,
        "sim_ms_per_wall_s": sim_ms / train_s if train_s > 0 else None,
        "params": params.to_dict(),
    }
    trained = TrainedWeights(
        weights=st.best_weights, input_gains=gains, labels=dataset.labels,
        image_shape=dataset.shape, input_encoding=encoding,
    )
    return TrainResult(trained=trained, summary=summary)
