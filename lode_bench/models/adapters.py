"""Adapters: run models lode-bench does not implement.

* ``torchscript=FILE``: a TorchScript module (``torch.jit.save``) or a ``torch.export``
  archive (``.pt2``, ``torch.export.save``), RGB in [0, 1] unless options say otherwise;
  loaded on the CPU, then moved to the device. Export with dynamic H and W
  (``torch.export.Dim``) so that any image size runs.
* ``command="CMD {input} {output}"``: an external program that deblurs every image of
  an input folder into an output folder (same relative names, PNG). It runs once per
  dataset, without a shell; outputs already present are reused, so a killed run resumes.
  It gets ``timeout_per_image_s`` (default 300) seconds per image it is given
  (``--model-opt command:timeout_per_image_s=S``); past that its process group is killed.
* ``folder=DIR``: precomputed outputs, ``DIR/<sample id>.<ext>`` for any image extension,
  nested or flat (``<seq>-<frame>.png``), paired exactly as ``lode-bench score`` pairs.
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lode_bench.datasets.types import Sample
from lode_bench.errors import ImageReadError, LodeBenchError
from lode_bench.io import IMAGE_EXTENSIONS, read_image, safe_join
from lode_bench.io.folders import id_forms, index_images, match_predictions, no_pairs_message
from lode_bench.models.base import Deblurrer
from lode_bench.models.card import ModelCard
from lode_bench.models.pt2_check import check_pt2_archive


class FolderDeblurrer(Deblurrer):
    """Reads the output for a sample from a folder of precomputed outputs.

    The folder is indexed once (:func:`~lode_bench.io.folders.index_images`, recursively)
    and paired with the dataset's ids by :func:`~lode_bench.io.folders.match_predictions`,
    the pairing ``lode-bench score`` uses: ``<id>.<ext>`` nested, or flat
    ``<seq>-<frame>.<ext>`` / ``<seq>_<frame>.<ext>``; two files with one id are refused.
    Files are read under the protocol's 16-bit rule (:meth:`bind_protocol`), as ``score``
    reads them.

    Args:
        card: the adapter's card.
        folder: the outputs folder.
    """

    runs_in_driver = True
    needs_input = False
    _index: dict[str, Path] | None = None
    _found: dict[str, Path] | None = None
    _depth16: Literal["round", "truncate"] = "round"

    def __init__(self, card: ModelCard, folder: str | Path) -> None:
        self.card = card
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise LodeBenchError(f"{self.folder}: outputs folder not found")

    def bind_protocol(self, protocol: Any) -> None:
        """Read 16-bit outputs with ``protocol``'s rule (``depth16``), as ``score`` does."""
        self._depth16 = protocol.depth16

    def index(self) -> dict[str, Path]:
        """The folder's images by id (built once).

        Raises:
            AmbiguousNameError: two files have one id (names both).
        """
        if self._index is None:
            self._index = index_images(self.folder, recursive=True)
        return self._index

    def prepare_dataset(self, samples: Sequence[Sample], workdir: Path) -> None:
        """Pair the outputs with the dataset's ids (refuses ambiguous names, and a folder
        in which no output pairs with any sample, naming the expected id forms)."""
        ids = [s.id for s in samples]
        preds = self.index()
        match = match_predictions(preds, ids, where=self.folder)
        if ids and not match.found:
            raise LodeBenchError(no_pairs_message(self.folder, ids, preds, "the dataset"))
        self._found = match.found

    def find(self, sample_id: str) -> Path:
        if self._found is None:
            self._found = {}
        if sample_id not in self._found:  # a sample prepare_dataset did not see
            self._found.update(
                match_predictions(self.index(), [sample_id], where=self.folder).found
            )
        if sample_id in self._found:
            return self._found[sample_id]
        raise ImageReadError(
            self.folder / sample_id,
            "no output image for this sample "
            f"(looked for {' or '.join(id_forms(sample_id))} with an image extension)",
        )

    def deblur(self, blurry: np.ndarray, sample: Sample) -> np.ndarray:
        return read_image(self.find(sample.id), dtype="uint8", depth16=self._depth16)

    def provenance(self) -> dict[str, Any]:
        """``outputs_dir``: the outputs folder (reports find the model's pictures there)."""
        return {"outputs_dir": str(self.folder.resolve())}


def folder_factory(card: ModelCard, checkpoint: str | None, **_: Any) -> Deblurrer:
    if not checkpoint:
        raise LodeBenchError("model 'folder' needs the outputs folder: --model folder=DIR")
    return FolderDeblurrer(card, checkpoint)


