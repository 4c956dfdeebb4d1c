// Pipeline: the bounded buffer, the committer thread and the table set.
#include "millpond/ingest/pipeline.h"

#include <algorithm>
#include <thread>

#include <arrow/record_batch.h>

#include "millpond/ingest/metrics.h"
#include "millpond/table/changelog.h"
#include "millpond/table/compaction.h"
#include "source_util.h"

namespace millpond::ingest {

namespace {

using source_util::NowMicros;

}  // namespace

// ---------------------------------------------------------------------------------------------
// TableSet

TableSet::TableSet(const table::Catalog* catalog, std::string source_id)
    : catalog_(catalog), source_id_(std::move(source_id)) {}

std::string TableSet::PositionProperty(const std::string& source_id) {
  return "millpond.ingest." + source_id + ".position";
}

std::string TableSet::CommitUser() const { return "millpond-ingest-" + source_id_; }

Result<int64_t> CommittedPosition(const table::Table& t, const std::string& source_id) {
  auto snaps = t.snapshots();
  ARROW_ASSIGN_OR_RAISE(auto latest, snaps.LatestSnapshotId());
  if (!latest) return 0;
  ARROW_ASSIGN_OR_RAISE(auto earliest, snaps.EarliestSnapshotId());
  const std::string key = TableSet::PositionProperty(source_id);
  for (int64_t id = *latest; id >= earliest.value_or(1); --id) {
    auto s = snaps.ReadSnapshot(id);
    if (!s.ok()) {
      if (id < *latest) continue;  // expired while we looked
      return s.status();
    }
    if (!s->properties) continue;
    auto it = s->properties->find(key);
    if (it == s->properties->end()) continue;
    try {
      return static_cast<int64_t>(std::stoll(it->second));
    } catch (...) {
      return Status::Invalid("table ", t.name(), " snapshot ", id, ": property ", key,
                             " is not a number: '", it->second, "'");
    }
  }
  return 0;
}

Result<int> TableSet::Add(std::unique_ptr<table::Table> t, TableRole role) {
  auto info = std::make_unique<TableInfo>();
  info->name = t->name();
  ARROW_ASSIGN_OR_RAISE(info->schema, t->LatestSchema());
  for (const auto& f : info->schema.fields) {
    if (!IngestibleType(*f.type)) {
      return Status::NotImplemented("table ", info->name, ": ingest cannot write column ", f.name,
                                    " of type ", f.type->ToString());
    }
  }
  ARROW_ASSIGN_OR_RAISE(info->committed_position, CommittedPosition(*t, source_id_));
  info->table = std::move(t);
  info->role = role;
  std::lock_guard<std::mutex> lk(mu_);
  auto it = by_name_.find(info->name);
  if (it != by_name_.end()) return it->second;
  int handle = static_cast<int>(tables_.size());
  by_name_[info->name] = handle;
  tables_.push_back(std::move(info));
  return handle;
}

Result<int> TableSet::Open(const std::string& name, TableRole role) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = by_name_.find(name);
    if (it != by_name_.end()) return it->second;
  }
  ARROW_ASSIGN_OR_RAISE(auto t, catalog_->GetTable(name));
  return Add(std::move(t), role);
}

Result<int> TableSet::OpenOrCreate(const std::string& name, const paimon::TableSchema& schema,
                                   TableRole role) {
  ARROW_ASSIGN_OR_RAISE(bool exists, Exists(name));
  if (!exists) {
    auto created = catalog_->CreateTable(name, schema);
    if (!created.ok() && !created.status().IsAlreadyExists()) {
      return created.status().WithMessage("cannot create table ", name, ": ",
                                          created.status().message());
    }
  }
  return Open(name, role);
}

Result<bool> TableSet::Exists(const std::string& name) const {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (by_name_.count(name)) return true;
  }
  auto t = catalog_->GetTable(name);
  if (t.ok()) return true;
  if (t.status().IsKeyError()) return false;
  return t.status();
}

const TableInfo& TableSet::info(int handle) const {
  std::lock_guard<std::mutex> lk(mu_);
  return *tables_[static_cast<size_t>(handle)];
}

int TableSet::size() const {
  std::lock_guard<std::mutex> lk(mu_);
  return static_cast<int>(tables_.size());
}

