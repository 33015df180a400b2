"""The keys of a registry: the only module that knows where things live in the store.

    <model>/<version>/model.onnx              (+ tokenizer.json, ...: the files the manifest lists)
    <model>/<version>/manifest.json           written last: a version without it does not exist
    <model>/<version>/.claim                  the number taken by a publish (who, since when)
    <model>/aliases.json                      {"revision": 7, "aliases": {...}, "lineage": {...},
                                               "last": <the event of revision 7>}
    <model>/.streams/<stream>/<key>.json      append-only streams: history, audit, ...
    <model>/.documents/<document>.json        small documents, e.g. a job's journal
    <model>/.locks/<job>.lock                 long-job locks (a kernel lock or a lease)

Names that start with a dot are never model, version or alias names (`check_name`
refuses them), so none of the registry's own keys can clash with a version, and a
foreign `.snapshot` or `.git` is never mistaken for one.
"""

from __future__ import annotations

from export.manifest import MANIFEST

ALIASES = "aliases.json"
CLAIM = ".claim"
STREAMS = ".streams"
DOCUMENTS = ".documents"
LOCKS = ".locks"
#: Files of the single-folder layout ferry used before streams; still read, never written.
LEGACY_STREAMS = {"history": "history.jsonl", "audit": "audit.jsonl"}


def version(model: str, version: str) -> str:
    return f"{model}/{version}"


def version_file(model: str, version: str, name: str) -> str:
    return f"{model}/{version}/{name}"


def manifest(model: str, version: str) -> str:
    return f"{model}/{version}/{MANIFEST}"


def claim(model: str, version: str) -> str:
    return f"{model}/{version}/{CLAIM}"


def aliases(model: str) -> str:
    return f"{model}/{ALIASES}"


def stream(model: str, name: str) -> str:
    return f"{model}/{STREAMS}/{name}"


def stream_entry(model: str, name: str, key: str) -> str:
    return f"{model}/{STREAMS}/{name}/{key}.json"


def legacy_stream(model: str, name: str) -> str | None:
    legacy = LEGACY_STREAMS.get(name)
    return f"{model}/{legacy}" if legacy else None


def documents(model: str) -> str:
    return f"{model}/{DOCUMENTS}"


def document(model: str, name: str) -> str:
    return f"{model}/{DOCUMENTS}/{name}.json"


def lock(model: str, job: str) -> str:
    return f"{model}/{LOCKS}/{job}.lock"
