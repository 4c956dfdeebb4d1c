// millpond: the command line over a local or S3 warehouse of Paimon tables.
// Contract (DESIGN.md): `millpond [--warehouse URI] <command>`; every failure exits non-zero with
// one line naming what was wrong.
#include <unistd.h>

#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <arrow/compute/initialize.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>

#include "command.h"
#include "data_io.h"
#include "compact_cmd.h"
#include "follow_cmd.h"
#include "millpond/table/compaction.h"
#include "millpond/paimon/schema.h"
#include "millpond/paimon/types.h"
#include "millpond/table/catalog.h"
#include "millpond/table/maintenance.h"

namespace mp = millpond;
using mp::Result;
using mp::Status;

namespace {

struct Globals {
  std::string warehouse;
};

Result<std::pair<std::string, std::string>> SplitKeyValue(const std::string& kv, const char* what) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::Invalid(what, " expects KEY=VALUE, got '", kv, "'");
  }
  return std::make_pair(kv.substr(0, eq), kv.substr(eq + 1));
}

std::string FormatTime(int64_t millis) {
  std::time_t t = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof(out), "%s.%03d", buf, static_cast<int>(millis % 1000));
  return out;
}

// "2024-05-01 10:00:00[.fff]" (local time), with 'T' or a trailing 'Z' (UTC), or epoch millis.
Result<int64_t> ParseTime(const std::string& text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit)) return std::stoll(text);
  std::string s = text;
  bool utc = false;
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) {
    utc = true;
    s.pop_back();
  }
  for (auto& c : s) {
    if (c == 'T') c = ' ';
  }
  std::tm tm{};
  int millis = 0;
  const char* rest = strptime(s.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  if (!rest) {
    tm = {};
    rest = strptime(s.c_str(), "%Y-%m-%d", &tm);
  }
  if (!rest) return Status::Invalid("--as-of: cannot read time '", text, "' (use 'YYYY-MM-DD HH:MM:SS' or epoch millis)");
  if (*rest == '.') {
    std::string frac = std::string(rest + 1).substr(0, 3);
    while (frac.size() < 3) frac += '0';
    millis = std::stoi(frac);
  }
  tm.tm_isdst = -1;
  std::time_t t = utc ? timegm(&tm) : mktime(&tm);
  return static_cast<int64_t>(t) * 1000 + millis;
}

class Progress {
 public:
  explicit Progress(const char* what) : what_(what), tty_(isatty(STDERR_FILENO)) {}
  void Update(int64_t rows) {
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\r%s %lld rows (%.0f rows/s)   ", what_, static_cast<long long>(rows),
                 secs > 0 ? rows / secs : 0.0);
  }
  void Done() {
    if (tty_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  const char* what_;
  bool tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

Result<std::unique_ptr<mp::table::Catalog>> OpenCatalog(const Globals& g, bool create) {
  return mp::table::Catalog::Open(g.warehouse, create);
}

Status CmdTables(const Globals& g, const std::string& db) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(g, false));
  if (db.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto dbs, catalog->ListDatabases());
    for (const auto& d : dbs) {
      ARROW_ASSIGN_OR_RAISE(auto tables, catalog->ListTables(d));
      for (const auto& t : tables) std::cout << d << "." << t << "\n";
    }
    return Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(auto tables, catalog->ListTables(db));
  for (const auto& t : tables) std::cout << db << "." << t << "\n";
  return Status::OK();
}

struct CreateArgs {
  std::string table, schema, partition, bucket_key, primary_key, merge_engine;
  int bucket = -1;
  std::vector<std::string> options;
};

Status CmdCreate(const Globals& g, const CreateArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(g, true));
  mp::paimon::TableSchema schema;
  ARROW_ASSIGN_OR_RAISE(schema.fields, mp::paimon::ParseColumns(a.schema));
  schema.partition_keys = mp::paimon::SplitNames(a.partition);
  schema.primary_keys = mp::paimon::SplitNames(a.primary_key);
  for (const auto& kv : a.options) {
    ARROW_ASSIGN_OR_RAISE(auto p, SplitKeyValue(kv, "--option"));
    schema.options[p.first] = p.second;
  }
  schema.options["bucket"] = std::to_string(a.bucket);
  if (!a.bucket_key.empty()) schema.options["bucket-key"] = a.bucket_key;
  if (!a.merge_engine.empty()) schema.options["merge-engine"] = a.merge_engine;
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->CreateTable(a.table, std::move(schema)));
  std::cout << "created " << a.table << "\n";
  return Status::OK();
}

