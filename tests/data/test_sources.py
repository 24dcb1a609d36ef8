import numpy as np
import pytest
from PIL import Image

from edgekit.data import PreprocessSpec, open_source
from edgekit.errors import DataError
from edgekit.runtime.device import TensorInfo

SPEC = PreprocessSpec(size=(8, 8))
IMG_INPUT = [TensorInfo("x", (1, 3, 8, 8), "float32")]


def _folder(root, classes=("cat", "dog"), per_class=3, corrupt=0):
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full((12, 12, 3), 20 * i % 256, np.uint8)).save(root / c / f"{i}.png")
    for i in range(corrupt):
        (root / classes[0] / f"broken{i}.jpg").write_bytes(b"not an image")
    return root


def test_labeled_folder_streams_with_sorted_labels(tmp_path):
    ds = open_source(_folder(tmp_path / "d", classes=("zebra", "ant")), SPEC, IMG_INPUT)
    assert ds.classes == ["ant", "zebra"] and len(ds) == 6
    items = list(ds)
    assert [label for _, label in items] == [0, 0, 0, 1, 1, 1]
    assert items[0][0]["x"].shape == (1, 3, 8, 8)
    assert len(list(ds)) == 6  # re-iterable


def test_flat_folder_is_unlabeled_and_counts_corrupt_files(tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    for i in range(3):
        Image.fromarray(np.zeros((5, 5), np.uint8)).save(root / f"{i}.png")
    (root / "notes.txt").write_text("hello")
    (root / ".DS_Store").write_bytes(b"\0")  # hidden files are not data, not counted
    ds = open_source(root, SPEC, "x")
    assert ds.classes is None
    assert [label for _, label in ds] == [None] * 3
    assert ds.skipped == 1
    list(ds)
    assert ds.skipped == 1  # a second pass does not double count
    with pytest.raises(DataError, match="notes.txt is not a readable image"):
        list(open_source(root, SPEC, "x", strict=True))


def test_calib_size_is_seeded_and_spread_over_classes(tmp_path):
    root = _folder(tmp_path / "d", classes=("a", "b", "c"), per_class=10)
    a = open_source(root, SPEC, IMG_INPUT, calib_size=6, seed=1)
    b = open_source(root, SPEC, IMG_INPUT, calib_size=6, seed=1)
    c = open_source(root, SPEC, IMG_INPUT, calib_size=6, seed=2)
    assert a.files == b.files and a.files != c.files
    assert sorted(label for _, label in a) == [0, 0, 1, 1, 2, 2]


def test_empty_folder_and_all_corrupt(tmp_path):
    (tmp_path / "e").mkdir()
    with pytest.raises(DataError, match="is empty"):
        open_source(tmp_path / "e", SPEC, "x")
    root = tmp_path / "bad"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"junk")
    with pytest.raises(DataError, match="all 1 file"):
        list(open_source(root, SPEC, "x"))


def test_npy_any_modality_and_checks(tmp_path):
    tokens = [TensorInfo("ids", (1, 16), "int64")]
    np.save(tmp_path / "ids.npy", np.arange(5 * 16, dtype=np.int32).reshape(5, 16))
    ds = open_source(tmp_path / "ids.npy", None, tokens)
    feeds = [f for f, _ in ds]
    assert len(feeds) == 5 and feeds[1]["ids"].dtype == np.int64 and feeds[1]["ids"].shape == (1, 16)
    np.save(tmp_path / "wrong.npy", np.zeros((5, 15), np.int64))
    with pytest.raises(DataError, match=r"input 'ids' has shape \[1, 15\].*expects 'ids' \[1, 16\]"):
        list(open_source(tmp_path / "wrong.npy", None, tokens))
    np.save(tmp_path / "f.npy", np.zeros((5, 16), np.float32))
    with pytest.raises(DataError, match=r"input 'ids' has dtype float32.*\[1, 16\] int64"):
        list(open_source(tmp_path / "f.npy", None, tokens))


