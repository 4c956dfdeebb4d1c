// BLOB columns: field classification, descriptor resolution, `.blob` file columns.
#include "blob_columns.h"

#include <algorithm>
#include <cctype>

#include <arrow/array.h>
#include <arrow/array/concatenate.h>
#include <arrow/buffer.h>
#include <arrow/builder.h>
#include <arrow/chunked_array.h>
#include <arrow/io/interfaces.h>
#include <arrow/record_batch.h>

#include "millpond/table/blob_reader.h"
#include "millpond/table/manifest_io.h"

namespace millpond::table {
namespace {

constexpr int64_t kMaxChunkBytes = 1LL << 30;

bool OptionTrue(const paimon::TableSchema& schema, const std::string& key) {
  std::string v = schema.Option(key, "false");
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "true";
}

}  // namespace

std::set<std::string> DescriptorBlobFields(const paimon::TableSchema& schema) {
  std::set<std::string> out;
  std::string v = schema.Option(paimon::kBlobDescriptorFieldOption, "");
  if (v.empty()) v = schema.Option("blob.stored-descriptor-fields", "");  // Paimon's fallback key
  for (auto& name : paimon::SplitNames(v)) out.insert(name);
  return out;
}

bool IsBlobFileField(const paimon::TableSchema& schema, int i) {
  const auto& f = schema.fields[i];
  return f.type->root == paimon::TypeRoot::kBlob && DescriptorBlobFields(schema).count(f.name) == 0;
}

namespace {
// Function-local: registration may run from another translation unit's static initializer.
struct ReaderSlot {
  std::mutex mu;
  StoreBlobReader reader;
};
ReaderSlot& Slot() {
  static ReaderSlot slot;
  return slot;
}
}  // namespace

void SetStoreBlobReader(StoreBlobReader reader) {
  std::lock_guard<std::mutex> lock(Slot().mu);
  Slot().reader = std::move(reader);
}

StoreBlobReader GetStoreBlobReader() {
  std::lock_guard<std::mutex> lock(Slot().mu);
  return Slot().reader;
}

int BlobIdFieldIndex(const paimon::TableSchema& schema, const std::string& field) {
  std::string name = schema.Option(kBlobIdFieldOptionPrefix + field, "");
  return name.empty() ? -1 : schema.FieldIndex(name);
}

bool HasBlobFields(const paimon::TableSchema& schema) {
  for (const auto& f : schema.fields) {
    if (f.type->root == paimon::TypeRoot::kBlob) return true;
  }
  return false;
}

bool IsDataEvolution(const paimon::TableSchema& schema) {
  return OptionTrue(schema, "data-evolution.enabled");
}

bool IsRowTracking(const paimon::TableSchema& schema) {
  return OptionTrue(schema, "row-tracking.enabled");
}

bool IsBlobDataFile(const paimon::ManifestEntry& e) {
  const auto& n = e.file.file_name;
  const std::string ext = paimon::kBlobFileExtension;
  return n.size() > ext.size() && n.compare(n.size() - ext.size(), ext.size(), ext) == 0;
}

Result<std::pair<fs::FileSystem*, std::string>> BlobResolver::Locate(const std::string& uri) {
  if (uri.rfind("s3://", 0) == 0) {
    if (fs_->is_local()) {
      return Status::NotImplemented("blob uri ", uri, ": S3 blobs from a local warehouse");
    }
    return std::make_pair(fs_.get(), uri.substr(5));
  }
  if (uri.rfind("file:", 0) == 0 || uri.rfind("FILE:", 0) == 0 || uri.rfind("/", 0) == 0) {
    std::string path = LocalExternalPath(uri);
    if (fs_->is_local()) return std::make_pair(fs_.get(), path);
    std::lock_guard<std::mutex> lock(mu_);
    if (!local_) {
      std::string root;
      ARROW_ASSIGN_OR_RAISE(local_, fs::FileSystem::Make("/", &root));
    }
    return std::make_pair(local_.get(), path);
  }
  return Status::NotImplemented("blob uri ", uri, ": only local paths and s3:// are readable");
}

Result<std::shared_ptr<arrow::Buffer>> BlobResolver::FetchById(const std::string& id,
                                                               int64_t offset, int64_t length) {
  auto reader = GetStoreBlobReader();
  if (!reader) {
    return Status::NotImplemented("blob ", id, ": no blob store reader in this program");
  }
  return reader(fs_, table_path_, id, offset, length);
}

Result<std::shared_ptr<arrow::Buffer>> BlobResolver::Fetch(const paimon::BlobDescriptor& d) {
  if (d.uri.rfind(kBlobIdUriPrefix, 0) == 0) {
    return FetchById(d.uri.substr(std::string(kBlobIdUriPrefix).size()), d.offset, d.length);
  }
  ARROW_ASSIGN_OR_RAISE(auto where, Locate(d.uri));
  auto file = where.first->OpenInput(where.second);
  if (!file.ok()) return Status::IOError("blob ", d.uri, ": ", file.status().message());
  int64_t length = d.length;
  if (length < 0) {
    ARROW_ASSIGN_OR_RAISE(int64_t size, (*file)->GetSize());
    length = size - d.offset;
  }
  auto buf = (*file)->ReadAt(d.offset, length);
  if (!buf.ok()) return Status::IOError("blob ", d.uri, ": ", buf.status().message());
  if ((*buf)->size() != length) {
    return Status::IOError("blob ", d.uri, ": ", length, " bytes at offset ", d.offset,
                           " were asked for but the file ends after ", (*buf)->size());
  }
  return *buf;
}

namespace {

// The bytes `fetch(row, descriptor)` gives for each non-null descriptor (nulls stay null), as
// binary chunks of at most kMaxChunkBytes; an error names `what` and the 1-based row.
template <typename FetchRow>
Result<std::shared_ptr<arrow::ChunkedArray>> CollectBlobs(const arrow::ChunkedArray& descriptors,
                                                          const std::string& what,
                                                          FetchRow fetch) {
  arrow::ArrayVector chunks;
  arrow::BinaryBuilder builder;
  int64_t bytes = 0;
  int64_t row = 0;
  for (const auto& chunk : descriptors.chunks()) {
    const auto& bin = static_cast<const arrow::BinaryArray&>(*chunk);
    for (int64_t i = 0; i < bin.length(); ++i, ++row) {
      if (bin.IsNull(i)) {
        ARROW_RETURN_NOT_OK(builder.AppendNull());
        continue;
      }
      Result<std::shared_ptr<arrow::Buffer>> fetched = fetch(row, bin.GetView(i));
      if (!fetched.ok()) {
        return Status::IOError(what, ", row ", row + 1, ": ", fetched.status().message());
      }
      const auto& value = *fetched;
      if (bytes > 0 && bytes + value->size() > kMaxChunkBytes) {
        ARROW_ASSIGN_OR_RAISE(auto done, builder.Finish());
        chunks.push_back(std::move(done));
        bytes = 0;
      }
      ARROW_RETURN_NOT_OK(builder.Append(value->data(), value->size()));
      bytes += value->size();
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto last, builder.Finish());
  chunks.push_back(std::move(last));
  return std::make_shared<arrow::ChunkedArray>(std::move(chunks), arrow::binary());
}

}  // namespace

Result<std::shared_ptr<arrow::ChunkedArray>> BlobResolver::ResolveColumn(
    const arrow::ChunkedArray& descriptors, const std::string& what) {
  return CollectBlobs(descriptors, what,
                      [&](int64_t, std::string_view bytes) -> Result<std::shared_ptr<arrow::Buffer>> {
                        ARROW_ASSIGN_OR_RAISE(auto d, paimon::BlobDescriptor::Parse(bytes));
                        return Fetch(d);
                      });
}

Result<std::shared_ptr<arrow::ChunkedArray>> BlobResolver::ResolveColumnById(
    const arrow::ChunkedArray& descriptors, const arrow::ChunkedArray& ids,
    const std::string& what) {
  if (!GetStoreBlobReader()) return ResolveColumn(descriptors, what);
  auto flat_ids = ids.num_chunks() == 1 ? ids.chunk(0) : nullptr;
  if (!flat_ids) {
    ARROW_ASSIGN_OR_RAISE(flat_ids, arrow::Concatenate(ids.chunks()));
  }
  const auto& id_col = static_cast<const arrow::StringArray&>(*flat_ids);
  return CollectBlobs(
      descriptors, what,
      [&](int64_t row, std::string_view bytes) -> Result<std::shared_ptr<arrow::Buffer>> {
        if (row < id_col.length() && !id_col.IsNull(row)) {
          return FetchById(std::string(id_col.GetView(row)), 0, -1);
        }
        ARROW_ASSIGN_OR_RAISE(auto d, paimon::BlobDescriptor::Parse(bytes));
        return Fetch(d);
      });
}

Result<std::shared_ptr<arrow::ChunkedArray>> ReadBlobFiles(const fs::FileSystem& fs,
                                                           const std::vector<std::string>& paths,
                                                           const std::vector<int64_t>& sizes,
                                                           bool as_descriptor) {
  arrow::ArrayVector chunks;
  for (size_t k = 0; k < paths.size(); ++k) {
    ARROW_ASSIGN_OR_RAISE(auto reader, paimon::BlobFileReader::Open(fs, paths[k], sizes[k]));
    if (!as_descriptor) {
      ARROW_ASSIGN_OR_RAISE(auto col, reader->ReadAll());
      for (const auto& c : col->chunks()) chunks.push_back(c);
      continue;
    }
    arrow::BinaryBuilder builder;
    std::string uri = fs.is_local() ? "file:" + paths[k] : "s3://" + paths[k];
    for (int64_t i = 0; i < reader->record_count(); ++i) {
      if (reader->IsNull(i)) {
        ARROW_RETURN_NOT_OK(builder.AppendNull());
      } else {
        paimon::BlobDescriptor d{uri, reader->DataOffset(i), reader->DataLength(i)};
        ARROW_RETURN_NOT_OK(builder.Append(d.Serialize()));
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto arr, builder.Finish());
    chunks.push_back(std::move(arr));
  }
  return std::make_shared<arrow::ChunkedArray>(std::move(chunks), arrow::binary());
}

}  // namespace millpond::table

namespace millpond::table {

Status PrepareBlobTableSchema(paimon::TableSchema* schema) {
  std::vector<std::string> blobs;
  for (const auto& f : schema->fields) {
    if (f.type->root == paimon::TypeRoot::kBlob) blobs.push_back(f.name);
  }
  for (const auto& name : DescriptorBlobFields(*schema)) {
    if (std::find(blobs.begin(), blobs.end(), name) == blobs.end()) {
      return Status::Invalid("'", paimon::kBlobDescriptorFieldOption, "' names ", name,
                             ", which is not a BLOB column");
    }
  }
  if (blobs.empty()) return Status::OK();
  if (!schema->primary_keys.empty()) {
    return Status::Invalid("BLOB column ", blobs[0], ": tables with BLOB columns cannot have a "
                           "primary key (Paimon stores them with row tracking)");
  }
  if (schema->fields.size() == blobs.size()) {
    return Status::Invalid("a table with BLOB columns needs at least one other column");
  }
  for (const auto& k : schema->partition_keys) {
    if (std::find(blobs.begin(), blobs.end(), k) != blobs.end()) {
      return Status::Invalid("BLOB column ", k, " cannot be a partition key");
    }
  }
  if (schema->NumBuckets() != -1) {
    return Status::Invalid("BLOB column ", blobs[0], ": tables with BLOB columns must be "
                           "bucket-unaware (bucket -1)");
  }
  for (const char* key : {"row-tracking.enabled", "data-evolution.enabled"}) {
    auto it = schema->options.find(key);
    if (it == schema->options.end()) {
      schema->options[key] = "true";
    } else if (!OptionTrue(*schema, key)) {
      return Status::Invalid("BLOB column ", blobs[0], " needs ", key, "=true");
    }
  }
  if (OptionTrue(*schema, "deletion-vectors.enabled")) {
    return Status::Invalid("data evolution (needed by BLOB columns) excludes deletion vectors");
  }
  return Status::OK();
}

Status CheckDescriptorColumn(const arrow::RecordBatch& batch, int i, const std::string& name,
                             int64_t first_row) {
  const auto& col = static_cast<const arrow::BinaryArray&>(*batch.column(i));
  for (int64_t r = 0; r < col.length(); ++r) {
    if (col.IsNull(r)) continue;
    auto d = paimon::BlobDescriptor::Parse(col.GetView(r));
    if (!d.ok()) {
      return Status::Invalid("row ", first_row + r, ", column '", name, "': ",
                             paimon::kBlobDescriptorFieldOption,
                             " columns take serialized BlobDescriptors: ", d.status().message());
    }
  }
  return Status::OK();
}

BlobFileSetWriter::~BlobFileSetWriter() {
  for (auto& o : open_) {
    if (o.writer) (void)o.writer->Finish();
  }
}

Status BlobFileSetWriter::Roll(size_t k) {
  auto& o = open_[k];
  if (!o.writer) return Status::OK();
  int64_t rows = o.writer->record_count();
  ARROW_ASSIGN_OR_RAISE(int64_t size, o.writer->Finish());
  paimon::DataFileMeta f;
  f.file_name = o.name;
  f.file_size = size;
  f.row_count = rows;
  f.write_cols = std::vector<std::string>{schema_->fields[fields_[k]].name};
  done_.emplace_back(k, std::move(f));
  o.writer.reset();
  return Status::OK();
}

Status BlobFileSetWriter::Write(const arrow::RecordBatch& batch) {
  for (size_t k = 0; k < fields_.size(); ++k) {
    const auto& col = static_cast<const arrow::BinaryArray&>(*batch.column(fields_[k]));
    for (int64_t r = 0; r < col.length(); ++r) {
      auto& o = open_[k];
      if (!o.writer) {
        o.name = base_ + std::to_string(next_number_++) + paimon::kBlobFileExtension;
        std::string path = fs::JoinPath(dir_, o.name);
        ARROW_ASSIGN_OR_RAISE(o.writer, paimon::BlobFileWriter::Open(*fs_, path));
        paths_.push_back(path);
      }
      if (col.IsNull(r)) {
        ARROW_RETURN_NOT_OK(o.writer->AppendNull());
      } else {
        ARROW_RETURN_NOT_OK(o.writer->Append(col.GetView(r)).status());
      }
      // Checked per value, as Paimon's BlobFormatWriter.reachTargetSize: each blob may be large.
      if (o.writer->position() >= target_) ARROW_RETURN_NOT_OK(Roll(k));
    }
  }
  return Status::OK();
}

Result<std::vector<paimon::DataFileMeta>> BlobFileSetWriter::Finish() {
  for (size_t k = 0; k < fields_.size(); ++k) ARROW_RETURN_NOT_OK(Roll(k));
  std::stable_sort(done_.begin(), done_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<paimon::DataFileMeta> out;
  for (auto& [k, f] : done_) out.push_back(std::move(f));
  done_.clear();
  paths_.clear();
  return out;
}

}  // namespace millpond::table
