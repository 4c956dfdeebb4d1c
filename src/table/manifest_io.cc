// ManifestIO: manifest files and lists on storage.
#include "millpond/table/manifest_io.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <list>
#include <mutex>
#include <random>
#include <unordered_map>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api_aggregate.h>
#include <arrow/scalar.h>

#include "millpond/paimon/binary_row.h"
#include "millpond/paimon/partition.h"

namespace millpond::table {

std::string LocalExternalPath(const std::string& external_path) {
  std::string path = external_path;
  if (path.rfind("file://", 0) == 0 || path.rfind("FILE://", 0) == 0) {
    path = path.substr(7);
  } else if (path.rfind("file:", 0) == 0 || path.rfind("FILE:", 0) == 0) {
    path = path.substr(5);
  }
  return path;
}

Result<std::string> BucketPath(const std::string& table_path, const paimon::TableSchema& schema,
                               const std::string& partition, int32_t bucket) {
  std::vector<paimon::DataTypePtr> types;
  for (const auto& k : schema.partition_keys) {
    int i = schema.FieldIndex(k);
    if (i < 0) return Status::Invalid("partition key '", k, "' is not a column");
    types.push_back(schema.fields[i].type);
  }
  std::vector<std::shared_ptr<arrow::Scalar>> values;
  if (!types.empty()) {
    ARROW_ASSIGN_OR_RAISE(values, paimon::DeserializeBinaryRow(partition, types));
  }
  ARROW_ASSIGN_OR_RAISE(
      std::string ppath,
      paimon::PartitionPath(schema.partition_keys, values, types,
                            schema.Option("partition.default-name", paimon::kDefaultPartitionName),
                            schema.Option("partition.legacy-name", "true") != "false"));
  return fs::JoinPath(table_path, ppath + "bucket-" + std::to_string(bucket));
}

Result<std::string> DataFilePath(const paimon::TableSchema& schema, const std::string& table_path,
                                 const paimon::ManifestEntry& e) {
  if (e.file.external_path && !e.file.external_path->empty()) {
    return LocalExternalPath(*e.file.external_path);
  }
  ARROW_ASSIGN_OR_RAISE(std::string dir, BucketPath(table_path, schema, e.partition, e.bucket));
  return fs::JoinPath(dir, e.file.file_name);
}

int64_t CreationTimeMillis() {
  auto now = std::chrono::system_clock::now();
  std::time_t tt = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&tt, &tm);
  int64_t millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  return millis + static_cast<int64_t>(tm.tm_gmtoff) * 1000;
}

std::string NewUuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xFFFF),
                static_cast<unsigned>(a & 0xFFFF), static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buf;
}

namespace {

// Manifest files and lists are immutable and named by UUID, so what they decode to is cached
// process-wide by path, least recently used first out, within a memory budget
// ($MILLPOND_MANIFEST_CACHE_MB, default 64; 0 turns it off). Repeated plans of one table (point
// lookups, streaming polls, a server) then skip the Avro decoding, as Paimon's manifest cache does.
template <typename T>
class DecodedCache {
 public:
  using Value = std::shared_ptr<const std::vector<T>>;

  explicit DecodedCache(int64_t budget) : budget_(budget) {}

  Value Get(const std::string& key) {
    if (budget_ <= 0) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.second);
    return it->second.first.value;
  }

  void Put(const std::string& key, Value value, int64_t bytes) {
    if (budget_ <= 0 || bytes > budget_ / 4) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.count(key)) return;
    lru_.push_front(key);
    map_.emplace(key, std::make_pair(Slot{std::move(value), bytes}, lru_.begin()));
    used_ += bytes;
    while (used_ > budget_ && !lru_.empty()) {
      auto victim = map_.find(lru_.back());
      used_ -= victim->second.first.bytes;
      map_.erase(victim);
      lru_.pop_back();
    }
  }

 private:
  struct Slot {
    Value value;
    int64_t bytes;
  };
  const int64_t budget_;
  std::mutex mu_;
  std::list<std::string> lru_;
  std::unordered_map<std::string, std::pair<Slot, std::list<std::string>::iterator>> map_;
  int64_t used_ = 0;
};

int64_t CacheBudget() {
  const char* mb = std::getenv("MILLPOND_MANIFEST_CACHE_MB");
  return (mb ? std::atoll(mb) : 64) << 20;
}

int64_t StatsBytes(const paimon::SimpleStats& s) {
  return static_cast<int64_t>(s.min_values.size() + s.max_values.size() +
                              s.null_counts.size() * sizeof(std::optional<int64_t>));
}

