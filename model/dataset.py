"""Character data sets: the seed's bitmaps, a user's own file, and input encodings.

File format, one character per line::

    # comment
    A 101/010/000/010/010

``LABEL ROWS``: rows top to bottom separated by ``/``, every cell ``0`` or ``1``; every
character has the same number of rows and columns. Pixel ``(row, col)`` is input
``cols * row + col``.

In the seed's bitmaps the letter is drawn by the **0s** on a background of **1s**, and the
original network's inputs fire on the 1s. :func:`encode` offers that choice (``"ones"``, the
default, as in the original), the strokes (``"zeros"``), or both as separate ON and OFF
input channels (``"on_off"``), which is what lets one layer tell a pattern from its superset.

Larger images: ``digits`` and ``digits-test`` are the two parts of scikit-learn's 8 x 8
hand-written digits (1797 images, 10 classes, 16 grey levels), binarised at half scale
(pixel >= 8 is 1) and split once, stratified by class with a fixed seed, into 75 % for
training (``digits``, 1347 images) and 25 % held out (``digits-test``, 450 images). Train on
``digits``, test on ``digits-test``; the two never share an image.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snn_rl.model.params import INPUT_ENCODINGS
from snn_rl.model.text_input import clip, excerpt

#: The reference bitmaps of the original work (rows top to bottom, 3 columns).
SEED_BITMAPS = {
    "A": "101/010/000/010/010", "B": "001/010/001/010/001", "C": "000/011/011/011/000",
    "D": "001/010/010/010/001", "E": "000/011/001/011/000", "F": "000/011/001/011/011",
    "G": "000/011/011/010/000", "H": "010/010/000/010/010", "I": "000/101/101/101/000",
    "J": "000/110/110/010/000", "K": "010/001/011/001/010", "L": "011/011/011/011/000",
    "M": "010/000/010/010/010", "N": "010/000/000/000/010", "O": "101/010/010/010/101",
    "P": "000/010/000/011/011", "Q": "101/010/010/101/110", "R": "001/010/000/001/010",
    "S": "100/011/101/110/001", "T": "000/101/101/101/101", "U": "010/010/010/010/000",
    "V": "010/010/010/010/101", "W": "010/010/010/000/010", "X": "010/010/101/010/010",
    "Y": "010/010/101/101/101", "Z": "000/110/101/011/000",
}

BUILTIN = {
    "abcd": "ABCD",
    "alphabet": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
}

#: built-in parts of scikit-learn's digits: name -> which part of the fixed split
DIGITS = {"digits": "train", "digits-test": "test"}
DIGITS_TEST_FRACTION = 0.25  #: share of the digits held out for testing
DIGITS_SPLIT_SEED = 0  #: seed of the one stratified train/test split
DIGITS_THRESHOLD = 8  #: grey level (0..16) from which a digit pixel counts as on


class DatasetError(ValueError):
    """A data set that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Dataset:
    """Labelled binary images of one shape.

    ``labels`` names the classes (one output neuron each); ``images[i]`` belongs to class
    ``targets[i]``. Without ``targets`` there is one image per class, in label order.
    """

    name: str
    labels: tuple[str, ...]
    images: np.ndarray  #: shape (n_images, rows, cols), values 0 or 1
    targets: np.ndarray | None = None  #: class index of every image (default: 0, 1, 2, ...)
    path: Path | None = None  #: the file it was read from (None: built in)

    def __post_init__(self) -> None:
        targets = np.arange(len(self.images)) if self.targets is None else np.asarray(self.targets, dtype=int)
        if targets.shape != (len(self.images),) or (targets.size and not 0 <= targets.min() <= targets.max() < len(self.labels)):
            raise DatasetError(f"data set {self.name}: every image needs a class index below {len(self.labels)}")
        object.__setattr__(self, "targets", targets)

    @property
    def shape(self) -> tuple[int, int]:
        return self.images.shape[1], self.images.shape[2]

    @property
    def n_pixels(self) -> int:
        return self.images.shape[1] * self.images.shape[2]

    def __len__(self) -> int:
        """Number of classes."""
        return len(self.labels)

    @property
    def n_images(self) -> int:
        return len(self.images)

    @property
    def builtin(self) -> bool:
        """Whether this is one of the built-in data sets (not read from a file)."""
        return self.path is None

    def digest(self) -> str:
        """SHA-256 of the content (labels, images, classes): the data set's identity, which
        its name (a file's stem) is not."""
        h = hashlib.sha256()
        h.update("\x1f".join(self.labels).encode())
        h.update(str(self.images.shape).encode())
        h.update(np.ascontiguousarray(self.images, dtype=np.uint8).tobytes())
        h.update(np.ascontiguousarray(self.targets, dtype=np.int64).tobytes())
        return h.hexdigest()

    def record(self) -> dict:
        """What a result file records about its data set."""
        return {"dataset": self.name, "dataset_source": "built-in" if self.builtin else str(self.path),
                "dataset_sha256": self.digest()}

    def to_text(self) -> str:
        """The data set in the file format (loads back to an equal data set)."""
        lines = [f"# data set {self.name}: {len(self)} characters of {self.shape[0]} x {self.shape[1]}"]
        for label, image in zip((self.labels[t] for t in self.targets), self.images):
            rows = "/".join("".join(str(int(v)) for v in row) for row in image)
            lines.append(f"{label} {rows}")
        return "\n".join(lines) + "\n"


