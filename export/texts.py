"""A fixed, varied set of held-out texts for measuring text models.

Parity with sentence-transformers and the quality of int8/fp16 variants are
measured on these: ordinary sentences of many lengths, several scripts and
emoji, near-empty inputs and texts longer than the 128-token limit (so
truncation is covered). None of them is in the classifier's training data.
Plain data: importable without torch or a tokenizer.
"""

from __future__ import annotations

_LONG = (
    "This paragraph is deliberately long so that it runs past the encoder's limit of one "
    "hundred and twenty-eight tokens: it describes a warehouse that receives deliveries in "
    "the morning, sorts parcels by destination before lunch, loads the vans in the early "
    "afternoon and sends a report of everything that went out to the head office at the end "
    "of the day, including the parcels that were damaged, the ones that were returned, the "
    "ones that were held back because an address was incomplete, and a short note on any "
    "van that left late, why it left late and what the driver was told to do about it."
)

HELD_OUT_TEXTS: tuple[str, ...] = (
    "The meeting has been moved to Thursday afternoon.",
    "Can you recommend a good book about the history of mathematics?",
    "It rained all weekend, so we stayed in and played board games.",
    "The quarterly report shows revenue up 12% on last year.",
    "How do I reset the router without losing my settings?",
    "She finished the marathon in just under four hours.",
    "Turn left at the second traffic light, then keep going straight.",
    "The soup needs more salt and a little lemon.",
    "Our flight was delayed because of fog at the airport.",
    "I think the second option is cheaper in the long run.",
    "Photosynthesis converts light energy into chemical energy.",
    "Please water the plants while I am away next week.",
    "The museum is closed on Mondays and public holidays.",
    "He fixed the bug by checking for an empty list first.",
    "A cat sat quietly on the windowsill watching the birds.",
    "What time does the last train to the city leave tonight?",
    "Ünïcödé àccénts ärë fïnë, ñot a prøblem at all.",
    "日本語の文章も正しく処理されるべきです。",
    "这是一个用中文写的句子。",
    "Это предложение написано по-русски.",
    "هذه جملة مكتوبة باللغة العربية.",
    "Emoji everywhere 🚀🔥😀 and a few more 🎉",
    "Der Zug nach Berlin fährt um 8:15 Uhr ab.",
    "La réunion commence à neuf heures précises.",
    "¿Dónde está la estación de autobuses?",
    "def add(a, b): return a + b  # a line of Python",
    "https://example.com/path?query=1&lang=en",
    "Order #55812 shipped on 2026-03-14 at 09:30 UTC.",
    "ok",
    "?!",
    ".",
    "a",
    "",
    "   ",
    "no",
    "yes please",
    _LONG,
    " ".join(["word"] * 200),
    "repeat " * 90,
    _LONG.upper(),
)
