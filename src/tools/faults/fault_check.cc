#include "tools/faults/fault_check.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace pgoutbox::faults {

namespace {

constexpr size_t kMaxExamples = 20;

void Example(CheckReport* r, std::string line) {
  if (r->examples.size() < kMaxExamples) r->examples.push_back(std::move(line));
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) return fields;
    start = tab + 1;
  }
}

template <typename Int>
bool ParseInt(std::string_view text, Int* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Calls `on_line(fields, line_number)` for every non-empty line; stops at
// the first non-OK status.
template <typename F>
Status ForEachLine(std::string_view text, F on_line) {
  size_t number = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (Status st = on_line(SplitTabs(line), number); !st.ok()) return st;
  }
  return Status::Ok();
}

Status BadLine(const char* what, size_t number) {
  return Status::Corruption(std::string(what) + " line " + std::to_string(number) + ": malformed");
}

}  // namespace

bool CheckReport::ok() const {
  return lost == 0 && uncommitted_published == 0 && rolled_back_published == 0 &&
         order_violations == 0 && keys_on_several_partitions == 0 && mismatched == 0 &&
         wrong_table_header == 0 && offset_gaps == 0 && committed_seq_gaps == 0 &&
         committed_marked_rolled_back == 0 && committed_wrong_source == 0;
}