Status CmdSchema(const Globals& g, const std::string& id) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(g, false));
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->GetTable(id));
  ARROW_ASSIGN_OR_RAISE(auto schema, table->LatestSchema());
  std::cout << "table " << id << " (schema " << schema.id << ")\n";
  for (const auto& f : schema.fields) {
    std::cout << "  " << f.name << " " << f.type->ToString() << "\n";
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (!schema.partition_keys.empty()) std::cout << "partition keys: " << join(schema.partition_keys) << "\n";
  if (!schema.primary_keys.empty()) std::cout << "primary keys: " << join(schema.primary_keys) << "\n";
  std::cout << "options:\n";
  for (const auto& [k, v] : schema.options) std::cout << "  " << k << " = " << v << "\n";
  return Status::OK();
}

// Writes rows into a primary-key table (upserts or deletes by key) as one snapshot.
Status WriteKeyValue(const mp::table::Table& table, const std::string& input,
                     const std::string& fmt, const std::string& mode) {
  if (mode != "upsert" && mode != "delete") {
    return Status::Invalid("--mode must be upsert or delete, not '", mode, "'");
  }
  auto kind = mode == "delete" ? mp::table::RowKind::kDelete : mp::table::RowKind::kInsert;
  ARROW_ASSIGN_OR_RAISE(auto writer, table.NewKeyValueWriter());
  Progress progress("writing");
  Status st = mp::cli::ReadInput(input, fmt, [&](const std::shared_ptr<arrow::RecordBatch>& b) {
    ARROW_RETURN_NOT_OK(writer->Write(b, kind));
    progress.Update(writer->rows_written());
    return Status::OK();
  });
  progress.Done();
  if (!st.ok()) {
    writer->Abort();
    return st;
  }
  // The APPEND snapshot, then a COMPACT one when a bucket reached the compaction trigger.
  auto r = mp::table::CommitKeyValueWrite(table, *writer);
  if (!r.ok()) {
    writer->Abort();
    return r.status();
  }
  std::cout << "wrote " << writer->rows_written() << " rows (" << mode << "); snapshot "
            << r->append_snapshot;
  if (r->compact_snapshot) std::cout << ", compacted as snapshot " << *r->compact_snapshot;
  std::cout << "\n";
  return Status::OK();
}

Status CmdWrite(const Globals& g, const std::string& id, const std::string& input,
                const std::string& format, const std::string& mode, const std::string& branch) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(g, false));
  ARROW_ASSIGN_OR_RAISE(auto main_table, catalog->GetTable(id));
  ARROW_ASSIGN_OR_RAISE(auto table, main_table->OnBranch(branch));
  ARROW_ASSIGN_OR_RAISE(auto fmt, mp::cli::InputFormat(input, format));
  ARROW_ASSIGN_OR_RAISE(auto schema, table->LatestSchema());
  if (!schema.primary_keys.empty()) return WriteKeyValue(*table, input, fmt, mode);
  if (mode != "upsert" && mode != "append") {
    return Status::Invalid("--mode ", mode, " needs a primary-key table; ", id, " is append-only");
  }
  ARROW_ASSIGN_OR_RAISE(auto writer, table->NewWriter());
  Progress progress("writing");
  Status st = mp::cli::ReadInput(input, fmt, [&](const std::shared_ptr<arrow::RecordBatch>& b) {
    ARROW_RETURN_NOT_OK(writer->Write(b));
    progress.Update(writer->rows_written());
    return Status::OK();
  });
  progress.Done();
  if (!st.ok()) {
    writer->Abort();
    return st;
  }
  auto entries = writer->PrepareCommit();
  if (!entries.ok()) {
    writer->Abort();
    return entries.status();
  }
  ARROW_ASSIGN_OR_RAISE(int64_t id_committed, table->Commit(*entries));
  std::cout << "wrote " << writer->rows_written() << " rows in " << entries->size()
            << " files; snapshot " << id_committed << "\n";
  return Status::OK();
}

