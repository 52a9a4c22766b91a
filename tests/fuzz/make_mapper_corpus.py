#!/usr/bin/env python3
"""Writes the seed corpus of the mapper fuzz target (tests/fuzz/corpus/mapper/).

Each seed is the input format of tests/fuzz/mapper_fuzz.cc: a configuration
byte, then records of a 2-byte big-endian length and one pgoutput message (an
empty record is a reconnect). The messages are the ones captured from
PostgreSQL 15 in tests/pgoutput/captured_messages.h, plus a few inserts into
the same outbox table built here in the same format (bytea payloads, headers
JSON, rows the mapper must refuse).

Usage: tests/fuzz/make_mapper_corpus.py   (rewrites the directory's seeds)
"""
import pathlib
import re
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
CAPTURED = ROOT / "tests/pgoutput/captured_messages.h"
OUT = ROOT / "tests/fuzz/corpus/mapper"

OUTBOX_OID = 16389
BYTEA_OID = 17


def load_captured():
    text = CAPTURED.read_text()
    arrays = {}
    for name, body in re.findall(r"inline constexpr uint8_t (\w+)\[\] = \{(.*?)\};", text, re.S):
        arrays[name] = bytes(int(h, 16) for h in re.findall(r"0x([0-9a-fA-F]{2})", body))
    return arrays


def with_payload_type(relation, oid):
    """The Relation message with the payload column's type changed to `oid`."""
    marker = b"\x00payload\x00"
    at = relation.index(marker) + len(marker)
    return relation[:at] + struct.pack(">I", oid) + relation[at + 4:]


def insert(values, relation=OUTBOX_OID):
    """An Insert message; None is NULL, bytes/str a text value."""
    out = b"I" + struct.pack(">I", relation) + b"N" + struct.pack(">H", len(values))
    for value in values:
        if value is None:
            out += b"n"
        else:
            data = value.encode() if isinstance(value, str) else value
            out += b"t" + struct.pack(">I", len(data)) + data
    return out


def row(id="d3000000-0000-4000-8000-000000000004", aggregate_type="order", aggregate_id="44",
        event_type="OrderShipped", topic=None, payload='{"n": 1}', headers=None,
        created_at="2024-05-06 07:08:11+00"):
    return insert([id, aggregate_type, aggregate_id, event_type, topic, payload, headers,
                   created_at])


def seed(config, *messages):
    out = bytes([config])
    for message in messages:
        out += struct.pack(">H", len(message)) + message
    return out


RESET = b""


def main():
    c = load_captured()
    rel, row1, row2 = c["kRelationOutbox"], c["kInsertOutboxRow1"], c["kInsertOutboxRow2"]
    rel_bytea = with_payload_type(rel, BYTEA_OID)
    seeds = {
        "rows": seed(0, rel, row1, row2),
        "transaction": seed(0, c["kBeginTxn1"], rel, row1, row2, c["kMessageTransactional"],
                            c["kCommitTxn1"]),
        "template_event_type_key": seed(1, rel, row1, row2),
        "debezium_columns_refused": seed(2, rel, row1),
        "constant_topic_reset": seed(3, rel, row1, RESET, row2, rel, row2),
        "column_placeholder": seed(4, rel, row1, row2),
        "other_tables_and_origin": seed(0, c["kRelationItems"], c["kInsertItems"],
                                        c["kTypeItemState"], rel, c["kBeginTxnWithOrigin"],
                                        c["kOrigin"], c["kInsertOutboxWithOrigin"],
                                        c["kCommitTxnWithOrigin"]),
        "binary_value": seed(0, rel, c["kInsertOutboxRow1Binary"]),
        "bytea_payload": seed(0, rel_bytea, row(payload="\\x7b7d"),
                              row(payload="a\\\\b\\001c"), row(payload="\\x7"),
                              row(payload="\\q")),
        "headers_json": seed(0, rel,
                             row(headers='{"trace": "t-1", "n": 2.5e3, "ok": false, "x": null}'),
                             row(headers='{"esc": "a\\"b\\\\c\\n\\u00e9\\ud83d\\ude00"}'),
                             row(headers='{"nested": {"a": 1}}'),
                             row(headers='["not", "an", "object"]'),
                             row(headers='{"a": "b"} trailing')),
        "refused_rows": seed(0, rel, row(id=None), row(topic="bad topic"),
                             row(aggregate_type="bad/type"), row(topic=""),
                             insert(["e", "order", "1", "T"]),
                             row(event_type=None), row(payload=None)),
        "relation_replaced": seed(0, rel, row1, rel_bytea, row1, rel, row2),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (OUT / name).write_bytes(data)
    print(f"wrote {len(seeds)} seeds to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