CheckReport Check(const std::vector<CommittedEvent>& committed,
                  const std::vector<DeliveredRecord>& delivered, std::vector<FaultEvent> faults) {
  CheckReport r;
  auto figures = [&r](EventSource source) -> SourceFigures& {
    return r.by_source[static_cast<size_t>(source)];
  };

  // Ground truth: id -> row; per key, the seqs must be 1..n.
  std::unordered_map<std::string_view, const CommittedEvent*> by_id;
  by_id.reserve(committed.size());
  std::map<std::string_view, std::vector<int64_t>> seqs_by_key;
  for (const CommittedEvent& e : committed) {
    if (!by_id.emplace(e.id, &e).second) continue;
    seqs_by_key[e.key].push_back(e.seq);
    ++figures(e.source).committed;
    IdFate fate = FateOfId(e.id);
    if (fate == IdFate::kRolledBackTransaction || fate == IdFate::kRolledBackSavepoint) {
      ++r.committed_marked_rolled_back;
      Example(&r, std::string(SourceLabel(e.source)) + " holds " + e.id +
                      ", an id marked as rolled back");
    }
    if (SourceOfId(e.id) != e.source) {
      ++r.committed_wrong_source;
      Example(&r, std::string(SourceLabel(e.source)) + " holds " + e.id + ", an id of " +
                      SourceLabel(SourceOfId(e.id)));
    }
  }
  r.committed = by_id.size();
  r.committed_keys = seqs_by_key.size();
  for (auto& [key, seqs] : seqs_by_key) {
    std::sort(seqs.begin(), seqs.end());
    for (size_t i = 0; i < seqs.size(); ++i) {
      if (seqs[i] != static_cast<int64_t>(i + 1)) {
        ++r.committed_seq_gaps;
        Example(&r, "key " + std::string(key) + ": committed seqs are not 1.." +
                        std::to_string(seqs.size()) + " (position " + std::to_string(i + 1) +
                        " holds " + std::to_string(seqs[i]) + ")");
        break;
      }
    }
  }

  // Kafka order: by topic, partition, offset; the same offset twice is the
  // consumer reading it again, not a second record.
  std::vector<const DeliveredRecord*> records;
  records.reserve(delivered.size());
  for (const DeliveredRecord& d : delivered) records.push_back(&d);
  std::sort(records.begin(), records.end(), [](const DeliveredRecord* a, const DeliveredRecord* b) {
    return std::tie(a->topic, a->partition, a->offset, a->arrival_ms) <
           std::tie(b->topic, b->partition, b->offset, b->arrival_ms);
  });
  {
    std::vector<const DeliveredRecord*> unique;
    unique.reserve(records.size());
    for (const DeliveredRecord* d : records) {
      if (!unique.empty() && unique.back()->topic == d->topic &&
          unique.back()->partition == d->partition && unique.back()->offset == d->offset) {
        ++r.consumer_redeliveries;
        continue;
      }
      unique.push_back(d);
    }
    records.swap(unique);
  }
  r.records = records.size();

  // Offsets the consumer never saw: each partition should read 0..last.
  for (size_t i = 0; i < records.size();) {
    size_t j = i;
    while (j < records.size() && records[j]->topic == records[i]->topic &&
           records[j]->partition == records[i]->partition) {
      ++j;
    }
    const int64_t last = records[j - 1]->offset;
    const uint64_t gaps = static_cast<uint64_t>(last + 1) - (j - i);
    if (gaps > 0) {
      r.offset_gaps += gaps;
      Example(&r, "partition " + records[i]->topic + "/" + std::to_string(records[i]->partition) +
                      ": " + std::to_string(gaps) + " offset(s) below " + std::to_string(last) +
                      " never read");
    }
    i = j;
  }

  std::sort(faults.begin(), faults.end(),
            [](const FaultEvent& a, const FaultEvent& b) { return a.at_ms < b.at_ms; });
  r.duplicates_by_fault.push_back(DuplicateShare{FaultEvent{0, "before the first fault"}, 0});
  for (const FaultEvent& f : faults) r.duplicates_by_fault.push_back(DuplicateShare{f, 0});
  auto share_of = [&](int64_t arrival_ms) -> DuplicateShare& {
    auto it = std::upper_bound(faults.begin(), faults.end(), arrival_ms,
                               [](int64_t t, const FaultEvent& f) { return t < f.at_ms; });
    return r.duplicates_by_fault[static_cast<size_t>(it - faults.begin())];
  };

  struct KeyState {
    std::string_view topic;
    int32_t partition = -1;
    // The highest seq of the key's events first read so far, per source.
    std::array<int64_t, kEventSources> max_seq{};
    bool split = false;
  };
  std::unordered_map<std::string_view, KeyState> keys;
  std::unordered_set<std::string_view> seen;
  seen.reserve(records.size());
  for (const DeliveredRecord* d : records) {
    auto row = by_id.find(d->id);
    const CommittedEvent* c = row == by_id.end() ? nullptr : row->second;
    const bool first = seen.insert(d->id).second;
    const EventSource source = c ? c->source : SourceOfId(d->id);
    if (!first) {
      ++r.duplicates;
      ++figures(source).duplicates;
      ++share_of(d->arrival_ms).records;
    }
    IdFate fate = FateOfId(d->id);
    if (c == nullptr) {
      if (!first) continue;  // counted once per id
      ++r.uncommitted_published;
      ++figures(source).uncommitted_published;
      if (fate == IdFate::kRolledBackTransaction || fate == IdFate::kRolledBackSavepoint) {
        ++r.rolled_back_published;
        ++figures(source).rolled_back_published;
        if (fate == IdFate::kRolledBackSavepoint) ++r.rolled_back_savepoint_published;
      }
      Example(&r, "published but not committed: id " + d->id + " (" + SourceLabel(source) +
                      ") at " + d->topic + "/" + std::to_string(d->partition) + "@" +
                      std::to_string(d->offset) +
                      (fate == IdFate::kRolledBackTransaction ? " (rolled-back transaction)"
                       : fate == IdFate::kRolledBackSavepoint ? " (rolled-back savepoint)"
                                                              : ""));
      continue;
    }
    if (first) ++figures(source).delivered;
    if (first && (c->key != d->key || (d->seq >= 0 && d->seq != c->seq))) {
      ++r.mismatched;
      Example(&r, "record " + d->topic + "/" + std::to_string(d->partition) + "@" +
                      std::to_string(d->offset) + " of id " + d->id + " has key " + d->key +
                      " seq " + std::to_string(d->seq) + ", " + SourceLabel(source) + " " + c->key +
                      " seq " + std::to_string(c->seq));
    }
    const std::string_view want_table = IsTableSource(source) ? SourceLabel(source) : "";
    if (first && d->table && *d->table != want_table) {
      ++r.wrong_table_header;
      Example(&r, "record " + d->topic + "/" + std::to_string(d->partition) + "@" +
                      std::to_string(d->offset) + " of id " + d->id + " (" + SourceLabel(source) +
                      ") has table header \"" + *d->table + "\"");
    }
    KeyState& k = keys[c->key];
    if (k.partition < 0) {
      k.topic = d->topic;
      k.partition = d->partition;
    } else if (!k.split && (k.topic != d->topic || k.partition != d->partition)) {
      k.split = true;
      ++r.keys_on_several_partitions;
      Example(&r, "key " + c->key + " is on " + std::string(k.topic) + "/" +
                      std::to_string(k.partition) + " and " + d->topic + "/" +
                      std::to_string(d->partition));
    }
    if (!first) continue;
    // The latest event of the key read before this one, among the sources
    // pgoutbox orders this one with (all but the other table), and among
    // the other table.
    int64_t before = 0, before_other_table = 0;
    EventSource before_source = source;
    for (int s = 0; s < kEventSources; ++s) {
      const auto other = static_cast<EventSource>(s);
      const int64_t seq = k.max_seq[static_cast<size_t>(s)];
      if (other != source && IsTableSource(other) && IsTableSource(source)) {
        before_other_table = std::max(before_other_table, seq);
      } else if (seq > before) {
        before = seq;
        before_source = other;
      }
    }
    if (c->seq < before) {
      ++r.order_violations;
      ++figures(source).order_violations;
      Example(&r, "key " + c->key + ": seq " + std::to_string(c->seq) + " (id " + c->id + ", " +
                      SourceLabel(source) + ") first read at " + d->topic + "/" +
                      std::to_string(d->partition) + "@" + std::to_string(d->offset) +
                      ", after seq " + std::to_string(before) + " (" + SourceLabel(before_source) +
                      ")");
    } else if (c->seq < before_other_table) {
      ++r.cross_table_reorders;
      ++figures(source).cross_table_reorders;
    }
    int64_t& mine = k.max_seq[static_cast<size_t>(source)];
    mine = std::max(mine, c->seq);
  }
  r.distinct_delivered = seen.size();

  for (const CommittedEvent& e : committed) {
    if (seen.count(e.id) == 0 && by_id.find(e.id)->second == &e) {
      ++r.lost;
      ++figures(e.source).lost;
      Example(&r, "lost: id " + e.id + " (" + SourceLabel(e.source) + ") key " + e.key + " seq " +
                      std::to_string(e.seq));
    }
  }
  return r;
}

