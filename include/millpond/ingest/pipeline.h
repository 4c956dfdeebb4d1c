// The ingest pipeline, shared by every connector (MQTT today; Modbus, OPC UA and file watching
// later):
//
//   Source --messages--> Mapper --rows--> bounded buffer --> committer thread --> Paimon tables
//   (peer + its own log)   (decode, map)    (back-pressure)     (N rows or T ms, one snapshot per
//                                                               table, source position inside)
//
// Exactly once: every message gets a position from its source (strictly increasing). Each
// commit writes one snapshot per table whose commitIdentifier is the position of the last message
// it holds and whose properties hold "millpond.ingest.<source-id>.position". On restart the
// pipeline reads that position back from every table it writes; the source replays its own log
// (messages its peer already considers delivered), and rows for a table at or before that table's
// position are dropped, so nothing is written twice and nothing acknowledged is lost.
//
// Writing a connector: implement Source (and usually a Mapper, or reuse RuleMapper from
// mapping.h), then `Pipeline::Make(...)->Run(stop)`. Threads: Source::Run and every Mapper call
// run on the caller's thread; the committer runs on its own; Source::Committed is called from the
// committer. Pipeline is not copyable; Run once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/ingest/value.h"
#include "millpond/paimon/schema.h"
#include "millpond/table/catalog.h"

namespace millpond::ingest {

class IngestMetrics;

/// One message as a source received it.
struct SourceMessage {
  /// Strictly increasing within a source, > 0. Survives restarts (the source's log keeps it).
  int64_t position = 0;
  /// When the ingester received it (microseconds since the epoch, UTC).
  int64_t received_micros = 0;
  /// Where it came from: the MQTT topic, a Modbus register range, an OPC UA node id, a file path.
  std::string address;
  std::string payload;
  /// True while the source replays its log after a restart (commands are not sent then).
  bool replayed = false;
};

/// A message to send back to the source's peer (a Sparkplug rebirth request).
struct PeerCommand {
  std::string address;
  std::string payload;
};

/// What a Mapper makes of one message.
struct MapOutput {
  std::vector<Row> rows;
  std::vector<PeerCommand> commands;
  /// Rows of this message that went to the dead-letter table.
  int64_t dead_letters = 0;
};

/// Kind of table, for metrics.
enum class TableRole { kData, kDeadLetter, kRaw, kState };

/// One table the pipeline writes. Immutable once opened.
struct TableInfo {
  std::string name;
  std::unique_ptr<table::Table> table;
  paimon::TableSchema schema;
  TableRole role = TableRole::kData;
  /// Position of the last message committed to it by this source when it was opened (0: none).
  int64_t committed_position = 0;
};

/// The tables of one pipeline, opened (or created) by name and referred to by handle. Thread-safe;
/// a TableInfo reference stays valid for the set's lifetime.
class TableSet {
 public:
  TableSet(const table::Catalog* catalog, std::string source_id);

  /// The snapshot property holding a source's position: "millpond.ingest.<source-id>.position".
  static std::string PositionProperty(const std::string& source_id);
  const std::string& source_id() const { return source_id_; }
  /// The commit user of this source's snapshots ("millpond-ingest-<source-id>").
  std::string CommitUser() const;

  /// Handle of an existing table (NotFound/KeyError when absent).
  Result<int> Open(const std::string& name, TableRole role = TableRole::kData);
  /// Handle of the table, created with `schema` when absent.
  Result<int> OpenOrCreate(const std::string& name, const paimon::TableSchema& schema,
                           TableRole role = TableRole::kData);
  /// Whether the table exists in the catalog (opened or not).
  Result<bool> Exists(const std::string& name) const;
  const TableInfo& info(int handle) const;
  int size() const;
  /// The highest committed position of every table opened.
  int64_t MaxCommittedPosition() const;

