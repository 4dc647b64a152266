"""The one YAML loader of lode-bench: safe, bounded, one-line errors.

Every configuration file (synthesis recipes, camera profiles, benchmark suites,
leaderboard definitions) is read with :func:`load_yaml`, which

* uses PyYAML's *safe* loader (plain data only: no Python objects);
* refuses files larger than :data:`MAX_BYTES` before parsing;
* builds the node graph first and refuses it, before any value is constructed, when it
  uses more than :data:`MAX_ALIASES` alias references, when it would expand to more than
  :data:`MAX_NODES` nodes with every alias expanded (the "billion laughs" bomb: a few
  hundred bytes that expand to billions of list items), when an alias refers to its own
  ancestor (a recursive structure), or when it nests deeper than :data:`MAX_DEPTH`;
* reports every problem as a :class:`~lode_bench.errors.ConfigError` of one line naming
  the file, and the line and column for syntax errors.

:func:`load_yaml_config` is the one "name or path → YAML mapping → unknown keys named"
step of every configuration kind: a path is read as it is, a plain name is looked up
as ``<name>.yaml`` in the kind's folders (:func:`resolve_config_path`), the document
must be a mapping, and top-level keys outside ``known_keys`` are refused by name
(:func:`refuse_unknown_keys`, one message form for every kind). Recipes, camera
profiles, suites and leaderboard definitions all load through it.

:func:`short_repr` is how messages quote a value: bounded in length and depth, so an
error message never formats a whole (possibly huge) value.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import yaml

from lode_bench.errors import ConfigError, UnknownNameError

#: Largest configuration file read (bytes).
MAX_BYTES = 8 * 1024 * 1024
#: Most alias references (``*name``, including merge keys) in one document.
MAX_ALIASES = 1000
#: Most nodes of a document with every alias expanded.
MAX_NODES = 2_000_000
#: Deepest nesting of sequences and mappings.
MAX_DEPTH = 200

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
_REPR.maxlevel = 3


def short_repr(value: Any) -> str:
    """``repr(value)`` cut to a few items, levels and characters (never the whole value)."""
    return _REPR.repr(value)


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _children(n: yaml.Node) -> list[yaml.Node]:
    if isinstance(n, yaml.SequenceNode):
        return list(n.value)
    if isinstance(n, yaml.MappingNode):
        return [x for pair in n.value for x in pair]
    return []


def _check_graph(node: yaml.Node, where: str) -> None:
    """Refuse alias bombs, recursive aliases and deep nesting, without expanding anything.

    One iterative depth-first walk over the composed node graph (a node reached a second
    time is an alias), computing each node's size with every alias expanded.
    """
    size: dict[int, int] = {}  # finished node -> expanded size
    busy: set[int] = set()  # nodes whose children are being walked (the current path)
    aliases = 0
    stack: list[tuple[yaml.Node, int, bool]] = [(node, 1, False)]
    while stack:
        n, depth, finish = stack.pop()
        key = id(n)
        if finish:
            busy.discard(key)
            total = 1 + sum(size[id(c)] for c in _children(n))
            if total > MAX_NODES:
                raise ConfigError(
                    f"{where}: refused: the document expands to more than "
                    f"{MAX_NODES:,} values through its aliases (YAML bomb?)"
                )
            size[key] = total
            continue
        if key in size:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ConfigError(
                    f"{where}: refused: more than {MAX_ALIASES} alias references (YAML bomb?)"
                )
            continue
        if key in busy:
            raise ConfigError(
                f"{where}: refused: an alias refers to its own parent "
                f"(recursive structure at line {n.start_mark.line + 1})"
            )
        if depth > MAX_DEPTH:
            raise ConfigError(
                f"{where}: refused: nested deeper than {MAX_DEPTH} levels "
                f"(line {n.start_mark.line + 1})"
            )
        busy.add(key)
        stack.append((n, depth, True))
        stack.extend((c, depth + 1, False) for c in reversed(_children(n)))


def loads_yaml(text: str, where: str = "<string>") -> Any:
    """Parse one YAML document from ``text`` with the limits of this module.

    Args:
        text: the YAML source.
        where: what to name in errors (a file path, or e.g. ``--model-opt``).

    Raises:
        ConfigError: one line naming ``where`` (and the line/column for syntax errors).
    """
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{where}: refused: larger than {MAX_BYTES // (1024 * 1024)} MiB")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, where)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        what = exc.problem or exc.context or type(exc).__name__
        if exc.context and exc.problem:
            what = f"{exc.problem} ({exc.context})"
        raise ConfigError(f"{where}: invalid YAML at {at}{_one_line(what)}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: invalid YAML ({_one_line(str(exc))})") from None
    except RecursionError:
        raise ConfigError(f"{where}: refused: nested too deeply") from None
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file with the limits of this module.

    Raises:
        ConfigError: missing, unreadable, too large, not UTF-8, invalid or hostile YAML;
            one line naming the file.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a YAML file") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{p}: refused: larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    return loads_yaml(text, str(p))


_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_SUFFIXES = (".yaml", ".yml")


def list_config_names(search_dirs: Sequence[str | Path]) -> list[str]:
    """Names (file stems) of the ``*.yaml`` files in ``search_dirs``, sorted, each once."""
    names = {p.stem for d in search_dirs if Path(d).is_dir() for p in Path(d).glob("*.yaml")}
    return sorted(names)


def resolve_config_path(
    name_or_path: str | Path, *, kind: str, search_dirs: Sequence[str | Path] = ()
) -> Path:
    """The file a configuration reference names.

    A :class:`~pathlib.Path`, or text ending in ``.yaml``/``.yml``, is that file (it must
    exist). Anything else is a plain name (letters, digits, ``-``, ``_``, ``.``), looked
    up as ``<name>.yaml`` in ``search_dirs``, first match wins.

    Args:
        name_or_path: the reference as the user gave it.
        kind: what is being loaded, for messages (``"synthesis recipe"``).
        search_dirs: folders of the shipped configurations of this kind.

    Raises:
        ConfigError: a path that is not a file.
        UnknownNameError: no configuration of that name (lists the known ones).
    """
    p = Path(name_or_path)
    if isinstance(name_or_path, Path) or p.suffix in _SUFFIXES:
        if p.is_file():
            return p
        raise ConfigError(f"{p}: {kind} file not found")
    text = str(name_or_path)
    if _PLAIN_NAME.match(text) and ".." not in text:
        from lode_bench.errors import UnsafePathError
        from lode_bench.io.paths import safe_join

        for d in search_dirs:
            try:  # a shipped name is never a link out of its folder
                cand = safe_join(d, f"{text}.yaml")
            except UnsafePathError as exc:
                raise ConfigError(f"{kind} {text!r} leaves its folder ({exc})") from None
            if cand.is_file():
                return cand
    raise unknown_name_error(kind, text, list_config_names(search_dirs))


def unknown_name_error(kind: str, name: str, known: Collection[str]) -> UnknownNameError:
    """The error for a configuration name that names nothing: the closest known names
    (``did you mean ...?``) and all of them.

    Args:
        kind: what was looked up (``"suite"``).
        name: the name as the user gave it.
        known: the names that exist.
    """
    import difflib

    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return UnknownNameError(
        f"unknown {kind} {short_repr(name)}{hint} (known: {', '.join(names) or 'none'})"
    )


def refuse_unknown_keys(
    where: str | Path, kind: str, doc: Collection[Any], known_keys: Collection[str]
) -> None:
    """Refuse the keys of ``doc`` outside ``known_keys``, all named in one line::

        <where>: unknown <kind> key(s) 'a', 'b'; known: c, d

    Raises:
        ConfigError: some key of ``doc`` is not in ``known_keys``.
    """
    unknown = sorted(str(k) for k in doc if k not in known_keys)
    if unknown:
        raise ConfigError(
            f"{where}: unknown {kind} key(s) {', '.join(short_repr(k) for k in unknown)}; "
            f"known: {', '.join(sorted(known_keys))}"
        )


def load_yaml_config(
    name_or_path: str | Path,
    *,
    kind: str,
    search_dirs: Sequence[str | Path] = (),
    known_keys: Collection[str] | None = None,
) -> dict[str, Any]:
    """Read a configuration mapping by name or path and refuse unknown top-level keys.

    Args:
        name_or_path: a file, or a name looked up in ``search_dirs``
            (see :func:`resolve_config_path`).
        kind: what is being loaded, for messages (``"synthesis recipe"``).
        search_dirs: folders of the shipped configurations of this kind.
        known_keys: allowed top-level keys (``None``: any; the caller checks them).

    Returns:
        The parsed mapping (an empty file gives ``{}``).

    Raises:
        UnknownNameError: no configuration of that name.
        ConfigError: unreadable or hostile YAML, a document that is not a mapping, or
            unknown keys: one line naming the file (and every unknown key).
    """
    p = resolve_config_path(name_or_path, kind=kind, search_dirs=search_dirs)
    doc = load_yaml(p)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: a {kind} must be a mapping, got {type(doc).__name__}")
    if known_keys is not None:
        refuse_unknown_keys(p, kind, doc, known_keys)
    return doc
