"""The readers a default scan uses, one per format, imported only when a file needs them.

Most scans meet two or three formats; importing every reader (and jinja2, protobuf tables,
op catalogs) up front would cost more than scanning a multi-GB checkpoint does.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator

from airlock.findings import Finding
from airlock.scan.context import Blob, Kind, Reader, ScanContext

# (kinds, "module:factory"): the factory is a Reader class or a function returning a Reader.
_READERS: tuple[tuple[tuple[Kind, ...], str], ...] = (
    ((Kind.PICKLE,), "airlock.scan.formats.pickle_reader:PickleReader"),
    ((Kind.ZIP,), "airlock.scan.formats.zip_reader:ZipReader"),
    ((Kind.NUMPY,), "airlock.scan.formats.numpy_reader:NumpyReader"),
    ((Kind.COMPRESSED,), "airlock.scan.formats.compressed_reader:CompressedReader"),
    ((Kind.SEVEN_ZIP,), "airlock.scan.formats.seven_zip_reader:SevenZipReader"),
    ((Kind.TAR,), "airlock.scan.formats.tar_reader:TarReader"),
    ((Kind.SAFETENSORS,), "airlock.scan.formats.safetensors_reader:SafetensorsReader"),
    ((Kind.GGUF,), "airlock.scan.formats.gguf_reader:GgufReader"),
    ((Kind.TEMPLATE,), "airlock.scan.formats.template_reader:TemplateReader"),
    ((Kind.JSON,), "airlock.scan.registry:json_reader"),
    ((Kind.YAML,), "airlock.scan.formats.yaml_reader:YamlReader"),
    ((Kind.PYTHON,), "airlock.scan.formats.python_reader:PythonReader"),
    ((Kind.ONNX,), "airlock.scan.formats.onnx_reader:OnnxReader"),
    (
        (Kind.TF_SAVEDMODEL, Kind.TF_GRAPHDEF),
        "airlock.scan.formats.tf_savedmodel_reader:TensorFlowReader",
    ),
    ((Kind.HDF5,), "airlock.scan.formats.hdf5_reader:Hdf5Reader"),
    ((Kind.SENTENCEPIECE,), "airlock.scan.formats.sentencepiece_reader:SentencePieceReader"),
    ((Kind.RAW_TENSORS,), "airlock.scan.formats.raw_tensors_reader:RawTensorsReader"),
)


def json_reader(trusted: Iterable[str] = ()) -> Reader:
    """JSON documents, with every analyzer that recognises a JSON format; `trusted`: exact
    config targets and Keras `module.name`s the organization's policy allows."""
    from airlock.scan.analyzers.auto_map import AutoMapAnalyzer
    from airlock.scan.analyzers.chat_template_json import ChatTemplateJsonAnalyzer
    from airlock.scan.analyzers.diffusers_config import DiffusersConfigAnalyzer
    from airlock.scan.analyzers.instantiate_json import InstantiateJsonAnalyzer
    from airlock.scan.analyzers.keras_config import KerasConfigAnalyzer
    from airlock.scan.formats.json_reader import JsonAnalyzer, JsonReader

    analyzers: list[JsonAnalyzer] = [
        ChatTemplateJsonAnalyzer(),
        KerasConfigAnalyzer(trusted),
        AutoMapAnalyzer(),
        DiffusersConfigAnalyzer(),
        InstantiateJsonAnalyzer(trusted),
    ]
    return JsonReader(analyzers)


class LazyReader(Reader):
    """Stands in for a reader and imports it on first use."""

    def __init__(self, kinds: tuple[Kind, ...], target: str) -> None:
        self.kinds = kinds
        self._target = target
        self._reader: Reader | None = None

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
        return self.load().scan(blob, ctx)

    def load(self) -> Reader:
        """The real reader, imported now if it was not yet."""
        reader = self._reader
        if reader is None:
            module, _, attr = self._target.partition(":")
            reader = self._reader = getattr(importlib.import_module(module), attr)()
        return reader


def default_readers() -> list[Reader]:
    return [LazyReader(kinds, target) for kinds, target in _READERS]
