"""Compiled trees: a LightGBM booster as native code (lleaves), built once per model and machine.

Walking 1,000 trees in LightGBM's interpreter was the largest single cost of a one-home
request (a sixth of the serving thread at c=1), and about half of a 1,000-home batch.
lleaves compiles the model's trees through LLVM into straight-line native code: measured
on the California champion, one row 8 µs against 54 µs with LightGBM's single-row API, and
1,000 rows 5.3 ms against 44.5 ms (`benchmarks/serve.py` gives the served figures).

Compiling takes minutes for a large model (88 s for 1,000 trees of 31 leaves), so it never
runs on the serving path: `TreeCompiler` starts it in a child process at low priority and
the server keeps answering with LightGBM meanwhile; the object file is cached under a key of
the model text, the lleaves and llvmlite versions and the host CPU (the code is compiled for
this CPU's features, so another machine compiles its own). The compiled answer sums the
same trees in another order, so it is not bit-identical to LightGBM (measured relative
difference about 1e-15): the caller checks it against the pipeline like the rest of the
fast path before using it (homeprice.serving.modelstore).

Run as `python -m homeprice.serving.compiledtrees MODEL_TXT TARGET_O`: the child's entry.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import logging
import os
import subprocess
import sys
import threading
import weakref
from importlib.metadata import version
from pathlib import Path

import numpy as np
from lightgbm import Booster

from homeprice.serving.lgbmrow import matrix_and_answers

log = logging.getLogger(__name__)

# The entry point lleaves compiles: forest_root(double *rows, double *out, int start, int end).
_ENTRY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int)
# The compiler child's scheduling priority: it must not take a core from requests.
_NICE = 10


class CompiledTrees:
    """A booster's normal predictions through its compiled trees (thread-safe: pure code)."""

    def __init__(self, model_file: Path, object_file: Path) -> None:
        import lleaves  # noqa: PLC0415 - LLVM is loaded only by servers that compile trees

        model = lleaves.Model(model_file=str(model_file))
        # cache= an existing file: lleaves loads the object instead of compiling.
        model.compile(cache=str(object_file))
        # Keep lleaves' model: it owns the execution engine that holds the code.
        self._model = model
        self.num_features = model.num_feature()
        # Our own function type on the same address, taking raw addresses: building ctypes
        # pointers per call would cost as much as the trees of one row. ctypes releases the
        # GIL for the call, so a big batch leaves the event loop and log writer free.
        self._forest = _ENTRY(model._execution_engine.get_function_address("forest_root"))

    def predict(self, Z: np.ndarray) -> np.ndarray:
        """Booster.predict's normal output for each row of the feature matrix `Z`."""
        Z, out = matrix_and_answers(Z, self.num_features)
        if len(Z):
            self._forest(Z.ctypes.data, out.ctypes.data, 0, len(Z))
        return out


def cache_key(model_text: str) -> str:
    """What a compiled object depends on: the trees, the compiler and the CPU compiled for."""
    import llvmlite.binding as llvm  # noqa: PLC0415 - see CompiledTrees

    llvm.initialize_native_target()
    parts = [model_text, version("lleaves"), version("llvmlite"), llvm.get_host_cpu_name(),
             llvm.get_host_cpu_features().flatten()]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


