"""OpenAI-compatible embeddings: `POST /v1/embeddings`, `GET /v1/models[/{id}]`.

For text models whose manifest says `task: embedding`, so the `openai` SDK works
unchanged: `input` a string or a list of strings, `encoding_format` `float` or
`base64` (the SDK's default), `usage.prompt_tokens` counted by the model's own
tokenizer. Requests go through the same model set and batchers as V2 `/infer`;
errors keep the statuses of `service.serving.errors` in OpenAI's shape
`{"error": {"message", "type", "param", "code"}}`.
"""

from service.serving.openai.endpoints import embeddings_answer, model_answer, models_answer

__all__ = ["embeddings_answer", "model_answer", "models_answer"]