class CommandDeblurrer(FolderDeblurrer):
    """Runs an external command over a folder of inputs, then reads its outputs.

    Args:
        card: the adapter's card.
        command: command line with ``{input}`` and ``{output}`` placeholders.
        workdir: where inputs are linked and outputs written (kept for resuming).
        timeout_s: time limit of one call of the command (default: ``timeout_per_image_s``
            times the number of images it is given).
        timeout_per_image_s: default time allowed per image (``DEFAULT_TIMEOUT_PER_IMAGE_S``).

    When the limit passes, the command and every process it started (its process group)
    are killed and the run stops with one line naming the command.
    """

    DEFAULT_TIMEOUT_PER_IMAGE_S = 300.0

    def __init__(
        self,
        card: ModelCard,
        command: str,
        workdir: str | Path | None = None,
        timeout_s: float | None = None,
        timeout_per_image_s: float | None = None,
    ) -> None:
        if "{input}" not in command or "{output}" not in command:
            raise LodeBenchError(f"command {command!r} must contain {{input}} and {{output}}")
        for name, v in (("timeout_s", timeout_s), ("timeout_per_image_s", timeout_per_image_s)):
            if v is not None and (
                isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0
            ):
                raise LodeBenchError(
                    f"model 'command': {name} must be a positive number of seconds, got {v!r}"
                )
        self.card = card
        self.command = command
        self.timeout_s = timeout_s
        self.timeout_per_image_s = float(timeout_per_image_s or self.DEFAULT_TIMEOUT_PER_IMAGE_S)
        self._workdir = Path(workdir) if workdir else None
        self.folder = Path(".")

    def provenance(self) -> dict[str, Any]:
        """``outputs_dir`` only with a ``workdir`` (a temporary one is removed after the run)."""
        if self._workdir is None:
            return {}
        return {"outputs_dir": str((self._workdir / "output").resolve())}

    def prepare_dataset(self, samples: Sequence[Sample], workdir: Path) -> None:
        base = self._workdir or workdir
        inp, out = base / "input", base / "output"
        out.mkdir(parents=True, exist_ok=True)
        todo = []
        for s in samples:
            ext = Path(s.blur).suffix.lower()
            rel = Path(s.id + ext)
            if rel.is_absolute() or ".." in rel.parts:
                raise LodeBenchError(f"sample id {s.id!r} is not a safe relative path")
            dst = inp / rel  # a link to the input; not resolved (it points outside on purpose)
            has_out = any(safe_join(out, s.id + e).is_file() for e in IMAGE_EXTENSIONS)
            if has_out:
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists():
                try:
                    os.symlink(os.path.abspath(s.blur), dst)
                except OSError:
                    shutil.copyfile(s.blur, dst)
            todo.append(s)
        self.folder = out
        if not todo:
            return
        argv = [
            a.replace("{input}", str(inp)).replace("{output}", str(out))
            for a in shlex.split(self.command)
        ]
        limit = (
            self.timeout_s if self.timeout_s is not None else self.timeout_per_image_s * len(todo)
        )
        returncode, stderr = _run_bounded(argv, limit, self.command)
        if returncode != 0:
            tail = " ".join(stderr.strip().splitlines()[-3:])[-300:]
            raise LodeBenchError(f"command {self.command!r} exited with {returncode}: {tail}")


def _run_bounded(argv: list[str], limit_s: float, shown: str) -> tuple[int, str]:
    """Run ``argv`` in its own process group; kill the whole group after ``limit_s`` seconds."""
    import signal

    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        raise LodeBenchError(
            f"command {argv[0]!r} failed to start: {exc.strerror or exc}"
        ) from None
    try:
        _, stderr = proc.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise LodeBenchError(
            f"command {shown!r} did not finish within {limit_s:g} s; it and the processes it "
            "started were stopped (raise the limit with --model-opt "
            "command:timeout_per_image_s=SECONDS)"
        ) from None
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        raise
    finally:
        try:  # children left behind by a command that exited are stopped too
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return proc.returncode, stderr or ""


def command_factory(
    card: ModelCard,
    checkpoint: str | None,
    *,
    workdir: str | None = None,
    timeout_s: float | None = None,
    timeout_per_image_s: float | None = None,
    **_: Any,
) -> Deblurrer:
    if not checkpoint:
        raise LodeBenchError(
            'model "command" needs a command line: --model "command=CMD {input} {output}"'
        )
    return CommandDeblurrer(
        card,
        checkpoint,
        workdir=workdir,
        timeout_s=timeout_s,
        timeout_per_image_s=timeout_per_image_s,
    )


def _is_pt2(path: Path) -> bool:
    """True for a zip archive written by ``torch.export.save`` (whatever its file name)."""
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("/archive_format") and n.count("/") == 1 for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def torchscript_factory(
    card: ModelCard,
    checkpoint: str | None,
    *,
    device: str = "auto",
    amp: bool = False,
    tile: int | None = None,
    input_range: float = 1.0,
    colour_order: str = "RGB",
    pad_multiple: int = 1,
    **_: Any,
) -> Deblurrer:
    """Load a TorchScript file as a :class:`~lode_bench.models.torch_model.TorchDeblurrer`."""
    import dataclasses

    import torch

    from lode_bench.models.torch_model import TorchDeblurrer

    if not checkpoint:
        raise LodeBenchError("model 'torchscript' needs a file: --model torchscript=FILE")
    path = Path(checkpoint)
    if not path.is_file():
        raise LodeBenchError(f"{path}: TorchScript file not found")
    is_pt2 = path.suffix == ".pt2" or zipfile.is_zipfile(path) and _is_pt2(path)
    data = b""
    if is_pt2:  # torch.export archive: refused unless it loads without pickle or compiled code
        try:
            data = path.read_bytes()  # checked and loaded from the same bytes
            check_pt2_archive(io.BytesIO(data), name=str(path))
        except LodeBenchError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged archive is one line too
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise LodeBenchError(
                f"{path}: not a readable torch.export archive ({type(exc).__name__}: {first})"
            ) from None
    try:
        if is_pt2:
            module = torch.export.load(io.BytesIO(data)).module()
        else:
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any load failure is one line about the file
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise LodeBenchError(
            f"{path}: not a TorchScript or torch.export file that loads "
            f"({type(exc).__name__}: {first})"
        ) from exc
    card = dataclasses.replace(
        card,
        input_range=float(input_range),
        colour_order=colour_order,  # type: ignore[arg-type]
        pad_multiple=int(pad_multiple),
    )
    return TorchDeblurrer(card, module, device=device, amp=amp, tile=tile)
