"""Text models on all-MiniLM-L6-v2: weights, tokenizer, encoder, classifier and their training.

Heavy imports (transformers, sentence-transformers) happen inside the functions
that need them, so importing `training.recipes` stays cheap. Imports training,
the export contract (the tokenizer spec) and torch.
"""
