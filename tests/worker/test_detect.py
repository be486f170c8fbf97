"""Language detection for the newsroom's languages."""

from __future__ import annotations

import threading

import pytest
from lingua import Language

from worker import detect
from worker.detect import Detection, detect_language, get_detector, language_code

EN_ARTICLE = (
    "Iran's Supreme Leader Ali Khamenei has said that all Azerbaijani territories under "
    "Armenian occupation must be liberated and returned to Azerbaijan, as heavy clashes "
    "between the two South Caucasus countries over the Nagorno-Karabakh region continue.\n\n"
    "He urged respect for international borders, saying that the integrity of international "
    "borders should be protected."
)
AZ_PARAGRAPH = (
    "Azərbaycan Respublikasının Prezidenti İlham Əliyev martın 12-də Avropa İttifaqının "
    "Cənubi Qafqaz üzrə xüsusi nümayəndəsini qəbul edib. Görüşdə Azərbaycan ilə Ermənistan "
    "arasında sülh sazişi üzrə danışıqların gedişi müzakirə olunub."
)
HY_PARAGRAPH = (
    "Հայաստանի վարչապետը այսօր Երևանում ընդունել է Եվրոպական միության հատուկ "
    "ներկայացուցչին։ Ինչո՞ւ է այս հանդիպումը կարևոր։"
)
# TICO-19 test set (CC0), Persian side.
FA_LINES = [
    "تقریباً چه مدت است که این علایم ادامه دارد؟",
    "و همچنین نیاز است که کلسترول و فشار خون شما بررسی شود",
    "تجربه ایتالیا و روند جاری در کشورهای دیگر نشان می‌دهد که پاندمی کووید-19 در اتحادیه "
    "اروپا / EEA و انگلستان به سرعت در حال پیشرفت است.",
    "مطالعه CoVها در خفاش‌ها و دیگر حیوانات به شدت درک ما از اهمیت منشاء و مخازن حیوانی "
    "HCoV در انتقال به انسان را تغییر داده‌ است.",
]


@pytest.mark.parametrize(
    ("text", "code"),
    [(EN_ARTICLE, "en"), (AZ_PARAGRAPH, "az"), (HY_PARAGRAPH, "hy")]
    + [(line, "fa") for line in FA_LINES],
)
def test_detects_newsroom_languages(text: str, code: str) -> None:
    detection = detect_language(text)
    assert detection is not None
    assert detection.code == code
    assert 0.5 < detection.confidence <= 1.0


def test_persian_paragraph_is_not_arabic_or_urdu() -> None:
    detection = detect_language(" ".join(FA_LINES))
    assert detection is not None
    assert detection.code == "fa"
    assert detection.confidence > 0.9


def test_azerbaijani_is_not_turkish() -> None:
    detection = detect_language("Prezident Bakıda jurnalistlərin suallarını cavablandırıb.")
    assert detection is not None and detection.code == "az"


@pytest.mark.parametrize("text", ["", "   ", "12 345 / 2024", "!!! ???", "ok", "\u200c\u200c"])
def test_none_without_enough_letters(text: str) -> None:
    assert detect_language(text) is None


def test_codes_are_iso_639_1() -> None:
    assert language_code(Language.PERSIAN) == "fa"
    assert language_code(Language.ARMENIAN) == "hy"
    assert language_code(Language.AZERBAIJANI) == "az"
    assert all(len(language_code(lang)) == 2 for lang in Language.all())


def test_detection_is_frozen() -> None:
    detection = Detection(code="en", confidence=0.9)
    with pytest.raises(AttributeError):
        detection.code = "fa"  # type: ignore[misc]


def test_detector_built_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detect, "_detector", None)  # race the first build
    seen: list[object] = []

    def grab() -> None:
        seen.append(get_detector())

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert all(detector is seen[0] for detector in seen)
