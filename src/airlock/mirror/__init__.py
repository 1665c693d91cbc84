"""A Hugging Face Hub mirror of the admitted models: `HF_ENDPOINT=http://airlock:8000` and
`from_pretrained("org/name")`, `snapshot_download`, `SentenceTransformer("org/name")` download
admitted versions only, checked against their manifests as they are served (docs/mirror.md).

    mount.py    mount(app, registry): the routes on the gateway's app, errors, shutdown
    routes.py   the Hub API routes (model info, tree, resolve) and the Mirror state
    lookup.py   MirrorIndex.find: which admitted version a request gets (the one place)
    hub_json.py the Hub's JSON documents, from a version's manifest
    serving.py  verified streaming, ranges from private verified copies
    errors.py   errors as the Hub sends them (X-Error-Code), which the clients understand
"""
