// pk_write_tool: drives KeyValueWriter from the command line until `millpond` exposes
// primary-key writes (used by tests/test_pk_write_interop.py).
//   pk_write_tool WAREHOUSE DB.T create 'id BIGINT NOT NULL, name STRING' --primary-key id
//                 [--partition p] [--bucket N] [--bucket-key k] [--option key=value]...
//   pk_write_tool WAREHOUSE DB.T write FILE.parquet [--mode upsert|delete] [--no-compact]
//   pk_write_tool WAREHOUSE DB.T compact [--full]
//   pk_write_tool WAREHOUSE DB.T runs      (prints "max_runs N levels L..." of the latest snapshot)
// A `write` is one APPEND commit, followed by a COMPACT commit when universal compaction picks
// something; it prints the APPEND snapshot id, and "compact S" on stderr for a COMPACT one.
// `compact` prints "compacted N buckets: X files -> Y files; snapshot S".
#include <algorithm>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <arrow/compute/initialize.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>

#include "millpond/paimon/data_file.h"
#include "millpond/table/catalog.h"
#include "millpond/table/compaction.h"
#include "millpond/table/manifest_io.h"
#include "millpond/table/merge_read.h"
#include "millpond/table/key_value_writer.h"

namespace mp = millpond;
using mp::Result;
using mp::Status;

namespace {


Status Create(const mp::table::Catalog& catalog, const std::string& id,
              const std::vector<std::string>& args) {
  if (args.empty()) return Status::Invalid("create: missing column spec");
  mp::paimon::TableSchema schema;
  ARROW_ASSIGN_OR_RAISE(schema.fields, mp::paimon::ParseColumns(args[0]));
  for (size_t i = 1; i < args.size(); ++i) {
    if (i + 1 >= args.size()) return Status::Invalid("option ", args[i], " needs a value");
    const std::string& k = args[i];
    const std::string& v = args[++i];
    if (k == "--primary-key") {
      schema.primary_keys = mp::paimon::SplitNames(v);
    } else if (k == "--partition") {
      schema.partition_keys = mp::paimon::SplitNames(v);
    } else if (k == "--bucket") {
      schema.options["bucket"] = v;
    } else if (k == "--bucket-key") {
      schema.options["bucket-key"] = v;
    } else if (k == "--option") {
      auto eq = v.find('=');
      if (eq == std::string::npos) return Status::Invalid("--option wants key=value");
      schema.options[v.substr(0, eq)] = v.substr(eq + 1);
    } else {
      return Status::Invalid("unknown option ", k);
    }
  }
  ARROW_ASSIGN_OR_RAISE(schema, mp::table::PrepareKeyValueTableSchema(std::move(schema)));
  ARROW_ASSIGN_OR_RAISE(auto names, mp::table::Catalog::ParseIdentifier(id));
  mp::table::SchemaManager schemas(catalog.file_system(),
                                   catalog.TablePath(names.first, names.second));
  ARROW_ASSIGN_OR_RAISE(auto ids, schemas.ListIds());
  if (!ids.empty()) return Status::AlreadyExists("table ", id, " already exists");
  ARROW_ASSIGN_OR_RAISE(bool created, schemas.TryCommit(schema));
  if (!created) return Status::AlreadyExists("table ", id, " already exists");
  return Status::OK();
}

Status Write(const mp::table::Catalog& catalog, const std::string& id,
             const std::vector<std::string>& args) {
  if (args.empty()) return Status::Invalid("write: missing input file");
  mp::table::RowKind kind = mp::table::RowKind::kInsert;
  bool compact = true;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--no-compact") {
      compact = false;
    } else if (args[i] == "--mode" && i + 1 < args.size()) {
      const std::string& m = args[++i];
      if (m == "upsert") {
        kind = mp::table::RowKind::kInsert;
      } else if (m == "delete") {
        kind = mp::table::RowKind::kDelete;
      } else {
        return Status::Invalid("--mode must be upsert or delete");
      }
    } else {
      return Status::Invalid("unknown option ", args[i]);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto table, catalog.GetTable(id));
  ARROW_ASSIGN_OR_RAISE(auto schema, table->LatestSchema());
  ARROW_ASSIGN_OR_RAISE(auto writer, mp::table::KeyValueWriter::Make(table->file_system(),
                                                                     table->path(), schema));
  std::string root;
  ARROW_ASSIGN_OR_RAISE(auto local, mp::fs::FileSystem::Make("/", &root));
  ARROW_ASSIGN_OR_RAISE(auto input, mp::paimon::ReadDataFile(*local, args[0], "parquet", {}));
  arrow::TableBatchReader reader(*input);
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    Status st = writer->Write(batch, kind);
    if (!st.ok()) {
      writer->Abort();
      return st;
    }
  }
  if (!compact) {
    mp::table::CommitOptions options;  // with the input changelog, if the table produces one
    auto entries = writer->PrepareCommit(&options.changelog);
    if (!entries.ok()) {
      writer->Abort();
      return entries.status();
    }
    ARROW_ASSIGN_OR_RAISE(int64_t snapshot, table->Commit(*entries, options));
    std::cout << snapshot << std::endl;
    return Status::OK();
  }
  ARROW_ASSIGN_OR_RAISE(auto result, mp::table::CommitKeyValueWrite(*table, *writer));
  std::cout << result.append_snapshot << std::endl;
  if (result.compact_snapshot) std::cerr << "compact " << *result.compact_snapshot << std::endl;
  return Status::OK();
}