struct ScanArgs {
  std::string table, columns, where, tag, as_of, format = "csv", output, branch;
  int64_t snapshot = -1;
  int64_t limit = -1;
};

Status CmdScan(const Globals& g, const ScanArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(g, false));
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->GetTable(a.table));
  mp::table::ScanOptions o;
  o.columns = mp::paimon::SplitNames(a.columns);
  o.where = a.where;
  if (a.snapshot >= 0) o.snapshot_id = a.snapshot;
  if (!a.tag.empty()) o.tag = a.tag;
  if (!a.as_of.empty()) {
    ARROW_ASSIGN_OR_RAISE(o.as_of_millis, ParseTime(a.as_of));
  }
  o.limit = a.limit;
  o.branch = a.branch;
  ARROW_ASSIGN_OR_RAISE(auto scan, table->NewScan(o));
  // The output opens with the first rows (or at the end), so a failed read prints no header.
  std::unique_ptr<mp::cli::OutputWriter> out;
  auto open = [&]() -> Status {
    if (out) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(out, mp::cli::OutputWriter::Open(a.output, a.format, scan->output_schema()));
    return Status::OK();
  };
  ARROW_RETURN_NOT_OK(scan->Read([&](const std::shared_ptr<arrow::RecordBatch>& b) {
    ARROW_RETURN_NOT_OK(open());
    return out->Write(b);
  }));
  ARROW_RETURN_NOT_OK(open());
  return out->Close();
}

Status CmdBranch(const Globals& g, const std::string& action, const std::string& id,
                 const std::string& name, int64_t snapshot, const std::string& tag) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(g, false));
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->GetTable(id));
  if (action == "list") {
    ARROW_ASSIGN_OR_RAISE(auto names, table->ListBranches());
    for (const auto& n : names) std::cout << n << "\n";
    return Status::OK();
  }
  if (name.empty()) return Status::Invalid("branch ", action, " needs a branch name");
  if (action == "create") {
    std::optional<int64_t> snap;
    std::optional<std::string> from_tag;
    if (snapshot >= 0) snap = snapshot;
    if (!tag.empty()) from_tag = tag;
    ARROW_RETURN_NOT_OK(table->CreateBranch(name, snap, from_tag));
    std::cout << "created branch " << name << "\n";
  } else if (action == "delete") {
    ARROW_RETURN_NOT_OK(table->DeleteBranch(name));
    std::cout << "deleted branch " << name << "\n";
  } else {
    ARROW_RETURN_NOT_OK(table->FastForward(name));
    std::cout << "fast-forwarded main to branch " << name << "\n";
  }
  return Status::OK();
}

Status CmdSnapshots(const Globals& g, const std::string& id, const std::string& branch) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(g, false));
  ARROW_ASSIGN_OR_RAISE(auto main_table, catalog->GetTable(id));
  ARROW_ASSIGN_OR_RAISE(auto table, main_table->OnBranch(branch));
  auto snaps = table->snapshots();
  ARROW_ASSIGN_OR_RAISE(auto ids, snaps.ListSnapshotIds());
  std::printf("%-6s %-7s %-10s %-23s %12s %12s\n", "id", "schema", "kind", "committed", "total rows",
              "delta rows");
  for (int64_t i : ids) {
    ARROW_ASSIGN_OR_RAISE(auto s, snaps.ReadSnapshot(i));
    std::printf("%-6lld %-7lld %-10s %-23s %12lld %12lld\n", static_cast<long long>(s.id),
                static_cast<long long>(s.schema_id), s.commit_kind.c_str(),
                FormatTime(s.time_millis).c_str(),
                static_cast<long long>(s.total_record_count.value_or(-1)),
                static_cast<long long>(s.delta_record_count.value_or(-1)));
  }
  return Status::OK();
}

