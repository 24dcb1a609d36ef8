"""``edgekit demo``: the whole pipeline on the built-in shapes data, one public-API call per step.

dataset -> shipped teacher -> distilled (or shipped) student -> ONNX INT8, TFLite FP32, TFLite INT8
-> accuracy of every model on the test split -> profile on the target -> results JSON + report
-> one deployment bundle per target -> one table. Each step is a small function that returns what
it made, so a step can be read, tested or replaced on its own. A step that fails raises: the demo
never skips a step silently.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .._io import write_text
from ..errors import DependencyError
from .recipe import LABELS_FILE, RECIPE, STUDENT_FILE, TEACHER_FILE, Recipe, models_dir

HEADERS = ["model", "format", "size KB", "accuracy %", "p50 ms", "p99 ms", "peak MB"]
STEPS = 8
HEARTBEAT_S = 15.0  # seconds of silence before a progress line in a log: half the 30 s a reader should wait at most


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
    profile: "ProfileRecord | None" = None  # edgekit.profile's record (typed)

    @property
    def accuracy(self) -> float | None:
        return (self.evaluation or {}).get("top1")

    def row(self) -> list:
        lat, mem = (self.profile.latency_ms, self.profile.memory_mb) if self.profile else (None, None)
        return [self.name, self.format, round(self.path.stat().st_size / 1024, 1), self.accuracy,
                lat and lat.p50, lat and lat.p99, mem and mem.peak_rss]

    def record(self) -> dict:
        """One results record as ``edgekit report`` reads it: the profile and eval records merged."""
        rec = {**(self.evaluation or {}), **(self.profile.to_dict() if self.profile else {})}
        rec.update(model=str(self.path), format=self.format, name=self.name,
                   model_bytes=self.path.stat().st_size)
        return rec


@dataclass(frozen=True)
class Student:
    """The float student the later steps start from, and the other one when both exist."""

    path: Path  # always DIR/student.onnx
    source: str  # "distilled here" or "shipped"
    note: str  # one line: how it was made and why it was chosen
    distilled: bool  # a student was distilled in this run (chosen or not)
    other: Variant | None = None  # the student that was not chosen, shown in the table for comparison


@dataclass(frozen=True)
class DemoResult:
    out: Path
    variants: tuple[Variant, ...]
    distilled: bool  # a student was distilled in this run
    student_source: str  # "distilled here" or "shipped": what the INT8/TFLite variants were made from
    student_note: str  # how the student was made
    results: Path
    report: Path
    bundles: tuple[Path, ...]
    table: str


def say(msg: str) -> None:
    from ..ui import touch

    print(msg, flush=True)
    touch()  # the heartbeat waits a full interval after real output


def step(n: int, msg: str) -> None:
    say(f"[{n}/{STEPS}] {msg}")


def begin(what: str) -> None:
    """Name the work that starts now for the heartbeat lines a non-terminal log gets (edgekit.ui.Heartbeat)."""
    from ..ui import activity

    activity(what)


# --- steps -------------------------------------------------------------------------------------

def step_dataset(cfg: DemoConfig) -> Path:
    from .shapes import generate

    begin("drawing the dataset")
    data = generate(cfg.out / "data", cfg.recipe.data)
    step(1, f"dataset: {data} (10 shape classes, {cfg.recipe.data.size}x{cfg.recipe.data.size}, seed "
            f"{cfg.recipe.data.seed})")
    return data


def step_teacher(cfg: DemoConfig) -> Path:
    teacher = models_dir() / TEACHER_FILE
    step(2, f"teacher: shipped {TEACHER_FILE} ({cfg.recipe.teacher.name} x{cfg.recipe.teacher.width}; "
            "regenerate with tools/make_models.py)")
    return teacher


def _shipped(cfg: DemoConfig, why: str) -> Student:
    out = cfg.out / "student.onnx"
    shutil.copyfile(models_dir() / STUDENT_FILE, out)  # a copy: later steps never touch the shipped file
    note = f"the shipped pre-distilled {STUDENT_FILE}: {why}"
    step(3, f"student: using {note}")
    return Student(out, "shipped", note, False)


def step_student(cfg: DemoConfig, teacher: Path, data: Path) -> Student:
    """Distill the student when torch is there; otherwise copy the shipped pre-distilled one.

    The demo distills with ``demo_epochs`` (the shipped student's recipe by default; fewer when asked,
    and then it says so), then compares both students on the validation split and carries on with the
    better one, saying which. With the same recipe, seed and thread count the two are the same model.
    """
    if not cfg.distill:
        return _shipped(cfg, "distillation was turned off (--no-distill)")
    begin("loading torch and the teacher")
    try:
        from ..distill import require_torch

        require_torch()
    except DependencyError:
        return _shipped(cfg, "torch is not installed (pip install 'edgekit[distill]' to distill the student here)")
    from ..distill import Augment, distill
    from ..evaluate import evaluate
    from ..ui import Eta, activity
    from .shapes import FLIP_SENSITIVE

    rec = cfg.recipe
    epochs = cfg.epochs or rec.demo_epochs
    if epochs < rec.student_epochs:
        fewer = f" -- fewer than the shipped student's {rec.student_epochs}, to keep the demo short"
    else:
        fewer = ", the shipped student's recipe" if epochs == rec.student_epochs else ""
    step(3, f"distilling {rec.student.name} x{rec.student.width} from the teacher ({epochs} epochs{fewer})")
    activity(f"distilling ({epochs} epochs)")
    eta = Eta(epochs)

    def on_epoch(s) -> None:
        progress = eta.line(s.epoch)
        say(f"      epoch {s.epoch}/{epochs}: val acc {s.val_accuracy:.1%} \u00b7 {progress}")
        activity(f"distilling (epoch {s.epoch}/{epochs} done: {progress})", new_step=False)

    mine = cfg.out / "student-distilled.onnx"
    res = distill(teacher, rec.student.name, data / "train", mine, val=data / "val", width=rec.student.width,
                  epochs=epochs, batch_size=rec.batch_size, lr=rec.lr, temperature=rec.temperature, alpha=rec.alpha,
                  seed=rec.seed, augment=Augment(views=rec.views, flip=not FLIP_SENSITIVE),
                  cache_dir=cfg.out / "cache", threads=cfg.threads,
                  on_epoch=on_epoch)
    say(f"      {res.student_params:,} params vs the teacher's {res.teacher_params:,} "
        f"(1/{res.teacher_params / res.student_params:.1f}); best epoch {res.best_epoch}; {res.seconds:.0f} s")
    made = f"distilled here in {epochs} epochs{fewer}"
    out = cfg.out / "student.onnx"
    if _same_file(mine, models_dir() / STUDENT_FILE):  # same recipe, seed and threads: the same bytes
        shutil.move(mine, out)
        note = f"{made}; byte-identical to the shipped {STUDENT_FILE} (same sha256)"
        say(f"      student: {note}")
        return Student(out, "distilled here", note, True)
    shipped = cfg.out / "student-shipped.onnx"
    shutil.copyfile(models_dir() / STUDENT_FILE, shipped)
    val_mine, val_shipped = (r.top1 for r in evaluate([mine, shipped], data / "val"))
    compare = f"val {val_mine:.1f}% vs the shipped student's {val_shipped:.1f}% ({rec.student_epochs} epochs)"
    if val_mine >= val_shipped:
        shutil.move(mine, out)
        note = f"{made}; {compare}: this run's student is used"
        other = Variant("student (shipped)", shipped, "onnx")
        source = "distilled here"
    else:
        shutil.move(shipped, out)
        note = f"{made}; {compare}: the shipped student is better and is used for the variants below"
        other = Variant("student (distilled here)", mine, "onnx")
        source = "shipped"
    say(f"      student: {note}")
    return Student(out, source, note, True, other)


def _same_file(a: Path, b: Path) -> bool:
    import hashlib

    return hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def step_onnx_int8(cfg: DemoConfig, student: Path, data: Path) -> Path:
    from ..quantize import quantize

    out = cfg.out / "student-int8.onnx"
    begin("ONNX INT8: calibrating and quantizing")
    quantize(student, data / "train", out, target=cfg.target, calib_size=cfg.calib_size)
    step(4, f"ONNX INT8: {out.name} (static, {cfg.calib_size} calibration images from train/)")
    return out


def step_tflite(cfg: DemoConfig, student: Path, data: Path) -> tuple[Path, Path]:
    from ..convert import convert

    begin("TFLite FP32: converting")
    fp32 = Path(convert(student, cfg.out / "student.tflite"))
    step(4, f"TFLite FP32: {fp32.name}")
    begin("TFLite INT8: converting, calibrating and quantizing")
    int8 = Path(convert(student, cfg.out / "student-int8.tflite", int8=True, calib=data / "train",
                        calib_size=cfg.calib_size, target=cfg.target))
    step(4, f"TFLite INT8: {int8.name} (full integer, float I/O, {cfg.calib_size} calibration images)")
    return fp32, int8


def step_evaluate(variants: list[Variant], data: Path) -> list[Variant]:
    from ..evaluate import evaluate

    step(5, f"accuracy on {data / 'test'}")
    begin(f"evaluating {len(variants)} models")
    results = evaluate([v.path for v in variants], data / "test")
    return [replace(v, evaluation={k: val for k, val in r.to_dict().items() if k != "model"})
            for v, r in zip(variants, results)]


def step_profile(cfg: DemoConfig, variants: list[Variant]) -> list[Variant]:
    from ..profile import profile
    from ..targets import get_target
    from ..ui import progress

    tgt = get_target(cfg.target)
    step(6, f"profile on {tgt.name} ({cfg.runs} runs each, fresh process per model)")
    begin("profiling")
    return [replace(v, profile=profile(v.path, tgt, runs=cfg.runs, warmup=5, on_host=True))
            for v in progress(variants, desc="profile", unit="model")]  # one bar in a terminal, counts in a log


def step_report(cfg: DemoConfig, variants: list[Variant], student: Student) -> tuple[Path, Path]:
    """results.json (one merged profile+eval record per model, what ``edgekit report`` reads), demo.json, report."""
    from ..report import report
    from ..targets import get_target

    begin("writing results and the report")
    results = cfg.out / "results.json"
    write_text(results, json.dumps([v.record() for v in variants], indent=2, default=str) + "\n")
    about = {"demo": "edgekit shapes", "target": get_target(cfg.target).name, "student": student.note,
             "student_source": student.source, "recipe": asdict(cfg.recipe), "results": results.name,
             "bundles": "bundles/"}
    write_text(cfg.out / "demo.json", json.dumps(about, indent=2, default=str) + "\n")
    page = Path(report([results], cfg.out / "report.html", title="edgekit demo: shapes, teacher -> student -> INT8"))
    step(7, f"results: {results}; report: {page} (+ {page.with_suffix('.md').name})")
    return results, page


def bundle_targets(cfg: DemoConfig) -> list:
    """Every shipped target, plus the demo's own target when it is a user's TOML file."""
    from ..targets import get_target, list_targets

    targets = list_targets()
    mine = get_target(cfg.target)
    return targets if mine.name in {t.name for t in targets} else [*targets, mine]


def step_bundles(cfg: DemoConfig, variants: list[Variant], student: Path, results: Path, data: Path) -> list[Path]:
    """One bundle per target: the student's INT8 and float files in the target's format (INT8 first)."""
    from ..bundle import bundle

    made = []
    begin("bundling")
    for tgt in bundle_targets(cfg):
        fmt = tgt.runtime.format.value
        files = [v.path for name in ("student int8", "student") for v in variants
                 if v.name == name and v.format == fmt]
        made.append(bundle(files, cfg.out / "bundles" / tgt.name, target=tgt, labels=cfg.out / "labels.txt",
                           results=[results], source=student, calibration=data / "train"))
    step(8, f"bundles: {', '.join(p.name for p in made)} in {cfg.out / 'bundles'} "
            "(edgekit.load(DIR).predict(image) runs one)")
    return made


# --- the pipeline ------------------------------------------------------------------------------

def demo(out: str | Path = "edgekit-demo", *, target: str | None = None, epochs: int | None = None,
         distill: bool = True, runs: int = 50, threads: int | None = None, recipe: Recipe = RECIPE) -> DemoResult:
    """Run the demo into ``out`` and return what it made (the table is printed at the end).

    ``recipe`` is for tests (a smaller dataset); the shipped teacher is made for ``RECIPE``.
    """
    from ..ui import Heartbeat

    cfg = DemoConfig(out=Path(out), target=target, epochs=epochs, distill=distill, runs=runs, threads=threads,
                     recipe=recipe)
    say(f"edgekit demo: {STEPS} steps into {cfg.out}/ (dataset, teacher, student, INT8 and TFLite variants, "
        "accuracy, profile, report, bundles)")
    # A log (stderr not a terminal) hides the progress bars: the heartbeat prints what runs, for how long
    # and its ETA after 15 s without output, so a busy machine never looks hung.
    with Heartbeat(HEARTBEAT_S):
        begin("checking for ai-edge-quantizer")
        from ..convert.int8.pipeline import require_quantizer

        require_quantizer()  # before minutes of work, not at step 4
        cfg.out.mkdir(parents=True, exist_ok=True)
        return _run(cfg)


def _run(cfg: DemoConfig) -> DemoResult:
    from ..ui import table

    data = step_dataset(cfg)
    teacher = step_teacher(cfg)
    shutil.copyfile(models_dir() / LABELS_FILE, cfg.out / "labels.txt")
    student = step_student(cfg, teacher, data)
    variants = [Variant("teacher", teacher, "onnx"), Variant("student", student.path, "onnx")]
    if student.other is not None:
        variants.append(student.other)
    variants.append(Variant("student int8", step_onnx_int8(cfg, student.path, data), "onnx"))
    fp32, int8 = step_tflite(cfg, student.path, data)
    variants += [Variant("student", fp32, "tflite"), Variant("student int8", int8, "tflite")]
    variants = step_evaluate(variants, data)
    variants = step_profile(cfg, variants)
    results, page = step_report(cfg, variants, student)
    bundles = step_bundles(cfg, variants, student.path, results, data)
    text = table([v.row() for v in variants], HEADERS)
    say("")
    say(text)
    say(f"student: {student.note}")
    return DemoResult(cfg.out, tuple(variants), student.distilled, student.source, student.note, results, page,
                      tuple(bundles), text)


__all__ = ["demo", "DemoConfig", "DemoResult", "Variant", "Student", "HEADERS"]
