#include "paimon/avro_container.h"

#include <arrow/util/compression.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <utility>

namespace millpond::paimon {
namespace {

constexpr std::string_view kMagic("Obj\x01", 4);
constexpr size_t kSyncSize = 16;
// Java's DataFileWriter default sync interval: a block is closed once it holds this many bytes.
constexpr size_t kBlockBytes = 64000;
// Bounds what a corrupt header or block can make us allocate.
constexpr int64_t kMaxDecompressedBlock = int64_t{1} << 31;

std::string AvroError() {
  const char* msg = avro_strerror();
  return msg != nullptr && *msg != '\0' ? msg : "unknown Avro C error";
}

// Avro's zigzag varint long.
bool ReadVarLong(std::string_view b, size_t* pos, int64_t* out) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    if (*pos >= b.size() || shift > 63) return false;
    const auto c = static_cast<uint8_t>(b[(*pos)++]);
    v |= static_cast<uint64_t>(c & 0x7f) << shift;
    if ((c & 0x80) == 0) break;
  }
  *out = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  return true;
}

void WriteVarLong(int64_t value, std::string* out) {
  auto v = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void WriteAvroBytes(std::string_view s, std::string* out) {
  WriteVarLong(static_cast<int64_t>(s.size()), out);
  out->append(s);
}

// A length-prefixed byte string, bounded by what is left.
bool ReadAvroBytes(std::string_view b, size_t* pos, std::string_view* out) {
  int64_t len = 0;
  if (!ReadVarLong(b, pos, &len) || len < 0 || static_cast<uint64_t>(len) > b.size() - *pos) {
    return false;
  }
  *out = b.substr(*pos, static_cast<size_t>(len));
  *pos += static_cast<size_t>(len);
  return true;
}

// Walks one datum of `schema` without decoding it, checking every length, count and union
// index against the bytes. Avro C trusts these (a negative bytes length corrupts its heap), so
// each block is validated before Avro C decodes it.
bool SkipDatum(avro_schema_t schema, std::string_view b, size_t* pos, int depth) {
  if (depth > 64) return false;
  int64_t n = 0;
  std::string_view s;
  switch (avro_typeof(schema)) {
    case AVRO_NULL:
      return true;
    case AVRO_BOOLEAN:
      if (*pos >= b.size()) return false;
      ++*pos;
      return true;
    case AVRO_INT32:
      return ReadVarLong(b, pos, &n) && n >= INT32_MIN && n <= INT32_MAX;
    case AVRO_INT64:
    case AVRO_ENUM:
      return ReadVarLong(b, pos, &n) &&
             (avro_typeof(schema) != AVRO_ENUM ||
              (n >= 0 && n < avro_schema_enum_number_of_symbols(schema)));
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
      const size_t width = avro_typeof(schema) == AVRO_FLOAT ? 4 : 8;
      if (b.size() - *pos < width) return false;
      *pos += width;
      return true;
    }
    case AVRO_STRING:
    case AVRO_BYTES:
      return ReadAvroBytes(b, pos, &s);
    case AVRO_FIXED: {
      const int64_t size = avro_schema_fixed_size(schema);
      if (size < 0 || static_cast<uint64_t>(size) > b.size() - *pos) return false;
      *pos += static_cast<size_t>(size);
      return true;
    }
    case AVRO_RECORD: {
      const size_t fields = avro_schema_record_size(schema);
      for (size_t i = 0; i < fields; ++i) {
        avro_schema_t field = avro_schema_record_field_get_by_index(schema, static_cast<int>(i));
        if (!SkipDatum(field, b, pos, depth + 1)) return false;
      }
      return true;
    }
    case AVRO_ARRAY:
    case AVRO_MAP: {
      const bool is_map = avro_typeof(schema) == AVRO_MAP;
      avro_schema_t items =
          is_map ? avro_schema_map_values(schema) : avro_schema_array_items(schema);
      while (true) {
        int64_t count = 0;
        if (!ReadVarLong(b, pos, &count)) return false;
        if (count == 0) return true;
        if (count < 0) {
          int64_t block_bytes = 0;
          if (count == INT64_MIN || !ReadVarLong(b, pos, &block_bytes)) return false;
          count = -count;
        }
        // Every item of the schemas we meet takes at least one byte; refusing larger counts
        // keeps a corrupt count from making Avro C allocate without bound.
        if (static_cast<uint64_t>(count) > b.size() - *pos) return false;
        for (int64_t i = 0; i < count; ++i) {
          if (is_map && !ReadAvroBytes(b, pos, &s)) return false;
          if (!SkipDatum(items, b, pos, depth + 1)) return false;
        }
      }
    }
    case AVRO_UNION: {
      if (!ReadVarLong(b, pos, &n)) return false;
      if (n < 0 || static_cast<size_t>(n) >= avro_schema_union_size(schema)) return false;
      return SkipDatum(avro_schema_union_branch(schema, static_cast<int>(n)), b, pos, depth + 1);
    }
    case AVRO_LINK:
      return SkipDatum(avro_schema_link_target(schema), b, pos, depth + 1);
  }
  return false;
}