Status CmdTag(const Globals& g, const std::string& action, const std::string& id,
              const std::string& name, int64_t snapshot) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(g, false));
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->GetTable(id));
  auto snaps = table->snapshots();
  if (action == "list") {
    ARROW_ASSIGN_OR_RAISE(auto tags, snaps.ListTags());
    for (const auto& t : tags) {
      ARROW_ASSIGN_OR_RAISE(auto s, snaps.ReadTag(t));
      std::cout << t << "\tsnapshot " << s.id << "\t" << FormatTime(s.time_millis) << "\n";
    }
    return Status::OK();
  }
  if (name.empty()) return Status::Invalid("tag ", action, " needs a tag name");
  if (action == "create") {
    if (snapshot < 0) {
      ARROW_ASSIGN_OR_RAISE(auto latest, snaps.LatestSnapshotId());
      if (!latest) return Status::Invalid("table ", id, " has no snapshot to tag");
      snapshot = *latest;
    }
    ARROW_RETURN_NOT_OK(snaps.CreateTag(name, snapshot));
    std::cout << "tag " << name << " -> snapshot " << snapshot << "\n";
    return Status::OK();
  }
  ARROW_RETURN_NOT_OK(snaps.DeleteTag(name));
  std::cout << "deleted tag " << name << "\n";
  return Status::OK();
}

struct AlterArgs {
  std::string table;
  std::vector<std::string> add, rename, drop, type, set, unset;
};

Status CmdAlter(const Globals& g, const AlterArgs& a) {
  using mp::table::SchemaChange;
  ARROW_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(g, false));
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->GetTable(a.table));
  std::vector<SchemaChange> changes;
  for (const auto& spec : a.add) {
    ARROW_ASSIGN_OR_RAISE(auto fields, mp::paimon::ParseColumns(spec));
    for (auto& f : fields) changes.push_back({SchemaChange::Kind::kAddColumn, f.name, "", f.type, ""});
  }
  for (const auto& r : a.rename) {
    ARROW_ASSIGN_OR_RAISE(auto p, SplitKeyValue(r, "--rename-column"));
    changes.push_back({SchemaChange::Kind::kRenameColumn, p.first, p.second, nullptr, ""});
  }
  for (const auto& d : a.drop) changes.push_back({SchemaChange::Kind::kDropColumn, d, "", nullptr, ""});
  for (const auto& spec : a.type) {
    ARROW_ASSIGN_OR_RAISE(auto fields, mp::paimon::ParseColumns(spec));
    for (auto& f : fields) {
      changes.push_back({SchemaChange::Kind::kUpdateColumnType, f.name, "", f.type, ""});
    }
  }
  for (const auto& kv : a.set) {
    ARROW_ASSIGN_OR_RAISE(auto p, SplitKeyValue(kv, "--set"));
    changes.push_back({SchemaChange::Kind::kSetOption, p.first, "", nullptr, p.second});
  }
  for (const auto& k : a.unset) changes.push_back({SchemaChange::Kind::kRemoveOption, k, "", nullptr, ""});
  if (changes.empty()) return Status::Invalid("alter: nothing to change (see millpond alter --help)");
  ARROW_ASSIGN_OR_RAISE(auto s, table->schemas().Alter(changes));
  std::cout << "altered " << a.table << "; schema " << s.id << "\n";
  return Status::OK();
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status CmdExpire(const Globals& g, const std::string& id) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(g, false));
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->GetTable(id));
  ARROW_ASSIGN_OR_RAISE(auto r, mp::table::ExpireSnapshots(table->file_system(), table->path(),
                                                           NowMillis()));
  std::cout << "expired " << r.snapshots_expired << " snapshots; deleted " << r.data_files_deleted
            << " data files and " << r.manifest_files_deleted << " manifest files\n";
  return Status::OK();
}