#: the largest data-set file read (bytes): 2 MB holds about 100 000 characters of 5 x 3
MAX_FILE_BYTES = 2_000_000
#: the largest image, in pixels (an 8 x 8 digit has 64)
MAX_PIXELS = 4096
#: the longest label, in characters
MAX_LABEL = 32
#: the most characters (classes) in one file: one output neuron each, inhibiting every other
MAX_CLASSES = 1000


def parse(text: str, name: str = "<text>") -> Dataset:
    """Parse the file format (in time linear in its length); raise :class:`DatasetError`
    naming the first bad line. Two characters with the same bitmap cannot be told apart and
    are refused."""
    labels: list[str] = []
    seen: dict[str, int] = {}
    by_bitmap: dict[str, str] = {}
    images: list[np.ndarray] = []
    shape: tuple[int, int] | None = None
    text = text.removeprefix("\ufeff")
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{name}:{lineno}"
        parts = line.split()
        if len(parts) != 2:
            raise DatasetError(f"{where}: expected 'LABEL ROWS' (e.g. 'A 101/010/000'), got {excerpt(line, 60)}")
        label, rows_text = parts
        if len(label) > MAX_LABEL:
            raise DatasetError(f"{where}: a label has at most {MAX_LABEL} characters, got {len(label)}")
        if set(rows_text) - set("01/"):
            bad = sorted(set(rows_text) - set("01/"))[:5]
            raise DatasetError(f"{where}: cells must be 0 or 1, found {excerpt(''.join(bad), 20)} in {excerpt(label, 40)}")
        if len(rows_text) > 2 * MAX_PIXELS:
            raise DatasetError(f"{where}: {excerpt(label, 40)} has more than {MAX_PIXELS} pixels")
        rows = rows_text.split("/")
        widths = {len(r) for r in rows}
        if len(widths) != 1 or 0 in widths:
            raise DatasetError(f"{where}: rows of {excerpt(label, 40)} have different lengths "
                               f"{excerpt([len(r) for r in rows], 40)}")
        image = np.frombuffer("".join(rows).encode(), dtype=np.uint8).reshape(len(rows), -1) - ord("0")
        if shape is None:
            shape = image.shape
        elif image.shape != shape:
            raise DatasetError(
                f"{where}: {excerpt(label, 40)} is {image.shape[0]} x {image.shape[1]}, "
                f"earlier characters are {shape[0]} x {shape[1]}"
            )
        if label in seen:
            raise DatasetError(f"{where}: duplicate label {excerpt(label, 40)} (first on line {seen[label]})")
        twin = by_bitmap.get(rows_text)
        if twin is not None:
            raise DatasetError(f"{where}: {excerpt(label, 40)} has the same bitmap as {excerpt(twin, 40)}; "
                               "no network can tell them apart: change one or remove it")
        if len(labels) == MAX_CLASSES:
            raise DatasetError(f"{where}: a data set holds at most {MAX_CLASSES} characters (one output neuron each)")
        seen[label] = lineno
        by_bitmap[rows_text] = label
        labels.append(label)
        images.append(image)
    if not labels:
        raise DatasetError(f"{name}: no characters found (empty file or only comments)")
    if len(labels) < 2:
        raise DatasetError(f"{name}: a data set needs at least 2 characters, found 1")
    return Dataset(name=name, labels=tuple(labels), images=np.stack(images))


