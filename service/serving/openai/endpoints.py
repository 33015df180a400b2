"""The OpenAI endpoints' data plane: raw request in, `Answer` out, for any transport."""

from __future__ import annotations

from service.runtime import ModelRuntime
from service.serving import jsonio
from service.serving.handlers import CONTENT_TYPE, Answer, ready
from service.serving.models import ModelSet, ServedModel
from service.serving.openai.errors import BadParameter, NotEmbedding, openai_error
from service.serving.openai.request import parse_embeddings
from service.serving.openai.response import embeddings_body, model_entry
from service.serving.protocol.response import JSON, VERSION_HEADER
from service.serving.routing import request_key

EMBEDDINGS = "/v1/embeddings"


async def embeddings_answer(models: ModelSet | None, raw: bytes, key: str | None = None) -> Answer:
    """`POST /v1/embeddings` from its raw body (and `X-Canary-Key`, if sent: a canary's
    share is routed by it, as on every inference endpoint)."""
    try:
        served = ready(models)
        request = parse_embeddings(jsonio.loads(raw), served.batching.max_rows_per_request)
        model = embedding_model(served, request.model, request_key(key))
        width = model.runtime.signature.outputs[0].shape[-1]
        if request.dimensions is not None and request.dimensions != width:
            raise BadParameter(
                f"dimensions: model {request.model!r} makes {width}-dimensional embeddings "
                f"and cannot shorten them, got {request.dimensions}; omit it or send {width}",
                "dimensions",
            )
        results, tokens = await model.infer_counted(request.texts)
        served.mirror(model, request.texts, results)
    except Exception as err:  # one bad request must never take the server down
        return openai_error(err, EMBEDDINGS)
    vectors = results[model.runtime.signature.outputs[0].name]
    body = embeddings_body(request.model, vectors, request.encoding_format, tokens)
    headers = {CONTENT_TYPE: JSON, VERSION_HEADER: model.runtime.version}
    return Answer(200, body, headers, model.runtime.name)


def models_answer(models: ModelSet | None) -> Answer:
    """`GET /v1/models`: the embedding models served here."""
    try:
        listed = [model_entry(r) for r in embedding_runtimes(ready(models))]
    except Exception as err:
        return openai_error(err, "/v1/models")
    return Answer(200, jsonio.dumps({"object": "list", "data": listed}), {CONTENT_TYPE: JSON})


def model_answer(models: ModelSet | None, name: str) -> Answer:
    """`GET /v1/models/{name}`."""
    try:
        runtime = embedding_model(ready(models), name).runtime
    except Exception as err:
        return openai_error(err, "/v1/models")
    return Answer(200, jsonio.dumps(model_entry(runtime)), {CONTENT_TYPE: JSON})


def embedding_model(models: ModelSet, name: str, key: str | None = None) -> ServedModel:
    """The served embedding model `name` (its canary for the canary's share of keys),
    or a 404 naming those there are."""
    known = [r.name for r in embedding_runtimes(models)]
    if name not in known:
        if name in models.errors:
            models.get(name)  # raises NotReady: a 503, not a 404
        raise NotEmbedding(f"model {name!r} is not an embedding model served here: {known}")
    return models.route(name, None, key)


def embedding_runtimes(models: ModelSet) -> list[ModelRuntime]:
    """Text models whose manifest says `task: embedding`, by name."""
    runtimes = [models.get(name).runtime for name in models.names()]
    return [r for r in runtimes if r.text is not None and r.manifest.task == "embedding"]
