// Pieces shared by the ingest sources (MQTT, Modbus, OPC UA) and the pipeline (private to
// src/ingest): the wall clock in microseconds, replaying a source's write-ahead log into the sink,
// and creating a table from a map's `tables:` entry. The functions keep no state.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "millpond/common/status.h"
#include "millpond/ingest/mapping.h"
#include "millpond/ingest/pipeline.h"
#include "millpond/ingest/wal.h"

namespace millpond::ingest::source_util {

/// Wall-clock time in microseconds since the Unix epoch.
int64_t NowMicros();

/// Delivers every message logged in `wal` to `sink` (marked replayed), waiting while the sink has
/// no room. `seen`, when set, sees each record and its message before delivery. Returns
/// Cancelled when `stop` is set while waiting for room.
Status ReplayWal(const WriteAheadLog& wal, Sink* sink, const std::atomic<bool>& stop,
                 const std::function<void(const WalRecord&, const SourceMessage&)>& seen = {});

/// Creates the table `spec` describes (columns, partition, primary key, options; a primary-key
/// table gets bucket=1 unless the options say otherwise). Refuses a spec without columns.
Status CreateFromSpec(TableSet* tables, const TableSpec& spec);

}  // namespace millpond::ingest::source_util