Result<std::string> ZstdDecompress(std::string_view in) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (ctx == nullptr) return Status::OutOfMemory("ZSTD_createDCtx");
  // Java's ZstdOutputStream writes frames without a content size, so stream.
  std::string out(std::max<size_t>(in.size() * 4, 1024), '\0');
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t produced = 0;
  while (true) {
    if (produced == out.size()) {
      if (static_cast<int64_t>(out.size()) >= kMaxDecompressedBlock) {
        return Status::Invalid("zstandard block larger than 2 GiB");
      }
      out.resize(out.size() * 2);
    }
    const size_t consumed_before = input.pos;
    ZSTD_outBuffer output{out.data(), out.size(), produced};
    const size_t ret = ZSTD_decompressStream(ctx.get(), &output, &input);
    if (ZSTD_isError(ret)) return Status::Invalid("zstandard: ", ZSTD_getErrorName(ret));
    const bool progress = output.pos > produced || input.pos > consumed_before;
    produced = output.pos;
    if (ret == 0 && input.pos == input.size) break;  // every frame complete and flushed
    if (!progress && output.pos < output.size) return Status::Invalid("zstandard: truncated frame");
  }
  out.resize(produced);
  return out;
}

Result<std::string> InflateRaw(std::string_view in) {
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) return Status::OutOfMemory("inflateInit2");
  std::string out(std::max<size_t>(in.size() * 4, 1024), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.total_out == out.size()) {
      if (static_cast<int64_t>(out.size()) >= kMaxDecompressedBlock) {
        inflateEnd(&zs);
        return Status::Invalid("deflate block larger than 2 GiB");
      }
      out.resize(out.size() * 2);
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + zs.total_out);
    zs.avail_out = static_cast<uInt>(out.size() - zs.total_out);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::Invalid("deflate: ",
                             rc == Z_BUF_ERROR ? "truncated stream" : (zs.msg ? zs.msg : "error"));
    }
  }
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

// Avro's snappy codec: a raw snappy block followed by the big-endian CRC-32 of the plain bytes.
Result<std::string> SnappyDecompress(std::string_view in) {
  if (in.size() < 4) return Status::Invalid("snappy: block shorter than its checksum");
  const std::string_view body = in.substr(0, in.size() - 4);
  size_t pos = 0;
  uint64_t length = 0;
  for (int shift = 0;; shift += 7) {
    if (pos >= body.size() || shift > 28) return Status::Invalid("snappy: bad length preamble");
    const auto c = static_cast<uint8_t>(body[pos++]);
    length |= static_cast<uint64_t>(c & 0x7f) << shift;
    if ((c & 0x80) == 0) break;
  }
  ARROW_ASSIGN_OR_RAISE(auto codec, arrow::util::Codec::Create(arrow::Compression::SNAPPY));
  std::string out(length, '\0');
  ARROW_ASSIGN_OR_RAISE(
      int64_t n, codec->Decompress(static_cast<int64_t>(body.size()),
                                   reinterpret_cast<const uint8_t*>(body.data()),
                                   static_cast<int64_t>(out.size()),
                                   reinterpret_cast<uint8_t*>(out.data())));
  out.resize(static_cast<size_t>(n));
  const auto* c = reinterpret_cast<const uint8_t*>(in.data() + body.size());
  const uint32_t expected = (uint32_t{c[0]} << 24) | (uint32_t{c[1]} << 16) |
                            (uint32_t{c[2]} << 8) | uint32_t{c[3]};
  const uLong actual = crc32(0L, reinterpret_cast<const Bytef*>(out.data()),
                             static_cast<uInt>(out.size()));
  if (actual != expected) return Status::Invalid("snappy: checksum mismatch");
  return out;
}

Result<std::string> DecompressBlock(std::string_view codec, std::string_view in) {
  if (codec == "null") return std::string(in);
  if (codec == "zstandard") return ZstdDecompress(in);
  if (codec == "deflate") return InflateRaw(in);
  if (codec == "snappy") return SnappyDecompress(in);
  return Status::NotImplemented("Avro codec '", codec, "'");
}