def builtin(name: str) -> Dataset:
    """One of the built-in data sets (:data:`BUILTIN`)."""
    letters = BUILTIN[name]
    text = "\n".join(f"{c} {SEED_BITMAPS[c]}" for c in letters)
    return parse(text, name=name)


def digits(part: str) -> Dataset:
    """One part (``"train"`` or ``"test"``) of scikit-learn's digits, binarised (see above)."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:
        raise DatasetError(f"the digits data sets need scikit-learn ({exc}); install it with: pip install scikit-learn") from None
    data = load_digits()
    index = np.arange(len(data.target))
    train_idx, test_idx = train_test_split(
        index, test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_SPLIT_SEED, stratify=data.target
    )
    chosen = np.sort(train_idx if part == "train" else test_idx)
    images = (data.images[chosen] >= DIGITS_THRESHOLD).astype(np.uint8)
    name = "digits" if part == "train" else "digits-test"
    return Dataset(name=name, labels=tuple(str(c) for c in range(10)), images=images, targets=data.target[chosen])


def load(spec: str) -> Dataset:
    """A built-in data set by name, or a file in the format above by path."""
    if spec in BUILTIN:
        return builtin(spec)
    if spec in DIGITS:
        return digits(DIGITS[spec])
    path = Path(spec)
    if not path.exists():
        raise DatasetError(
            f"data set {clip(spec)} is neither a built-in ({', '.join([*BUILTIN, *DIGITS])}) nor an existing file"
        )
    if not path.is_file():
        raise DatasetError(f"data set {clip(spec)} is not a regular file (a folder or a device); "
                           "give a text file in the data-set format")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DatasetError(f"cannot read data set file {clip(spec)}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise DatasetError(f"data set file {clip(spec)} is larger than {MAX_FILE_BYTES // 1_000_000} MB; "
                           "split it or use fewer characters")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"cannot read data set file {clip(spec)}: not UTF-8 text (byte {exc.start})") from None
    return dataclasses.replace(parse(text, name=path.stem), path=path)


def n_inputs(n_pixels: int, encoding: str) -> int:
    """Number of input neurons a data set of ``n_pixels`` needs under ``encoding``."""
    return 2 * n_pixels if encoding == "on_off" else n_pixels


def encode(image: np.ndarray, encoding: str) -> np.ndarray:
    """Which input neurons are driven (1.0) for one image, as a float vector.

    ``"ones"``: one input per pixel, on where the pixel is 1; ``"zeros"``: on where it is 0;
    ``"on_off"``: the ``"ones"`` channel followed by the ``"zeros"`` channel.
    """
    if encoding not in INPUT_ENCODINGS:
        raise ValueError(f"unknown input encoding {encoding!r}; use one of {', '.join(INPUT_ENCODINGS)}")
    flat = np.asarray(image, dtype=float).ravel()
    if encoding == "ones":
        return flat
    if encoding == "zeros":
        return 1.0 - flat
    return np.concatenate([flat, 1.0 - flat])


def flip_pixels(image: np.ndarray, n_flips: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``image`` with ``n_flips`` distinct pixels, drawn by ``rng``, inverted."""
    if not 0 <= n_flips <= image.size:
        raise ValueError(f"cannot flip {n_flips} pixels of a {image.size}-pixel image")
    noisy = image.copy().ravel()
    idx = rng.choice(image.size, size=n_flips, replace=False)
    noisy[idx] = 1 - noisy[idx]
    return noisy.reshape(image.shape)


def as_dataset(data: Dataset | str | Path) -> Dataset:
    """``data`` itself, or the data set :func:`load` gives for a built-in name or a file path."""
    return data if isinstance(data, Dataset) else load(str(data))
