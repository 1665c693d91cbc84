"""Quantized checkpoints read as the model's parameters, not as storage words.

AWQ and GPTQ keep eight 4-bit values in each int32 word, bitsandbytes two in each byte, MXFP4
32 in each 16-byte block; beside them sit scales, zero points, group indices and packed state,
which take memory but are not parameters. Each packed tensor becomes the parameter it stands
for (its shape and element count unpacked), carrying the stored bytes of its metadata.

The layouts are data (airlock/data/quant_layouts.toml, with the library code each one follows).
Where quantization_config and the tensors disagree, or the scheme is unknown, the result
carries a doubt, worded for people, instead of a confident wrong count.
"""

from __future__ import annotations

import math
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

from airlock.fit.params import Tensor
from airlock.headers.safetensors import DTYPE_BITS

# When neither quantization_config nor the shapes give the bits per value (said as a doubt).
_ASSUMED_BITS = 4


@dataclass(frozen=True)
class Layout:
    id: str
    methods: tuple[str, ...]
    when: Mapping[str, tuple[str, ...]]
    values: str
    logical: str
    storage: tuple[str, ...]
    bits: int | None
    bits_keys: tuple[str, ...]
    group_keys: tuple[str, ...]
    packed_dim: int | None
    transposed: bool
    merge_blocks: bool
    flat: bool
    needs_metadata: bool
    metadata: tuple[str, ...]
    witness: tuple[str, int] | None
    label: str
    source: str

    def applies(self, qconfig: Mapping[str, Any]) -> bool:
        return all(
            str(next(iter(_lookup(qconfig, key.split("."))), "")).lower() in allowed
            for key, allowed in self.when.items()
        )


@dataclass(frozen=True)
class Quantization:
    """The scheme a checkpoint was found to use, as shown in reports."""

    method: str  # quant_method, as quantization_config names it (or as recognised)
    layout: str | None  # the layout most quantized tensors follow; None: not known
    bits: int | None
    group_size: int | None
    found_in: str  # "config.json", "quantize_config.json", "tensor names"
    tensors: int  # quantized tensors unpacked
    settings: dict[str, Any] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class Unpacked:
    tensors: tuple[Tensor, ...]  # parameters: packed weights unpacked, the rest as stored
    buffers: tuple[Tensor, ...]  # quantization metadata no weight claims: bytes, no parameters
    quantization: Quantization | None
    doubts: tuple[str, ...]


@dataclass(frozen=True)
class _Packed:
    tensor: Tensor
    layout: Layout
    prefix: str
    metadata: tuple[Tensor, ...]


