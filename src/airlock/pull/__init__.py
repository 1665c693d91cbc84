"""`airlock pull`: bring a repository in from a Hugging Face Hub (or any mirror) through the gate.

    hub.py        the upstream's file list for one commit: sizes, sha256 (LFS) and git ids
    download.py   parallel, resumable downloads, each file checked against that list
    quarantine.py where pulled files wait (no loader looks there) and where admitted ones go

Vetting and admission are the `airlock vet`/`admit` code paths (cli/pull.py calls them).
"""
