"""Reading a .tflite flatbuffer into small immutable descriptions (tensors, ops).

Only what the native engine needs is kept. Anything the flatbuffer library raises on corrupt
input is turned into a CompileError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinybench.compiler.errors import CompileError

try:  # The schema ships with the reference interpreter package.
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "tinybench.compiler needs the tflite-micro package (its bundled schema)"
    ) from exc

# TensorType codes of the TF Lite schema that the compiler names in messages.
TENSOR_TYPE_NAMES: dict[int, str] = {
    value: name for name, value in vars(schema.TensorType).items() if not name.startswith("_")
}
BUILTIN_OP_NAMES: dict[int, str] = {
    value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")
}

__all__ = ["INT8", "INT32", "Model", "Operator", "Tensor", "read_model", "schema"]

INT8 = "INT8"
INT32 = "INT32"


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    quantized_dimension: int
    data: bytes | None  # constant contents, None for activations

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def scale(self) -> float:
        return self.scales[0] if self.scales else 0.0

    @property
    def zero_point(self) -> int:
        return self.zero_points[0] if self.zero_points else 0

    def describe(self) -> str:
        return f"tensor {self.index} '{self.name}' ({self.dtype} {list(self.shape)})"

    def array(self) -> np.ndarray[Any, Any]:
        """The constant contents as a numpy array of the tensor's shape."""
        if self.data is None:
            raise CompileError(f"{self.describe()} has no constant data")
        dtypes = {INT8: np.int8, INT32: np.int32}
        if self.dtype not in dtypes:
            raise CompileError(f"{self.describe()}: constant type {self.dtype} is not supported")
        dt = np.dtype(dtypes[self.dtype]).newbyteorder("<")
        expected = self.size * dt.itemsize
        if len(self.data) != expected:
            raise CompileError(
                f"{self.describe()}: constant buffer holds {len(self.data)} bytes, "
                f"the shape needs {expected}"
            )
        return np.frombuffer(self.data, dtype=dt).reshape(self.shape)


@dataclass(frozen=True)
class Operator:
    index: int
    name: str  # builtin op name, e.g. CONV_2D
    inputs: tuple[int, ...]  # tensor indexes, -1 for an omitted optional input
    outputs: tuple[int, ...]
    options: Any  # the flatc object-API options object (or None)

    def describe(self) -> str:
        return f"op {self.index} ({self.name})"


@dataclass(frozen=True)
class Model:
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def _unpack(tflite: bytes) -> Any:
    if len(tflite) < 8:
        raise CompileError(f"not a TF Lite model: only {len(tflite)} bytes")
    if tflite[4:8] != b"TFL3":
        raise CompileError(
            f"not a TF Lite model: file identifier is {tflite[4:8]!r}, expected b'TFL3'"
        )
    try:
        return schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    except Exception as exc:  # corrupt offsets surface as assorted exceptions
        raise CompileError(
            f"corrupt or truncated TF Lite flatbuffer ({len(tflite)} bytes): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _floats(values: Any) -> tuple[float, ...]:
    if values is None:
        return ()
    return tuple(float(v) for v in np.asarray(values, dtype=np.float32).reshape(-1))


def _ints(values: Any) -> tuple[int, ...]:
    if values is None:
        return ()
    return tuple(int(v) for v in np.asarray(values).reshape(-1))


def read_model(tflite: bytes) -> Model:
    """Parse and structurally check a .tflite file (one subgraph, consistent indexes)."""
    raw = _unpack(tflite)
    try:
        return _convert(raw)
    except CompileError:
        raise
    except Exception as exc:  # lazily decoded fields of a corrupt file
        raise CompileError(f"corrupt TF Lite flatbuffer: {type(exc).__name__}: {exc}") from exc


def _convert(raw: Any) -> Model:
    subgraphs = raw.subgraphs or []
    if len(subgraphs) != 1:
        raise CompileError(f"the model has {len(subgraphs)} subgraphs; exactly one is supported")
    sg = subgraphs[0]
    buffers = raw.buffers or []
    opcodes = raw.operatorCodes or []
    tensors: list[Tensor] = []
    for index, t in enumerate(sg.tensors or []):
        name = t.name.decode("utf-8", "replace") if isinstance(t.name, bytes) else str(t.name)
        dtype = TENSOR_TYPE_NAMES.get(int(t.type), f"type#{int(t.type)}")
        data: bytes | None = None
        if t.buffer < 0 or t.buffer >= max(len(buffers), 1):
            raise CompileError(f"tensor {index} '{name}' refers to missing buffer {t.buffer}")
        if t.buffer > 0 and t.buffer < len(buffers):
            buf = buffers[t.buffer]
            if buf.offset is not None and buf.offset > 1:
                raise CompileError(
                    f"tensor {index} '{name}': buffers stored outside the flatbuffer "
                    "(models over 2 GB) are not supported"
                )
            if buf.data is not None and len(buf.data) > 0:
                data = np.asarray(buf.data, dtype=np.uint8).tobytes()
        q = t.quantization
        scales = _floats(q.scale) if q is not None else ()
        zps = _ints(q.zeroPoint) if q is not None else ()
        qdim = int(q.quantizedDimension) if q is not None else 0
        shape = _ints(t.shape)
        if any(d < 0 for d in shape):
            raise CompileError(f"tensor {index} '{name}' has a dynamic shape {list(shape)}")
        tensors.append(Tensor(index, name, shape, dtype, scales, zps, qdim, data))
    ops: list[Operator] = []
    for index, op in enumerate(sg.operators or []):
        if op.opcodeIndex < 0 or op.opcodeIndex >= len(opcodes):
            raise CompileError(f"op {index} refers to missing operator code {op.opcodeIndex}")
        oc = opcodes[op.opcodeIndex]
        code = max(int(oc.builtinCode), int(oc.deprecatedBuiltinCode))
        name = BUILTIN_OP_NAMES.get(code, f"builtin#{code}")
        if name == "CUSTOM":
            custom = oc.customCode.decode() if isinstance(oc.customCode, bytes) else oc.customCode
            name = f"CUSTOM({custom})"
        inputs = _ints(op.inputs)
        outputs = _ints(op.outputs)
        for t_index in (*inputs, *outputs):
            if t_index < -1 or t_index >= len(tensors):
                raise CompileError(f"op {index} ({name}) refers to missing tensor {t_index}")
        ops.append(Operator(index, name, inputs, outputs, op.builtinOptions))
    for t_index in (*_ints(sg.inputs), *_ints(sg.outputs)):
        if t_index < 0 or t_index >= len(tensors):
            raise CompileError(f"subgraph input/output refers to missing tensor {t_index}")
    return Model(tuple(tensors), tuple(ops), _ints(sg.inputs), _ints(sg.outputs))
