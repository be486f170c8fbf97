"""Masking URLs, e-mails, handles and hashtags, and restoring them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from worker.pipeline.quality import (
    protect,
    restore,
)

ZWNJ = "\u200c"


def test_protect_masks_urls_emails_handles_and_hashtags_but_not_numbers() -> None:
    text = (
        "Read https://news.am/eng/news/812345.html, mail press@mfa.gov.az or @AzerbaijanMFA "
        "about #Karabakh on 2020-11-04 at 20:38."
    )
    protected = protect(text)
    assert protected.items == (
        "https://news.am/eng/news/812345.html",
        "press@mfa.gov.az",
        "@AzerbaijanMFA",
        "#Karabakh",
    )
    assert protected.masked == "Read [1], mail [2] or [3] about [4] on 2020-11-04 at 20:38."
    assert [n.text for n in protected.numbers] == ["812345", "2020-11-04", "20:38"]


def test_protect_keeps_trailing_punctuation_out_of_urls() -> None:
    protected = protect("منبع: PubMed (https://www.ncbi.nlm.nih.gov/pubmed/)، و Report.az.")
    assert protected.items == ("https://www.ncbi.nlm.nih.gov/pubmed/", "Report.az")


def test_placeholders_do_not_collide_with_bracketed_numbers_in_the_text() -> None:
    protected = protect("As reported [2], see www.apa.az")
    assert protected.placeholders == ("[3]",)
    text, missing = restore(protected, "Bildirildiyi kimi [2], bax: [3]")
    assert (text, missing) == ("Bildirildiyi kimi [2], bax: www.apa.az", [])


def test_restore_tolerates_spacing_bracket_kind_and_target_digits() -> None:
    protected = protect("Contact press@mfa.gov.az or visit https://mfa.gov.az/en today.")
    text, missing = restore(protected, "با press [ ۱ ] تماس بگیرید یا از (2) دیدن کنید.")
    assert missing == []
    assert "press@mfa.gov.az" in text and "https://mfa.gov.az/en" in text


def test_restore_reports_lost_placeholders() -> None:
    protected = protect("Follow @presidentaz and #COP29 updates.")
    text, missing = restore(protected, "[1] izləyin.")
    assert text == "@presidentaz izləyin."
    assert missing == ["#COP29"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_restore_of_untranslated_masked_text_gives_back_the_original(text: str) -> None:
    protected = protect(text)
    restored, missing = restore(protected, protected.masked)
    assert (restored, missing) == (text, [])
