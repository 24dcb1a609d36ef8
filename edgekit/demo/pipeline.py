"""``edgekit demo``: the whole pipeline on the built-in shapes data, one public-API call per step.

dataset -> shipped teacher -> distilled (or shipped) student -> ONNX INT8, TFLite FP32, TFLite INT8
-> accuracy of every model on the test split -> profile on the target -> results JSON + report
-> one table. Each step is a small function that returns what it made, so a step can be read,
tested or replaced on its own.
"""
from __future__ import annotations

import importlib
import inspect
import json
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .._io import write_text
from ..errors import DependencyError
from .recipe import LABELS_FILE, RECIPE, STUDENT_FILE, TEACHER_FILE, Recipe, models_dir

HEADERS = ["model", "format", "size KB", "accuracy %", "p50 ms", "p99 ms", "peak MB"]


@dataclass(frozen=True)
class DemoConfig:
    out: Path = Path("edgekit-demo")
    target: str | None = None  # None = this host's target
    epochs: int | None = None  # None = the recipe's demo_epochs
    distill: bool = True  # False: always use the shipped student (as when torch is missing)
    runs: int = 50  # timed runs per model in the profile
    calib_size: int = 200
    threads: int | None = None  # torch threads for distillation
    recipe: Recipe = RECIPE


@dataclass(frozen=True)
class Variant:
    name: str  # "teacher", "student", "student int8", ...
    path: Path
    format: str  # "onnx" / "tflite"
    evaluation: dict | None = None  # edgekit.evaluate's record (top1 in percent, samples, ...)
    profile: dict | None = None  # edgekit.profile's record

    @property
    def accuracy(self) -> float | None:
        return (self.evaluation or {}).get("top1")

    def row(self) -> list:
        lat = (self.profile or {}).get("latency_ms", {})
        mem = (self.profile or {}).get("memory_mb", {})
        return [self.name, self.format, round(self.path.stat().st_size / 1024, 1), self.accuracy,
                lat.get("p50"), lat.get("p99"), mem.get("peak_rss")]

    def record(self) -> dict:
        """One results record as ``edgekit report`` reads it: the profile and eval records merged."""
        rec = {**(self.evaluation or {}), **(self.profile or {})}
        rec.update(model=str(self.path), format=self.format, name=self.name,
                   model_bytes=self.path.stat().st_size)
        return rec


@dataclass(frozen=True)
class DemoResult:
    out: Path
    variants: tuple[Variant, ...]
    distilled: bool  # False: the shipped student was used
    student_note: str  # how the student was made
    skipped: tuple[str, ...]  # "what: why" for each step that did not run
    results: Path
    report: Path | None
    table: str


def say(msg: str) -> None:
    print(msg, flush=True)


def _api(name: str):
    """The public function edgekit.<name>, or None while that sibling feature is not in the tree yet."""
    from .. import _API

    module, attr = _API[name]
    # TODO(integration): the lead removes this tolerance once every feature has landed.
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("edgekit"):
            return None
        raise


# --- steps -------------------------------------------------------------------------------------

def step_dataset(cfg: DemoConfig) -> Path:
    from .shapes import generate

    data = generate(cfg.out / "data", cfg.recipe.data)
    say(f"[1/7] dataset: {data} (10 shape classes, {cfg.recipe.data.size}x{cfg.recipe.data.size}, seed "
        f"{cfg.recipe.data.seed})")
    return data


def step_teacher(cfg: DemoConfig) -> Path:
    teacher = models_dir() / TEACHER_FILE
    say(f"[2/7] teacher: shipped {TEACHER_FILE} ({cfg.recipe.teacher.name} x{cfg.recipe.teacher.width}; "
        "regenerate with tools/make_models.py)")
    return teacher


def step_student(cfg: DemoConfig, teacher: Path, data: Path) -> tuple[Path, str]:
    """Distill the student when torch is there; otherwise copy the shipped pre-distilled one."""
    out = cfg.out / "student.onnx"
    why = "distillation was turned off (--no-distill)"
    if cfg.distill:
        try:
            from ..distill import Augment, distill

            from .shapes import FLIP_SENSITIVE

            rec = cfg.recipe
            epochs = cfg.epochs or rec.demo_epochs
            say(f"[3/7] distilling {rec.student.name} x{rec.student.width} from the teacher ({epochs} epochs)")
            res = distill(teacher, rec.student.name, data / "train", out, val=data / "val", width=rec.student.width,
                          epochs=epochs, batch_size=rec.batch_size, lr=rec.lr, temperature=rec.temperature,
                          alpha=rec.alpha, seed=rec.seed, augment=Augment(views=rec.views, flip=not FLIP_SENSITIVE),
                          cache_dir=cfg.out / "cache", threads=cfg.threads,
                          on_epoch=lambda s: say(f"      epoch {s.epoch}: val acc {s.val_accuracy:.1%}"))
            say(f"      {res.student_params:,} params vs the teacher's {res.teacher_params:,}; best epoch "
                f"{res.best_epoch}")
            return out, f"distilled here ({epochs} epochs)"
        except DependencyError:
            why = "torch is not installed (pip install 'edgekit[distill]' to distill the student here)"
    shutil.copyfile(models_dir() / STUDENT_FILE, out)  # a copy: later steps never touch the shipped file
    note = f"the shipped pre-distilled {STUDENT_FILE}: {why}"
    say(f"[3/7] student: using {note}")
    return out, note


