"""A small typed registry: names + aliases, lazy ``"module:attr"`` entries, built-ins loaded
on first use, entry-point plugins, "did you mean" errors, duplicates refused, optional freeze.

Every registry of lode-bench (metrics, protocols, dataset kinds, models) is one
:class:`Registry` that names its built-ins as a lazy target. On the first lookup (or the
first registration) the built-ins are loaded, once, and then the entry-point plugins; a
plugin whose name or alias is taken (by a built-in, say a plugin called ``psnr``) is
refused with a warning and never replaces the entry it collides with. Loading and
registration hold a re-entrant lock, so threads may look entries up concurrently.

Example:
    >>> reg: Registry[int] = Registry("numbers")
    >>> reg.register("one", 1, aliases=("uno",))
    >>> reg.get("uno")
    1
"""

from __future__ import annotations

import difflib
import importlib
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

from lode_bench.errors import LodeBenchError, UnknownNameError

T = TypeVar("T")

#: where a registry's built-ins come from: a ``"module:attr"`` target or the object itself,
#: either an iterable of ``(value, aliases)`` pairs (the name is ``value.name``) or a
#: callable returning one.
BuiltinsSource = str | Callable[[], Iterable[Any]] | Iterable[Any]


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
    """Import ``"package.module:attr.sub"`` and return the attribute.

    Raises:
        ValueError: ``target`` has no ``:``.
        ImportError, AttributeError: the module or attribute does not exist.
    """
    if ":" not in target:
        raise ValueError(f"lazy target must look like 'module:attr', got {target!r}")
    mod_name, attr = target.split(":", 1)
    obj: Any = importlib.import_module(mod_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def resolve_target(obj: Any, *, what: str) -> Any:
    """``obj`` itself, or the object a ``"module:attr"`` string names.

    The one resolver every lazily named callable (metric functions and checks, dataset
    loaders, model factories) goes through.

    Args:
        obj: a ``"module:attr"`` string or the object itself.
        what: what is being resolved, for the message (``"metric 'psnr'"``).

    Raises:
        LodeBenchError: the target cannot be imported (names it and why).
    """
    if not isinstance(obj, str):
        return obj
    try:
        return load_object(obj)
    except Exception as exc:
        raise LodeBenchError(f"{what}: cannot import {obj}: {type(exc).__name__}: {exc}") from exc


class Registry(Generic[T]):
    """A named collection of entries of one kind (models, datasets, metrics, protocols).

    Args:
        kind: what the entries are, used in messages ("model", "dataset", ...).
        builtins: the built-in entries, loaded once on first lookup or registration,
            before any plugin: a ``"module:attr"`` target (or the object) naming an
            iterable of ``(value, aliases)`` pairs, or a callable returning one; the
            entry's name is ``value.name``. A module named here must not register into
            this registry when imported.
        entry_point_group: optional ``importlib.metadata`` entry-point group whose
            entries are added as lazy plugins after the built-ins.
        validate: optional callable run on every loaded value (raise to reject).
    """

    def __init__(
        self,
        kind: str,
        *,
        builtins: BuiltinsSource | None = None,
        entry_point_group: str | None = None,
        validate: Callable[[Any], None] | None = None,
    ) -> None:
        self.kind = kind
        self.builtins = builtins
        self.entry_point_group = entry_point_group
        self._validate = validate
        self._entries: dict[str, _Entry[T]] = {}
        self._aliases: dict[str, str] = {}
        self._frozen = False
        self._lock = threading.RLock()
        self._builtins_loaded = builtins is None
        self._plugins_loaded = entry_point_group is None
        self._loading = False
        self._ready = False
        self.plugin_errors: dict[str, str] = {}

    # -- registration -------------------------------------------------------------
    def _check_free(self, name: str) -> None:
        key = name.lower()
        if self._frozen:
            raise FrozenRegistryError(f"{self.kind} registry is frozen; cannot add {name!r}")
        if key in self._entries or key in self._aliases:
            owner = self._entries[self._aliases.get(key, key)]
            raise DuplicateEntryError(
                f"{self.kind} {name!r} is already registered (by {owner.source})"
            )

    def _add(
        self,
        name: str,
        value: T | str,
        aliases: tuple[str, ...],
        lazy: bool | None,
        source: str,
        meta: dict[str, Any],
    ) -> None:
        if len({n.lower() for n in (name, *aliases)}) != 1 + len(aliases):
            raise DuplicateEntryError(
                f"{self.kind} {name!r}: repeated name among {(name, *aliases)}"
            )
        for n in (name, *aliases):
            self._check_free(n)
        is_lazy = isinstance(value, str) and ":" in value if lazy is None else lazy
        entry: _Entry[T] = _Entry(name=name, aliases=aliases, source=source, meta=meta)
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

        The built-ins are loaded first, so a name of theirs is never taken from them.

        Raises:
            DuplicateEntryError: when the name or an alias is taken.
        """
        with self._lock:
            self._load_builtins()
            self._add(name, value, tuple(aliases), lazy, source, dict(meta))

    def decorator(self, name: str, **kw: Any) -> Callable[[T], T]:
        """``@registry.decorator("name")`` registers the decorated object."""

        def wrap(obj: T) -> T:
            self.register(name, obj, lazy=False, **kw)
            return obj

        return wrap

    def freeze(self) -> None:
        """Load built-ins and plugins, then refuse further registrations."""
        with self._lock:
            self._ensure_loaded()
            self._frozen = True

    # -- built-ins and plugins ----------------------------------------------------
    def _ensure_loaded(self) -> None:
        if self._ready:  # set only once both are complete: no lock needed to read it
            return
        with self._lock:
            self._load_builtins()
            self._load_plugins()
            self._ready = self._builtins_loaded and self._plugins_loaded and not self._loading

    def _load_builtins(self) -> None:
        """Register the built-ins (caller holds the lock); once, re-entrant calls skip."""
        if self._builtins_loaded or self._loading:
            return
        self._loading = True
        entries, aliases = dict(self._entries), dict(self._aliases)
        try:
            for name, value, names in self._builtin_pairs():
                self._add(name, value, names, False, "builtin", {})
        except Exception:
            self._entries, self._aliases = entries, aliases  # leave no half-loaded set
            raise
        finally:
            self._loading = False
        self._builtins_loaded = True

    def _builtin_pairs(self) -> list[tuple[str, Any, tuple[str, ...]]]:
        src = self.builtins
        what = f"{self.kind} built-ins"
        try:
            obj = resolve_target(src, what=what)
            items = obj() if callable(obj) else obj
            out = []
            for value, aliases in items:
                out.append((str(value.name), value, tuple(aliases)))
        except LodeBenchError:
            raise
        except Exception as exc:
            raise LodeBenchError(
                f"{what} ({src!r}) are malformed: {type(exc).__name__}: {exc}"
            ) from exc
        return out

    def _load_plugins(self) -> None:
        """Add the entry-point plugins as lazy entries (caller holds the lock); once."""
        if self._plugins_loaded or self._loading:
            return
        self._plugins_loaded = True
        assert self.entry_point_group is not None
        try:
            eps = metadata.entry_points(group=self.entry_point_group)
        except Exception as exc:  # pragma: no cover - broken metadata
            warnings.warn(f"cannot list {self.entry_point_group} plugins: {exc}", stacklevel=3)
            return
        for ep in eps:
            key = ep.name.lower()
            owner = self._entries.get(self._aliases.get(key, key))
            if owner is not None and owner.source == "builtin":
                msg = (
                    f"its name collides with the built-in {self.kind} {owner.name!r}; "
                    f"the built-in is kept (rename the plugin {ep.value})"
                )
                self.plugin_errors[ep.name] = msg
                warnings.warn(f"ignoring {self.kind} plugin {ep.name!r}: {msg}", stacklevel=3)
                continue
            try:
                self._add(ep.name, ep.value, (), True, f"plugin {ep.value}", {})
            except LodeBenchError as exc:
                self.plugin_errors[ep.name] = str(exc)
                warnings.warn(f"ignoring {self.kind} plugin {ep.name!r}: {exc}", stacklevel=3)

    # -- lookup -------------------------------------------------------------------
    def _resolve_key(self, name: str) -> str:
        self._ensure_loaded()
        with self._lock:
            key = name.lower()
            key = self._aliases.get(key, key)
            if key not in self._entries:
                choices = sorted({*self._entries, *self._aliases})
                close = difflib.get_close_matches(key, choices, n=6, cutoff=0.5)
                # suggest canonical names only, so every suggestion is in the "known" list
                close = list(dict.fromkeys(self._aliases.get(c, c) for c in close))[:3]
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                known = ", ".join(sorted(self._entries)) or "none"
                raise UnknownNameError(f"unknown {self.kind} {name!r}{hint} (known: {known})")
            return key

    def _load(self, entry: _Entry[T]) -> T:
        if entry.loaded:
            return entry.value  # type: ignore[return-value]
        with self._lock:
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

    def source(self, name: str) -> str:
        """Where the entry comes from: ``"builtin"``, ``"plugin <target>"``, or as registered."""
        return self._entries[self._resolve_key(name)].source

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
        self._ensure_loaded()
        with self._lock:
            return sorted(e.name for e in self._entries.values())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._ensure_loaded()
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
                with self._lock:
                    self.plugin_errors[name] = str(exc)
        return out
