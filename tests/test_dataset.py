"""Data sets: the seed's bitmaps, the file format, input encodings."""

import numpy as np
import pytest

from snn_rl.model.dataset import (
    SEED_BITMAPS, DatasetError, builtin, encode, flip_pixels, load, n_inputs, parse,
)


def test_builtin_sets_hold_the_seed_bitmaps_exactly():
    abcd = builtin("abcd")
    assert abcd.labels == ("A", "B", "C", "D") and abcd.shape == (5, 3)
    np.testing.assert_array_equal(abcd.images[0], [[1, 0, 1], [0, 1, 0], [0, 0, 0], [0, 1, 0], [0, 1, 0]])
    alphabet = builtin("alphabet")
    assert len(alphabet) == 26 and alphabet.n_pixels == 15
    for label, image in zip(alphabet.labels, alphabet.images):
        assert "/".join("".join(map(str, r)) for r in image) == SEED_BITMAPS[label]


def test_seed_facts_about_the_alphabet_hold():
    a = dict(zip(builtin("alphabet").labels, builtin("alphabet").images))
    assert (a["C"] != a["E"]).sum() == 1 and (a["C"] != a["G"]).sum() == 1
    assert np.all(a["E"] <= a["C"])  # E's active pixels are a subset of C's
    assert a["N"].sum() == 2


def test_file_format_round_trip_and_comments(tmp_path):
    text = "# two characters of 2 x 4\nX 1001/0110  # trailing comment\n\nY 0000/1111\n"
    path = tmp_path / "set.txt"
    path.write_text(text)
    ds = load(str(path))
    assert ds.name == "set" and ds.labels == ("X", "Y") and ds.shape == (2, 4)
    again = parse(ds.to_text())
    np.testing.assert_array_equal(again.images, ds.images)


@pytest.mark.parametrize("text,message", [
    ("A 101/01/000", "different lengths"),
    ("A 101/020/000\nB 111/111/111", "must be 0 or 1"),
    ("A 101/010/000\nA 111/111/111", "duplicate label 'A'"),
    ("", "no characters"),
    ("# only a comment\n", "no characters"),
    ("A 101/010/000", "at least 2 characters"),
    ("A 101/010/000\nB 11/11/11", "earlier characters are 3 x 3"),
    ("A 101 010", "expected 'LABEL ROWS'"),
])
def test_malformed_files_name_the_problem_and_line(text, message):
    with pytest.raises(DatasetError, match=message):
        parse(text, name="bad")


def test_line_numbers_in_errors():
    with pytest.raises(DatasetError, match=r"^bad:3: "):
        parse("A 1/0\n# comment\nB 1/2\n", name="bad")


def test_unknown_name_or_missing_file():
    with pytest.raises(DatasetError, match="neither a built-in"):
        load("no/such/file.txt")


def test_encodings():
    image = np.array([[1, 0], [0, 1]])
    np.testing.assert_array_equal(encode(image, "ones"), [1, 0, 0, 1])
    np.testing.assert_array_equal(encode(image, "zeros"), [0, 1, 1, 0])
    np.testing.assert_array_equal(encode(image, "on_off"), [1, 0, 0, 1, 0, 1, 1, 0])
    assert n_inputs(15, "on_off") == 30 and n_inputs(15, "ones") == 15
    with pytest.raises(ValueError, match="unknown input encoding"):
        encode(image, "both")


def test_flip_pixels_flips_exactly_n_distinct_pixels():
    image = builtin("abcd").images[1]
    noisy = flip_pixels(image, 3, np.random.default_rng(0))
    assert (noisy != image).sum() == 3 and image.sum() == builtin("abcd").images[1].sum()
    with pytest.raises(ValueError):
        flip_pixels(image, 16, np.random.default_rng(0))
