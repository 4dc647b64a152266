"""Inspect a ``torch.export`` archive (``.pt2``) before PyTorch loads it.

``torch.export.load`` unpickles parts of an archive with ``weights_only=False`` (payloads
marked ``use_pickle``, legacy ``.pt`` weight files, custom and opaque objects, sample inputs
that fail weights-only loading), evaluates the graph's symbolic shape expressions with
``sympy.sympify`` (an ``eval``), resolves call targets by attribute lookup from the
``torch`` module, and may load compiled native code (AOTInductor). Any of these runs code
hidden in the file. :func:`check_pt2_archive` reads the zip archive itself and refuses
every archive that would need one of them, so that loading only ever touches plain
tensors and a graph of ``torch.ops`` calls:

* only the parts a plain ``torch.export.save`` writes are allowed (models, weights,
  constants, sample inputs, version files, ``extra/`` text files);
* every weight/constant payload must be raw tensor bytes (``use_pickle: false``); custom
  and opaque objects, legacy pickled weight files and AOTInductor/ExecuTorch parts are refused;
* sample inputs must load with ``torch.load(..., weights_only=True)``;
* call targets must be ``torch.ops.*`` operators, arithmetic from ``_operator`` or ``math``;
* symbolic shape expressions may only use sympy's constructors, numbers and quoted
  symbol names.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
import zipfile
from pathlib import Path
from typing import IO, Any

from lode_bench.errors import LodeBenchError


class UnsafeArchiveError(LodeBenchError):
    """A ``.pt2`` archive needs pickle, compiled code or an unknown part to load."""


_TOP_FILES = {
    "archive_format",
    "archive_version",
    ".data/version",
    ".data/serialization_id",
    "byteorder",
}
_OPERATOR_NAMES = {
    "getitem",
    "add",
    "sub",
    "mul",
    "truediv",
    "floordiv",
    "mod",
    "pow",
    "neg",
    "pos",
    "abs",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and_",
    "or_",
    "xor",
    "not_",
    "invert",
    "lshift",
    "rshift",
    "matmul",
    "sym_not",
}
# sympy's printed vocabulary (``srepr``) plus the functions torch's deserializer provides.
_SYMPY_NAMES = {
    "Symbol",
    "Integer",
    "Float",
    "Rational",
    "Add",
    "Mul",
    "Pow",
    "Mod",
    "Max",
    "Min",
    "Abs",
    "Eq",
    "Ne",
    "Lt",
    "Le",
    "Gt",
    "Ge",
    "StrictLessThan",
    "StrictGreaterThan",
    "LessThan",
    "GreaterThan",
    "Equality",
    "Unequality",
    "And",
    "Or",
    "Not",
    "true",
    "false",
    "True",
    "False",
    "oo",
    "Infinity",
    "NegativeInfinity",
    "zoo",
    "nan",
    "NaN",
    "floor",
    "ceiling",
    "sqrt",
    "Piecewise",
    "ExprCondPair",
    "positive",
    "negative",
    "nonnegative",
    "nonpositive",
    "integer",
    "real",
    "finite",
    "precision",
    "FloorDiv",
    "ModularIndexing",
    "Where",
    "PythonMod",
    "CleanDiv",
    "CeilToInt",
    "FloorToInt",
    "CeilDiv",
    "LShift",
    "RShift",
    "IsNonOverlappingAndDenseIndicator",
    "TruncToFloat",
    "TruncToInt",
    "RoundToInt",
    "RoundDecimal",
    "ToFloat",
    "Identity",
    "PowByNatural",
    "FloatPow",
    "FloatTrueDiv",
    "IntTrueDiv",
    "OpaqueUnaryFn_sqrt",
    "OpaqueUnaryFn_exp",
    "OpaqueUnaryFn_log",
    "BitwiseFn_bitwise_and",
    "BitwiseFn_bitwise_or",
}
_SYMBOL_NAME = re.compile(r"^'[A-Za-z_][A-Za-z0-9_]*'$")
_TARGET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_OPS = {"(", ")", ",", "=", "+", "-", "*", "/", "**", "%", "<", ">", "<=", ">=", "==", "!=", "//"}


def _check_expr(expr: str, where: str) -> None:
    """Refuse a symbolic expression that uses anything but sympy constructors and numbers."""
    if len(expr) > 20000:
        raise UnsafeArchiveError(f"{where}: symbolic expression too long ({len(expr)} characters)")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(expr).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError) as exc:
        raise UnsafeArchiveError(f"{where}: malformed symbolic expression ({exc})") from exc
    for tok in tokens:
        if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.NUMBER):
            continue
        if tok.type == tokenize.NAME and tok.string in _SYMPY_NAMES:
            continue
        if tok.type == tokenize.STRING and _SYMBOL_NAME.match(tok.string):
            continue
        if tok.type == tokenize.OP and tok.string in _OPS:
            continue
        raise UnsafeArchiveError(
            f"{where}: symbolic expression uses {tok.string!r}, which is not allowed "
            "(it would be evaluated as Python code)"
        )


def _check_target(target: str, where: str) -> None:
    ok = bool(_TARGET.match(target)) and (
        target.startswith("torch.ops.")
        or (target.startswith("_operator.") and target.split(".", 1)[1] in _OPERATOR_NAMES)
        or (target.startswith("math.") and target.count(".") == 1)
    )
    if not ok:
        raise UnsafeArchiveError(
            f"{where}: graph calls {target[:80]!r}; only torch.ops operators and "
            "arithmetic are allowed"
        )


def _walk_graph(obj: Any, where: str, depth: int = 0) -> None:
    """Check every call target and symbolic expression in a serialized program."""
    if depth > 200:
        raise UnsafeArchiveError(f"{where}: serialized program nested too deeply")
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "expr_str" and isinstance(v, str):
                _check_expr(v, where)
            elif k == "target" and isinstance(v, str) and "inputs" in obj:
                _check_target(v, where)
            else:
                _walk_graph(v, where, depth + 1)
    elif isinstance(obj, list):
        for v in obj:
            _walk_graph(v, where, depth + 1)


def _json(z: zipfile.ZipFile, name: str, where: str) -> Any:
    try:
        return json.loads(z.read(name))
    except (KeyError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise UnsafeArchiveError(f"{where}: {name} is missing or not valid JSON") from exc


def _check_payloads(z: zipfile.ZipFile, name: str, where: str, *, constants: bool) -> None:
    doc = _json(z, name, where)
    cfg = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(cfg, dict):
        raise UnsafeArchiveError(f"{where}: {name} has no 'config' mapping")
    for fqn, meta in cfg.items():
        if not isinstance(meta, dict):
            raise UnsafeArchiveError(f"{where}: {name}: entry {str(fqn)[:80]!r} is not a mapping")
        if meta.get("use_pickle") is not False:
            raise UnsafeArchiveError(
                f"{where}: {str(fqn)[:80]!r} is stored as a pickle (use_pickle: true), which could run code "
                "when loaded; re-export with plain tensors"
            )
        path_name = str(meta.get("path_name", ""))
        if constants and not path_name.startswith("tensor_"):
            raise UnsafeArchiveError(
                f"{where}: constant {str(fqn)[:80]!r} is a Python/TorchScript object "
                f"({path_name[:40]!r}), which is loaded with pickle"
            )


def check_pt2_archive(path: str | Path | IO[bytes], *, name: str | None = None) -> None:
    """Refuse a ``torch.export`` archive that would run code or unpickle objects when loaded.

    Args:
        path: the ``.pt2`` file, or its bytes as a binary file object (load those same
            bytes afterwards, so the file cannot change in between).
        name: file name for messages (default: ``path``).

    Raises:
        UnsafeArchiveError: naming the file and the part that is not allowed.
    """
    import torch

    where = name or str(path)
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeArchiveError(f"{where}: not a torch.export archive ({exc})") from exc
    with z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) != 1 or any("/" not in n for n in names):
            raise UnsafeArchiveError(
                f"{where}: not a torch.export archive (expected one top folder)"
            )
        top = tops.pop()
        rel = [n[len(top) + 1 :] for n in names]
        if "archive_format" not in rel or z.read(f"{top}/archive_format").strip() != b"pt2":
            raise UnsafeArchiveError(
                f"{where}: not a PT2 archive of torch.export.save (older formats are "
                "loaded with pickle and are refused)"
            )
        models = [
            r[len("models/") : -len(".json")]
            for r in rel
            if r.startswith("models/") and r.endswith(".json")
        ]
        if not models:
            raise UnsafeArchiveError(f"{where}: archive holds no exported program (models/*.json)")
        allowed = set(_TOP_FILES)
        for m in models:
            allowed |= {
                f"models/{m}.json",
                f"data/sample_inputs/{m}.pt",
                f"data/weights/{m}_weights_config.json",
                f"data/constants/{m}_constants_config.json",
            }
        for r in rel:
            ok = (
                r in allowed
                or r.startswith("extra/")
                or re.match(r"^data/weights/weight_\d+$", r)
                or re.match(r"^data/constants/tensor_\w+$", r)
            )
            if not ok:
                raise UnsafeArchiveError(
                    f"{where}: archive part {r!r} is not allowed (only plain tensors and "
                    "exported programs are loaded: no pickles, no compiled code)"
                )
        for m in models:
            _check_payloads(
                z, f"{top}/data/weights/{m}_weights_config.json", where, constants=False
            )
            _check_payloads(
                z, f"{top}/data/constants/{m}_constants_config.json", where, constants=True
            )
            _walk_graph(_json(z, f"{top}/models/{m}.json", where), where)
            sample = f"{top}/data/sample_inputs/{m}.pt"
            if sample[len(top) + 1 :] in rel:
                data = z.read(sample)
                if data:
                    try:  # torch falls back to full unpickling when this fails: make sure it does not
                        torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
                    except Exception as exc:  # noqa: BLE001 - any failure means "needs pickle"
                        raise UnsafeArchiveError(
                            f"{where}: sample inputs need Python objects beyond tensors "
                            f"({type(exc).__name__}), which could run code when loaded"
                        ) from exc
