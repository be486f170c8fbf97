"""Language names as the desk shows them: English and the language's own."""

from __future__ import annotations

import pytest

from service.languages import language_name, native_name


@pytest.mark.parametrize(
    ("code", "english", "native"),
    [
        ("az", "Azerbaijani", "azərbaycan"),
        ("azb", "South Azerbaijani", "تۆرکجه"),
        ("fa", "Persian", "فارسی"),
        ("hy", "Armenian", "հայերեն"),
        ("en", "English", "English"),
        ("ka", "Georgian", "ქართული"),
    ],
)
def test_names(code: str, english: str, native: str) -> None:
    assert language_name(code) == english
    assert native_name(code) == native


def test_a_code_without_names_falls_back_to_itself() -> None:
    assert native_name("qqq") == language_name("qqq")
