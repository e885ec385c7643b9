"""How far can K outputs per class go on the held-out 8 x 8 digits, before any spike?

    python benchmarks/digits_ceiling.py [--ks 1 3 5 10] [--seeds 5] [--out runs/digits-ceiling]

Non-spiking reference points for issue "several outputs per class with a vote", computed on
exactly the inputs the network sees (``digits`` / ``digits-test``: binarised at grey level
8, ON/OFF channels, so every image drives 64 of 128 inputs):

- ``centroids dot``: K k-means centroids per class as the weight columns, each scaled to one
  sum (the default rule's weight-sum normalisation), answer = the class of the column with
  the largest input drive (``x . w``): what a perfectly tuned network with K outputs per
  class, one winner and no spike noise would answer.
- ``centroids euclid``: the same centroids, nearest by Euclidean distance (not what a
  current-summing neuron computes; shown for comparison).
- ``reward LVQ``: a rate model of the reward loop: per image the column with the largest
  drive answers, the scalar reward (right class or not) minus the answering column's running
  reward moves that column towards the image (or away), its sum held fixed; after a wrong
  answer the image is shown again with a small bias into one column chosen by how little
  reward it has earned (the default rule's trial and error), at most 5 times. 3 epochs.
- ``groups rule``: a rate model of the ``groups`` rule (:mod:`snn_rl.model.rules.groups`,
  parameter set ``reward-groups``), with the rule's own pull, push and credit functions: the
  column with the largest drive through its unit-norm weights answers (no spikes, so no
  ties), a wrong answer pushes it away and suppresses its group for a retry, a right one
  (on the first showing) pushes a close rival of another group away and pulls the group's output chosen by drive
  and conscience. 4 epochs.
- ``logistic``: multinomial logistic regression (scikit-learn) on the same binary inputs and
  on the 16 grey levels: a linear read-out's ceiling for each input coding.

Writes ``digits_ceiling.{json,md}`` under ``--out`` and prints the table. Nothing here is a
test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def inputs(name: str) -> tuple[np.ndarray, np.ndarray]:
    from snn_rl.model.dataset import encode, load

    data = load(name)
    return np.array([encode(im, "on_off") for im in data.images]), np.asarray(data.targets)


def centroids(x: np.ndarray, y: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import KMeans

    cols, labels = [], []
    for c in range(10):
        cols.append(KMeans(k, n_init=4, random_state=seed).fit(x[y == c]).cluster_centers_)
        labels += [c] * k
    return np.concatenate(cols).T, np.array(labels)


def reward_lvq(x, y, xt, yt, k: int, seed: int, epochs: int = 3, rate: float = 0.05,
               bias: float = 0.05, tries: int = 5) -> list[float]:
    """Held-out accuracy after each epoch of the rate model described in the module docstring."""
    rng = np.random.default_rng(seed)
    n_out = 10 * k
    labels = np.repeat(np.arange(10), k)
    w = rng.uniform(0.2, 0.6, (x.shape[1], n_out))
    w /= w.sum(axis=0)
    success = np.zeros(n_out)
    curve = []
    for _ in range(epochs):
        for i in rng.permutation(len(x)):
            push = np.zeros(n_out)
            for _ in range(tries):
                win = int(np.argmax(x[i] @ w + push))
                r = float(labels[win] == y[i])
                col = np.clip(w[:, win] + rate * (r - success[win]) * x[i] / x[i].sum(), 0.0, None)
                w[:, win] = col / col.sum()
                success[win] += 0.2 * (r - success[win])
                if r:
                    break
                p = 1.0 - success + 0.05
                push = np.zeros(n_out)
                push[rng.choice(n_out, p=p / p.sum())] = bias
        curve.append(float(np.mean(labels[np.argmax(xt @ w, axis=1)] == yt)))
    return curve


def groups_rate_model(x, y, xt, yt, k: int, seed: int, epochs: int = 4) -> tuple[float, float]:
    """Held-out accuracy of the rate model of the groups rule (module docstring), and the
    mean number of presentations per training image."""
    from snn_rl.model.params import load_params
    from snn_rl.model.rules.groups import credit, push, push_rival

    p = load_params("reward-groups").plasticity
    rng = np.random.default_rng(seed)
    n_out = 10 * k
    w = x.mean(axis=0)[:, None] + rng.uniform(0.0, 0.05, (x.shape[1], n_out))
    w /= np.linalg.norm(w, axis=0)
    share, credits, shown = np.full(n_out, 1.0 / k), np.zeros(n_out), 0
    for epoch in range(epochs):
        decay = p.rate_decay ** epoch
        for i in rng.permutation(len(x)):
            blocked = np.zeros(n_out, dtype=bool)
            for attempt in range(10):
                shown += 1
                drive = x[i] @ w
                drive[blocked] = -np.inf
                win = int(np.argmax(drive))
                if win // k != y[i]:  # the reward says wrong
                    w[:, win] = push(w[:, win], x[i], p.push_rate * decay)
                    w[:, win] /= np.linalg.norm(w[:, win])
                    blocked[win // k * k:win // k * k + k] = True
                    continue
                j = push_rival(w, x[i], win // k, k, p, decay) if attempt == 0 else -1
                if j >= 0:
                    w[:, j] /= np.linalg.norm(w[:, j])
                c = credit(w, x[i], win // k, share, credits, p, k, decay)
                w[:, c] /= np.linalg.norm(w[:, c])
                break
    answers = np.argmax(xt @ w, axis=1) // k
    return float(np.mean(answers == yt)), shown / (epochs * len(x))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ks", nargs="+", type=int, default=[1, 3, 5, 10], help="outputs per class")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 1..N (k-means start, rate model)")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "digits-ceiling")
    args = ap.parse_args(argv)
    if any(k < 1 for k in args.ks) or args.seeds < 1:
        ap.error("--ks and --seeds must be positive")
    from snn_rl.experiments.outputs import benchmark_folder

    with benchmark_folder("digits_ceiling", args.out, "digits_ceiling.json", produces=("digits_ceiling.md",),
                          overwrite=True):
        return _run(args)


def _run(args) -> int:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = inputs("digits")
    xt, yt = inputs("digits-test")
    rows = []
    for k in args.ks:
        t = time.perf_counter()
        dot, euclid, lvq, groups, shown = [], [], [], [], []
        for seed in range(1, args.seeds + 1):
            c, labels = centroids(x, y, k, seed)
            dot.append(float(np.mean(labels[np.argmax(xt @ (c / c.sum(axis=0)), axis=1)] == yt)))
            dist = ((xt[:, :, None] - c[None]) ** 2).sum(axis=1)
            euclid.append(float(np.mean(labels[np.argmin(dist, axis=1)] == yt)))
            lvq.append(reward_lvq(x, y, xt, yt, k, seed)[-1])
            acc, per_image = groups_rate_model(x.astype(float), y, xt.astype(float), yt, k, seed)
            groups.append(acc)
            shown.append(per_image)
        rows.append({"k": k, "outputs": 10 * k, "centroids_dot": dot, "centroids_euclid": euclid, "reward_lvq": lvq,
                     "groups_rule": groups, "groups_presentations_per_image": shown,
                     "seconds": time.perf_counter() - t})
        print(json.dumps(rows[-1]), flush=True)
    # the linear read-out's ceiling, binary ON/OFF inputs and grey levels (the same split)
    from snn_rl.model.dataset import DIGITS_SPLIT_SEED, DIGITS_TEST_FRACTION
    from sklearn.model_selection import train_test_split

    data = load_digits()
    tr, te = train_test_split(np.arange(len(data.target)), test_size=DIGITS_TEST_FRACTION,
                              random_state=DIGITS_SPLIT_SEED, stratify=data.target)
    grey = data.data / 16.0
    logistic = {
        "binary on/off": float(LogisticRegression(max_iter=2000).fit(x, y).score(xt, yt)),
        "16 grey levels": float(LogisticRegression(max_iter=2000).fit(grey[tr], data.target[tr]).score(grey[te], data.target[te])),
    }

    def cell(v: list[float]) -> str:
        return f"{statistics.median(v):.3f} ({min(v):.2f}-{max(v):.2f})"

    lines = ["| K (outputs per class) | outputs | centroids, largest drive | centroids, nearest (Euclid) "
             "| reward LVQ rate model, 3 epochs | groups rule rate model, 4 epochs (presentations per image) |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['k']} | {r['outputs']} | {cell(r['centroids_dot'])} | {cell(r['centroids_euclid'])} "
              f"| {cell(r['reward_lvq'])} | {cell(r['groups_rule'])} ({statistics.mean(r['groups_presentations_per_image']):.2f}) |"
              for r in rows]
    lines.append("")
    lines.append("Logistic regression (linear read-out, no spikes): " + ", ".join(f"{k} {v:.3f}" for k, v in logistic.items()))
    text = "\n".join(lines) + "\n"
    (args.out / "digits_ceiling.json").write_text(json.dumps({"rows": rows, "logistic": logistic,
                                                              "seeds": args.seeds}, indent=1) + "\n")
    (args.out / "digits_ceiling.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
