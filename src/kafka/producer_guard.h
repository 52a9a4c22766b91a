// Producer guard: the librdkafka settings that would break what pgoutbox
// promises, refused before anything starts.
//
// pgoutbox confirms the slot past an event only on a successful delivery
// report, and promises per-aggregate order through the key. That holds only
// while the producer keeps these properties; each rule says why it refuses:
//
//  - enable.idempotence must be true: without it a retried batch can be
//    stored twice, or after a later batch of the same partition (reordered).
//  - acks (request.required.acks) must be all (-1): with fewer, a record the
//    leader acknowledged can be lost with the leader after the slot was
//    confirmed past it.
//  - partitioner must keep every key on one partition: consistent, murmur2,
//    murmur2_random (the default), fnv1a, fnv1a_random. `random` spreads a
//    key over partitions; `consistent_random` (librdkafka's own default)
//    spreads the empty key, a valid aggregate id. Either loses per-key order.
//  - delivery.report.only.error must be false: the slot is confirmed only on
//    a report of success; without them nothing is ever confirmed and the
//    server keeps WAL for ever.
//  - max.in.flight.requests.per.connection at most 5: the broker remembers
//    the last 5 batches per producer and partition; more in flight break
//    idempotent deduplication and order.
//  - retries (message.send.max.retries) at least 1: the idempotent producer
//    needs them to carry a batch through a transient error in order.
//  - queuing.strategy must be fifo: lifo sends later events first.
//  - transactional.id must be unset: pgoutbox runs no Kafka transactions, and
//    a transactional producer refuses to produce outside one (every event
//    would fail); consumers deduplicate on the `id` header instead.
//  - queue.buffering.max.kbytes (times 1024) at least message.max.bytes: a
//    record larger than the local queue is refused with QUEUE_FULL for ever,
//    so the stream would wait for ever.
//
// Allowed: everything else, in particular what only trades speed or latency
// (linger.ms, batch.size, batch.num.messages, compression.type, ...), a finite
// message.timeout.ms or retries (an event that fails stops the stream, it is
// never confirmed) and enable.gapless.guarantee (more errors become fatal,
// which stops the stream).
//
// Thread safety: a pure function of the configuration it is given.
#pragma once

#include <librdkafka/rdkafka.h>

#include "common/status.h"

namespace pgoutbox::kafka {

// Judges the effective values of `conf` (pgoutbox's defaults and the user's
// -X alike, read back with rd_kafka_conf_get). A topic-level property that
// was never set reads as librdkafka's default. OK if every rule above holds;
// otherwise InvalidArgument with one line naming the first property refused,
// its value and why.
Status CheckProducerGuarantees(const rd_kafka_conf_t* conf);

}  // namespace pgoutbox::kafka