Result<std::string> CompressBlock(AvroCodec codec, std::string_view in) {
  switch (codec) {
    case AvroCodec::kNull:
      return std::string(in);
    case AvroCodec::kZstd: {
      std::string out(ZSTD_compressBound(in.size()), '\0');
      const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(),
                                     /*compressionLevel=*/ZSTD_CLEVEL_DEFAULT);
      if (ZSTD_isError(n)) return Status::IOError("zstandard: ", ZSTD_getErrorName(n));
      out.resize(n);
      return out;
    }
    case AvroCodec::kDeflate: {
      z_stream zs{};
      if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, /*windowBits=*/-15,
                       /*memLevel=*/8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return Status::OutOfMemory("deflateInit2");
      }
      std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
      zs.avail_in = static_cast<uInt>(in.size());
      zs.next_out = reinterpret_cast<Bytef*>(out.data());
      zs.avail_out = static_cast<uInt>(out.size());
      const int rc = deflate(&zs, Z_FINISH);
      out.resize(zs.total_out);
      deflateEnd(&zs);
      if (rc != Z_STREAM_END) return Status::IOError("deflate failed");
      return out;
    }
  }
  return Status::Invalid("unknown Avro codec");
}

}  // namespace

std::string_view AvroCodecHeaderName(AvroCodec codec) {
  switch (codec) {
    case AvroCodec::kNull:
      return "null";
    case AvroCodec::kDeflate:
      return "deflate";
    case AvroCodec::kZstd:
      return "zstandard";
  }
  return "null";
}

Result<AvroSchemaPtr> ParseAvroSchema(std::string_view json, std::string_view what) {
  avro_schema_t schema = nullptr;
  if (avro_schema_from_json_length(json.data(), json.size(), &schema) != 0 ||
      schema == nullptr) {
    return Status::Invalid("avro file ", what, ": bad writer schema: ", AvroError());
  }
  return AvroSchemaPtr(schema);
}

Result<std::unique_ptr<AvroGenericValue>> AvroGenericValue::Make(avro_schema_t schema,
                                                                 std::string_view what) {
  std::unique_ptr<AvroGenericValue> v(new AvroGenericValue());
  v->iface_ = avro_generic_class_from_schema(schema);
  if (v->iface_ == nullptr) {
    return Status::Invalid("avro file ", what, ": unsupported schema: ", AvroError());
  }
  if (avro_generic_value_new(v->iface_, &v->value_) != 0) {
    return Status::OutOfMemory("avro file ", what, ": ", AvroError());
  }
  return v;
}

AvroGenericValue::~AvroGenericValue() {
  if (value_.self != nullptr) avro_value_decref(&value_);
  if (iface_ != nullptr) avro_value_iface_decref(iface_);
}

// ---- reading ----

Result<std::unique_ptr<AvroFileReader>> AvroFileReader::Open(std::string_view bytes,
                                                             std::string_view what) {
  std::unique_ptr<AvroFileReader> r(new AvroFileReader());
  r->bytes_ = bytes;
  r->what_ = std::string(what);
  auto corrupt = [&](std::string_view detail) {
    return Status::Invalid("avro file ", what, ": ", detail);
  };
  if (bytes.substr(0, kMagic.size()) != kMagic) return corrupt("not an Avro object container");
  size_t pos = kMagic.size();
  bool have_schema = false;
  r->codec_ = "null";
  while (true) {
    int64_t count = 0;
    if (!ReadVarLong(bytes, &pos, &count)) return corrupt("truncated header");
    if (count == 0) break;
    if (count < 0) {
      int64_t ignored = 0;
      if (count == INT64_MIN || !ReadVarLong(bytes, &pos, &ignored)) {
        return corrupt("truncated header");
      }
      count = -count;
    }
    for (int64_t i = 0; i < count; ++i) {
      std::string_view key, value;
      if (!ReadAvroBytes(bytes, &pos, &key) || !ReadAvroBytes(bytes, &pos, &value)) {
        return corrupt("truncated header metadata");
      }
      if (key == "avro.schema") {
        r->schema_json_ = std::string(value);
        have_schema = true;
      } else if (key == "avro.codec") {
        r->codec_ = std::string(value);
      }
    }
  }
  if (!have_schema) return corrupt("header has no avro.schema");
  if (r->codec_ != "null" && r->codec_ != "deflate" && r->codec_ != "zstandard" &&
      r->codec_ != "snappy") {
    return Status::NotImplemented("avro file ", what, ": unsupported codec '", r->codec_, "'");
  }
  if (bytes.size() - pos < kSyncSize) return corrupt("truncated sync marker");
  std::memcpy(r->sync_.data(), bytes.data() + pos, kSyncSize);
  r->pos_ = pos + kSyncSize;
  ARROW_ASSIGN_OR_RAISE(r->schema_, ParseAvroSchema(r->schema_json_, what));
  ARROW_ASSIGN_OR_RAISE(r->record_, AvroGenericValue::Make(r->schema_.get(), what));
  r->block_reader_ = avro_reader_memory("", 0);
  if (r->block_reader_ == nullptr) return Status::OutOfMemory("avro_reader_memory");
  return r;
}