Status Compact(const mp::table::Catalog& catalog, const std::string& id,
               const std::vector<std::string>& args) {
  bool full = false;
  for (const auto& a : args) {
    if (a != "--full") return Status::Invalid("unknown option ", a);
    full = true;
  }
  ARROW_ASSIGN_OR_RAISE(auto table, catalog.GetTable(id));
  ARROW_ASSIGN_OR_RAISE(auto s, mp::table::CompactTable(*table, full));
  std::cout << "compacted " << s.buckets << " buckets: " << s.files_before << " files -> "
            << s.files_after << " files; snapshot " << s.snapshot_id << std::endl;
  return Status::OK();
}

// The largest number of sorted runs of any bucket, and the levels that hold files.
Status Runs(const mp::table::Catalog& catalog, const std::string& id) {
  ARROW_ASSIGN_OR_RAISE(auto table, catalog.GetTable(id));
  ARROW_ASSIGN_OR_RAISE(auto schema, table->LatestSchema());
  ARROW_ASSIGN_OR_RAISE(auto latest, table->snapshots().LatestSnapshotId());
  size_t max_runs = 0;
  std::set<int32_t> levels;
  if (latest) {
    ARROW_ASSIGN_OR_RAISE(auto snap, table->snapshots().ReadSnapshot(*latest));
    ARROW_ASSIGN_OR_RAISE(auto codec, mp::paimon::AvroCodecFromName(
                                          schema.Option("manifest.compression", "zstd")));
    mp::table::ManifestIO manifests(table->file_system(), table->path(), codec,
                                    mp::table::PartitionTypes(schema));
    ARROW_ASSIGN_OR_RAISE(auto live, manifests.LiveEntries(snap));
    for (const auto& group : mp::table::GroupByBucket(live)) {
      max_runs = std::max(max_runs, mp::table::LevelSortedRuns(group).size());
      for (const auto& e : group) levels.insert(e.file.level);
    }
  }
  std::cout << "max_runs " << max_runs << " levels";
  for (int32_t l : levels) std::cout << " " << l;
  std::cout << std::endl;
  return Status::OK();
}

Status Run(const std::vector<std::string>& argv) {
  if (argv.size() < 3) {
    return Status::Invalid("usage: pk_write_tool WAREHOUSE DB.T create SPEC [options] | "
                           "write FILE.parquet [--mode upsert|delete] [--no-compact] | compact [--full]");
  }
  ARROW_RETURN_NOT_OK(arrow::compute::Initialize());
  ARROW_ASSIGN_OR_RAISE(auto catalog, mp::table::Catalog::Open(argv[0], true));
  std::vector<std::string> rest(argv.begin() + 3, argv.end());
  if (argv[2] == "create") return Create(*catalog, argv[1], rest);
  if (argv[2] == "write") return Write(*catalog, argv[1], rest);
  if (argv[2] == "compact") return Compact(*catalog, argv[1], rest);
  if (argv[2] == "runs") return Runs(*catalog, argv[1]);
  return Status::Invalid("unknown command ", argv[2]);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Status st = Run(args);
  if (!st.ok()) {
    std::cerr << "error: " << st.ToString() << std::endl;
    return 1;
  }
  return 0;
}