def step_onnx_int8(cfg: DemoConfig, student: Path, data: Path, skipped: list) -> Path | None:
    quantize = _api("quantize")
    if quantize is None:  # TODO(integration)
        skipped.append("ONNX INT8: edgekit.quantize is not available")
        return None
    out = cfg.out / "student-int8.onnx"
    quantize(student, data / "train", out, target=cfg.target, calib_size=cfg.calib_size)
    say(f"[4/7] ONNX INT8: {out.name} (static, {cfg.calib_size} calibration images from train/)")
    return out


def step_tflite(cfg: DemoConfig, student: Path, data: Path, skipped: list) -> list[Path]:
    convert = _api("convert")
    if convert is None:  # TODO(integration)
        skipped.append("TFLite: edgekit.convert is not available")
        return []
    made = [convert(student, cfg.out / "student.tflite")]
    say(f"[4/7] TFLite FP32: {made[0].name}")
    if "int8" in inspect.signature(convert).parameters:
        made.append(convert(student, cfg.out / "student-int8.tflite", int8=True, calib=data / "train",
                            calib_size=cfg.calib_size, target=cfg.target))
        say(f"[4/7] TFLite INT8: {made[-1].name} (full integer, float I/O, {cfg.calib_size} calibration images)")
    else:  # TODO(integration): TFLite INT8 lands with issue 5
        skipped.append("TFLite INT8: this edgekit.convert has no int8 option yet")
    return [Path(p) for p in made]


def step_evaluate(variants: list[Variant], data: Path, skipped: list) -> list[Variant]:
    evaluate = _api("evaluate")
    if evaluate is None:  # TODO(integration)
        skipped.append("accuracy: edgekit.evaluate is not available")
        return variants
    say(f"[5/7] accuracy on {data / 'test'}")
    results = evaluate([v.path for v in variants], data / "test")
    return [replace(v, evaluation={k: val for k, val in r.to_dict().items() if k != "model"})
            for v, r in zip(variants, results)]


def step_profile(cfg: DemoConfig, variants: list[Variant]) -> list[Variant]:
    from ..profile import profile
    from ..targets import get_target

    tgt = get_target(cfg.target)
    say(f"[6/7] profile on {tgt.name} ({cfg.runs} runs each, fresh process per model)")
    return [replace(v, profile=profile(v.path, tgt, runs=cfg.runs, warmup=5, on_host=True)) for v in variants]


def step_report(cfg: DemoConfig, variants: list[Variant], note: str, skipped: list) -> tuple[Path, Path | None]:
    """results.json (one merged profile+eval record per model, what ``edgekit report`` reads), demo.json, report."""
    from ..targets import get_target

    results = cfg.out / "results.json"
    write_text(results, json.dumps([v.record() for v in variants], indent=2, default=str) + "\n")
    about = {"demo": "edgekit shapes", "target": get_target(cfg.target).name, "student": note,
             "recipe": asdict(cfg.recipe), "skipped": list(skipped), "results": results.name}
    write_text(cfg.out / "demo.json", json.dumps(about, indent=2, default=str) + "\n")
    report = _api("report")
    if report is None:  # TODO(integration)
        skipped.append("report: edgekit.report is not available")
        say(f"[7/7] results: {results}")
        return results, None
    page = report([results], cfg.out / "report.html", title="edgekit demo: shapes, teacher -> student -> INT8")
    say(f"[7/7] results: {results}; report: {page} (+ {Path(page).with_suffix('.md').name})")
    return results, Path(page)


# --- the pipeline ------------------------------------------------------------------------------

def demo(out: str | Path = "edgekit-demo", *, target: str | None = None, epochs: int | None = None,
         distill: bool = True, runs: int = 50, threads: int | None = None, recipe: Recipe = RECIPE) -> DemoResult:
    """Run the demo into ``out`` and return what it made (the table is printed at the end).

    ``recipe`` is for tests (a smaller dataset); the shipped teacher is made for ``RECIPE``.
    """
    from ..ui import table

    cfg = DemoConfig(out=Path(out), target=target, epochs=epochs, distill=distill, runs=runs, threads=threads,
                     recipe=recipe)
    cfg.out.mkdir(parents=True, exist_ok=True)
    skipped: list[str] = []
    data = step_dataset(cfg)
    teacher = step_teacher(cfg)
    shutil.copyfile(models_dir() / LABELS_FILE, cfg.out / "labels.txt")
    student, note = step_student(cfg, teacher, data)
    distilled = note.startswith("distilled")
    variants = [Variant("teacher", teacher, "onnx"), Variant("student", student, "onnx")]
    int8 = step_onnx_int8(cfg, student, data, skipped)
    if int8:
        variants.append(Variant("student int8", int8, "onnx"))
    for path in step_tflite(cfg, student, data, skipped):
        variants.append(Variant("student int8" if "int8" in path.stem else "student", path, "tflite"))
    variants = step_evaluate(variants, data, skipped)
    variants = step_profile(cfg, variants)
    results, page = step_report(cfg, variants, note, skipped)
    text = table([v.row() for v in variants], HEADERS)
    say("")
    say(text)
    for s in skipped:
        say(f"skipped: {s}")
    say(f"student: {note}")
    # TODO(integration): issue 6 section 3 -- the bundle step (edgekit.bundle per target) goes here.
    return DemoResult(cfg.out, tuple(variants), distilled, note, tuple(skipped), results, page, text)


__all__ = ["demo", "DemoConfig", "DemoResult", "Variant", "HEADERS"]