AvroFileReader::~AvroFileReader() {
  if (block_reader_ != nullptr) avro_reader_free(block_reader_);
}

Status AvroFileReader::LoadBlock() {
  auto corrupt = [&](std::string_view detail) {
    return Status::Invalid("avro file ", what_, ": ", detail, " at offset ", pos_);
  };
  size_t pos = pos_;
  int64_t count = 0;
  std::string_view data;
  if (!ReadVarLong(bytes_, &pos, &count) || count < 0) return corrupt("bad block record count");
  if (!ReadAvroBytes(bytes_, &pos, &data)) return corrupt("truncated block");
  if (bytes_.size() - pos < kSyncSize) return corrupt("truncated block sync marker");
  if (std::memcmp(bytes_.data() + pos, sync_.data(), kSyncSize) != 0) {
    return corrupt("block sync marker mismatch");
  }
  auto plain = DecompressBlock(codec_, data);
  if (!plain.ok()) return corrupt(plain.status().message());
  block_ = std::move(*plain);
  // Validate the whole block before Avro C touches it (see SkipDatum).
  size_t check = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (!SkipDatum(schema_.get(), block_, &check, 0)) {
      return corrupt("record " + std::to_string(i) + " of block does not match the schema");
    }
  }
  avro_reader_memory_set_source(block_reader_, block_.data(), static_cast<int64_t>(check));
  block_remaining_ = count;
  pos_ = pos + kSyncSize;
  return Status::OK();
}

Result<avro_value_t*> AvroFileReader::Next() {
  while (block_remaining_ == 0) {
    if (pos_ >= bytes_.size()) return nullptr;
    ARROW_RETURN_NOT_OK(LoadBlock());
  }
  if (avro_value_read(block_reader_, record_->value()) != 0) {
    return Status::Invalid("avro file ", what_, ": cannot decode record: ", AvroError());
  }
  --block_remaining_;
  return record_->value();
}

// ---- writing ----

Result<std::unique_ptr<AvroFileWriter>> AvroFileWriter::Make(std::string_view schema_json,
                                                             AvroCodec codec) {
  std::unique_ptr<AvroFileWriter> w(new AvroFileWriter());
  w->codec_ = codec;
  ARROW_ASSIGN_OR_RAISE(w->schema_, ParseAvroSchema(schema_json, "(writer)"));
  ARROW_ASSIGN_OR_RAISE(w->record_, AvroGenericValue::Make(w->schema_.get(), "(writer)"));
  std::random_device rd;
  std::mt19937_64 gen((uint64_t{rd()} << 32) ^ rd());
  for (size_t i = 0; i < kSyncSize; i += 8) {
    const uint64_t v = gen();
    std::memcpy(w->sync_.data() + i, &v, 8);
  }
  // Header as Java's DataFileWriter writes it: magic, one metadata block, sync marker.
  w->out_.append(kMagic);
  WriteVarLong(2, &w->out_);
  WriteAvroBytes("avro.schema", &w->out_);
  WriteAvroBytes(schema_json, &w->out_);
  WriteAvroBytes("avro.codec", &w->out_);
  WriteAvroBytes(AvroCodecHeaderName(codec), &w->out_);
  WriteVarLong(0, &w->out_);
  w->out_.append(w->sync_.data(), kSyncSize);
  return w;
}

Status AvroFileWriter::Append() {
  size_t size = 0;
  if (avro_value_sizeof(record(), &size) != 0) {
    return Status::Invalid("avro: cannot size record: ", AvroError());
  }
  const size_t offset = block_.size();
  block_.resize(offset + size);
  avro_writer_t writer = avro_writer_memory(block_.data() + offset, static_cast<int64_t>(size));
  if (writer == nullptr) return Status::OutOfMemory("avro_writer_memory");
  const int rc = avro_value_write(writer, record());
  avro_writer_free(writer);
  if (rc != 0) return Status::Invalid("avro: cannot encode record: ", AvroError());
  ++block_count_;
  if (block_.size() >= kBlockBytes) return FlushBlock();
  return Status::OK();
}

Status AvroFileWriter::FlushBlock() {
  if (block_count_ == 0) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(std::string compressed, CompressBlock(codec_, block_));
  WriteVarLong(block_count_, &out_);
  WriteAvroBytes(compressed, &out_);
  out_.append(sync_.data(), kSyncSize);
  block_.clear();
  block_count_ = 0;
  return Status::OK();
}

Result<std::string> AvroFileWriter::Finish() {
  ARROW_RETURN_NOT_OK(FlushBlock());
  return std::move(out_);
}

}  // namespace millpond::paimon
