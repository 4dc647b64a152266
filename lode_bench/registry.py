"""A small typed registry: names + aliases, lazy ``"module:attr"`` entries, entry-point
plugins, "did you mean" errors, duplicates refused, optional freeze.

Example:
    >>> reg: Registry[int] = Registry("numbers")
    >>> reg.register("one", 1, aliases=("uno",))
    >>> reg.get("uno")
    1
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

from lode_bench.errors import LodeBenchError, UnknownNameError

T = TypeVar("T")


class DuplicateEntryError(LodeBenchError):
    """A name or alias is registered twice."""


class FrozenRegistryError(LodeBenchError):
    """The registry is frozen and accepts no new entries."""


@dataclass
class _Entry(Generic[T]):
    name: str
    value: T | None = None
    target: str | None = None  # "module:attr" for lazy entries
    aliases: tuple[str, ...] = ()
    source: str = "builtin"
    loaded: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


def load_object(target: str) -> Any:
    """Import ``"package.module:attr.sub"`` and return the attribute."""
    if ":" not in target:
        raise ValueError(f"lazy target must look like 'module:attr', got {target!r}")
    mod_name, attr = target.split(":", 1)
    obj: Any = importlib.import_module(mod_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """A named collection of entries of one kind (models, datasets, metrics, protocols).

    Args:
        kind: what the entries are, used in messages ("model", "dataset", ...).
        entry_point_group: optional ``importlib.metadata`` entry-point group whose
            entries are added as lazy plugins on first lookup.
        validate: optional callable run on every loaded value (raise to reject).
    """

    def __init__(
        self,
        kind: str,
        *,
        entry_point_group: str | None = None,
        validate: Callable[[Any], None] | None = None,
    ) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._validate = validate
        self._entries: dict[str, _Entry[T]] = {}
        self._aliases: dict[str, str] = {}
        self._frozen = False
        self._plugins_loaded = entry_point_group is None
        self.plugin_errors: dict[str, str] = {}

    # -- registration -------------------------------------------------------------
    def _check_free(self, name: str) -> None:
        key = name.lower()
        if self._frozen:
            raise FrozenRegistryError(f"{self.kind} registry is frozen; cannot add {name!r}")
        if key in self._entries or key in self._aliases:
            owner = self._aliases.get(key, key)
            raise DuplicateEntryError(
                f"{self.kind} {name!r} is already registered (by {self._entries[owner].source})"
            )

    def register(
        self,
        name: str,
        value: T | str,
        *,
        aliases: tuple[str, ...] | list[str] = (),
        lazy: bool | None = None,
        source: str = "builtin",
        **meta: Any,
    ) -> None:
        """Add an entry. A string value containing ``:`` is a lazy ``"module:attr"`` target.

        Raises:
            DuplicateEntryError: when the name or an alias is taken.
        """
        for n in (name, *aliases):
            self._check_free(n)
        is_lazy = isinstance(value, str) and ":" in value if lazy is None else lazy
        entry: _Entry[T] = _Entry(name=name, aliases=tuple(aliases), source=source, meta=dict(meta))
        if is_lazy:
            entry.target = str(value)
        else:
            if self._validate is not None:
                self._validate(value)
            entry.value = value  # type: ignore[assignment]
            entry.loaded = True
        self._entries[name.lower()] = entry
        for a in aliases:
            self._aliases[a.lower()] = name.lower()

    def decorator(self, name: str, **kw: Any) -> Callable[[T], T]:
        """``@registry.decorator("name")`` registers the decorated object."""

        def wrap(obj: T) -> T:
            self.register(name, obj, lazy=False, **kw)
            return obj

        return wrap

    def freeze(self) -> None:
        """Refuse further registrations."""
        self._frozen = True

    # -- plugins ------------------------------------------------------------------
    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        assert self.entry_point_group is not None
        try:
            eps = metadata.entry_points(group=self.entry_point_group)
        except Exception as exc:  # pragma: no cover - broken metadata
            warnings.warn(f"cannot list {self.entry_point_group} plugins: {exc}", stacklevel=2)
            return
        for ep in eps:
            try:
                self.register(ep.name, ep.value, lazy=True, source=f"plugin {ep.value}")
            except LodeBenchError as exc:
                self.plugin_errors[ep.name] = str(exc)
                warnings.warn(f"ignoring {self.kind} plugin {ep.name!r}: {exc}", stacklevel=2)

    # -- lookup -------------------------------------------------------------------
    def _resolve_key(self, name: str) -> str:
        self._load_plugins()
        key = name.lower()
        key = self._aliases.get(key, key)
        if key not in self._entries:
            choices = sorted({*self._entries, *self._aliases})
            close = difflib.get_close_matches(key, choices, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            known = ", ".join(sorted(self._entries)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}{hint} (known: {known})")
        return key

    def _load(self, entry: _Entry[T]) -> T:
        if not entry.loaded:
            assert entry.target is not None
            try:
                value = load_object(entry.target)
            except Exception as exc:
                raise LodeBenchError(
                    f"{self.kind} {entry.name!r} ({entry.source}) failed to load from "
                    f"{entry.target}: {type(exc).__name__}: {exc}"
                ) from exc
            if self._validate is not None:
                self._validate(value)
            entry.value = value
            entry.loaded = True
        return entry.value  # type: ignore[return-value]

    def get(self, name: str) -> T:
        """The entry registered under ``name`` or one of its aliases (case-insensitive).

        Raises:
            UnknownNameError: with close matches ("did you mean ...").
        """
        return self._load(self._entries[self._resolve_key(name)])

    def canonical(self, name: str) -> str:
        """The canonical name for ``name`` or an alias."""
        return self._entries[self._resolve_key(name)].name

    def aliases(self, name: str) -> tuple[str, ...]:
        return self._entries[self._resolve_key(name)].aliases

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self._resolve_key(name)
        except UnknownNameError:
            return False
        return True

    def names(self) -> list[str]:
        """Canonical names, sorted."""
        self._load_plugins()
        return sorted(e.name for e in self._entries.values())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._entries)

    def items(self, *, skip_broken: bool = True) -> list[tuple[str, T]]:
        """(name, value) pairs; broken lazy entries warn and are skipped (or raise)."""
        out = []
        for name in self.names():
            try:
                out.append((name, self.get(name)))
            except LodeBenchError as exc:
                if not skip_broken:
                    raise
                warnings.warn(str(exc), stacklevel=2)
                self.plugin_errors[name] = str(exc)
        return out
