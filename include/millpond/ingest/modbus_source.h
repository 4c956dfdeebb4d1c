// The Modbus TCP connector (libmodbus): one thread per device polls its planned reads every
// interval and hands each poll (all its registers, or the error of a failed one) to the source's
// thread, which appends it to the write-ahead log, then delivers it as one message: a poll is
// committed whole, exactly once (its position is the poll's sequence number and goes into the
// snapshot with the data). When the pipeline's buffer is full a device skips the poll cycle and
// counts it instead of reading (no memory grows). Timeouts and lost connections become
// dead-letter rows; the device reconnects with back-off. ModbusMapper decodes polls into tag rows.
// One Run per instance; Committed may be called from another thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "millpond/common/status.h"
#include "millpond/ingest/modbus_config.h"
#include "millpond/ingest/modbus_rows.h"
#include "millpond/ingest/pipeline.h"
#include "millpond/ingest/wal.h"

namespace millpond::ingest {

class IngestMetrics;

struct ModbusOptions {
  std::string source_id;
  /// Where the write-ahead log lives (local folder).
  std::string wal_dir;
  WriteAheadLog::Options wal;
  /// Stop after this long (< 0: until stopped).
  int64_t duration_ms = -1;
  /// Stop once every device made this many poll attempts (< 0: until stopped).
  int64_t max_polls = -1;
  /// Longest wait between reconnect attempts of a device that is down.
  int64_t max_backoff_ms = 5000;
};

/// Counters of one run, readable while it runs.
struct ModbusStats {
  std::atomic<int64_t> polls{0};      ///< polls read and delivered (complete)
  std::atomic<int64_t> failed{0};     ///< polls that failed (timeout, connection, exception)
  std::atomic<int64_t> skipped{0};    ///< poll cycles skipped because the buffer was full
  std::atomic<int64_t> reconnects{0};
  std::atomic<int64_t> points{0};     ///< registers and bits read
};

class ModbusSource final : public Source {
 public:
  /// `config` must be planned and outlive the source.
  static Result<std::unique_ptr<ModbusSource>> Make(const modbus::Config* config,
                                                    ModbusOptions options,
                                                    IngestMetrics* metrics = nullptr);
  ~ModbusSource() override;

  const std::string& id() const override { return options_.source_id; }
  Status Run(int64_t position_floor, Sink* sink, const std::atomic<bool>& stop) override;
  void Committed(int64_t position) override { committed_.store(position); }
  const ModbusStats& stats() const { return stats_; }

 private:
  ModbusSource(const modbus::Config* config, ModbusOptions options, IngestMetrics* metrics);
  struct Poller;

  const modbus::Config* config_;
  ModbusOptions options_;
  IngestMetrics* metrics_;
  std::atomic<int64_t> committed_{0};
  ModbusStats stats_;
};

/// Decodes polls into tag rows: one row per tag of a complete poll (its position in `poll`), raw
/// ranges to the raw table, a failed poll or an undecodable tag to the dead-letter table.
class ModbusMapper final : public Mapper {
 public:
  static Result<std::unique_ptr<ModbusMapper>> Make(const modbus::Config* config,
                                                    TagRowsOptions options);
  Status Prepare(TableSet* tables) override;
  Status Map(const SourceMessage& m, MapOutput* out) override;

 private:
  ModbusMapper(const modbus::Config* config, std::unique_ptr<TagRows> rows);
  const modbus::Config* config_;
  std::unique_ptr<TagRows> rows_;
  std::unordered_map<std::string, const modbus::Device*> devices_;
  std::unordered_map<const modbus::Tag*, int> tables_;
};

/// The payload of a poll message (also the write-ahead log's record): byte 0 is 0 for a complete
/// poll, then the poll time (int64 little-endian microseconds) and the bytes of every read in
/// plan order (registers high byte first, one byte per bit); 1 for a failed poll, then the error.
std::string EncodePollError(const std::string& error);

}  // namespace millpond::ingest
