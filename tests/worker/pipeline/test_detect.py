"""Language detection for the newsroom's languages."""

from __future__ import annotations

import threading

import pytest
from lingua import Language

from worker.pipeline import detect
from worker.pipeline.detect import (
    Detection,
    detect_document,
    detect_language,
    detect_paragraphs,
    get_detector,
    get_short_text_detector,
    language_code,
)

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


@pytest.mark.parametrize(
    ("headline", "code"),
    [
        ("Iran urges respect for borders", "en"),
        ("Tehran hosts talks", "en"),
        ("Ceasefire holds in Karabakh", "en"),
        ("Prezident Bakıda jurnalistlərlə görüşüb", "az"),
        ("Sülh danışıqları davam edir", "az"),
        ("Nazir İrana səfər edib", "az"),
        ("ایران خواستار احترام به مرزها شد", "fa"),
        ("آتش بس در قره باغ", "fa"),
        ("Փաշինյանը մեկնել է Բրյուսել", "hy"),
        ("Խաղաղության բանակցությունները շարունակվում են", "hy"),
        ("Barış görüşmeleri Brüksel'de sürüyor", "tr"),
        ("Пашинян посетил Брюссель", "ru"),
    ],
)
def test_short_headlines(headline: str, code: str) -> None:
    # The all-language low-accuracy detector reads the first as Dutch.
    assert len(headline) < detect.SHORT_TEXT_CHARS
    detection = detect_language(headline)
    assert detection is not None
    assert detection.code == code


def test_detect_paragraphs() -> None:
    paragraphs = [AZ_PARAGRAPH, "12 / 2024", HY_PARAGRAPH, FA_LINES[2]]
    codes = [d.code if d else None for d in detect_paragraphs(paragraphs)]
    assert codes == ["az", None, "hy", "fa"]


def test_document_with_a_foreign_headline_is_not_mixed() -> None:
    result = detect_document(f"Iran urges respect for borders\n\n{AZ_PARAGRAPH}")
    assert result is not None
    assert result.language == "az"
    assert [d.code if d else None for d in result.paragraphs] == ["en", "az"]
    assert not result.mixed
    assert 0.5 < result.confidence < 0.95  # the headline's letters count against


def test_document_quoting_a_paragraph_in_another_language_is_mixed() -> None:
    text = f"{AZ_PARAGRAPH}\n\n{EN_ARTICLE}\n\n{AZ_PARAGRAPH}\n\n{AZ_PARAGRAPH}"
    result = detect_document(text)
    assert result is not None
    assert result.language == "az"
    assert result.mixed
    assert [d.code if d else None for d in result.paragraphs] == ["az", "en", "en", "az", "az"]


def test_document_in_one_language() -> None:
    result = detect_document(EN_ARTICLE)
    assert result is not None
    assert (result.language, result.mixed) == ("en", False)
    assert result.confidence > 0.9


def test_document_without_letters() -> None:
    assert detect_document("12 345\n\n2024") is None


def test_short_text_detector_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detect, "_short_detector", None)
    first = get_short_text_detector()
    assert get_short_text_detector() is first


def test_warm_up_builds_both_detectors() -> None:
    from worker.pipeline import detect

    assert detect.warm_up() >= 0
    assert detect._detector is not None and detect._short_detector is not None
    # Warm, a detection is quick and right.
    assert detect.detect_language("Danışıqlar bazar ertəsi bərpa olunur.").code == "az"
