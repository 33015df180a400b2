"""Text models: the tokenizer shipped in the artifact, length buckets, padding to the longest.

A text model's manifest has `preprocessing["tokenizer"]`; the service answers
with strings in (`text`, V2 `BYTES`) and tokenises them itself with the
`tokenizers` library, never torch or transformers.
"""

from service.text.buckets import bucket_bounds, bucket_of
from service.text.spec import TEXT_INPUT, TokenizerSpec, served_signature
from service.text.tokenizer import TextTokenizer
from service.text.tokens import Tokens

__all__ = [
    "TEXT_INPUT",
    "TextTokenizer",
    "TokenizerSpec",
    "Tokens",
    "bucket_bounds",
    "bucket_of",
    "served_signature",
]