class TreeCompiler:
    """Compiled trees of boosters, from a cache folder; compiles missing ones in the background.

    `compiled(booster)` answers at once: the cached trees, or None while (or after failing)
    compiling. One child process per model, shared by every server process on the cache:
    the child takes an exclusive lock on the object's lock file, so a second worker that
    asks for the same model finds the work under way and waits for its file.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._children: dict[str, subprocess.Popen] = {}
        self._failed: set[str] = set()
        self._keys: weakref.WeakKeyDictionary[Booster, str] = weakref.WeakKeyDictionary()

    def compiled(self, booster: Booster) -> CompiledTrees | None:
        """The booster's compiled trees if built; otherwise start building them (once) and
        return None. A model whose compile failed is not retried by this process."""
        key = self._key_of(booster)
        model_file, object_file = self.folder / f"{key}.txt", self.folder / f"{key}.o"
        with self._lock:
            if key in self._failed:
                return None
            child = self._children.get(key)
            # Polled before looking for the file: a child that ends in between is then seen
            # with its file.
            finished = child is not None and child.poll() is not None
            if object_file.exists():
                self._children.pop(key, None)
                # LLVM aborts the whole process on a damaged object file, so the file must be
                # the one the compiler wrote before LLVM sees it; a damaged one is compiled
                # again (once: a second failure below is final).
                if not _intact(object_file):
                    log.warning("compiled trees %s are damaged (no matching checksum); "
                                "compiling them again", object_file)
                    object_file.unlink(missing_ok=True)
                    self._start(key, booster, model_file, object_file)
                    return None
                try:
                    return CompiledTrees(model_file, object_file)
                except Exception as error:  # noqa: BLE001 - a bad cache must not stop serving
                    self._failed.add(key)
                    log.warning("compiled trees %s cannot be loaded (%s); using LightGBM",
                                object_file, error)
                    return None
            if child is None:
                self._start(key, booster, model_file, object_file)
            elif finished:
                # Ended without a file: this process's child failed, or another process held
                # the lock and its child failed. Either way, not retried by this process.
                del self._children[key]
                self._failed.add(key)
                log.warning("compiling trees for %s failed (exit %s); using LightGBM",
                            object_file, child.returncode)
            return None

    def _key_of(self, booster: Booster) -> str:
        # The model text of a 1,000-tree booster is megabytes: hashed once per booster.
        key = self._keys.get(booster)
        if key is None:
            key = self._keys[booster] = cache_key(booster.model_to_string())
        return key

    def _start(self, key: str, booster: Booster, model_file: Path, object_file: Path) -> None:
        try:
            self._spawn(key, booster, model_file, object_file)
        except OSError as error:  # a read-only home, say: serve without them
            self._failed.add(key)
            log.warning("cannot compile trees in %s (%s); using LightGBM", self.folder, error)

    def _spawn(self, key: str, booster: Booster, model_file: Path, object_file: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not model_file.exists():
            partial = model_file.with_suffix(f".txt.{os.getpid()}.part")
            partial.write_text(booster.model_to_string())
            os.replace(partial, model_file)
        log.info("compiling the trees of %s in the background (minutes for a large model)",
                 key)
        self._children[key] = subprocess.Popen(
            [sys.executable, "-m", __name__, str(model_file), str(object_file)],
            stdin=subprocess.DEVNULL)


def compile_model(model_file: Path, object_file: Path) -> None:
    """Compile `model_file` to `object_file` unless another process is doing it or has done
    it; the object appears whole or not at all."""
    import lleaves  # noqa: PLC0415 - see CompiledTrees

    with open(object_file.with_suffix(".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process compiles: wait for its file
            return
        if object_file.exists():
            return
        partial = object_file.with_suffix(f".o.{os.getpid()}.part")
        digest = _digest_file(object_file)
        digest_partial = digest.with_suffix(f".sha256.{os.getpid()}.part")
        try:
            lleaves.Model(model_file=str(model_file)).compile(cache=str(partial))
            # The checksum first: an object file is never there without it.
            digest_partial.write_text(_digest(partial))
            os.replace(digest_partial, digest)
            os.replace(partial, object_file)
        finally:
            partial.unlink(missing_ok=True)
            digest_partial.unlink(missing_ok=True)


def _digest_file(object_file: Path) -> Path:
    return object_file.with_suffix(".sha256")


def _intact(object_file: Path) -> bool:
    """Whether the object file is the one its compiler wrote (checksum beside it)."""
    try:
        return _digest(object_file) == _digest_file(object_file).read_text()
    except OSError:
        return False


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


if __name__ == "__main__":
    os.nice(_NICE)
    logging.basicConfig(level=logging.INFO)
    compile_model(Path(sys.argv[1]), Path(sys.argv[2]))