@cache
def _data() -> dict[str, Any]:
    text = resources.files("airlock.data").joinpath("quant_layouts.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def layouts() -> tuple[Layout, ...]:
    return tuple(_layout(row) for row in _data()["layout"])


def config_files() -> tuple[tuple[str, str], ...]:
    """(file name, quant_method) of the files beside config.json that name a scheme."""
    return tuple((row["name"], row["method"]) for row in _data()["config_file"])


def _layout(row: dict[str, Any]) -> Layout:
    witness = row.get("witness")
    return Layout(
        id=row["id"],
        methods=tuple(row["methods"]),
        when={key: tuple(values) for key, values in row.get("when", {}).items()},
        values=row["values"],
        logical=row["logical"],
        storage=tuple(row["storage"]),
        bits=row.get("bits"),
        bits_keys=tuple(row.get("bits_keys", ())),
        group_keys=tuple(row.get("group_keys", ())),
        packed_dim=row.get("packed_dim"),
        transposed=row.get("transposed", False),
        merge_blocks=row.get("merge_blocks", False),
        flat=row.get("flat", False),
        needs_metadata=row.get("needs_metadata", False),
        metadata=tuple(row["metadata"]),
        witness=(str(witness[0]), int(witness[1])) if witness else None,
        label=row["label"],
        source=row["source"],
    )


def unpack(tensors: Sequence[Tensor], qconfig: Mapping[str, Any] | None, found_in: str) -> Unpacked:
    """The checkpoint's parameters; `qconfig` is its quantization_config (None: not stated)."""
    if qconfig is None:
        chosen = _recognise(tensors)
        if chosen is None:
            return Unpacked(tuple(tensors), (), None, ())
        unpacker = _Unpacker(tensors, _same_method(chosen), {})
        return unpacker.run(chosen.methods[0], "tensor names")
    method = str(qconfig.get("quant_method", "")).lower()
    candidates = [lay for lay in layouts() if method in lay.methods and lay.applies(qconfig)]
    if not candidates:
        return _unknown(tensors, dict(qconfig), found_in)
    return _Unpacker(tensors, candidates, dict(qconfig)).run(method, found_in)


def _same_method(layout: Layout) -> list[Layout]:
    """The recognised layout first, then its method's others (a checkpoint may mix them)."""
    others = [
        lay for lay in layouts() if lay is not layout and set(lay.methods) & set(layout.methods)
    ]
    return [layout, *others]


def stated(qconfig: Mapping[str, Any], found_in: str) -> Quantization:
    """The scheme as quantization_config states it, with no tensors to check it against."""
    method = str(qconfig.get("quant_method", "")).lower() or "(no quant_method)"
    known = [lay for lay in layouts() if method in lay.methods and lay.applies(qconfig)]
    return Quantization(
        method=method,
        layout=None,
        bits=known[0].bits if known and known[0].bits else _first_int(qconfig, _bits_keys(known)),
        group_size=_first_int(qconfig, (k for lay in known for k in lay.group_keys)),
        found_in=found_in,
        tensors=0,
        settings=_shown(qconfig),
        source=known[0].source if known else "",
    )


def _bits_keys(candidates: Iterable[Layout]) -> tuple[str, ...]:
    keys = tuple(key for lay in candidates for key in lay.bits_keys)
    return keys or ("bits", "w_bit")


def _unknown(tensors: Sequence[Tensor], settings: dict[str, Any], found_in: str) -> Unpacked:
    quantization = stated(settings, found_in)
    doubt = (
        f"{found_in} names quantization {quantization.method!r}, whose storage layout Airlock "
        "does not know: the count is of stored elements, which may be packed words or "
        "include scales"
    )
    return Unpacked(tuple(tensors), (), quantization, (doubt,))


def _recognise(tensors: Sequence[Tensor]) -> Layout | None:
    """Without quantization_config: the layout the tensors fit best (its witness holds, then
    most of its metadata beside the packed tensor), first in the data file on a tie."""
    by_name = {tensor.name: tensor for tensor in tensors}
    best: tuple[tuple[int, int], Layout] | None = None
    for layout in layouts():
        found = next((p for t in tensors if (p := _match(t, layout, by_name))), None)
        if found is None:
            continue
        witness = _witness_bits(found, by_name)
        score = (0 if layout.witness is None else 1 if witness else -1, len(found.metadata))
        if best is None or score > best[0]:
            best = (score, layout)
    return best[1] if best else None


def _match(tensor: Tensor, layout: Layout, by_name: Mapping[str, Tensor]) -> _Packed | None:
    if not tensor.name.endswith(layout.values) or tensor.dtype not in layout.storage:
        return None
    prefix = tensor.name[: len(tensor.name) - len(layout.values)]
    metadata = tuple(by_name[prefix + s] for s in layout.metadata if prefix + s in by_name)
    if layout.needs_metadata and not metadata:
        return None
    return _Packed(tensor, layout, prefix, metadata)


def _witness_bits(packed: _Packed, by_name: Mapping[str, Tensor]) -> int | None:
    """Bits per value from the shapes: a metadata dimension gives the unpacked size."""
    layout, tensor = packed.layout, packed.tensor
    if layout.witness is None or layout.packed_dim is None or not tensor.shape:
        return None
    suffix, dim = layout.witness
    witness = by_name.get(packed.prefix + suffix)
    if witness is None or not witness.shape or not -len(witness.shape) <= dim < len(witness.shape):
        return None
    unpacked = witness.shape[dim]
    bits = Fraction(DTYPE_BITS[tensor.dtype] * tensor.shape[layout.packed_dim], unpacked or 1)
    if unpacked and bits.denominator == 1 and 1 <= bits <= 8:
        return int(bits)
    return None


class _Unpacker:
    def __init__(
        self, tensors: Sequence[Tensor], candidates: list[Layout], settings: dict[str, Any]
    ) -> None:
        self.tensors = tensors
        self.candidates = candidates
        self.settings = settings
        self.by_name = {tensor.name: tensor for tensor in tensors}
        self.doubts: list[str] = []
        self.bits_used: Counter[int] = Counter()
        self.layouts_used: Counter[str] = Counter()
        self.uneven: list[str] = []  # packed tensors whose shape does not unpack at their bits

    def run(self, method: str, found_in: str) -> Unpacked:
        packed: dict[str, _Packed] = {}
        claimed: set[str] = set()
        for tensor in self.tensors:
            found = next(
                (p for lay in self.candidates if (p := _match(tensor, lay, self.by_name))), None
            )
            if found is not None:
                packed[tensor.name] = found
                claimed.update(meta.name for meta in found.metadata)
        parameters, buffers = [], []
        for tensor in self.tensors:
            if tensor.name in packed:
                parameters.append(self._unpack(packed[tensor.name]))
            elif tensor.name in claimed:
                continue
            elif any(tensor.name.endswith(s) for lay in self.candidates for s in lay.metadata):
                buffers.append(tensor)
            else:
                parameters.append(tensor)
        if not packed:
            self._doubt(
                f"{found_in} names {method} quantization, but no tensor is stored the way "
                f"{method} stores its weights: the count is of stored elements"
            )
        if self.uneven:
            self._doubt(
                f"{len(self.uneven)} packed tensors do not unpack evenly at their bits per "
                f"weight (first: {self.uneven[0]}): their shapes are not the model's"
            )
        if buffers:
            self._doubt(
                f"{len(buffers)} tensors look like {method} scales or zero points without "
                "their weights: they are not counted as parameters"
            )
        quantization = Quantization(
            method=method,
            layout=self.layouts_used.most_common(1)[0][0] if self.layouts_used else None,
            # what the tensors hold; as stated only when no tensor was unpacked
            bits=self.bits_used.most_common(1)[0][0] if self.bits_used else self._config_bits(),
            group_size=_first_int(self.settings, self._keys("group_keys")),
            found_in=found_in,
            tensors=len(packed),
            settings=_shown(self.settings),
            source=next((lay.source for lay in self.candidates if lay.id in self.layouts_used), ""),
        )
        return Unpacked(tuple(parameters), tuple(buffers), quantization, tuple(self.doubts))

    def _keys(self, attribute: str) -> tuple[str, ...]:
        return tuple(key for lay in self.candidates for key in getattr(lay, attribute))

    def _config_bits(self) -> int | None:
        return _first_int(self.settings, self._keys("bits_keys"))

    def _bits(self, packed: _Packed) -> int:
        layout = packed.layout
        if layout.bits is not None:
            return layout.bits
        stated = sorted(set(_ints(self.settings, layout.bits_keys)))
        witness = _witness_bits(packed, self.by_name)
        if witness is not None:
            if stated and witness not in stated:
                self._doubt(
                    f"quantization_config says {'/'.join(map(str, stated))} bits per weight, "
                    f"but the tensor shapes hold {witness}-bit values (the shapes are used)"
                )
            return witness
        if len(stated) > 1:
            self._doubt(
                f"quantization_config has groups of {' and '.join(map(str, stated))} bits and "
                f"the headers do not say which tensor is which: {stated[0]} bits are assumed"
            )
        if stated:
            return stated[0]
        self._doubt(
            f"neither quantization_config nor the tensor shapes give the bits per weight: "
            f"{_ASSUMED_BITS} bits are assumed"
        )
        return _ASSUMED_BITS

    def _unpack(self, packed: _Packed) -> Tensor:
        tensor, layout = packed.tensor, packed.layout
        bits = self._bits(packed)
        self.bits_used[bits] += 1
        self.layouts_used[layout.id] += 1
        values, remainder = divmod(tensor.nbytes * 8, bits)
        shape = _logical_shape(layout, tensor.shape, Fraction(DTYPE_BITS[tensor.dtype], bits))
        if remainder or shape is None or math.prod(shape) != values:
            self.uneven.append(f"{tensor.name} {list(tensor.shape)} at {bits} bits")
            shape = (values,)
        return Tensor(
            name=packed.prefix + layout.logical,
            shape=shape,
            dtype=layout.label.format(bits=bits, dtype=tensor.dtype),
            nbytes=tensor.nbytes + sum(meta.nbytes for meta in packed.metadata),
        )

    def _doubt(self, text: str) -> None:
        if text not in self.doubts:
            self.doubts.append(text)


def _logical_shape(
    layout: Layout, shape: tuple[int, ...], per_element: Fraction
) -> tuple[int, ...] | None:
    if layout.flat:
        flat = math.prod(shape) * per_element
        return (int(flat),) if flat.denominator == 1 else None
    dims = list(shape)
    if layout.packed_dim is not None and dims:
        size = dims[layout.packed_dim] * per_element
        if size.denominator != 1:
            return None
        dims[layout.packed_dim] = int(size)
    if layout.merge_blocks and len(dims) >= 2:
        dims[-2:] = [dims[-2] * dims[-1]]
    if layout.transposed and len(dims) == 2:
        dims.reverse()
    return tuple(dims)


def with_shapes(tensors: Iterable[Tensor], shapes: Mapping[str, tuple[int, ...]]) -> list[Tensor]:
    """Flat unpacked tensors (bitsandbytes) take the architecture's shape where sizes agree."""
    result = []
    for tensor in tensors:
        known = shapes.get(tensor.name)
        if len(tensor.shape) == 1 and known and math.prod(known) == tensor.elements:
            tensor = replace(tensor, shape=known)
        result.append(tensor)
    return result


def _ints(settings: Mapping[str, Any], keys: Iterable[str]) -> list[int]:
    found = []
    for key in keys:
        for value in _lookup(settings, key.split(".")):
            if isinstance(value, int) and not isinstance(value, bool):
                found.append(value)
    return found


def _first_int(settings: Mapping[str, Any], keys: Iterable[str]) -> int | None:
    return next(iter(_ints(settings, keys)), None)


def _lookup(value: Any, path: list[str]) -> list[Any]:
    """Values at a dotted path; "*" stands for every entry of a table."""
    if not path:
        return [value]
    if not isinstance(value, Mapping):
        return []
    head, rest = path[0], path[1:]
    children = list(value.values()) if head == "*" else [value[head]] if head in value else []
    return [found for child in children for found in _lookup(child, rest)]


def _shown(settings: Mapping[str, Any]) -> dict[str, Any]:
    keys: list[str] = _data()["report_keys"]
    return {key: settings[key] for key in keys if key in settings}