Result<std::vector<CommittedEvent>> ParseCommitted(std::string_view text) {
  std::vector<CommittedEvent> out;
  Status st = ForEachLine(text, [&](const std::vector<std::string_view>& f, size_t n) {
    CommittedEvent e;
    if (f.size() < 3 || f[0].empty() || !ParseInt(f[2], &e.seq)) return BadLine("committed", n);
    if (f.size() >= 4) {
      std::optional<EventSource> source = SourceOfLabel(f[3]);
      if (!source) return BadLine("committed", n);
      e.source = *source;
    }
    e.id = f[0];
    e.key = f[1];
    out.push_back(std::move(e));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<DeliveredRecord>> ParseRecords(std::string_view text) {
  std::vector<DeliveredRecord> out;
  Status st = ForEachLine(text, [&](const std::vector<std::string_view>& f, size_t n) {
    DeliveredRecord d;
    if (f.size() < 7 || !ParseInt(f[0], &d.arrival_ms) || !ParseInt(f[2], &d.partition) ||
        !ParseInt(f[3], &d.offset) || !ParseInt(f[6], &d.seq)) {
      return BadLine("records", n);
    }
    d.topic = f[1];
    d.key = f[4];
    d.id = f[5];
    if (f.size() >= 8) d.table = f[7] == "-" ? std::string() : std::string(f[7]);
    out.push_back(std::move(d));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<FaultEvent>> ParseFaults(std::string_view text) {
  std::vector<FaultEvent> out;
  Status st = ForEachLine(text, [&](const std::vector<std::string_view>& f, size_t n) {
    FaultEvent e;
    if (f.size() < 2 || !ParseInt(f[0], &e.at_ms) || f[1].empty()) return BadLine("faults", n);
    e.what = f[1];
    out.push_back(std::move(e));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace pgoutbox::faults
