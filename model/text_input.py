"""Reading a user's text safely: parameter files (YAML or JSON) and their error messages.

- Numbers in standard notation are numbers: ``1e-3`` and ``2e-1`` (YAML 1.1, which PyYAML
  follows, reads them as strings; JSON and YAML 1.2 do not).
- A key given twice in one mapping is an error (PyYAML keeps the last one silently).
- A UTF-8 byte-order mark is dropped.
- Input is size-limited, and an error message shows at most a bounded excerpt of a value,
  so a file built to explode (a YAML alias bomb) gives a short error, not a hang.
"""

from __future__ import annotations

import re
import reprlib

import yaml

#: the largest parameter file or inline parameter text read (bytes)
MAX_PARAMS_BYTES = 1_000_000

_repr = reprlib.Repr()
_repr.maxlevel = 3
_repr.maxstring = 60
_repr.maxother = 60
for _name in ("maxlist", "maxdict", "maxtuple", "maxset"):
    setattr(_repr, _name, 6)


def excerpt(value: object, limit: int = 80) -> str:
    """A bounded ``repr`` of ``value``: nesting, lengths and the whole text are capped."""
    text = _repr.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clip(text: str, limit: int = 300) -> str:
    """``text`` as is, or its head and tail around '...' if longer than ``limit`` (file names)."""
    text = str(text)
    return text if len(text) <= limit else f"{text[: limit // 2]}...{text[-(limit // 2):]}"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats and refused duplicate keys."""


# Numbers with an exponent but no decimal point or no exponent sign ("1e-3", "2E5", "1.5e3"):
# floats in YAML 1.2 and JSON, strings to PyYAML's YAML 1.1 resolver. Every other scalar reads
# as PyYAML reads it.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))


def standard_numbers(data: object) -> object:
    """``data`` with every string in exponent notation ("1e-3") made a float: for YAML read
    by another loader (Snakemake reads the pipeline's config with YAML 1.1)."""
    if isinstance(data, dict):
        return {k: standard_numbers(v) for k, v in data.items()}
    if isinstance(data, list):
        return [standard_numbers(v) for v in data]
    if isinstance(data, str) and _EXPONENT_FLOAT.match(data):
        return float(data.replace("_", ""))
    return data


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    """A mapping, refused if it states one key twice (keys merged in with ``<<`` may be
    overridden, as YAML intends)."""
    seen = set()
    for key_node, _value in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # an unhashable key: let PyYAML report it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {excerpt(key, 40)} is given twice", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(text: str | bytes, source: str) -> object:
    """The data of a YAML or JSON text; ``ValueError`` with one line naming ``source``."""
    if isinstance(text, bytes):
        if len(text) > MAX_PARAMS_BYTES:
            raise ValueError(f"{source} is larger than {MAX_PARAMS_BYTES // 1000} kB; a parameter file is a few lines")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{source} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if len(text) > MAX_PARAMS_BYTES:
        raise ValueError(f"{source} is larger than {MAX_PARAMS_BYTES // 1000} kB; a parameter file is a few lines")
    text = text.removeprefix("\ufeff")
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or first)[:120]
        raise ValueError(f"{source} is not valid YAML/JSON: {problem}{where}") from None
    except RecursionError:
        raise ValueError(f"{source} is nested too deeply") from None
    except ValueError as exc:  # a scalar a constructor could not convert
        raise ValueError(f"{source} is not valid YAML/JSON: {excerpt(str(exc), 120)}") from None
