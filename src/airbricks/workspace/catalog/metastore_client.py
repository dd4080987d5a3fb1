"""A minimal client of the shared Hive metastore service (Thrift, binary protocol, buffered transport).

Only the handful of ``ThriftHiveMetastore`` calls Unity Catalog's tables API needs. Replies are read
generically (a struct is ``{field id: value}``), so no generated IDL code is needed: the field ids are the
metastore's (``Table``: 1 tableName, 2 dbName, 3 owner, 4 createTime, 7 sd, 8 partitionKeys, 9 parameters,
11 viewExpandedText, 12 tableType; ``StorageDescriptor``: 1 cols, 2 location; ``FieldSchema``: 1 name, 2 type,
3 comment). Needs the ``thrift`` package (in ``airbricks[spark]``).
"""

from __future__ import annotations

from typing import Any

from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.Thrift import TApplicationException, TMessageType, TType
from thrift.transport.TSocket import TSocket
from thrift.transport.TTransport import TBufferedTransport


class MetastoreError(Exception):
    """An exception the metastore answered with; ``kind`` is its reply field (e.g. ``no_such_object``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


#: Reply field ids of the exceptions, per call, as the metastore's IDL numbers them.
_EXCEPTIONS = {
    "get_table": {1: "meta", 2: "no_such_object"},
    "drop_table": {1: "no_such_object", 2: "meta"},
    "create_database": {1: "already_exists", 2: "invalid_object", 3: "meta"},
    "get_all_tables": {1: "meta"},
    "get_all_databases": {1: "meta"},
    "get_database": {1: "no_such_object", 2: "meta"},
    "create_table": {1: "already_exists", 2: "invalid_object", 3: "meta", 4: "no_such_object"},
}


class Metastore:
    """One connection per call (the calls are rare and short; nothing to keep alive)."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout_ms: int = 30_000) -> None:
        self.host, self.port, self.timeout_ms = host, port, timeout_ms

    def databases(self) -> list[str]:
        return list(self._call("get_all_databases", []) or [])

    def tables(self, database: str) -> list[str]:
        return list(self._call("get_all_tables", [(1, TType.STRING, database)]) or [])

    def table(self, database: str, name: str) -> dict[int, Any]:
        return self._call("get_table", [(1, TType.STRING, database), (2, TType.STRING, name)])

    def drop_table(self, database: str, name: str) -> None:
        self._call("drop_table", [(1, TType.STRING, database), (2, TType.STRING, name), (3, TType.BOOL, True)])

    def create_database(self, name: str, description: str = "") -> None:
        self._call(
            "create_database",
            [(1, TType.STRUCT, [(1, TType.STRING, name), (2, TType.STRING, description), (4, TType.MAP, {})])],
        )

    def database_location(self, name: str) -> str:
        """Where a database keeps its managed tables (``Database``: 3 locationUri)."""
        return str(self._call("get_database", [(1, TType.STRING, name)]).get(3, ""))

    def create_table(self, table: list[tuple[int, int, Any]]) -> None:
        """``create_table(Table)``: ``table`` is the ``Table`` struct as (field id, thrift type, value) triples."""
        self._call("create_table", [(1, TType.STRUCT, table)])

    def _call(self, method: str, args: list[tuple[int, int, Any]]) -> Any:
        socket = TSocket(self.host, self.port)
        socket.setTimeout(self.timeout_ms)
        transport = TBufferedTransport(socket)
        protocol = TBinaryProtocol(transport)
        transport.open()
        try:
            protocol.writeMessageBegin(method, TMessageType.CALL, 1)
            _write_struct(protocol, args)
            protocol.writeMessageEnd()
            transport.flush()
            _, kind, _ = protocol.readMessageBegin()
            if kind == TMessageType.EXCEPTION:
                error = TApplicationException()
                error.read(protocol)
                raise MetastoreError("application", str(error.message))
            reply = _read_struct(protocol)
            protocol.readMessageEnd()
        finally:
            transport.close()
        for field, name in _EXCEPTIONS.get(method, {}).items():
            if field in reply:
                raise MetastoreError(name, str(reply[field].get(1, "")))
        return reply.get(0)


def _write_struct(protocol: TBinaryProtocol, fields: list[tuple[int, int, Any]]) -> None:
    protocol.writeStructBegin("args")
    for fid, ftype, value in fields:
        protocol.writeFieldBegin("", ftype, fid)
        _write_value(protocol, ftype, value)
        protocol.writeFieldEnd()
    protocol.writeFieldStop()
    protocol.writeStructEnd()


def _write_value(protocol: TBinaryProtocol, ftype: int, value: Any) -> None:
    if ftype == TType.STRING:
        protocol.writeString(value)
    elif ftype == TType.BOOL:
        protocol.writeBool(value)
    elif ftype == TType.I32:
        protocol.writeI32(value)
    elif ftype == TType.LIST:  # (element type, items)
        etype, items = value
        protocol.writeListBegin(etype, len(items))
        for item in items:
            _write_value(protocol, etype, item)
        protocol.writeListEnd()
    elif ftype == TType.STRUCT:
        _write_struct(protocol, value)
    elif ftype == TType.MAP:  # string -> string, the only maps written here
        protocol.writeMapBegin(TType.STRING, TType.STRING, len(value))
        for key, item in value.items():
            protocol.writeString(key)
            protocol.writeString(item)
        protocol.writeMapEnd()
    else:
        raise TypeError(f"unsupported thrift type {ftype}")


def _read_struct(protocol: TBinaryProtocol) -> dict[int, Any]:
    out: dict[int, Any] = {}
    protocol.readStructBegin()
    while True:
        _, ftype, fid = protocol.readFieldBegin()
        if ftype == TType.STOP:
            break
        out[fid] = _read_value(protocol, ftype)
        protocol.readFieldEnd()
    protocol.readStructEnd()
    return out


def _read_value(protocol: TBinaryProtocol, ftype: int) -> Any:
    simple = {
        TType.BOOL: protocol.readBool,
        TType.BYTE: protocol.readByte,
        TType.I16: protocol.readI16,
        TType.I32: protocol.readI32,
        TType.I64: protocol.readI64,
        TType.DOUBLE: protocol.readDouble,
    }
    if ftype in simple:
        return simple[ftype]()
    if ftype == TType.STRING:
        return protocol.readBinary().decode("utf-8", "replace")
    if ftype == TType.STRUCT:
        return _read_struct(protocol)
    if ftype == TType.MAP:
        ktype, vtype, size = protocol.readMapBegin()
        result = {_read_value(protocol, ktype): _read_value(protocol, vtype) for _ in range(size)}
        protocol.readMapEnd()
        return result
    if ftype in (TType.LIST, TType.SET):
        etype, size = protocol.readListBegin() if ftype == TType.LIST else protocol.readSetBegin()
        items = [_read_value(protocol, etype) for _ in range(size)]
        protocol.readListEnd() if ftype == TType.LIST else protocol.readSetEnd()
        return items
    raise TypeError(f"unsupported thrift type {ftype}")
