"""The online server: every configured model behind HTTP, batched.

`app` (the BentoML service), `front` (the lean ASGI front for inference),
`routes` (V2 metadata, status, admin), `handlers` (what each endpoint does,
framework-free: the one data plane behind every transport), `protocol/` (Open
Inference Protocol V2), `batcher` (adaptive batching), `models` (the model set:
load → warm → swap → drain → retire), `refresh` (when to follow alias moves),
`metrics`, `errors` (the one error renderer), `jsonio`, `texts` (text requests to
the batcher), `settings`, `monitoring/` (drift per version off the request path,
the prediction log). Imports the runtime and the export contract; never the
scoring package, torch or training.
"""
