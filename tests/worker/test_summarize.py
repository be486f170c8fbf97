"""Extractive and transformers summarisers."""

from __future__ import annotations

import re
from pathlib import Path

import huggingface_hub.constants
import pytest

from service.errors import InvalidInput, ModelUnavailable
from worker.summarize import ExtractiveSummarizer, TransformersSummarizer, tokenize
from worker.text import segment_document

# The opening of the sample article (nagorno-karabakh-2020-11-04.en.txt) as scraped,
# page furniture included.
ARTICLE = "\n\n".join(
    [
        "Last update: April 26, 2024 20:38",
        "Newsroom logo",
        (
            "Iran's Leader Says All Azerbaijani Territories Under Armenian Occupation Must Be "
            "'Liberated'"
        ),
        "By Orkhan Jalilov November 4, 2020",
        "None",
        (
            "In a live TV broadcast speech on November 3, Ayatollah Ali Khamenei, Leader of the "
            "Islamic Revolution, suggested that the main solution to the problem is a return of "
            "all occupied lands of Azerbaijan by Armenia, and “this must be done and "
            "international borders must be respected.” / MEHR News Agency"
        ),
        (
            "Iran’s Supreme Leader Ali Khamenei has said that all Azerbaijani territories under "
            "Armenian occupation must be “liberated and returned to Azerbaijan”, as heavy clashes"
            " between the two South Caucasus countries over the Nagorno-Karabakh region continue."
        ),
        (
            "“This war is a bitter incident and it threatens the security of the region. Of "
            "course, all Azerbaijani territories occupied by Armenia should be freed. All these "
            "lands should be given back to Azerbaijan. One of the main conditions is that these "
            "lands should be returned to Azerbaijan. The Republic of Azerbaijan is entitled to be"
            " in control of these lands, and therefore, all of them should be freed,” Khamenei "
            "said in a live TV broadcast speech on November 3, according to the official website "
            "of the supreme leader."
        ),
        (
            "He urged respect for international borders, saying that “the integrity of "
            "international borders should be protected”."
        ),
        (
            "Meanwhile, Iranian President Hassan Rouhani also expressed his support for the "
            "territorial integrity of Azerbaijan."
        ),
        (
            '"It is right of Azerbaijan to restore its territorial integrity," Rouhani said in a '
            "meeting of the Cabinet of Iran."
        ),
        (
            "A new round of clashes erupted between the Armenian and Azerbaijani forces on "
            "September 27 when Armenia's troops deployed in the occupied Azerbaijani lands began "
            "shelling heavily the military positions and civilian settlements of Azerbaijan. The "
            "attack prompted immediate counter-attack measures by the Azerbaijani army to push "
            "back the enemy's offensive. Military operations are being conducted in the territory"
            " of Azerbaijan, marking the most intense fighting\xa0between Armenian and Azerbaijani "
            "forces since a ceasefire that was reached in 1994."
        ),
        (
            "Armenia and Azerbaijan have been locked into a decades-old conflict over the "
            "Nagorno-Karabakh region, which is an internationally recognized territory of "
            "Azerbaijan but occupied by Armenia. Following the Soviet Union’s dissolution in "
            "1991, Armenia launched a military campaign against Azerbaijan that lasted until a "
            "ceasefire deal was reached in 1994. Armenia occupied 20 percent of Azerbaijan’s "
            "internationally recognized territories including the Nagorno-Karabakh region and "
            "seven surrounding districts. Over 30,000 ethnic Azerbaijanis were killed and one "
            "million were expelled from those lands in a brutal ethnic cleansing policy conducted"
            " by Armenia."
        ),
        (
            "On October 22, Azerbaijan’s President Ilham Aliyev announced the liberation of "
            "dozens of villages from the Armenian occupation, including areas in Azerbaijan’s "
            "Zangilan and Jabrayil districts located on the border with Iran along the Araz "
            "River, and congratulated the people of Azerbaijan and Iran on this occasion."
        ),
    ]
)
BOILERPLATE = {
    "Last update: April 26, 2024 20:38",
    "Newsroom logo",
    "By Orkhan Jalilov November 4, 2020",
    "None",
    "/ MEHR News Agency",
}

