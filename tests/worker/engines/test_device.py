"""Device choice, GPU budget arithmetic, take sizes and the out-of-memory split."""

from __future__ import annotations

import pytest

from worker.engines import device


def test_auto_dtype_is_float32_on_cpu_and_bf16_or_fp16_on_cuda() -> None:
    never = lambda: pytest.fail("bf16 support is only asked on CUDA")  # noqa: E731
    assert device.torch_dtype_name("auto", "cpu", never) == "float32"
    assert device.torch_dtype_name("auto", "cuda", lambda: True) == "bfloat16"
    assert device.torch_dtype_name("auto", "cuda:1", lambda: False) == "float16"
    assert device.torch_dtype_name("float16", "cpu", never) == "float16"


def test_bytes_per_position_counts_both_caches_twice_and_the_scores() -> None:
    # NLLB-600M shape in bfloat16: 2 x 12 layers x 1024 x 2 bytes, doubled, + 16 heads x 4.
    per = device.bytes_per_position(decoder_layers=12, d_model=1024, heads=16, dtype="bfloat16")
    assert per == 2 * (2 * 12 * 1024 * 2) + 16 * 4 == 98_368
    fp32 = device.bytes_per_position(decoder_layers=12, d_model=1024, heads=16, dtype="float32")
    assert fp32 == 2 * per - 64


@pytest.mark.parametrize(
    ("layers", "d_model", "expected"),
    [(12, 1024, 709_511), (24, 2048, 177_464)],  # the 600M and 3.3B shapes
)
def test_gpu_budget_is_half_the_free_memory_over_a_position(
    layers: int, d_model: int, expected: int
) -> None:
    free = 130 * 2**30
    budget = device.gpu_batch_budget(
        free, decoder_layers=layers, d_model=d_model, heads=16, dtype="bfloat16"
    )
    assert budget == expected
    per = device.bytes_per_position(
        decoder_layers=layers, d_model=d_model, heads=16, dtype="bfloat16"
    )
    assert budget * per <= free // 2 < (budget + 1) * per
    # Less memory free, smaller batches; never nothing.
    assert (
        device.gpu_batch_budget(
            free // 4, decoder_layers=layers, d_model=d_model, heads=16, dtype="bfloat16"
        )
        == expected // 4
    )
    assert (
        device.gpu_batch_budget(
            0, decoder_layers=layers, d_model=d_model, heads=16, dtype="bfloat16"
        )
        == 1
    )


def test_take_size_and_concurrency_follow_the_device_unless_set() -> None:
    assert device.take_size(0, "cpu") == device.CPU_TAKE == 128
    assert device.take_size(0, "cuda:0") == device.GPU_TAKE
    assert device.take_size(32, "cuda") == 32
    assert device.worker_concurrency(7) == 7
    expected = device.GPU_CONCURRENCY if device.gpu_present() else device.CPU_CONCURRENCY
    assert device.worker_concurrency(0) == expected


def test_auto_device_is_cpu_without_a_gpu() -> None:
    if device.gpu_present():
        pytest.skip("this machine has a GPU")
    assert device.torch_device("auto") == "cpu"
    assert device.ctranslate2_device("auto") == "cpu"
    assert device.torch_device("cuda:1") == "cuda:1"


def test_out_of_memory_is_recognised_from_both_libraries() -> None:
    import torch

    assert device.is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory."))
    assert device.is_out_of_memory(RuntimeError("CUDA failed with error out of memory"))
    assert not device.is_out_of_memory(RuntimeError("index out of range"))
    assert not device.is_out_of_memory(ValueError("out of memory"))


def test_split_runs_every_row_once_and_shrinks_per_failure() -> None:
    ran: list[list[int]] = []
    shrunk: list[int] = []

    def run(rows: list[int]) -> None:
        if len(rows) > 3:
            raise RuntimeError("CUDA out of memory")
        ran.append(rows)

    device.run_splitting_on_oom(list(range(10)), run, lambda rows: shrunk.append(len(rows)))
    assert [r for rows in ran for r in rows] == list(range(10))  # in order, none twice
    assert all(len(rows) <= 3 for rows in ran)
    assert shrunk == [10, 5, 5]


def test_split_gives_up_on_one_row_and_other_errors() -> None:
    def oom(rows: list[int]) -> None:
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        device.run_splitting_on_oom([0, 1], oom, lambda rows: None)

    def broken(rows: list[int]) -> None:
        raise ValueError("bad input")

    shrunk: list[list[int]] = []
    with pytest.raises(ValueError):
        device.run_splitting_on_oom([0, 1, 2], broken, shrunk.append)
    assert shrunk == []
