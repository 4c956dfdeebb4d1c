// IngestFiles: walk, skip what is known, store and probe the rest, commit in batches.
#include "millpond/blob/ingest_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>

#include "folder_walk.h"
#include "millpond/blob/blob_store.h"
#include "millpond/blob/blob_table.h"
#include "millpond/blob/media_probe.h"
#include "millpond/paimon/blob_format.h"
#include "millpond/table/blob_reader.h"
#include "millpond/table/catalog.h"
#include "millpond/table/manifest_io.h"

namespace millpond::blob {

const char* const kFilesTableSchema =
    "path STRING NOT NULL, version INT NOT NULL, size BIGINT NOT NULL, content_type STRING, "
    "sha256 STRING NOT NULL, mtime TIMESTAMP(3) WITH LOCAL TIME ZONE, captured_at TIMESTAMP(3), "
    "captured_from STRING, width INT, height INT, duration DOUBLE, video_codec STRING, "
    "frame_rate DOUBLE, ingested_at TIMESTAMP(3) WITH LOCAL TIME ZONE, blob BLOB";

namespace {

// The latest row of a path.
struct Known {
  int32_t version = 0;
  int64_t size = -1;
  int64_t mtime_ms = 0;
  std::string sha256;
};

struct Row {
  std::string path;
  int32_t version = 1;
  int64_t size = 0;
  MediaInfo info;
  BlobId id;
  int64_t mtime_ms = 0;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool SameContentState(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec && a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

Result<std::unique_ptr<table::Table>> OpenOrCreateTable(table::Catalog& catalog,
                                                        const std::string& name) {
  auto existing = catalog.GetTable(name);
  if (!existing.ok()) {
    if (!existing.status().IsKeyError()) return existing.status();
    paimon::TableSchema schema;
    ARROW_ASSIGN_OR_RAISE(schema.fields, paimon::ParseColumns(kFilesTableSchema));
    schema.options[paimon::kBlobDescriptorFieldOption] = "blob";
    schema.options[std::string(table::kBlobIdFieldOptionPrefix) + "blob"] = "sha256";
    schema.comment = "files ingested by `millpond ingest files`";
    auto created = catalog.CreateTable(name, std::move(schema));
    if (created.ok() || !created.status().IsAlreadyExists()) return created;
    return catalog.GetTable(name);  // created by a concurrent ingest
  }
  // An existing table must be a files table.
  ARROW_ASSIGN_OR_RAISE(auto schema, (*existing)->LatestSchema());
  ARROW_ASSIGN_OR_RAISE(auto want, paimon::ParseColumns(kFilesTableSchema));
  for (const auto& f : want) {
    int i = schema.FieldIndex(f.name);
    if (i < 0 || schema.fields[i].type->root != f.type->root) {
      return Status::Invalid("table ", name, " exists but is not a files table: it lacks column ",
                             f.name, " ", f.type->ToString(), " (columns: ", kFilesTableSchema,
                             ")");
    }
  }
  if (schema.Option(paimon::kBlobDescriptorFieldOption, "") != "blob") {
    return Status::Invalid("table ", name, " exists but its blob column is not a descriptor field");
  }
  return existing;
}

Result<std::map<std::string, Known>> LoadKnown(const table::Table& t) {
  table::ScanOptions so;
  so.columns = {"path", "version", "size", "mtime", "sha256"};
  ARROW_ASSIGN_OR_RAISE(auto scan, t.NewScan(so));
  std::map<std::string, Known> known;
  ARROW_RETURN_NOT_OK(scan->Read([&](const std::shared_ptr<arrow::RecordBatch>& b) {
    const auto& path = static_cast<const arrow::StringArray&>(*b->column(0));
    const auto& version = static_cast<const arrow::Int32Array&>(*b->column(1));
    const auto& size = static_cast<const arrow::Int64Array&>(*b->column(2));
    const auto& mtime = static_cast<const arrow::TimestampArray&>(*b->column(3));
    const auto& sha = static_cast<const arrow::StringArray&>(*b->column(4));
    for (int64_t r = 0; r < b->num_rows(); ++r) {
      if (path.IsNull(r)) continue;
      Known k;
      k.version = version.IsNull(r) ? 0 : version.Value(r);
      auto& slot = known[std::string(path.GetView(r))];
      if (k.version < slot.version) continue;
      k.size = size.IsNull(r) ? -1 : size.Value(r);
      k.mtime_ms = mtime.IsNull(r) ? 0 : mtime.Value(r);
      k.sha256 = sha.IsNull(r) ? "" : std::string(sha.GetView(r));
      slot = std::move(k);
    }
    return Status::OK();
  }));
  return known;
}

class Ingest {
 public:
  Ingest(const IngestFilesOptions& options, table::Table* table, BlobStore* store,
         DescriptorMaker* maker, MediaProbe* probe, std::map<std::string, Known> known,
         std::optional<int64_t> known_as_of)
      : options_(options), table_(table), store_(store), maker_(maker), probe_(probe),
        known_(std::move(known)), known_as_of_(known_as_of) {}

  Status Run(const std::vector<WalkedFile>& files, IngestFilesResult* result) {
    result_ = result;
    IngestProgress progress;
    progress.files_total = static_cast<int64_t>(files.size());
    for (const auto& f : files) progress.bytes_total += f.size;
    for (size_t i = 0; i < files.size();) {
      // A group of files read whole and stored with one PutMany (ids and chunks hashed together).
      size_t j = i;
      uint64_t bytes = 0;
      while (j < files.size() && j - i < kGroupFiles &&
             (j == i || bytes + files[j].size <= kGroupBytes)) {
        bytes += files[j].size;
        ++j;
      }
      std::vector<Opened> group(j - i);
      for (size_t k = i; k < j; ++k) {
        ++result_->files_seen;
        group[k - i].status = Open(files[k], &group[k - i]);
      }
      StoreGroup(&group);
      for (size_t k = i; k < j; ++k) {
        Opened& o = group[k - i];
        Status st = o.status.ok() && o.open ? Finish(files[k], &o) : o.status;
        if (!st.ok()) {
          ++result_->failed;
          if (options_.problem) options_.problem(files[k].rel + ": " + st.message());
        }
        ++progress.files_done;
        progress.bytes_done += files[k].size;
        if (options_.progress) options_.progress(progress);
        if (static_cast<int64_t>(pending_.size()) >= options_.batch_files ||
            pending_bytes_ >= options_.batch_bytes) {
          ARROW_RETURN_NOT_OK(Commit());
        }
      }
      i = j;
    }
    return Commit();
  }

 private:
  static constexpr size_t kGroupFiles = 32;
  static constexpr uint64_t kGroupBytes = 64u << 20;  // larger files are streamed alone

  // A file opened for storing: its descriptor, its state before, what the probe found, and
  // its bytes when small enough to be read whole.
  struct Opened {
    Status status;
    bool open = false;  // false: skipped as unchanged, or failed
    std::unique_ptr<Fd> fd;
    struct stat before {};
    MediaInfo info;
    const Known* known = nullptr;
    bool whole = false;
    std::string bytes;
    Result<BlobId> id = Status::Invalid("not stored");
  };

  // Skips what is known unchanged; opens, checks and probes the rest (and reads small ones).
  Status Open(const WalkedFile& f, Opened* o) {
    auto it = known_.find(f.rel);
    o->known = it == known_.end() ? nullptr : &it->second;
    if (o->known && o->known->size == f.size &&
        o->known->mtime_ms == FloorDiv(f.mtime_ns, 1000000)) {
      ++result_->unchanged;
      return Status::OK();
    }
    // O_NONBLOCK: a fifo swapped in since the walk must not block the open.
    o->fd = std::make_unique<Fd>(
        ::open(f.open.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (o->fd->get() < 0) {
      if (errno == ELOOP) return Status::IOError("became a symbolic link; not followed");
      return Status::IOError("cannot open: ", std::strerror(errno));
    }
    if (::fstat(o->fd->get(), &o->before) != 0) {
      return Status::IOError("cannot stat: ", std::strerror(errno));
    }
    if (!S_ISREG(o->before.st_mode)) return Status::IOError("not a regular file");
    if (static_cast<uint64_t>(o->before.st_dev) != f.dev ||
        static_cast<uint64_t>(o->before.st_ino) != f.ino) {
      return Status::IOError("was replaced by another file while being ingested");
    }
    ARROW_ASSIGN_OR_RAISE(o->info, probe_->Probe(o->fd->get(), f.rel));
    if (static_cast<uint64_t>(o->before.st_size) <= kGroupBytes) {
      // Read whole from the open file (not the name, which could change meanwhile); one byte
      // more than its size tells a file that grew meanwhile.
      o->whole = true;
      o->bytes.resize(static_cast<size_t>(o->before.st_size) + 1);
      size_t got = 0;
      while (got < o->bytes.size()) {
        const ssize_t n = ::pread(o->fd->get(), o->bytes.data() + got, o->bytes.size() - got,
                                  static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Status::IOError("cannot read: ", std::strerror(errno));
        if (n == 0) break;
        got += static_cast<size_t>(n);
      }
      if (got != static_cast<size_t>(o->before.st_size)) {
        return Status::IOError("changed while being read (run the ingest again once it is quiet)");
      }
      o->bytes.resize(got);
    }
    o->open = true;
    return Status::OK();
  }

  // Stores the group: the files read whole with one PutMany, larger ones streamed one by one.
  void StoreGroup(std::vector<Opened>* group) {
    std::vector<std::string_view> views;
    std::vector<Opened*> whole;
    for (auto& o : *group) {
      if (!o.status.ok() || !o.open) continue;
      if (o.whole) {
        views.push_back(o.bytes);
        whole.push_back(&o);
      } else {
        // The store reads the same open file (not the name, which could change meanwhile).
        o.id = store_->PutFile("/proc/self/fd/" + std::to_string(o.fd->get()));
      }
    }
    if (views.empty()) return;
    auto ids = store_->PutMany(views);
    for (size_t k = 0; k < whole.size(); ++k) {
      if (ids.ok()) {
        whole[k]->id = (*ids)[k];
      } else {
        whole[k]->id = ids.status();
      }
      std::string().swap(whole[k]->bytes);
    }
  }

  // After storing: the file must not have changed meanwhile; then a row for the batch.
  Status Finish(const WalkedFile& f, Opened* o) {
    if (!o->id.ok()) return Status::IOError("cannot store: ", o->id.status().message());
    const BlobId id = *o->id;
    struct stat after {};
    if (::fstat(o->fd->get(), &after) != 0) {
      return Status::IOError("cannot stat: ", std::strerror(errno));
    }
    ARROW_ASSIGN_OR_RAISE(int64_t stored, store_->Size(id));
    if (!SameContentState(o->before, after) ||
        stored != static_cast<int64_t>(o->before.st_size)) {
      return Status::IOError("changed while being read (run the ingest again once it is quiet)");
    }
    const Known* known = o->known;
    if (known && known->sha256 == id.Hex()) {
      ++result_->unchanged;  // touched, same bytes
      return Status::OK();
    }
    Row row;
    row.path = f.rel;
    row.version = known ? known->version + 1 : 1;
    row.size = static_cast<int64_t>(o->before.st_size);
    row.info = std::move(o->info);
    row.id = id;
    row.mtime_ms = FloorDiv(static_cast<int64_t>(o->before.st_mtim.tv_sec) * 1000000000LL +
                                o->before.st_mtim.tv_nsec,
                            1000000);
    (known ? result_->new_versions : result_->added)++;
    result_->bytes_added += row.size;
    pending_bytes_ += row.size;
    pending_.push_back(std::move(row));
    return Status::OK();
  }

  // Flushes the store (blobs before the rows that reference them) and commits the batch. The
  // commit lands only on the snapshot the known files were read from: when another ingest of the
  // table committed meanwhile, the known files are read again, rows for files it already added
  // are dropped, versions are renumbered, and the batch is committed again (nothing twice).
  Status Commit() {
    if (pending_.empty()) return Status::OK();
    ARROW_RETURN_NOT_OK(store_->Flush());
    ARROW_RETURN_NOT_OK(maker_->Refresh());
    constexpr int kAttempts = 50;
    for (int attempt = 0; attempt < kAttempts && !pending_.empty(); ++attempt) {
      auto st = TryCommit();
      if (!st.IsCancelled()) return st;
      ARROW_RETURN_NOT_OK(Rebase());
    }
    if (pending_.empty()) return Status::OK();
    return Status::IOError("ingest into ", table_->name(), " lost ", kAttempts,
                           " commit races with other ingests in a row; run it again");
  }

  // Reads the known files again at the latest snapshot and rebases the pending rows on them.
  Status Rebase() {
    ARROW_ASSIGN_OR_RAISE(known_as_of_, table_->snapshots().LatestSnapshotId());
    ARROW_ASSIGN_OR_RAISE(known_, LoadKnown(*table_));
    std::vector<Row> kept;
    for (auto& r : pending_) {
      auto it = known_.find(r.path);
      const Known* k = it == known_.end() ? nullptr : &it->second;
      (r.version > 1 ? result_->new_versions : result_->added)--;
      if (k && (k->sha256 == r.id.Hex() || (k->size == r.size && k->mtime_ms == r.mtime_ms))) {
        ++result_->unchanged;  // another ingest added it meanwhile
        result_->bytes_added -= r.size;
        pending_bytes_ -= r.size;
        continue;
      }
      r.version = k ? k->version + 1 : 1;
      (r.version > 1 ? result_->new_versions : result_->added)++;
      kept.push_back(std::move(r));
    }
    pending_ = std::move(kept);
    return Status::OK();
  }

  Status TryCommit() {
    ARROW_ASSIGN_OR_RAISE(auto schema, table_->LatestSchema());
    arrow::StringBuilder path, content_type, sha, from, codec;
    arrow::Int32Builder version, width, height;
    arrow::Int64Builder size;
    arrow::DoubleBuilder duration, fps;
    arrow::TimestampBuilder mtime(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"),
                                  arrow::default_memory_pool());
    arrow::TimestampBuilder captured(arrow::timestamp(arrow::TimeUnit::MILLI),
                                     arrow::default_memory_pool());
    arrow::TimestampBuilder ingested(arrow::timestamp(arrow::TimeUnit::MILLI, "UTC"),
                                     arrow::default_memory_pool());
    arrow::BinaryBuilder blob;
    const int64_t now = NowMillis();
    auto opt_int = [](arrow::Int32Builder& b, const std::optional<int32_t>& v) {
      return v ? b.Append(*v) : b.AppendNull();
    };
    auto opt_double = [](arrow::DoubleBuilder& b, const std::optional<double>& v) {
      return v ? b.Append(*v) : b.AppendNull();
    };
    for (const auto& r : pending_) {
      ARROW_RETURN_NOT_OK(path.Append(r.path));
      ARROW_RETURN_NOT_OK(version.Append(r.version));
      ARROW_RETURN_NOT_OK(size.Append(r.size));
      ARROW_RETURN_NOT_OK(content_type.Append(r.info.content_type));
      ARROW_RETURN_NOT_OK(sha.Append(r.id.Hex()));
      ARROW_RETURN_NOT_OK(mtime.Append(r.mtime_ms));
      // EXIF is the camera's wall clock; the modification time is taken as UTC wall time.
      ARROW_RETURN_NOT_OK(captured.Append(r.info.exif_captured_millis.value_or(r.mtime_ms)));
      ARROW_RETURN_NOT_OK(from.Append(r.info.exif_captured_millis ? "exif" : "mtime"));
      ARROW_RETURN_NOT_OK(opt_int(width, r.info.width));
      ARROW_RETURN_NOT_OK(opt_int(height, r.info.height));
      ARROW_RETURN_NOT_OK(opt_double(duration, r.info.duration_seconds));
      ARROW_RETURN_NOT_OK(r.info.video_codec ? codec.Append(*r.info.video_codec)
                                             : codec.AppendNull());
      ARROW_RETURN_NOT_OK(opt_double(fps, r.info.frame_rate));
      ARROW_RETURN_NOT_OK(ingested.Append(now));
      ARROW_ASSIGN_OR_RAISE(auto d, maker_->Describe(r.id, r.size));
      ARROW_RETURN_NOT_OK(blob.Append(d.Serialize()));
    }
    std::vector<std::pair<std::string, arrow::ArrayBuilder*>> builders = {
        {"path", &path},       {"version", &version},   {"size", &size},
        {"content_type", &content_type}, {"sha256", &sha}, {"mtime", &mtime},
        {"captured_at", &captured}, {"captured_from", &from}, {"width", &width},
        {"height", &height},   {"duration", &duration}, {"video_codec", &codec},
        {"frame_rate", &fps},  {"ingested_at", &ingested}, {"blob", &blob}};
    arrow::FieldVector fields;
    arrow::ArrayVector arrays;
    for (auto& [name, b] : builders) {
      std::shared_ptr<arrow::Array> a;
      ARROW_RETURN_NOT_OK(b->Finish(&a));
      fields.push_back(arrow::field(name, a->type()));
      arrays.push_back(std::move(a));
    }
    auto batch = arrow::RecordBatch::Make(arrow::schema(fields),
                                          static_cast<int64_t>(pending_.size()), arrays);
    ARROW_ASSIGN_OR_RAISE(auto writer, table_->NewWriter());
    auto st = writer->Write(batch);
    Result<std::vector<paimon::ManifestEntry>> entries =
        st.ok() ? writer->PrepareCommit() : Result<std::vector<paimon::ManifestEntry>>(st);
    if (!entries.ok()) {
      writer->Abort();
      return entries.status();
    }
    table::CommitOptions co;
    co.properties["millpond.ingest.files"] = options_.dir;
    co.precondition = [this](const paimon::Snapshot* latest) {
      const std::optional<int64_t> id = latest ? std::optional<int64_t>(latest->id) : std::nullopt;
      if (id == known_as_of_) return Status::OK();
      return Status::Cancelled("another ingest committed to the table meanwhile");
    };
    auto committed = table_->Commit(*entries, co);
    if (!committed.ok()) {
      for (const auto& e : *entries) {  // written for this attempt only: nothing refers to them
        auto path = table::DataFilePath(schema, table_->path(), e);
        if (path.ok()) (void)table_->file_system()->DeleteFile(*path);
      }
      return committed.status();
    }
    const int64_t snapshot = *committed;
    known_as_of_ = snapshot;
    result_->snapshots.push_back(snapshot);
    for (const auto& r : pending_) {
      known_[r.path] = Known{r.version, r.size, r.mtime_ms, r.id.Hex()};
    }
    pending_.clear();
    pending_bytes_ = 0;
    return Status::OK();
  }

  const IngestFilesOptions& options_;
  table::Table* table_;
  BlobStore* store_;
  DescriptorMaker* maker_;
  MediaProbe* probe_;
  std::map<std::string, Known> known_;
  std::optional<int64_t> known_as_of_;  // the snapshot known_ was read from
  std::vector<Row> pending_;
  int64_t pending_bytes_ = 0;
  IngestFilesResult* result_ = nullptr;
};

}  // namespace

Result<IngestFilesResult> IngestFiles(const std::string& warehouse_uri,
                                      const IngestFilesOptions& options) {
  if (options.dir.empty()) return Status::Invalid("give the folder to ingest");
  ARROW_RETURN_NOT_OK(ValidatePattern(options.pattern));
  ARROW_RETURN_NOT_OK(table::Catalog::ParseIdentifier(options.table).status());
  // Walk first: a missing folder fails before anything is created.
  auto problem = options.problem ? options.problem : [](const std::string&) {};
  IngestFilesResult result;
  int64_t walk_problems = 0;
  ARROW_ASSIGN_OR_RAISE(auto files, WalkFolder(options.dir,
                                               WalkOptions{options.recursive, options.pattern},
                                               [&](const std::string& p) {
                                                 ++walk_problems;
                                                 problem(p);
                                               }));
  result.failed = walk_problems;
  ARROW_ASSIGN_OR_RAISE(auto catalog,
                        table::Catalog::Open(warehouse_uri, /*create_if_missing=*/true));
  ARROW_ASSIGN_OR_RAISE(auto table, OpenOrCreateTable(*catalog, options.table));
  // The snapshot id first: a commit landing between the two reads only causes a rebase.
  ARROW_ASSIGN_OR_RAISE(auto known_as_of, table->snapshots().LatestSnapshotId());
  ARROW_ASSIGN_OR_RAISE(auto known, LoadKnown(*table));
  ARROW_ASSIGN_OR_RAISE(auto store, BlobStore::Open(catalog->file_system(), catalog->root()));
  ARROW_ASSIGN_OR_RAISE(auto maker, DescriptorMaker::Make(catalog->file_system(), catalog->root()));
  ARROW_ASSIGN_OR_RAISE(auto probe, MediaProbe::Make());
  IngestFilesOptions opts = options;
  opts.problem = problem;
  Ingest ingest(opts, table.get(), store.get(), maker.get(), probe.get(), std::move(known),
                known_as_of);
  ARROW_RETURN_NOT_OK(ingest.Run(files, &result));
  return result;
}

}  // namespace millpond::blob