AZ_ARTICLE = (
    "Bakı, 12 mart\n\n"
    "Azərbaycan Respublikasının Prezidenti İlham Əliyev martın 12-də Avropa İttifaqının "
    "Cənubi Qafqaz üzrə xüsusi nümayəndəsini qəbul edib. Görüşdə Azərbaycan ilə Ermənistan "
    "arasında sülh sazişi üzrə danışıqların gedişi müzakirə olunub.\n\n"
    "Prezident bildirib ki, sərhədlərin delimitasiyası prosesi davam edir və sülh sazişinin "
    "mətni üzrə razılıq əldə olunub. Tərəflər həmçinin regionda nəqliyyat dəhlizlərinin "
    "açılması məsələsinə toxunublar.\n\n"
    "Xarici İşlər Nazirliyinin sözçüsü jurnalistlərə bildirib ki, növbəti danışıqlar raundu "
    "aprel ayında Brüsseldə keçiriləcək. Ötən il Azərbaycan ilə Avropa İttifaqı arasında "
    "ticarət dövriyyəsi 3.5 faiz artıb.\n\n"
    "Müəllif: Orxan Cəlilov"
)
HY_ARTICLE = (
    "Երևան, մարտի 12\n\n"
    "Հայաստանի վարչապետ Նիկոլ Փաշինյանը այսօր Երևանում ընդունել է Եվրոպական միության "
    "հատուկ ներկայացուցչին։ Հանդիպման ընթացքում քննարկվել են Հայաստանի և Ադրբեջանի միջև "
    "խաղաղության պայմանագրի շուրջ բանակցությունները։\n\n"
    "Վարչապետը նշել է, որ սահմանազատման գործընթացը շարունակվում է։ Ինչո՞ւ է այս "
    "հանդիպումը կարևոր։ Փորձագետների կարծիքով՝ այն կարող է արագացնել խաղաղության "
    "պայմանագրի ստորագրումը։ Սա՛ է գլխավոր հարցը։\n\n"
    "Լուսանկարը՝ կառավարության"
)
# Sentences from the TICO-19 test set (CC0), Persian side, under a dateline.
FA_ARTICLE = (
    "تهران، ۲۲ اسفند\n\n"
    "تجربه ایتالیا و روند جاری در کشورهای دیگر نشان می‌دهد که پاندمی کووید-19 در اتحادیه "
    "اروپا / EEA و انگلستان به سرعت در حال پیشرفت است.\n\n"
    "در مقابل، موارد و خوشه‌های پراکنده MERS در خاورمیانه همچنان دیده می‌شوند و به دلیل "
    "وجود منابع انتقال از حیوان به انسان در مناطق بومی، به سایر مناطق گسترش می‌یابند. "
    "مطالعه CoVها در خفاش‌ها و دیگر حیوانات به شدت درک ما از اهمیت منشاء و مخازن حیوانی "
    "HCoV در انتقال به انسان را تغییر داده‌ است.\n\n"
    "تخمین زده شده‌است که HCoV - NL۶۳ عامل حدود ۴.۷ درصد از بیماری‌های مزمن تنفسی است و "
    "اوج شیوع آن در اوایل تابستان، بهار و زمستان رخ می‌دهد. "
    "بررسی‌های بعدی شیوع سرمی نشان می‌دهد که سطح ایمنوگلوبین G ضد ویروس سارس در فروشندگان "
    "محصولات حیوانی نسبت به مردم عادی بیشتر است.\n\n"
    "و آیا شما اکنون تب دارید؟"
)


def _sentences(text: str, language: str) -> list[str]:
    return segment_document(text, language).sentences


class TestTokenize:
    def test_persian_zwnj_words_and_letter_forms(self) -> None:
        # Arabic kaf/yeh (ك ي) are unified with Persian ک ی; tanwin does not split words.
        tokens = tokenize("تقریباً بیماری‌های كشورهاي دیگر", "fa")
        assert tokens == ["تقریبا", "بیماری\u200cهای", "کشورهای"]

    def test_azerbaijani_dotted_capital_i(self) -> None:
        assert tokenize("İlham Əliyev İRAN ilə", "az") == ["ilham", "əliyev", "iran"]

    def test_armenian_inner_question_mark(self) -> None:
        assert tokenize("Ինչո՞ւ է դա կարևոր։", "hy") == ["ինչու", "դա", "կարևոր"]

    def test_english_stop_words_dropped(self) -> None:
        assert tokenize("The talks in Baku were held on Monday.", "en") == [
            "talks",
            "baku",
            "held",
            "monday",
        ]


