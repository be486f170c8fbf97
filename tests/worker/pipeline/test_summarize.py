"""Extractive and transformers summarisers."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import huggingface_hub.constants
import pytest

from service.errors import InvalidInput, ModelUnavailable
from worker.pipeline.abstractive import TransformersSummarizer
from worker.pipeline.summarize import ExtractiveSummarizer, summary_length, tokenize
from worker.pipeline.text import segment_document

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


# ROUGE evaluation set: short English news articles written for these tests, each
# with a three-sentence reference summary written before any system output was
# seen. Measured (ROUGE F1, mean of 8): lead-3 R1 0.444 / R2 0.216; the default
# extractive summariser R1 0.476 / R2 0.239.
EVAL_ARTICLES: list[tuple[str, str]] = [
    (
        "Armenia and Azerbaijan agreed on Tuesday to return four abandoned villages to "
        "Azerbaijani control, the first concrete step in marking their long-disputed border. "
        "The deal was reached at a meeting of the two countries' border commissions in the "
        "Armenian town of Ijevan.\n\n"
        "Under the agreement, about 12 kilometres of the frontier in Armenia's Tavush province "
        "will be demarcated using Soviet-era maps. Deputy prime ministers Mher Grigoryan and "
        "Shahin Mustafayev signed the protocol after six hours of talks. Surveyors from both "
        "sides are expected to begin placing border markers next week.\n\n"
        "Residents of the Armenian village of Kirants said they feared losing access to the "
        "main road that links them to the regional capital. \u201cWe were told nothing. Our "
        "children go to school on that road,\u201d said Anahit Petrosyan, a 54-year-old "
        "farmer. Several hundred people blocked a highway near the village on Monday evening "
        "in protest.\n\n"
        "Prime Minister Nikol Pashinyan defended the deal in a televised address. He said "
        "marking the border was essential to prevent a new war. The opposition accused him of "
        "making unilateral concessions without guarantees in return.\n\n"
        "Azerbaijan's foreign ministry welcomed the agreement as a historic event. Baku and "
        "Yerevan have been negotiating a peace treaty since Azerbaijan retook the "
        "Nagorno-Karabakh region in 2023. Both sides say the text of the treaty is largely "
        "agreed, but differences remain over Armenia's constitution. The European Union and "
        "the United States praised the progress and urged both sides to finish the treaty "
        "this year.",
        "Armenia and Azerbaijan agreed to hand four villages in Tavush back to Azerbaijan, "
        "the first step in demarcating their border. Local residents protested, fearing they "
        "would lose a key road, and the opposition accused Pashinyan of one-sided concessions. "
        "Baku welcomed the deal as the two sides keep negotiating a peace treaty.",
    ),
    (
        "Iran's currency fell to a record low against the US dollar on Saturday, trading at "
        "about 700,000 rials on the open market in Tehran. The rial has lost more than a "
        "fifth of its value since the start of the year.\n\n"
        "Traders blamed the slide on fears of tighter sanctions and on uncertainty over talks "
        "with Western powers about Iran's nuclear programme. \u201cPeople are buying dollars "
        "and gold because they do not trust tomorrow,\u201d said a currency dealer on "
        "Ferdowsi Street, who asked not to be named. Gold coin prices also hit a record.\n\n"
        "The central bank said it would inject more hard currency into the market to calm "
        "prices. Its governor, Mohammad Reza Farzin, blamed \u201cpsychological "
        "factors\u201d and said the country had enough reserves. Analysts were sceptical. "
        "Previous interventions have slowed the decline only for a few weeks.\n\n"
        "Official figures put annual inflation at around 35 percent. Prices of meat, rice and "
        "medicine have risen sharply, squeezing household budgets. Many Iranians now hold "
        "their savings in foreign currency, cars or property.\n\n"
        "Parliament is expected to question the economy minister next week. Several "
        "lawmakers have called for his dismissal. The government has promised a package of "
        "subsidies for low-income families before the Persian new year in March.",
        "The Iranian rial fell to a record low of about 700,000 to the dollar, down more than "
        "a fifth this year, amid fears of sanctions and stalled nuclear talks. The central "
        "bank promised to supply more hard currency, but analysts doubt it will work. "
        "Inflation of about 35 percent is hurting households and parliament will question "
        "the economy minister.",
    ),
    (
        "Tens of thousands of people marched through central Tbilisi on Sunday night against "
        "a bill that critics say will stifle independent media and civil society. It was the "
        "largest protest in Georgia in years.\n\n"
        "The bill would require organisations that receive more than 20 percent of their "
        "funding from abroad to register as agents of foreign influence. Opponents call it "
        "the \u201cRussian law\u201d because of its similarity to legislation used by the "
        "Kremlin against critics. The ruling Georgian Dream party says it is needed to make "
        "foreign funding transparent.\n\n"
        "Protesters waving Georgian and European Union flags gathered outside parliament on "
        "Rustaveli Avenue. Police used water cannon and tear gas to clear the area after "
        "midnight. The interior ministry said 20 people were detained and six officers were "
        "injured.\n\n"
        "President Salome Zourabichvili said she would veto the bill. Parliament, where "
        "Georgian Dream holds a majority, can override her veto. The European Union warned "
        "that the law is incompatible with Georgia's bid to join the bloc, which granted it "
        "candidate status in December.\n\n"
        "Parliament passed the bill in its second reading last week. A final vote is "
        "scheduled for mid-May. Student groups have called for a general strike on "
        "Wednesday.",
        "Tens of thousands protested in Tbilisi against a foreign agents bill, the biggest "
        "protest in Georgia in years, and police used water cannon and tear gas, detaining "
        "20 people. Critics call it a Russian-style law that would stifle media and civil "
        "society. The president will veto it, but parliament can override her, and the EU "
        "says the law clashes with Georgia's bid to join.",
    ),
    (
        "A magnitude 5.9 earthquake struck north-western Iran early on Friday, killing at "
        "least seven people and injuring more than 400, state media reported. The quake hit "
        "near the city of Khoy in West Azerbaijan province at 4:44 local time.\n\n"
        "It was followed by more than 30 aftershocks. Temperatures in the mountainous region "
        "fell below minus 10 degrees, and many residents spent the night in cars and tents. "
        "Rescue teams from the Red Crescent were sent to dozens of damaged villages.\n\n"
        "\u201cThe walls of our house cracked and we ran outside with the children,\u201d a "
        "resident told state television. Several schools and a hospital were damaged. "
        "Electricity and gas were cut in parts of the city.\n\n"
        "Iran's interior minister, Ahmad Vahidi, travelled to the area to oversee the relief "
        "effort. The government announced emergency funds for repairs. Authorities closed "
        "schools in Khoy for three days.\n\n"
        "Iran lies on major fault lines and suffers frequent earthquakes. A quake of "
        "magnitude 7.4 in 1990 killed about 40,000 people in the north of the country. Turkey "
        "and Azerbaijan offered to send help.",
        "A magnitude 5.9 earthquake near Khoy in north-western Iran killed at least seven "
        "people and injured more than 400. Many residents spent a freezing night outdoors "
        "as aftershocks continued, and schools, a hospital and power supplies were damaged. "
        "The government sent the interior minister and emergency funds, and neighbours "
        "offered help.",
    ),
    (
        "BAKU, March 12 - Azerbaijan will spend about 200 million manats on preparations for "
        "the COP29 climate summit, which it hosts in November, officials said on Tuesday. The "
        "money will go on venues, transport and security for an expected 70,000 "
        "participants.\n\n"
        "The conference will be held at the Baku Olympic Stadium. The government plans to "
        "add hundreds of buses and extra metro trains during the two weeks of the summit. "
        "Hotels in the capital report that most rooms for November are already booked.\n\n"
        "Environmental groups have criticised the choice of Azerbaijan, whose economy depends "
        "heavily on oil and gas exports. Oil and gas make up around 90 percent of its export "
        "revenue. The country plans to increase gas exports to Europe in the coming years.\n\n"
        "Mukhtar Babayev, the ecology minister and president of COP29, said Azerbaijan wanted "
        "the summit to agree on a new climate finance goal for developing countries. "
        "\u201cThis will be a finance COP,\u201d he told reporters. Rich countries had "
        "pledged 100 billion dollars a year, a target they met only in 2022.\n\n"
        "Human rights groups have also raised concerns about the arrest of journalists in "
        "Azerbaijan ahead of the summit. The government rejects the criticism. Last year's "
        "summit in Dubai agreed to transition away from fossil fuels.",
        "Azerbaijan will spend about 200 million manats preparing to host the COP29 climate "
        "summit in Baku in November, with some 70,000 participants expected. Environmental "
        "and rights groups criticise the choice of an oil and gas exporter that has arrested "
        "journalists. COP29 president Mukhtar Babayev wants the summit to agree a new climate "
        "finance goal.",
    ),
    (
        "A new freight train service linking China to Europe through Kazakhstan, Azerbaijan "
        "and Georgia was launched on Thursday, cutting delivery times on the route to about "
        "two weeks. The first train, carrying 50 containers of electronics and car parts, "
        "left Xi'an on Monday.\n\n"
        "The route, known as the Middle Corridor, avoids Russia. Demand for it has grown "
        "sharply since the war in Ukraine disrupted the northern route through Russian "
        "territory. Cargo volumes on the corridor tripled in 2022, according to its "
        "operators.\n\n"
        "Containers cross the Caspian Sea by ferry from the Kazakh port of Aktau to Baku. "
        "From there they travel by rail to the Georgian ports of Poti and Batumi, or through "
        "Turkey on the Baku-Tbilisi-Kars railway. Officials said the service would run "
        "weekly at first.\n\n"
        "Bottlenecks remain. The Caspian ferries are small and often delayed by storms, and "
        "customs procedures differ from country to country. \u201cThe corridor works, but "
        "it is still too slow and too expensive,\u201d said a logistics manager in Tbilisi. "
        "Azerbaijan is expanding the port at Alat to handle 25 million tonnes a year.\n\n"
        "The European Union has pledged 10 billion euros to develop transport links in "
        "Central Asia. China sees the corridor as part of its Belt and Road Initiative.",
        "A weekly China-Europe freight train service through Kazakhstan, Azerbaijan and "
        "Georgia was launched, bringing delivery times down to about two weeks. The Middle "
        "Corridor avoids Russia and its cargo volumes have grown sharply since the war in "
        "Ukraine. Small Caspian ferries and differing customs rules still slow it down, "
        "though Azerbaijan and the EU are investing in the route.",
    ),
    (
        "Armenia formally became a member of the International Criminal Court on Sunday, "
        "despite objections from its traditional ally Russia. Parliament in Yerevan ratified "
        "the Rome Statute last year.\n\n"
        "Membership obliges Armenia to arrest anyone wanted by the court who enters its "
        "territory. The court issued an arrest warrant for Russian President Vladimir Putin "
        "in March 2023 over the deportation of children from Ukraine. Moscow called "
        "Armenia's decision an unfriendly step.\n\n"
        "Armenian officials say they joined the court to be able to pursue claims against "
        "Azerbaijan. \u201cThis is about the security of our people, not about "
        "Russia,\u201d Foreign Minister Ararat Mirzoyan said. Yerevan accuses Baku of war "
        "crimes during the 2020 war and the attacks on Armenian territory in 2022.\n\n"
        "Relations between Armenia and Russia have cooled over the past two years. Yerevan "
        "has frozen its participation in the Moscow-led Collective Security Treaty "
        "Organization. It accuses Russian peacekeepers of failing to stop Azerbaijan's "
        "offensive in Nagorno-Karabakh.\n\n"
        "Armenia has also stepped up contacts with the European Union and the United States. "
        "Joint military exercises with American troops were held near Yerevan in September. "
        "Russia still has a military base in the Armenian city of Gyumri.",
        "Armenia has joined the International Criminal Court, which obliges it to arrest "
        "anyone the court wants, including Vladimir Putin, and Moscow called the move "
        "unfriendly. Yerevan says it joined to pursue war crimes claims against Azerbaijan. "
        "The move reflects Armenia's cooling ties with Russia and its turn towards the West.",
    ),
    (
        "The head of the UN nuclear watchdog arrived in Tehran on Monday for talks on "
        "expanding inspections of Iran's nuclear sites. Rafael Grossi, director general of "
        "the International Atomic Energy Agency, is due to meet Iran's foreign minister and "
        "nuclear chief.\n\n"
        "The agency says Iran has enriched uranium to 60 percent purity, close to the 90 "
        "percent needed for a weapon. It has enough such material for several bombs if "
        "enriched further, according to the agency's latest report. Iran denies seeking "
        "nuclear weapons.\n\n"
        "Inspectors have had limited access since Iran removed surveillance cameras from "
        "several sites in 2022. Tehran also withdrew the accreditation of several "
        "experienced inspectors last year. Grossi has called this a serious blow to the "
        "agency's work.\n\n"
        "\u201cWe need to restore the level of transparency that the world expects,\u201d "
        "Grossi told reporters on arrival. Iranian officials said they were ready for "
        "constructive cooperation. They also demanded that Western countries stop what they "
        "called political pressure on the agency.\n\n"
        "The 2015 nuclear deal between Iran and world powers collapsed after the United "
        "States withdrew in 2018. Efforts to revive it have stalled. European diplomats "
        "warn that the agency's board could censure Iran again in June.",
        "IAEA chief Rafael Grossi arrived in Tehran for talks on widening inspections of "
        "Iran's nuclear sites. Iran has enriched uranium to 60 percent, close to weapons "
        "grade, while inspectors' access has been limited since 2022. Grossi called for "
        "more transparency, and Europeans warn the agency's board may censure Iran again.",
    ),
]


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


def _ngrams(text: str, n: int) -> Counter[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return Counter(zip(*(words[i:] for i in range(n)), strict=False))


def rouge_f1(candidate: str, reference: str, n: int) -> float:
    """ROUGE-N F1: clipped n-gram overlap of lowercased words, no stemming."""
    ours, theirs = _ngrams(candidate, n), _ngrams(reference, n)
    overlap = sum((ours & theirs).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(ours.values()), overlap / sum(theirs.values())
    return 2 * precision * recall / (precision + recall)


class TestRouge:
    def test_rouge_f1(self) -> None:
        assert rouge_f1("the talks resumed", "the talks resumed", 2) == 1.0
        assert rouge_f1("talks resumed", "peace held", 1) == 0.0
        # 2 of 3 unigrams match either way; "the the" is clipped to one match.
        assert math.isclose(rouge_f1("the the talks", "the talks ended", 1), 2 / 3)

    def test_summariser_at_least_as_good_as_lead_3(self) -> None:
        summarizer = ExtractiveSummarizer()
        scores: dict[str, list[float]] = {"lead1": [], "lead2": [], "ours1": [], "ours2": []}
        for text, reference in EVAL_ARTICLES:
            sentences = _sentences(text, "en")
            assert 12 <= len(sentences) <= 20
            lead = " ".join(sentences[:3])
            ours = " ".join(summarizer.summarize(sentences, "en", 3))
            for n in (1, 2):
                scores[f"lead{n}"].append(rouge_f1(lead, reference, n))
                scores[f"ours{n}"].append(rouge_f1(ours, reference, n))
        mean = {name: sum(values) / len(values) for name, values in scores.items()}
        assert mean["ours1"] >= mean["lead1"] - 0.01, mean
        assert mean["ours2"] >= mean["lead2"] - 0.01, mean


class TestSummaryLength:
    @pytest.mark.parametrize(
        ("total", "count", "ratio", "expected"),
        [
            (25, None, 0.2, 5),
            (25, 3, None, 3),
            (10, None, 0.25, 3),
            (4, None, 0.1, 1),
            (3, None, 1.0, 3),
        ],
    )
    def test_count_or_ratio(
        self, total: int, count: int | None, ratio: float | None, expected: int
    ) -> None:
        assert summary_length(total, count, ratio) == expected

    @pytest.mark.parametrize(
        ("count", "ratio"),
        [(None, None), (3, 0.2), (0, None), (None, 0.0), (None, 1.5), (None, math.nan)],
    )
    def test_invalid(self, count: int | None, ratio: float | None) -> None:
        with pytest.raises(InvalidInput):
            summary_length(10, count, ratio)

    def test_summarize_by_ratio(self) -> None:
        sentences = _sentences(EVAL_ARTICLES[0][0], "en")
        summarizer = ExtractiveSummarizer()
        assert len(summarizer.summarize(sentences, "en", ratio=0.2)) == 3  # 0.2 * 15
        assert summarizer.select(sentences, "en", ratio=0.2) == summarizer.select(
            sentences, "en", 3
        )
        with pytest.raises(InvalidInput):
            summarizer.summarize(sentences, "en", 3, ratio=0.2)

    def test_armenian_colon_sentences_count_as_sentences(self) -> None:
        # ":" typed for "։"; the headline has no final punctuation.
        headline = "Փաշինյանը Երևանում ընդունել է Եվրոպական միության ներկայացուցչին"
        sentences = _sentences(f"{headline}\n\n{HY_ARTICLE.replace('։', ':')}", "hy")
        assert len(sentences) == len(_sentences(HY_ARTICLE, "hy")) + 1
        summary = ExtractiveSummarizer().summarize(sentences, "hy", 2)
        assert summary[0] == sentences[2]  # the lead, not the headline or dateline
        assert headline not in summary


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
    config = BartConfig(  # type: ignore[call-arg]  # forced_bos_token_id: a generic kwarg
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