Status CmdOrphans(const Globals& g, const std::string& id, const std::string& older_than) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, OpenCatalog(g, false));
  ARROW_ASSIGN_OR_RAISE(auto table, catalog->GetTable(id));
  ARROW_ASSIGN_OR_RAISE(int64_t age, mp::table::ParseDurationMillis(older_than));
  ARROW_ASSIGN_OR_RAISE(auto r, mp::table::RemoveOrphanFiles(table->file_system(), table->path(),
                                                             NowMillis() - age));
  std::cout << "deleted " << r.files_deleted << " orphan files (" << r.bytes_deleted
            << " bytes)\n";
  return Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  // Arrow's default pool in the wheel is mimalloc, which kept ~100 MB more resident than jemalloc
  // for the same primary-key writes (bench/pk_run.sh); a user's own setting wins.
  setenv("ARROW_DEFAULT_MEMORY_POOL", "jemalloc", /*overwrite=*/0);
  if (auto st = arrow::compute::Initialize(); !st.ok()) {
    std::fprintf(stderr, "millpond: error: %s\n", st.ToString().c_str());
    return 1;
  }
  Globals g;
  const char* env = std::getenv("MILLPOND_WAREHOUSE");
  g.warehouse = env && *env ? env : "./warehouse";

  CLI::App app{
      "millpond: a multimodal data lake for manufacturing. Tables are Apache Paimon tables in a\n"
      "warehouse folder (or S3), readable by Paimon Java, pypaimon, Spark and Flink.\n"
      "Example: millpond --warehouse ./wh scan plant.readings --where \"line = 'L1'\" --limit 10"};
  app.option_defaults()->always_capture_default();
  app.add_option("--warehouse,-w", g.warehouse,
                 "Warehouse URI (folder, file:// or s3://); default $MILLPOND_WAREHOUSE or ./warehouse");
  app.require_subcommand(1);

  std::string db;
  auto* tables = app.add_subcommand("tables", "List tables (of one database, or all).\n"
                                              "Example: millpond tables plant");
  tables->add_option("DB", db, "Database");

  auto* table_cmd = app.add_subcommand("table", "Manage tables.");
  table_cmd->require_subcommand(1);
  CreateArgs ca;
  auto* create = table_cmd->add_subcommand(
      "create",
      "Create an append table.\n"
      "Example: millpond table create plant.readings --schema 'ts TIMESTAMP(3), line STRING, "
      "value DOUBLE' --partition line --bucket 4 --bucket-key sensor");
  create->add_option("TABLE", ca.table, "DB.TABLE")->required();
  create->add_option("--schema", ca.schema, "Columns: 'name TYPE [NOT NULL], ...'")->required();
  create->add_option("--partition", ca.partition, "Partition columns, comma-separated");
  create->add_option("--bucket", ca.bucket, "Fixed bucket count (-1: bucket-unaware)");
  create->add_option("--bucket-key", ca.bucket_key, "Bucket key columns, comma-separated");
  create->add_option("--primary-key", ca.primary_key,
                     "Primary key columns: an upsert table (needs --bucket N)");
  create->add_option("--merge-engine", ca.merge_engine,
                     "deduplicate (default), partial-update, aggregation or first-row");
  create->add_option("--option", ca.options, "Table option KEY=VALUE (repeatable)");

  std::string schema_table;
  auto* schema_cmd = app.add_subcommand("schema", "Print a table's schema.\n"
                                                  "Example: millpond schema plant.readings");
  schema_cmd->add_option("TABLE", schema_table, "DB.TABLE")->required();

  std::string write_table, write_input, write_format, write_mode = "upsert", write_branch;
  auto* write = app.add_subcommand(
      "write", "Append rows from a CSV, JSON Lines or Parquet file as one snapshot.\n"
               "Example: millpond write plant.readings --input day1.parquet");
  write->add_option("TABLE", write_table, "DB.TABLE")->required();
  write->add_option("--input,-i", write_input, "Input file")->required();
  write->add_option("--format", write_format, "csv|jsonl|parquet (default: from the extension)");
  write->add_option("--mode", write_mode,
                    "Primary-key tables: upsert (default) or delete rows by key; a _ROW_KIND column "
                    "(+I, -U, +U, -D) overrides it per row");
  write->add_option("--branch", write_branch, "Write to this branch (default main)");

  ScanArgs sa;
  auto* scan = app.add_subcommand(
      "scan", "Read rows, optionally filtered, projected and as of a snapshot, tag or time.\n"
              "Example: millpond scan plant.readings --columns ts,value --where \"value > 80 AND "
              "line IN ('L1','L2')\" --tag eod --format jsonl");
  scan->add_option("TABLE", sa.table, "DB.TABLE")->required();
  scan->add_option("--columns,-c", sa.columns, "Columns to output, comma-separated");
  scan->add_option("--where", sa.where, "Filter: comparisons, AND/OR/NOT, IN, IS [NOT] NULL, BETWEEN");
  auto* o_snap = scan->add_option("--snapshot", sa.snapshot, "Read as of snapshot id");
  auto* o_tag = scan->add_option("--tag", sa.tag, "Read as of a tag");
  auto* o_asof = scan->add_option("--as-of", sa.as_of, "Read as of a time ('YYYY-MM-DD HH:MM:SS' or epoch ms)");
  o_snap->excludes(o_tag)->excludes(o_asof);
  o_tag->excludes(o_asof);
  auto* o_limit = scan->add_option("--limit", sa.limit, "At most this many rows");
  scan->add_option("--format,-f", sa.format, "csv|jsonl|parquet|arrow");
  scan->add_option("--output,-o", sa.output, "Output file (default stdout)");
  auto* o_branch = scan->add_option("--branch", sa.branch, "Read this branch (default main)");
  bool follow = false;
  mp::cli::FollowArgs fa;
  auto* o_follow = scan->add_flag(
      "--follow", follow,
      "Stream every later change, _ROW_KIND first (+I, -U, +U, -D), until interrupted (Ctrl-C, "
      "SIGTERM): the latest snapshot in full, then each new snapshot's rows as it is committed "
      "(csv and jsonl are flushed after each snapshot)");
  auto* o_from = scan->add_option("--from-snapshot", fa.from_snapshot,
                                  "With --follow: start with the changes of snapshot N, no full read");
  auto* o_consumer = scan->add_option(
      "--consumer-id", fa.consumer_id,
      "With --follow: save progress in the table's consumer/consumer-ID and resume from it on "
      "restart; expiration keeps the snapshots it still needs");
  auto* o_interval = scan->add_option("--interval", fa.interval,
                                      "With --follow: how often to look for a new snapshot (500ms, 2s)");
  auto* o_idle = scan->add_option(
      "--until-idle", fa.until_idle,
      "With --follow: stop once no new snapshot came for this long (10s); default: until interrupted");
  for (auto* o : {o_from, o_consumer, o_interval, o_idle}) o->needs(o_follow);
  o_follow->excludes(o_snap)->excludes(o_tag)->excludes(o_asof)->excludes(o_limit)->excludes(o_branch);

  std::string branch_action, branch_table, branch_name, branch_tag;
  int64_t branch_snapshot = -1;
  auto* branch_cmd = app.add_subcommand(
      "branch", "Create (from a snapshot or tag), list, delete or fast-forward branches.\n"
                "Example: millpond branch create plant.readings experiment --tag eod");
  branch_cmd->add_option("ACTION", branch_action, "create|list|delete|fast-forward")
      ->required()
      ->check(CLI::IsMember({"create", "list", "delete", "fast-forward"}));
  branch_cmd->add_option("TABLE", branch_table, "DB.TABLE")->required();
  branch_cmd->add_option("NAME", branch_name, "Branch name");
  branch_cmd->add_option("--snapshot", branch_snapshot, "Create from this snapshot");
  branch_cmd->add_option("--tag", branch_tag, "Create from this tag");

  std::string snaps_table, snaps_branch;
  auto* snaps = app.add_subcommand("snapshots", "List a table's snapshots.\n"
                                                "Example: millpond snapshots plant.readings");
  snaps->add_option("TABLE", snaps_table, "DB.TABLE")->required();
  snaps->add_option("--branch", snaps_branch, "Branch (default main)");

  std::string tag_action, tag_table, tag_name;
  int64_t tag_snapshot = -1;
  auto* tag = app.add_subcommand("tag", "Create, delete or list tags (named snapshots).\n"
                                        "Example: millpond tag create plant.readings eod --snapshot 3");
  tag->add_option("ACTION", tag_action, "create|delete|list")
      ->required()
      ->check(CLI::IsMember({"create", "delete", "list"}));
  tag->add_option("TABLE", tag_table, "DB.TABLE")->required();
  tag->add_option("NAME", tag_name, "Tag name");
  tag->add_option("--snapshot", tag_snapshot, "Snapshot to tag (default: latest)");

  AlterArgs aa;
  auto* alter = app.add_subcommand(
      "alter", "Change a table's schema or options; old files read under the new schema.\n"
               "Example: millpond alter plant.readings --add-column 'unit STRING' "
               "--rename-column value=reading --alter-type 'code BIGINT'");
  alter->add_option("TABLE", aa.table, "DB.TABLE")->required();
  alter->add_option("--add-column", aa.add, "'name TYPE' to add (repeatable)");
  alter->add_option("--rename-column", aa.rename, "OLD=NEW (repeatable)");
  alter->add_option("--drop-column", aa.drop, "Column to drop (repeatable)");
  alter->add_option("--alter-type", aa.type, "'name NEWTYPE' widening a column (repeatable)");
  alter->add_option("--set", aa.set, "Option KEY=VALUE (repeatable)");
  alter->add_option("--unset", aa.unset, "Option to remove (repeatable)");

  std::string compact_table;
  bool compact_full = false;
  auto* compact = app.add_subcommand(
      "compact", "Compact a primary-key table (Paimon's universal compaction; --full: every bucket\n"
                 "to the highest level).\nExample: millpond compact plant.machine_state --full");
  compact->add_option("TABLE", compact_table, "DB.TABLE")->required();
  compact->add_flag("--full", compact_full, "Full compaction");

  std::string expire_table;
  auto* expire = app.add_subcommand(
      "expire", "Expire old snapshots (snapshot.num-retained.min/max, snapshot.time-retained) and\n"
                "delete the files only they referenced; tags and consumers keep theirs.\n"
                "Example: millpond expire plant.readings");
  expire->add_option("TABLE", expire_table, "DB.TABLE")->required();

  std::string orphan_table, orphan_age = "1d";
  auto* orphans = app.add_subcommand(
      "orphans", "Delete files no snapshot or tag references, older than a guard age.\n"
                 "Example: millpond orphans plant.readings --older-than 1d");
  orphans->add_option("TABLE", orphan_table, "DB.TABLE")->required();
  orphans->add_option("--older-than", orphan_age, "Only files last modified before now minus this (e.g. 1d, 6h)");

  std::vector<mp::cli::Command> module_commands;
  for (auto registrar : mp::cli::CommandRegistrars()) registrar(app, g.warehouse, &module_commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "millpond: error: %s (see --help)\n", e.what());
    return 2;
  }

  Status st;
  if (*tables) {
    st = CmdTables(g, db);
  } else if (*create) {
    st = CmdCreate(g, ca);
  } else if (*schema_cmd) {
    st = CmdSchema(g, schema_table);
  } else if (*write) {
    st = CmdWrite(g, write_table, write_input, write_format, write_mode, write_branch);
  } else if (*scan && follow) {
    fa.table = sa.table;
    fa.columns = sa.columns;
    fa.where = sa.where;
    fa.format = sa.format;
    fa.output = sa.output;
    st = mp::cli::RunFollow(g.warehouse, fa);
  } else if (*scan) {
    st = CmdScan(g, sa);
  } else if (*snaps) {
    st = CmdSnapshots(g, snaps_table, snaps_branch);
  } else if (*branch_cmd) {
    st = CmdBranch(g, branch_action, branch_table, branch_name, branch_snapshot, branch_tag);
  } else if (*tag) {
    st = CmdTag(g, tag_action, tag_table, tag_name, tag_snapshot);
  } else if (*alter) {
    st = CmdAlter(g, aa);
  } else if (*compact) {
    st = mp::cli::RunCompact(g.warehouse, compact_table, compact_full);
  } else if (*expire) {
    st = CmdExpire(g, expire_table);
  } else if (*orphans) {
    st = CmdOrphans(g, orphan_table, orphan_age);
  } else {
    for (auto& c : module_commands) {
      if (c.app->parsed()) {
        st = c.run();
        break;
      }
    }
  }
  std::cout.flush();
  if (!st.ok()) {
    std::string msg = st.ToString();
    for (auto& c : msg) {
      if (c == '\n') c = ' ';
    }
    std::fprintf(stderr, "millpond: error: %s\n", msg.c_str());
    return 1;
  }
  return 0;
}