class TestExtractiveSummarizer:
    summarizer = ExtractiveSummarizer()

    def test_verbatim_in_order_and_count(self) -> None:
        sentences = _sentences(ARTICLE, "en")
        for count in (1, 2, 3, 5, 8):
            indices = self.summarizer.select(sentences, "en", count)
            assert len(indices) == count
            assert indices == sorted(set(indices))
            summary = self.summarizer.summarize(sentences, "en", count)
            assert summary == [sentences[i] for i in indices]

    def test_skips_page_furniture_and_leads_with_the_lead(self) -> None:
        sentences = _sentences(ARTICLE, "en")
        assert set(sentences) >= BOILERPLATE
        summary = self.summarizer.summarize(sentences, "en", 5)
        assert not BOILERPLATE & set(summary)
        assert not any(s.startswith("Iran's Leader Says") for s in summary)  # headline
        assert summary[0].startswith("Iran’s Supreme Leader Ali Khamenei has said")

    def test_fewer_sentences_than_count_returns_all(self) -> None:
        sentences = ["One short line.", "None", "Another sentence that is here."]
        assert self.summarizer.summarize(sentences, "en", 5) == sentences

    def test_fragments_used_only_when_nothing_else_is_left(self) -> None:
        sentences = [
            "None",
            "Azerbaijan and Armenia resumed talks on a peace treaty in Brussels.",
            "By Staff",
            "Photo: AFP",
        ]
        assert self.summarizer.summarize(sentences, "en", 1) == [sentences[1]]
        assert len(self.summarizer.summarize(sentences, "en", 3)) == 3

    def test_near_duplicates_not_both_picked(self) -> None:
        lead = "Iran's foreign minister announced a plan to settle the Karabakh crisis on Monday."
        sentences = [
            lead,
            "Iran's foreign minister announced a plan to settle the Karabakh crisis on Monday!",
            "Turkish officials said they would study the proposal before the summit in Ankara.",
            "Russia welcomed the initiative and called for an immediate ceasefire in the region.",
        ]
        summary = self.summarizer.summarize(sentences, "en", 2)
        assert summary[0] == lead
        assert sentences[1] not in summary

    def test_deterministic(self) -> None:
        sentences = _sentences(ARTICLE, "en")
        first = self.summarizer.select(sentences, "en", 4)
        assert ExtractiveSummarizer().select(list(sentences), "en", 4) == first

    @pytest.mark.parametrize(
        ("text", "language", "dateline"),
        [
            (AZ_ARTICLE, "az", "Bakı, 12 mart"),
            (HY_ARTICLE, "hy", "Երևան, մարտի 12"),
            (FA_ARTICLE, "fa", "تهران، ۲۲ اسفند"),
        ],
    )
    def test_other_languages(self, text: str, language: str, dateline: str) -> None:
        sentences = _sentences(text, language)
        assert dateline in sentences
        summary = self.summarizer.summarize(sentences, language, 3)
        assert len(summary) == 3
        assert dateline not in summary
        positions = [sentences.index(s) for s in summary]
        assert positions == sorted(positions)
        assert summary[0] == sentences[1]  # the lead, right after the dateline

    @pytest.mark.parametrize("count", [0, -1])
    def test_count_must_be_positive(self, count: int) -> None:
        with pytest.raises(InvalidInput):
            self.summarizer.summarize(["One sentence here that is long."], "en", count)

    def test_empty_input(self) -> None:
        assert self.summarizer.summarize([], "en", 3) == []


class TestTransformersSummarizerUnavailable:
    def test_missing_local_directory(self, tmp_path: Path) -> None:
        path = str(tmp_path / "no-such-model")
        with pytest.raises(ModelUnavailable) as info:
            TransformersSummarizer(path)
        message = info.value.message
        assert path in message
        assert "does not exist" in message
        assert "DRAGOMAN_SUMMARY_MODEL" in message
        assert "Traceback" not in message
        assert info.value.to_dict()["code"] == "model_unavailable"

    def test_unknown_hub_id_offline(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        name = "dragoman-tests/no-such-summariser"
        with pytest.raises(ModelUnavailable) as info:
            TransformersSummarizer(name)
        assert f"hf download {name}" in info.value.message
        assert "DRAGOMAN_SUMMARY_MODEL" in info.value.message


@pytest.fixture(scope="module")
def tiny_bart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight BART with a byte-level tokenizer and a 64-token input limit."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration, BartTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    path = tmp_path_factory.mktemp("tiny-bart")
    byte_chars = list(bytes_to_unicode().values())
    vocab = {tok: i for i, tok in enumerate(["<s>", "<pad>", "</s>", "<unk>", *byte_chars])}
    vocab["<mask>"] = len(vocab)
    tokenizer = BartTokenizer(vocab=vocab, merges=[], model_max_length=64)
    config = BartConfig(
        vocab_size=len(vocab),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=None,
    )
    torch.manual_seed(0)
    model = BartForConditionalGeneration(config)
    # Random weights emit control bytes; make greedy decoding write letters instead.
    with torch.no_grad():
        model.final_logits_bias[0, vocab["a"]] = 50.0
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


class TestTransformersSummarizerTiny:
    def test_chunks_fit_and_lose_nothing(self, tiny_bart: Path) -> None:
        summarizer = TransformersSummarizer(str(tiny_bart))
        assert summarizer.max_input_tokens == 62  # 64 less <s> and </s>
        sentences = _sentences(ARTICLE, "en")
        chunks = summarizer._chunks(sentences, " ")
        assert len(chunks) > 10
        for chunk in chunks:
            ids = summarizer.tokenizer(chunk, add_special_tokens=False)["input_ids"]
            assert len(ids) <= summarizer.max_input_tokens
        squash = re.compile(r"\s")
        assert squash.sub("", "".join(chunks)) == squash.sub("", "".join(sentences))

    def test_long_article_is_summarised(self, tiny_bart: Path) -> None:
        summarizer = TransformersSummarizer(str(tiny_bart), max_summary_tokens=8)
        sentences = _sentences(ARTICLE, "en")[6:10]
        assert len(summarizer._chunks(sentences, " ")) > 5
        summary = summarizer.summarize(sentences, "en", 2)
        # Partial summaries are re-summarised until one chunk is left, whose
        # output (a run of "a" without punctuation) is a single sentence.
        assert len(summary) == 1
        assert re.fullmatch("a{4,8}", summary[0])
