// Index manifests, deletion-vector index files and the portable RoaringBitmap format.
#include "deletion_vector.h"

#include "millpond/table/manifest_io.h"

#include <arrow/adapters/orc/adapter.h>
#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/io/memory.h>
#include <arrow/table.h>

#include <algorithm>
#include <cstring>

#include <zlib.h>

#include "millpond/paimon/binary_row.h"
#include "millpond/table/file_store_commit.h"
#include "paimon/avro_container.h"

namespace millpond::table {
namespace {

uint16_t Le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t Le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint32_t Be32(const unsigned char* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

// --- Avro index manifests -------------------------------------------------------------------

// The value of field `name`, with a union resolved to its branch; nullopt if absent or null.
std::optional<avro_value_t> AvroField(avro_value_t* record, const char* name) {
  avro_value_t v;
  if (avro_value_get_by_name(record, name, &v, nullptr) != 0) return std::nullopt;
  if (avro_value_get_type(&v) == AVRO_UNION) {
    avro_value_t branch;
    if (avro_value_get_current_branch(&v, &branch) != 0) return std::nullopt;
    v = branch;
  }
  if (avro_value_get_type(&v) == AVRO_NULL) return std::nullopt;
  return v;
}

std::optional<int64_t> AvroLong(avro_value_t* record, const char* name) {
  auto v = AvroField(record, name);
  if (!v) return std::nullopt;
  if (avro_value_get_type(&*v) == AVRO_INT32) {
    int32_t i = 0;
    avro_value_get_int(&*v, &i);
    return i;
  }
  int64_t l = 0;
  if (avro_value_get_long(&*v, &l) != 0) return std::nullopt;
  return l;
}

std::optional<std::string> AvroBytes(avro_value_t* record, const char* name) {
  auto v = AvroField(record, name);
  if (!v) return std::nullopt;
  const void* p = nullptr;
  size_t size = 0;
  if (avro_value_get_type(&*v) == AVRO_STRING) {
    const char* s = nullptr;
    if (avro_value_get_string(&*v, &s, &size) != 0) return std::nullopt;
    return std::string(s, size > 0 ? size - 1 : 0);  // size counts the NUL
  }
  if (avro_value_get_type(&*v) != AVRO_BYTES) return std::nullopt;
  avro_value_get_bytes(&*v, &p, &size);
  if (size == 0) return std::string();
  return std::string(static_cast<const char*>(p), size);
}

Result<std::vector<IndexManifestEntry>> DecodeAvroIndexManifest(std::string_view bytes,
                                                                std::string_view what) {
  ARROW_ASSIGN_OR_RAISE(auto reader, paimon::AvroFileReader::Open(bytes, what));
  std::vector<IndexManifestEntry> out;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(avro_value_t * rec, reader->Next());
    if (rec == nullptr) break;
    avro_value_t top = *rec;
    if (avro_value_get_type(&top) == AVRO_UNION) {  // older writers: ["null", record]
      avro_value_t branch;
      if (avro_value_get_current_branch(&top, &branch) != 0) continue;
      top = branch;
    }
    if (avro_value_get_type(&top) != AVRO_RECORD) continue;
    rec = &top;
    IndexManifestEntry e;
    auto kind = AvroLong(rec, "_KIND");
    auto bucket = AvroLong(rec, "_BUCKET");
    auto type = AvroBytes(rec, "_INDEX_TYPE");
    auto name = AvroBytes(rec, "_FILE_NAME");
    auto partition = AvroBytes(rec, "_PARTITION");
    if (!kind || !bucket || !type || !name || !partition) {
      return Status::Invalid("index manifest ", what, ": field ",
                             !kind ? "_KIND" : !bucket ? "_BUCKET" : !type ? "_INDEX_TYPE"
                             : !name ? "_FILE_NAME" : "_PARTITION", " missing");
    }
    e.kind = static_cast<int32_t>(*kind);
    e.bucket = static_cast<int32_t>(*bucket);
    e.index_type = *type;
    e.file_name = *name;
    e.partition = *partition;
    e.file_size = AvroLong(rec, "_FILE_SIZE").value_or(0);
    e.row_count = AvroLong(rec, "_ROW_COUNT").value_or(0);
    e.external_path = AvroBytes(rec, "_EXTERNAL_PATH");
    if (auto ranges = AvroField(rec, "_DELETIONS_VECTORS_RANGES")) {
      size_t n = 0;
      avro_value_get_size(&*ranges, &n);
      for (size_t i = 0; i < n; ++i) {
        avro_value_t item;
        if (avro_value_get_by_index(&*ranges, i, &item, nullptr) != 0) continue;
        if (avro_value_get_type(&item) == AVRO_UNION) {
          avro_value_t branch;
          if (avro_value_get_current_branch(&item, &branch) != 0) continue;
          item = branch;
        }
        if (avro_value_get_type(&item) != AVRO_RECORD) continue;
        DeletionVectorRange r;
        auto f0 = AvroBytes(&item, "f0");
        auto f1 = AvroLong(&item, "f1");
        auto f2 = AvroLong(&item, "f2");
        if (!f0 || !f1 || !f2) {
          return Status::Invalid("index manifest ", what, ": incomplete deletion-vector range");
        }
        r.data_file = *f0;
        r.offset = static_cast<int32_t>(*f1);
        r.length = static_cast<int32_t>(*f2);
        r.cardinality = AvroLong(&item, "_CARDINALITY");
        e.dv_ranges.push_back(std::move(r));
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

// --- ORC index manifests --------------------------------------------------------------------

std::optional<int64_t> ArrowLong(const arrow::Array& a, int64_t i) {
  if (a.IsNull(i)) return std::nullopt;
  switch (a.type_id()) {
    case arrow::Type::INT32: return static_cast<const arrow::Int32Array&>(a).Value(i);
    case arrow::Type::INT64: return static_cast<const arrow::Int64Array&>(a).Value(i);
    case arrow::Type::INT16: return static_cast<const arrow::Int16Array&>(a).Value(i);
    case arrow::Type::INT8: return static_cast<const arrow::Int8Array&>(a).Value(i);
    default: return std::nullopt;
  }
}

std::optional<std::string> ArrowBytes(const arrow::Array& a, int64_t i) {
  if (a.IsNull(i)) return std::nullopt;
  switch (a.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      return std::string(static_cast<const arrow::BinaryArray&>(a).GetView(i));
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      return std::string(static_cast<const arrow::LargeBinaryArray&>(a).GetView(i));
    default: return std::nullopt;
  }
}

Result<std::vector<IndexManifestEntry>> DecodeOrcIndexManifest(std::string_view bytes,
                                                               std::string_view what) {
  auto input = std::make_shared<arrow::io::BufferReader>(
      std::make_shared<arrow::Buffer>(reinterpret_cast<const uint8_t*>(bytes.data()),
                                      static_cast<int64_t>(bytes.size())));
  auto reader_r = arrow::adapters::orc::ORCFileReader::Open(input, arrow::default_memory_pool());
  if (!reader_r.ok()) {
    return Status::Invalid("index manifest ", what, ": unreadable ORC: ",
                           reader_r.status().message());
  }
  ARROW_ASSIGN_OR_RAISE(auto table, (*reader_r)->Read());
  ARROW_ASSIGN_OR_RAISE(table, table->CombineChunks());
  auto col = [&](const char* name) -> std::shared_ptr<arrow::Array> {
    auto c = table->GetColumnByName(name);
    return c && c->num_chunks() > 0 ? c->chunk(0) : nullptr;
  };
  auto kind = col("_KIND"), partition = col("_PARTITION"), bucket = col("_BUCKET"),
       type = col("_INDEX_TYPE"), name = col("_FILE_NAME"), size = col("_FILE_SIZE"),
       rows = col("_ROW_COUNT"), ranges = col("_DELETIONS_VECTORS_RANGES"),
       external = col("_EXTERNAL_PATH");
  std::vector<IndexManifestEntry> out;
  if (table->num_rows() == 0) return out;
  if (!kind || !partition || !bucket || !type || !name) {
    return Status::Invalid("index manifest ", what, ": required columns missing");
  }
  for (int64_t i = 0; i < table->num_rows(); ++i) {
    IndexManifestEntry e;
    e.kind = static_cast<int32_t>(ArrowLong(*kind, i).value_or(0));
    e.partition = ArrowBytes(*partition, i).value_or("");
    e.bucket = static_cast<int32_t>(ArrowLong(*bucket, i).value_or(0));
    e.index_type = ArrowBytes(*type, i).value_or("");
    e.file_name = ArrowBytes(*name, i).value_or("");
    if (size) e.file_size = ArrowLong(*size, i).value_or(0);
    if (rows) e.row_count = ArrowLong(*rows, i).value_or(0);
    if (external) e.external_path = ArrowBytes(*external, i);
    if (ranges && ranges->type_id() == arrow::Type::LIST && !ranges->IsNull(i)) {
      const auto& list = static_cast<const arrow::ListArray&>(*ranges);
      const auto& items = static_cast<const arrow::StructArray&>(*list.values());
      auto f0 = items.GetFieldByName("f0"), f1 = items.GetFieldByName("f1"),
           f2 = items.GetFieldByName("f2"), card = items.GetFieldByName("_CARDINALITY");
      if (!f0 || !f1 || !f2) {
        return Status::Invalid("index manifest ", what, ": deletion-vector ranges lack f0/f1/f2");
      }
      for (int64_t j = list.value_offset(i); j < list.value_offset(i + 1); ++j) {
        if (items.IsNull(j)) continue;
        DeletionVectorRange r;
        r.data_file = ArrowBytes(*f0, j).value_or("");
        r.offset = static_cast<int32_t>(ArrowLong(*f1, j).value_or(0));
        r.length = static_cast<int32_t>(ArrowLong(*f2, j).value_or(0));
        if (card) r.cardinality = ArrowLong(*card, j);
        e.dv_ranges.push_back(std::move(r));
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

Result<std::vector<IndexManifestEntry>> DecodeIndexManifest(std::string_view bytes,
                                                            std::string_view what) {
  if (bytes.substr(0, 4) == std::string_view("Obj\x01", 4)) {
    return DecodeAvroIndexManifest(bytes, what);
  }
  if (bytes.substr(0, 3) == "ORC") return DecodeOrcIndexManifest(bytes, what);
  return Status::Invalid("index manifest ", what, ": neither an Avro object container nor ORC");
}

Result<std::vector<uint32_t>> DecodeRoaringBitmap(std::string_view bytes) {
  // Portable format (RoaringFormatSpec): cookie, container count, key/cardinality pairs,
  // optional offsets, then the containers (array, 8 KiB bitmap or runs).
  constexpr uint32_t kSerialCookieNoRun = 12346;
  constexpr uint32_t kSerialCookie = 12347;
  constexpr int kNoOffsetThreshold = 4;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t pos = 0;
  auto need = [&](size_t k) -> Status {
    if (pos + k > n) return Status::Invalid("roaring bitmap truncated at byte ", pos);
    return Status::OK();
  };
  ARROW_RETURN_NOT_OK(need(4));
  uint32_t cookie = Le32(p);
  pos = 4;
  uint32_t containers = 0;
  std::vector<uint8_t> run_flags;
  bool has_offsets = true;
  if ((cookie & 0xFFFF) == kSerialCookie) {
    containers = (cookie >> 16) + 1;
    size_t flag_bytes = (containers + 7) / 8;
    ARROW_RETURN_NOT_OK(need(flag_bytes));
    run_flags.assign(p + pos, p + pos + flag_bytes);
    pos += flag_bytes;
    has_offsets = containers >= kNoOffsetThreshold;
  } else if (cookie == kSerialCookieNoRun) {
    ARROW_RETURN_NOT_OK(need(4));
    containers = Le32(p + pos);
    pos += 4;
  } else {
    return Status::Invalid("roaring bitmap: unknown cookie ", cookie);
  }
  if (containers > (1u << 16)) return Status::Invalid("roaring bitmap: too many containers");
  ARROW_RETURN_NOT_OK(need(4ull * containers));
  std::vector<uint16_t> keys(containers), cards(containers);
  for (uint32_t i = 0; i < containers; ++i) {
    keys[i] = Le16(p + pos);
    cards[i] = Le16(p + pos + 2);
    pos += 4;
  }
  if (has_offsets) {
    ARROW_RETURN_NOT_OK(need(4ull * containers));
    pos += 4ull * containers;  // containers follow one another; offsets are redundant here
  }
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < containers; ++i) {
    const uint32_t high = static_cast<uint32_t>(keys[i]) << 16;
    const uint32_t card = static_cast<uint32_t>(cards[i]) + 1;
    bool is_run = !run_flags.empty() && (run_flags[i / 8] >> (i % 8)) & 1;
    if (is_run) {
      ARROW_RETURN_NOT_OK(need(2));
      uint16_t runs = Le16(p + pos);
      pos += 2;
      ARROW_RETURN_NOT_OK(need(4ull * runs));
      for (uint16_t r = 0; r < runs; ++r) {
        uint32_t start = Le16(p + pos), len = Le16(p + pos + 2);
        pos += 4;
        for (uint32_t v = start; v <= start + len; ++v) out.push_back(high | v);
      }
    } else if (card <= 4096) {
      ARROW_RETURN_NOT_OK(need(2ull * card));
      for (uint32_t k = 0; k < card; ++k) out.push_back(high | Le16(p + pos + 2 * k));
      pos += 2ull * card;
    } else {
      ARROW_RETURN_NOT_OK(need(8192));
      for (uint32_t w = 0; w < 1024; ++w) {
        uint64_t word = 0;
        for (int b = 7; b >= 0; --b) word = (word << 8) | p[pos + 8 * w + b];
        while (word != 0) {
          int bit = __builtin_ctzll(word);
          out.push_back(high | (w * 64 + static_cast<uint32_t>(bit)));
          word &= word - 1;
        }
      }
      pos += 8192;
    }
  }
  return out;
}

Result<std::vector<uint32_t>> DecodeDeletionVector(std::string_view file, int64_t offset,
                                                   std::string_view what) {
  if (offset < 0 || static_cast<size_t>(offset) + 8 > file.size()) {
    return Status::Invalid("deletion vector file ", what, ": offset ", offset, " out of range");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(file.data()) + offset;
  uint32_t length = Be32(p);
  uint32_t magic = Be32(p + 4);
  if (magic != kBitmapDeletionVectorMagic) {
    return Status::NotImplemented("deletion vector file ", what, ": magic ", magic,
                                  " at offset ", offset,
                                  " is not a 32-bit bitmap deletion vector");
  }
  if (length < 4 || static_cast<size_t>(offset) + 4 + length > file.size()) {
    return Status::Invalid("deletion vector file ", what, ": length ", length, " at offset ",
                           offset, " out of range");
  }
  auto r = DecodeRoaringBitmap(file.substr(static_cast<size_t>(offset) + 8, length - 4));
  if (!r.ok()) {
    return Status::Invalid("deletion vector file ", what, " at offset ", offset, ": ",
                           r.status().message());
  }
  return r;
}



Result<std::shared_ptr<DeletionVectors>> DeletionVectors::Load(const fs::FileSystem& fs,
                                                               const std::string& table_path,
                                                               const paimon::TableSchema& schema,
                                                               const paimon::Snapshot& snapshot) {
  auto dvs = std::make_shared<DeletionVectors>();
  if (!snapshot.index_manifest || snapshot.index_manifest->empty()) return dvs;
  std::string manifest_path =
      fs::JoinPath(fs::JoinPath(table_path, "manifest"), *snapshot.index_manifest);
  ARROW_ASSIGN_OR_RAISE(std::string bytes, fs.ReadFile(manifest_path));
  ARROW_ASSIGN_OR_RAISE(auto entries, DecodeIndexManifest(bytes, manifest_path));
  // Live index files: ADDs not cancelled by a later DELETE of the same file.
  std::map<std::tuple<std::string, int32_t, std::string>, IndexManifestEntry> live;
  for (auto& e : entries) {
    if (e.index_type != kDeletionVectorsIndex) continue;
    auto key = std::make_tuple(e.partition, e.bucket, e.file_name);
    if (e.kind == 1) {
      live.erase(key);
    } else {
      live[key] = std::move(e);
    }
  }
  const bool in_data_dir = schema.Option("index-file-in-data-file-dir", "false") == "true";
  for (const auto& [key, e] : live) {
    std::string path;
    if (e.external_path && !e.external_path->empty()) {
      path = LocalExternalPath(*e.external_path);
    } else if (in_data_dir) {
      ARROW_ASSIGN_OR_RAISE(std::string dir, BucketPath(table_path, schema, e.partition, e.bucket));
      path = fs::JoinPath(dir, e.file_name);
    } else {
      path = fs::JoinPath(fs::JoinPath(table_path, "index"), e.file_name);
    }
    ARROW_ASSIGN_OR_RAISE(std::string file, fs.ReadFile(path));
    for (const auto& r : e.dv_ranges) {
      ARROW_ASSIGN_OR_RAISE(auto positions, DecodeDeletionVector(file, r.offset, path));
      if (r.cardinality && *r.cardinality != static_cast<int64_t>(positions.size())) {
        return Status::Invalid("deletion vector of ", r.data_file, " in ", path, " holds ",
                               positions.size(), " positions but the manifest says ",
                               *r.cardinality);
      }
      dvs->Add(e.partition, e.bucket, r.data_file, std::move(positions));
    }
  }
  return dvs;
}

void DeletionVectors::Add(const std::string& partition, int32_t bucket,
                          const std::string& data_file, std::vector<uint32_t> positions) {
  std::sort(positions.begin(), positions.end());
  vectors_[std::make_tuple(partition, bucket, data_file)] = std::move(positions);
}

const std::vector<uint32_t>* DeletionVectors::Find(const std::string& partition, int32_t bucket,
                                                   const std::string& data_file) const {
  auto it = vectors_.find(std::make_tuple(partition, bucket, data_file));
  return it == vectors_.end() ? nullptr : &it->second;
}

// --- writing -----------------------------------------------------------------------------------

namespace {

void PutLe16(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
}
void PutLe32(std::string* out, uint32_t v) {
  PutLe16(out, v & 0xffff);
  PutLe16(out, v >> 16);
}
void PutBe32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

Status AvroCheck(int rc, const char* what) {
  if (rc != 0) return Status::Invalid("index manifest encoding, field ", what, ": ", avro_strerror());
  return Status::OK();
}

Result<avro_value_t> AvroGet(avro_value_t* record, const char* name) {
  avro_value_t f;
  ARROW_RETURN_NOT_OK(AvroCheck(avro_value_get_by_name(record, name, &f, nullptr), name));
  return f;
}

constexpr const char* kIndexManifestSchema = R"({"type":"record","name":"record","namespace":"org.apache.paimon.avro.generated","fields":[{"name":"_VERSION","type":"int"},{"name":"_KIND","type":"int"},{"name":"_PARTITION","type":"bytes"},{"name":"_BUCKET","type":"int"},{"name":"_INDEX_TYPE","type":"string"},{"name":"_FILE_NAME","type":"string"},{"name":"_FILE_SIZE","type":"long"},{"name":"_ROW_COUNT","type":"long"},{"name":"_DELETIONS_VECTORS_RANGES","type":["null",{"type":"array","items":["null",{"type":"record","name":"record__DELETIONS_VECTORS_RANGES","fields":[{"name":"f0","type":"string"},{"name":"f1","type":"int"},{"name":"f2","type":"int"},{"name":"_CARDINALITY","type":["null","long"],"default":null}]}]}],"default":null},{"name":"_EXTERNAL_PATH","type":["null","string"],"default":null}]})";

}  // namespace

std::string EncodeRoaringBitmap(const std::vector<uint32_t>& values) {
  std::vector<std::pair<uint16_t, std::vector<uint16_t>>> containers;
  for (uint32_t v : values) {
    uint16_t high = static_cast<uint16_t>(v >> 16);
    if (containers.empty() || containers.back().first != high) containers.push_back({high, {}});
    containers.back().second.push_back(static_cast<uint16_t>(v & 0xffff));
  }
  const uint32_t n = static_cast<uint32_t>(containers.size());
  std::string out;
  PutLe32(&out, 12346);  // SERIAL_COOKIE_NO_RUNCONTAINER
  PutLe32(&out, n);
  for (const auto& [key, low] : containers) {
    PutLe16(&out, key);
    PutLe16(&out, static_cast<uint32_t>(low.size() - 1));
  }
  uint32_t offset = 8 + 8 * n;
  for (const auto& [key, low] : containers) {
    PutLe32(&out, offset);
    offset += low.size() > 4096 ? 8192 : static_cast<uint32_t>(2 * low.size());
  }
  for (const auto& [key, low] : containers) {
    if (low.size() <= 4096) {
      for (uint16_t v : low) PutLe16(&out, v);
      continue;
    }
    std::vector<uint64_t> words(1024, 0);
    for (uint16_t v : low) words[v / 64] |= uint64_t{1} << (v % 64);
    for (uint64_t w : words) {
      PutLe32(&out, static_cast<uint32_t>(w & 0xffffffffu));
      PutLe32(&out, static_cast<uint32_t>(w >> 32));
    }
  }
  return out;
}

std::string EncodeDeletionVectorIndexFile(
    const std::vector<std::pair<std::string, std::vector<uint32_t>>>& vectors,
    std::vector<DeletionVectorRange>* ranges) {
  std::string out(1, '\x01');  // DeletionVectorsIndexFile.VERSION_ID_V1
  for (const auto& [file, positions] : vectors) {
    std::string bytes;
    PutBe32(&bytes, kBitmapDeletionVectorMagic);
    bytes += EncodeRoaringBitmap(positions);
    DeletionVectorRange r;
    r.data_file = file;
    r.offset = static_cast<int32_t>(out.size());
    r.length = static_cast<int32_t>(bytes.size());
    r.cardinality = static_cast<int64_t>(positions.size());
    ranges->push_back(std::move(r));
    PutBe32(&out, static_cast<uint32_t>(bytes.size()));
    out += bytes;
    uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()),
                      static_cast<uInt>(bytes.size()));
    PutBe32(&out, static_cast<uint32_t>(crc));
  }
  return out;
}

Result<std::string> EncodeIndexManifest(const std::vector<IndexManifestEntry>& entries,
                                        paimon::AvroCodec codec) {
  ARROW_ASSIGN_OR_RAISE(auto writer, paimon::AvroFileWriter::Make(kIndexManifestSchema, codec));
  for (const auto& e : entries) {
    avro_value_t* rec = writer->record();
    ARROW_RETURN_NOT_OK(AvroCheck(avro_value_reset(rec), "record"));
    auto set_int = [&](const char* name, int32_t v) -> Status {
      ARROW_ASSIGN_OR_RAISE(auto f, AvroGet(rec, name));
      return AvroCheck(avro_value_set_int(&f, v), name);
    };
    auto set_long = [&](avro_value_t* r, const char* name, int64_t v) -> Status {
      ARROW_ASSIGN_OR_RAISE(auto f, AvroGet(r, name));
      return AvroCheck(avro_value_set_long(&f, v), name);
    };
    auto set_string = [&](avro_value_t* r, const char* name, const std::string& v) -> Status {
      ARROW_ASSIGN_OR_RAISE(auto f, AvroGet(r, name));
      return AvroCheck(avro_value_set_string_len(&f, v.c_str(), v.size() + 1), name);
    };
    ARROW_RETURN_NOT_OK(set_int("_VERSION", 1));
    ARROW_RETURN_NOT_OK(set_int("_KIND", e.kind));
    {
      ARROW_ASSIGN_OR_RAISE(auto f, AvroGet(rec, "_PARTITION"));
      ARROW_RETURN_NOT_OK(AvroCheck(
          avro_value_set_bytes(&f, const_cast<char*>(e.partition.data()), e.partition.size()),
          "_PARTITION"));
    }
    ARROW_RETURN_NOT_OK(set_int("_BUCKET", e.bucket));
    ARROW_RETURN_NOT_OK(set_string(rec, "_INDEX_TYPE", e.index_type));
    ARROW_RETURN_NOT_OK(set_string(rec, "_FILE_NAME", e.file_name));
    ARROW_RETURN_NOT_OK(set_long(rec, "_FILE_SIZE", e.file_size));
    ARROW_RETURN_NOT_OK(set_long(rec, "_ROW_COUNT", e.row_count));
    {
      ARROW_ASSIGN_OR_RAISE(auto f, AvroGet(rec, "_DELETIONS_VECTORS_RANGES"));
      avro_value_t branch;
      const bool has_ranges = e.index_type == kDeletionVectorsIndex;
      ARROW_RETURN_NOT_OK(AvroCheck(avro_value_set_branch(&f, has_ranges ? 1 : 0, &branch),
                                    "_DELETIONS_VECTORS_RANGES"));
      if (!has_ranges) {
        ARROW_RETURN_NOT_OK(AvroCheck(avro_value_set_null(&branch), "_DELETIONS_VECTORS_RANGES"));
      } else {
        for (const auto& r : e.dv_ranges) {
          avro_value_t item, range;
          ARROW_RETURN_NOT_OK(AvroCheck(avro_value_append(&branch, &item, nullptr), "range"));
          ARROW_RETURN_NOT_OK(AvroCheck(avro_value_set_branch(&item, 1, &range), "range"));
          ARROW_RETURN_NOT_OK(set_string(&range, "f0", r.data_file));
          {
            ARROW_ASSIGN_OR_RAISE(auto f1, AvroGet(&range, "f1"));
            ARROW_RETURN_NOT_OK(AvroCheck(avro_value_set_int(&f1, r.offset), "f1"));
            ARROW_ASSIGN_OR_RAISE(auto f2, AvroGet(&range, "f2"));
            ARROW_RETURN_NOT_OK(AvroCheck(avro_value_set_int(&f2, r.length), "f2"));
          }
          ARROW_ASSIGN_OR_RAISE(auto card, AvroGet(&range, "_CARDINALITY"));
          avro_value_t card_branch;
          ARROW_RETURN_NOT_OK(AvroCheck(
              avro_value_set_branch(&card, r.cardinality ? 1 : 0, &card_branch), "_CARDINALITY"));
          ARROW_RETURN_NOT_OK(AvroCheck(r.cardinality
                                            ? avro_value_set_long(&card_branch, *r.cardinality)
                                            : avro_value_set_null(&card_branch),
                                        "_CARDINALITY"));
        }
      }
    }
    {
      ARROW_ASSIGN_OR_RAISE(auto f, AvroGet(rec, "_EXTERNAL_PATH"));
      avro_value_t branch;
      const bool has = e.external_path.has_value();
      ARROW_RETURN_NOT_OK(
          AvroCheck(avro_value_set_branch(&f, has ? 1 : 0, &branch), "_EXTERNAL_PATH"));
      ARROW_RETURN_NOT_OK(AvroCheck(
          has ? avro_value_set_string_len(&branch, e.external_path->c_str(),
                                          e.external_path->size() + 1)
              : avro_value_set_null(&branch),
          "_EXTERNAL_PATH"));
    }
    ARROW_RETURN_NOT_OK(writer->Append());
  }
  return writer->Finish();
}

Result<std::vector<IndexManifestEntry>> ReadLiveIndexEntries(const fs::FileSystem& fs,
                                                             const std::string& table_path,
                                                             const paimon::Snapshot& snapshot) {
  std::vector<IndexManifestEntry> out;
  if (!snapshot.index_manifest || snapshot.index_manifest->empty()) return out;
  std::string path = fs::JoinPath(fs::JoinPath(table_path, "manifest"), *snapshot.index_manifest);
  ARROW_ASSIGN_OR_RAISE(std::string bytes, fs.ReadFile(path));
  ARROW_ASSIGN_OR_RAISE(auto entries, DecodeIndexManifest(bytes, path));
  std::map<std::tuple<std::string, int32_t, std::string>, IndexManifestEntry> live;
  for (auto& e : entries) {
    auto key = std::make_tuple(e.partition, e.bucket, e.file_name);
    if (e.kind == 1) {
      live.erase(key);
    } else {
      live[key] = std::move(e);
    }
  }
  for (auto& [key, e] : live) out.push_back(std::move(e));
  return out;
}

}  // namespace millpond::table
