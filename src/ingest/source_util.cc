// Pieces shared by the ingest sources and the pipeline (source_util.h).
#include "source_util.h"

#include <chrono>

#include "millpond/paimon/schema.h"

namespace millpond::ingest::source_util {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ReplayWal(const WriteAheadLog& wal, Sink* sink, const std::atomic<bool>& stop,
                 const std::function<void(const WalRecord&, const SourceMessage&)>& seen) {
  return wal.Replay([&](const WalRecord& rec) -> Status {
    SourceMessage m;
    m.position = rec.position;
    m.received_micros = rec.received_micros;
    m.address = rec.address;
    m.payload = rec.payload;
    m.replayed = true;
    if (seen) seen(rec, m);
    while (!sink->HasRoom()) {
      if (stop.load()) return Status::Cancelled("stopped");
      sink->WaitForRoom(std::chrono::milliseconds(100));
    }
    return sink->Deliver(m, nullptr);
  });
}

Status CreateFromSpec(TableSet* tables, const TableSpec& spec) {
  if (spec.columns.empty()) {
    return Status::Invalid("table ", spec.name, " does not exist and the map gives no columns");
  }
  paimon::TableSchema schema;
  ARROW_ASSIGN_OR_RAISE(schema.fields, paimon::ParseColumns(spec.columns));
  schema.partition_keys = paimon::SplitNames(spec.partition);
  schema.primary_keys = paimon::SplitNames(spec.primary_key);
  schema.options = spec.options;
  // emplace keeps a bucket the options already give
  if (!schema.primary_keys.empty()) schema.options.emplace("bucket", "1");
  return tables->OpenOrCreate(spec.name, schema).status();
}

}  // namespace millpond::ingest::source_util