// Roughly what one decoded entry holds in memory.
int64_t DecodedBytes(const paimon::ManifestEntry& e) {
  const auto& f = e.file;
  int64_t n = static_cast<int64_t>(sizeof(e) + e.partition.size() + f.file_name.size() +
                                   f.min_key.size() + f.max_key.size());
  n += StatsBytes(f.key_stats) + StatsBytes(f.value_stats);
  for (const auto& x : f.extra_files) n += static_cast<int64_t>(x.size() + 32);
  if (f.value_stats_cols) n += static_cast<int64_t>(f.value_stats_cols->size() * 32);
  if (f.write_cols) n += static_cast<int64_t>(f.write_cols->size() * 32);
  return n;
}

int64_t DecodedBytes(const paimon::ManifestFileMeta& m) {
  return static_cast<int64_t>(sizeof(m) + m.file_name.size()) + StatsBytes(m.partition_stats);
}

template <typename T>
DecodedCache<T>& CacheOf() {
  static DecodedCache<T> cache(CacheBudget());
  return cache;
}

// Reads `path` through the cache of its kind; `decode` turns the file's bytes into entries.
template <typename T, typename Decode>
Result<std::vector<T>> ReadCached(const fs::FileSystem& fs, const std::string& path,
                                  const char* what, Decode decode) {
  auto& cache = CacheOf<T>();
  const std::string key = fs.arrow_fs()->type_name() + ":" + path;
  if (auto hit = cache.Get(key)) return *hit;
  auto bytes = fs.ReadFile(path);
  if (!bytes.ok()) return Status::IOError(what, " ", path, " unreadable: ", bytes.status().message());
  ARROW_ASSIGN_OR_RAISE(std::vector<T> decoded, decode(*bytes, path));
  int64_t size = 0;
  for (const auto& x : decoded) size += DecodedBytes(x);
  cache.Put(key, std::make_shared<const std::vector<T>>(decoded), size);
  return decoded;
}

}  // namespace

std::string ManifestIO::ManifestPath(const std::string& name) const {
  return fs::JoinPath(fs::JoinPath(table_path_, "manifest"), name);
}

Result<std::vector<paimon::ManifestFileMeta>> ManifestIO::ReadManifestList(
    const std::string& name) const {
  return ReadCached<paimon::ManifestFileMeta>(
      *fs_, ManifestPath(name), "manifest list",
      [](const std::string& bytes, const std::string& path) {
        return paimon::DecodeManifestList(bytes, path);
      });
}

Result<std::vector<paimon::ManifestEntry>> ManifestIO::ReadManifest(const std::string& name) const {
  return ReadCached<paimon::ManifestEntry>(
      *fs_, ManifestPath(name), "manifest",
      [](const std::string& bytes, const std::string& path) {
        return paimon::DecodeManifestEntries(bytes, path);
      });
}

namespace {

// Min and max over a set of serialized partition rows, as SimpleStats over the partition fields.
Result<paimon::SimpleStats> PartitionStats(const std::vector<const std::string*>& rows,
                                           const std::vector<paimon::DataTypePtr>& types) {
  paimon::SimpleStats stats;
  size_t n = types.size();
  std::vector<std::shared_ptr<arrow::Scalar>> mins(n), maxs(n);
  std::vector<int64_t> nulls(n, 0);
  std::vector<std::vector<std::shared_ptr<arrow::Scalar>>> columns(n);
  for (const std::string* row : rows) {
    ARROW_ASSIGN_OR_RAISE(auto values, paimon::DeserializeBinaryRow(*row, types));
    for (size_t i = 0; i < n && i < values.size(); ++i) columns[i].push_back(values[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    auto type = paimon::ToArrowType(*types[i]);
    mins[i] = arrow::MakeNullScalar(type);
    maxs[i] = arrow::MakeNullScalar(type);
    if (columns[i].empty()) continue;
    std::unique_ptr<arrow::ArrayBuilder> builder;
    ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), type, &builder));
    for (const auto& v : columns[i]) {
      if (!v || !v->is_valid) {
        ++nulls[i];
        ARROW_RETURN_NOT_OK(builder->AppendNull());
      } else {
        ARROW_RETURN_NOT_OK(builder->AppendScalar(*v));
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto arr, builder->Finish());
    auto mm = arrow::compute::MinMax(arr);
    if (mm.ok()) {
      const auto& st = mm->scalar_as<arrow::StructScalar>();
      mins[i] = st.value[0];
      maxs[i] = st.value[1];
    }
  }
  ARROW_ASSIGN_OR_RAISE(stats.min_values, paimon::SerializeBinaryRow(mins, types));
  ARROW_ASSIGN_OR_RAISE(stats.max_values, paimon::SerializeBinaryRow(maxs, types));
  for (int64_t c : nulls) stats.null_counts.push_back(c);
  return stats;
}

}  // namespace