int64_t TableSet::MaxCommittedPosition() const {
  std::lock_guard<std::mutex> lk(mu_);
  int64_t p = 0;
  for (const auto& t : tables_) p = std::max(p, t->committed_position);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Pipeline

Pipeline::Pipeline(const table::Catalog* catalog, Source* source, Mapper* mapper,
                   PipelineOptions options, IngestMetrics* metrics)
    : tables_(catalog, source->id()),
      source_(source),
      mapper_(mapper),
      options_(options),
      metrics_(metrics) {}

Pipeline::~Pipeline() = default;

Result<std::unique_ptr<Pipeline>> Pipeline::Make(const table::Catalog* catalog, Source* source,
                                                 Mapper* mapper, PipelineOptions options,
                                                 IngestMetrics* metrics) {
  if (options.commit_rows < 1) return Status::Invalid("--commit-rows must be at least 1");
  if (options.commit_interval_ms < 1) return Status::Invalid("--commit-interval must be positive");
  if (options.buffer_rows < 1) return Status::Invalid("--buffer-rows must be at least 1");
  if (source->id().empty()) return Status::Invalid("a source needs a non-empty id");
  return std::unique_ptr<Pipeline>(new Pipeline(catalog, source, mapper, options, metrics));
}

bool Pipeline::HasRoom() const {
  return buffered_rows_.load(std::memory_order_relaxed) < options_.buffer_rows && !halt_.load();
}

bool Pipeline::WaitForRoom(std::chrono::milliseconds timeout) {
  if (HasRoom()) return true;
  std::unique_lock<std::mutex> lk(mu_);
  room_cv_.wait_for(lk, timeout, [&] { return HasRoom() || halt_.load(); });
  return HasRoom();
}

Status Pipeline::Deliver(const SourceMessage& m, std::vector<PeerCommand>* commands) {
  MapOutput out;
  ARROW_RETURN_NOT_OK(mapper_->Map(m, &out));
  Item item;
  item.position = m.position;
  item.received_micros = m.received_micros;
  item.rows.reserve(out.rows.size());
  for (auto& row : out.rows) {
    // Rows a table already committed (a replay after a restart) are dropped here.
    if (m.position <= tables_.info(row.table).committed_position) continue;
    item.rows.push_back(std::move(row));
  }
  if (!m.replayed && commands) {
    for (auto& c : out.commands) commands->push_back(std::move(c));
  }
  if (metrics_) {
    metrics_->MessageIn(m.replayed);
    if (!m.replayed) metrics_->DeadLetters(out.dead_letters);
  }
  int64_t rows = std::max<int64_t>(1, static_cast<int64_t>(item.rows.size()));
  bool wake = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    items_.push_back(std::move(item));
    int64_t now = buffered_rows_.fetch_add(rows) + rows;
    if (committer_waiting_ && now >= wake_rows_) {
      committer_waiting_ = false;
      wake = true;
    }
  }
  if (wake) items_cv_.notify_one();
  return Status::OK();
}

void Pipeline::Halt(Status st) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (committer_status_.ok()) committer_status_ = std::move(st);
  }
  halt_.store(true);
  source_stop_.store(true);
  room_cv_.notify_all();
}

namespace {

// Commits one table's rows as one snapshot whose identifier and properties carry `position`.
Status CommitTable(const TableInfo& info, RowBuilder* builder, int64_t position,
                   const std::string& commit_user, const std::string& property) {
  ARROW_ASSIGN_OR_RAISE(auto batch, builder->Finish());
  const table::Table& t = *info.table;
  ARROW_ASSIGN_OR_RAISE(auto schema, t.LatestSchema());
  table::CommitOptions options;
  options.commit_identifier = position;
  options.properties[property] = std::to_string(position);
  table::FileStoreCommit commit(t.file_system(), t.path(), schema, commit_user,
                                t.metadata_path());
  if (schema.primary_keys.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto writer, t.NewWriter());
    Status st = writer->Write(batch);
    auto entries = st.ok() ? writer->PrepareCommit()
                           : Result<std::vector<paimon::ManifestEntry>>(st);
    if (entries.ok()) {
      auto id = commit.Commit(*entries, options);
      if (id.ok()) return Status::OK();
      st = id.status();
    } else {
      st = entries.status();
    }
    writer->Abort();
    return st.WithMessage("table ", info.name, ": ", st.message());
  }
  // Primary-key table: the APPEND snapshot (with the input changelog, if the table produces one),
  // then a COMPACT one when a bucket needs it, as CommitKeyValueWrite does, with our commit user
  // and properties on the APPEND.
  ARROW_ASSIGN_OR_RAISE(auto writer, t.NewKeyValueWriter());
  Status st = writer->Write(batch);
  auto entries = st.ok() ? writer->PrepareCommit(&options.changelog)
                         : Result<std::vector<paimon::ManifestEntry>>(st);
  if (!entries.ok()) {
    writer->Abort();
    return entries.status().WithMessage("table ", info.name, ": ", entries.status().message());
  }
  auto id = commit.Commit(*entries, options);
  if (!id.ok()) {
    writer->Abort();
    return id.status().WithMessage("table ", info.name, ": ", id.status().message());
  }
  // From here the data is committed; a compaction that fails or conflicts loses nothing.
  if (table::UsesDeletionVectors(schema)) {
    (void)table::CompactTable(t, /*full=*/false);  // level 0 stays invisible until compacted
    return Status::OK();
  }
  auto producer = table::ChangelogProducerOf(schema);
  const bool full = producer.ok() && *producer == table::ChangelogProducer::kFullCompaction;
  table::CommitOptions compact_options;
  compact_options.commit_kind = "COMPACT";
  compact_options.commit_identifier = position;
  auto compact = writer->PrepareCompaction(full, &compact_options.changelog);
  if (!compact.ok() || (compact->empty() && compact_options.changelog.empty())) {
    return Status::OK();
  }
  auto compacted = commit.Commit(*compact, compact_options);
  if (!compacted.ok()) {
    table::DeleteChangelogFiles(*t.file_system(), t.path(), schema, compact_options.changelog);
    (void)writer->AbortCompaction(*compact);
  }
  return Status::OK();
}

}  // namespace