def test_npz_keys_labels_and_nan(tmp_path):
    ins = [TensorInfo("a", (1, 4), "float32"), TensorInfo("b", (1, 2), "float32")]
    np.savez(tmp_path / "ok.npz", a=np.ones((6, 4)), b=np.zeros((6, 2)), labels=np.array([0, 1, 2, 0, 1, 2]))
    ds = open_source(tmp_path / "ok.npz", None, ins, calib_size=3)
    assert sorted(label for _, label in ds) == [0, 1, 2]
    assert all(f["a"].dtype == np.float32 for f, _ in ds)
    np.savez(tmp_path / "name.npz", a=np.ones((6, 4)), c=np.zeros((6, 2)))
    with pytest.raises(DataError, match=r"array 'c' is not a model input.*'b' \[1, 2\]"):
        open_source(tmp_path / "name.npz", None, ins)
    bad = np.ones((6, 4))
    bad[3, 1] = np.nan
    np.savez(tmp_path / "nan.npz", a=bad, b=np.zeros((6, 2)))
    with pytest.raises(DataError, match="sample 3: input 'a' contains NaN"):
        list(open_source(tmp_path / "nan.npz", None, ins))
    inf = np.ones((6, 4))
    inf[0, 0] = np.inf
    np.savez(tmp_path / "inf.npz", a=inf, b=np.zeros((6, 2)))
    with pytest.raises(DataError, match="contains Inf"):
        list(open_source(tmp_path / "inf.npz", None, ins))


def test_iterables_lists_callables_and_one_shot_generators():
    ins = [TensorInfo("x", (1, 3), "float32")]
    data = [{"x": np.ones(3, np.float32)}, ({"x": np.zeros((1, 3))}, 1)]
    ds = open_source(data, None, ins)
    assert len(ds) == 2 and [lbl for _, lbl in ds] == [None, 1] and len(list(ds)) == 2
    gen = open_source((d for d in data), None, ins)
    assert len(list(gen)) == 2
    with pytest.raises(DataError, match="can be read only once"):
        list(gen)
    again = open_source(lambda: iter(data), None, ins)
    assert len(list(again)) == len(list(again)) == 2
    with pytest.raises(DataError, match="unknown input name 'y'"):
        list(open_source([{"y": np.ones(3)}], None, ins))
    with pytest.raises(DataError, match="is empty"):
        open_source([], None, ins)


def test_streaming_holds_one_sample_at_a_time(tmp_path):
    # A folder dataset keeps paths, not pixels: decoded arrays are released as the loop moves on.
    import gc
    import weakref

    ds = open_source(_folder(tmp_path / "d", per_class=4), SPEC, IMG_INPUT)
    refs = []
    for feeds, _ in ds:
        refs.append(weakref.ref(feeds["x"]))
        del feeds
        gc.collect()
    assert sum(r() is not None for r in refs) <= 1


def test_summary_counts_skipped_files(tmp_path):
    root = _folder(tmp_path / "d", per_class=2, corrupt=2)
    ds = open_source(root, SPEC, IMG_INPUT)
    assert len(list(ds)) == 4
    assert ds.summary() == f"6 samples from {root}, 2 classes, 2 skipped (not a readable image)"


def test_image_folder_for_a_dynamic_size_input_fails_when_opened(tmp_path):
    """Images cannot be resized to an unknown size: say so when the source is opened, not mid-calibration."""
    from edgekit.data import InputSpec
    from edgekit.errors import InputError

    dyn = [InputSpec("x", (None, 3, None, None), np.dtype("float32"))]
    with pytest.raises(InputError, match=r"image folder but the size of model input 'x' \[\?, 3, \?, \?\].*"
                                         r"is dynamic.*\"size\": \[H, W\]"):
        open_source(_folder(tmp_path / "d"), PreprocessSpec(size=None), dyn)


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_npz_members_are_mapped_when_stored_and_read_when_compressed(tmp_path, save):
    """numpy.savez members are memory-mapped (a big calibration file is not read into memory at once);
    savez_compressed members cannot be, and are read whole. Values are the same either way."""
    from edgekit.data.npz import load_npz

    rng = np.random.default_rng(0)
    a, f = rng.normal(size=(5, 3, 4)).astype(np.float32), np.asfortranarray(rng.normal(size=(5, 2)))
    save(tmp_path / "d.npz", a=a, f=f, labels=np.arange(5), empty=np.zeros((0, 3)))
    got = load_npz(tmp_path / "d.npz")
    assert sorted(got) == ["a", "empty", "f", "labels"]
    np.testing.assert_array_equal(got["a"], a)  # exact: the same bytes, mapped or read
    np.testing.assert_array_equal(got["f"], f)
    assert got["empty"].shape == (0, 3)
    assert isinstance(got["a"], np.memmap) == (save is np.savez)


def test_npz_that_is_not_a_zip_is_one_data_error(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="cannot read"):
        open_source(tmp_path / "bad.npz", None, [TensorInfo("a", (1, 4), "float32")])