Result<paimon::ManifestFileMeta> ManifestIO::WriteManifest(
    const std::vector<paimon::ManifestEntry>& entries, int64_t schema_id) const {
  paimon::ManifestFileMeta meta;
  meta.file_name = "manifest-" + NewUuid() + "-0";
  ARROW_ASSIGN_OR_RAISE(auto bytes, paimon::EncodeManifestEntries(entries, codec_));
  ARROW_RETURN_NOT_OK(fs_->WriteFile(ManifestPath(meta.file_name), bytes));
  meta.file_size = static_cast<int64_t>(bytes.size());
  meta.schema_id = schema_id;
  std::vector<const std::string*> partitions;
  for (const auto& e : entries) {
    if (e.kind == paimon::FileKind::kAdd) {
      ++meta.num_added_files;
    } else {
      ++meta.num_deleted_files;
    }
    partitions.push_back(&e.partition);
    meta.min_bucket = meta.min_bucket ? std::min(*meta.min_bucket, e.bucket) : e.bucket;
    meta.max_bucket = meta.max_bucket ? std::max(*meta.max_bucket, e.bucket) : e.bucket;
    meta.min_level = meta.min_level ? std::min(*meta.min_level, e.file.level) : e.file.level;
    meta.max_level = meta.max_level ? std::max(*meta.max_level, e.file.level) : e.file.level;
    meta.schema_id = std::max(meta.schema_id, e.file.schema_id);
  }
  ARROW_ASSIGN_OR_RAISE(meta.partition_stats, PartitionStats(partitions, partition_types_));
  return meta;
}

Result<std::pair<std::string, int64_t>> ManifestIO::WriteManifestList(
    const std::vector<paimon::ManifestFileMeta>& metas) const {
  std::string name = "manifest-list-" + NewUuid() + "-0";
  ARROW_ASSIGN_OR_RAISE(auto bytes, paimon::EncodeManifestList(metas, codec_));
  ARROW_RETURN_NOT_OK(fs_->WriteFile(ManifestPath(name), bytes));
  return std::make_pair(name, static_cast<int64_t>(bytes.size()));
}

Result<std::vector<paimon::ManifestFileMeta>> ManifestIO::DataManifests(
    const paimon::Snapshot& s) const {
  ARROW_ASSIGN_OR_RAISE(auto metas, ReadManifestList(s.base_manifest_list));
  ARROW_ASSIGN_OR_RAISE(auto delta, ReadManifestList(s.delta_manifest_list));
  metas.insert(metas.end(), delta.begin(), delta.end());
  return metas;
}

Result<std::vector<paimon::ManifestEntry>> ManifestIO::LiveEntries(const paimon::Snapshot& s) const {
  ARROW_ASSIGN_OR_RAISE(auto metas, DataManifests(s));
  std::vector<paimon::ManifestEntry> all;
  for (const auto& m : metas) {
    ARROW_ASSIGN_OR_RAISE(auto entries, ReadManifest(m.file_name));
    for (auto& e : entries) all.push_back(std::move(e));
  }
  auto merged = MergeEntries(std::move(all));
  std::vector<paimon::ManifestEntry> live;
  for (auto& e : merged) {
    if (e.kind == paimon::FileKind::kAdd) live.push_back(std::move(e));
  }
  return live;
}

std::vector<paimon::ManifestEntry> ManifestIO::MergeEntries(
    std::vector<paimon::ManifestEntry> entries) {
  auto key = [](const paimon::ManifestEntry& e) {
    return e.partition + '\x01' + std::to_string(e.bucket) + '\x01' + e.file.file_name;
  };
  std::unordered_map<std::string, size_t> index;
  std::vector<bool> keep(entries.size(), true);
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string k = key(entries[i]);
    auto it = index.find(k);
    if (entries[i].kind == paimon::FileKind::kAdd) {
      index[k] = i;
    } else if (it != index.end() && keep[it->second]) {
      keep[it->second] = false;  // the DELETE cancels an ADD seen here
      keep[i] = false;
      index.erase(it);
    }
  }
  std::vector<paimon::ManifestEntry> out;
  out.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (keep[i]) out.push_back(std::move(entries[i]));
  }
  return out;
}

}  // namespace millpond::table