void Pipeline::CommitterLoop(const std::atomic<bool>& stop) {
  using Clock = std::chrono::steady_clock;
  std::map<int, std::unique_ptr<RowBuilder>> builders;
  int64_t pending_rows = 0;      // rows in the builders
  int64_t last_position = 0;     // position of the last item taken from the buffer
  int64_t reported = 0;          // last position handed to Source::Committed
  int64_t oldest_pending_micros = 0;
  Clock::time_point first_pending{};
  const std::string user = tables_.CommitUser();
  const std::string property = TableSet::PositionProperty(tables_.source_id());
  const auto interval = std::chrono::milliseconds(options_.commit_interval_ms);
  // The buffer counts rows until they are committed, so a full buffer must commit.
  const int64_t threshold = std::min(options_.commit_rows, options_.buffer_rows);

  auto commit = [&]() -> Status {
    auto start = Clock::now();
    int64_t rows = 0;
    for (auto& [handle, b] : builders) {
      if (b->rows() == 0) continue;
      const TableInfo& info = tables_.info(handle);
      int64_t n = b->rows();
      ARROW_RETURN_NOT_OK(CommitTable(info, b.get(), last_position, user, property));
      rows += n;
      if (metrics_) metrics_->RowsCommitted(info.name, info.role, n);
    }
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    rows_committed_.fetch_add(rows);
    pending_rows = 0;
    oldest_pending_micros = 0;
    if (metrics_) metrics_->Commit(secs, last_position);
    source_->Committed(last_position);
    reported = last_position;
    {
      std::lock_guard<std::mutex> lk(mu_);
      buffered_rows_.fetch_sub(rows);
    }
    room_cv_.notify_all();
    return Status::OK();
  };

  while (true) {
    std::deque<Item> batch;
    bool draining = false;
    {
      std::unique_lock<std::mutex> lk(mu_);
      // Wake at least every 100 ms to notice `stop`.
      auto due = Clock::now() + std::chrono::milliseconds(100);
      if (pending_rows > 0) due = std::min(due, first_pending + interval);
      wake_rows_ = pending_rows == 0 ? 1 : threshold;
      auto ready = [&] {
        return draining_ || stop.load() || source_stop_.load() ||
               (pending_rows == 0 && !items_.empty()) || buffered_rows_.load() >= wake_rows_;
      };
      if (!ready()) {
        committer_waiting_ = true;
        items_cv_.wait_until(lk, due, ready);
        committer_waiting_ = false;
      }
      batch.swap(items_);
      draining = draining_;
    }
    if (stop.load()) source_stop_.store(true);
    Status st;
    int64_t empty_items = 0;
    for (auto& item : batch) {
      if (item.rows.empty()) ++empty_items;
      for (auto& row : item.rows) {
        auto& b = builders[row.table];
        if (!b) {
          auto made = RowBuilder::Make(tables_.info(row.table).schema);
          if (!made.ok()) {
            st = made.status();
            break;
          }
          b = std::move(*made);
        }
        st = b->Append(row.values);
        if (!st.ok()) break;
        if (pending_rows++ == 0) {
          first_pending = Clock::now();
          oldest_pending_micros = item.received_micros;
        }
      }
      if (!st.ok()) break;
      last_position = item.position;
      if (pending_rows >= threshold) {
        st = commit();
        if (!st.ok()) break;
      }
    }
    if (empty_items > 0) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        buffered_rows_.fetch_sub(empty_items);
      }
      room_cv_.notify_all();
    }
    if (st.ok() && pending_rows > 0 && (draining || Clock::now() >= first_pending + interval)) {
      st = commit();
    }
    if (!st.ok()) {
      Halt(std::move(st));
      return;
    }
    if (pending_rows == 0 && last_position > reported) {
      // Every row up to last_position is committed (or was committed before a restart).
      source_->Committed(last_position);
      reported = last_position;
    }
    if (metrics_) {
      metrics_->BufferRows(buffered_rows_.load());
      metrics_->Lag(oldest_pending_micros == 0
                        ? 0.0
                        : static_cast<double>(NowMicros() - oldest_pending_micros) / 1e6);
    }
    if (draining) {
      std::lock_guard<std::mutex> lk(mu_);
      if (items_.empty()) return;
    }
  }
}

Status Pipeline::Run(const std::atomic<bool>& stop) {
  ARROW_RETURN_NOT_OK(mapper_->Prepare(&tables_));
  const int64_t floor = tables_.MaxCommittedPosition();
  std::thread committer([&] { CommitterLoop(stop); });
  Status source_status = source_->Run(floor, this, source_stop_);
  {
    std::lock_guard<std::mutex> lk(mu_);
    draining_ = true;
  }
  items_cv_.notify_all();
  committer.join();
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!committer_status_.ok()) return committer_status_;
  }
  return source_status;
}

}  // namespace millpond::ingest