 private:
  Result<int> Add(std::unique_ptr<table::Table> t, TableRole role);
  const table::Catalog* catalog_;
  std::string source_id_;
  mutable std::mutex mu_;
  std::deque<std::unique_ptr<TableInfo>> tables_;
  std::map<std::string, int> by_name_;
};

/// Reads the position this source last committed to `t` (newest snapshot carrying the property;
/// 0 when none does).
Result<int64_t> CommittedPosition(const table::Table& t, const std::string& source_id);

/// Turns messages into rows. Called on the source's thread only, in position order, so it may keep
/// state (Sparkplug births and aliases); replayed messages go through it again after a restart.
class Mapper {
 public:
  virtual ~Mapper() = default;
  /// Opens or creates every table it may write (before the source starts: their committed
  /// positions decide where new positions begin).
  virtual Status Prepare(TableSet* tables) = 0;
  /// Appends the rows of `m` to `out`. Bad data is not an error: it becomes a dead-letter row and
  /// ingestion goes on. An error stops the pipeline (nothing of the message is committed).
  virtual Status Map(const SourceMessage& m, MapOutput* out) = 0;
  /// Non-empty when `m` holds state later messages need to be decoded (a Sparkplug birth): a key
  /// under which the newest such message is kept in the source's log after truncation.
  virtual std::string StateKey(const SourceMessage& m) const { return {}; }
};

/// The pipeline as a source sees it.
class Sink {
 public:
  virtual ~Sink() = default;
  /// False while the buffer is full: the source must stop pulling from its peer (not read the
  /// socket), so that the peer holds the messages.
  virtual bool HasRoom() const = 0;
  /// Waits until HasRoom() or the timeout; returns HasRoom().
  virtual bool WaitForRoom(std::chrono::milliseconds timeout) = 0;
  /// Maps `m` and queues its rows. Never blocks on the buffer (a source checks HasRoom before
  /// each read, so the buffer exceeds its capacity by at most one read). Commands the mapper asks
  /// the peer to receive are appended to `commands`.
  virtual Status Deliver(const SourceMessage& m, std::vector<PeerCommand>* commands) = 0;
  /// The mapper's StateKey for `m`.
  virtual std::string StateKey(const SourceMessage& m) const = 0;
};

/// A connector. One Run per instance.
class Source {
 public:
  virtual ~Source() = default;
  /// Stable id of this source; it names the snapshot property that holds its position.
  virtual const std::string& id() const = 0;
  /// Replays the source's own log (every message it still holds: the sink drops rows already
  /// committed), then pulls from the peer until `stop` is set or a fatal error. New messages get
  /// positions above both its log and `position_floor` (the highest committed position of any
  /// table, in case the log was lost). Must check sink->HasRoom() before pulling.
  virtual Status Run(int64_t position_floor, Sink* sink, const std::atomic<bool>& stop) = 0;
  /// Every message at or before `position` is committed to every table: the source may forget
  /// it (truncate its log). Called from the committer thread; must not block.
  virtual void Committed(int64_t position) = 0;
};

struct PipelineOptions {
  /// Commit once this many rows are buffered...
  int64_t commit_rows = 100000;
  /// ...or once the oldest uncommitted row is this old.
  int64_t commit_interval_ms = 1000;
  /// Capacity of the buffer, in rows delivered and not yet committed: when it is full the source
  /// stops pulling and the committer commits (so commits happen at min(commit_rows, buffer_rows)).
  int64_t buffer_rows = 200000;
};

class Pipeline final : public Sink {
 public:
  static Result<std::unique_ptr<Pipeline>> Make(const table::Catalog* catalog, Source* source,
                                                Mapper* mapper, PipelineOptions options,
                                                IngestMetrics* metrics = nullptr);
  ~Pipeline() override;

  /// Prepares the mapper's tables, runs the committer thread and the source until `stop` is set
  /// (or the source ends), then commits what is buffered. Returns the first error of either.
  Status Run(const std::atomic<bool>& stop);

  TableSet& tables() { return tables_; }
  /// Rows committed so far, over all tables.
  int64_t rows_committed() const { return rows_committed_.load(); }

  bool HasRoom() const override;
  bool WaitForRoom(std::chrono::milliseconds timeout) override;
  Status Deliver(const SourceMessage& m, std::vector<PeerCommand>* commands) override;
  std::string StateKey(const SourceMessage& m) const override { return mapper_->StateKey(m); }

 private:
  struct Item {
    int64_t position = 0;
    int64_t received_micros = 0;
    std::vector<Row> rows;
  };
  Pipeline(const table::Catalog* catalog, Source* source, Mapper* mapper, PipelineOptions options,
           IngestMetrics* metrics);
  void CommitterLoop(const std::atomic<bool>& stop);
  void Halt(Status st);

  TableSet tables_;
  Source* source_;
  Mapper* mapper_;
  PipelineOptions options_;
  IngestMetrics* metrics_;

  mutable std::mutex mu_;
  std::condition_variable items_cv_;  // committer waits for items
  std::condition_variable room_cv_;   // source waits for room
  std::deque<Item> items_;
  std::atomic<int64_t> buffered_rows_{0};
  int64_t wake_rows_ = 1;  // the committer wants waking once this many rows are buffered
  bool committer_waiting_ = false;
  bool draining_ = false;
  std::atomic<bool> source_stop_{false};  // user stop or a committer error: the source stops
  std::atomic<bool> halt_{false};         // set on a committer error
  Status committer_status_;
  std::atomic<int64_t> rows_committed_{0};
};

}  // namespace millpond::ingest
