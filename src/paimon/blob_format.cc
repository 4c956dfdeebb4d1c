// BlobDescriptor and `.blob` data files.
#include "millpond/paimon/blob_format.h"

#include <cstring>

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/builder.h>
#include <arrow/chunked_array.h>
#include <arrow/io/interfaces.h>
#include <zlib.h>

namespace millpond::paimon {
namespace {

constexpr uint64_t kDescriptorMagic = 0x424C4F4244455343ULL;  // "BLOBDESC"
constexpr int8_t kDescriptorVersion = 2;
constexpr int32_t kBlobMagic = 1481511375;
constexpr int8_t kBlobFileVersion = 1;
constexpr int64_t kFrameOverhead = 16;  // magic (4) + length (8) + CRC (4)
constexpr int64_t kMaxChunkBytes = 1LL << 30;

template <typename T>
void PutLE(std::string* out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) {
    out->push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
  }
}

template <typename T>
T GetLE(const uint8_t* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return static_cast<T>(v);
}

uint32_t Crc(uint32_t crc, std::string_view bytes) {
  // zlib's crc32 takes uInt lengths: feed large values in pieces.
  while (!bytes.empty()) {
    size_t n = std::min<size_t>(bytes.size(), 1u << 30);
    crc = static_cast<uint32_t>(
        crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(n)));
    bytes.remove_prefix(n);
  }
  return crc;
}

}  // namespace

std::string BlobDescriptor::Serialize() const {
  std::string out;
  out.reserve(29 + uri.size());
  out.push_back(static_cast<char>(kDescriptorVersion));
  PutLE<uint64_t>(&out, kDescriptorMagic);
  PutLE<int32_t>(&out, static_cast<int32_t>(uri.size()));
  out += uri;
  PutLE<int64_t>(&out, offset);
  PutLE<int64_t>(&out, length);
  return out;
}

bool BlobDescriptor::LooksLikeDescriptor(std::string_view bytes) {
  if (bytes.size() < 9) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  return static_cast<int8_t>(p[0]) == kDescriptorVersion &&
         GetLE<uint64_t>(p + 1) == kDescriptorMagic;
}

Result<BlobDescriptor> BlobDescriptor::Parse(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t n = bytes.size();
  if (n < 1) return Status::Invalid("blob descriptor: empty");
  int8_t version = static_cast<int8_t>(p[0]);
  size_t pos = 1;
  if (version < 1 || version > kDescriptorVersion) {
    return Status::Invalid("blob descriptor: unsupported version ", static_cast<int>(version));
  }
  if (version > 1) {
    if (n < pos + 8 || GetLE<uint64_t>(p + pos) != kDescriptorMagic) {
      return Status::Invalid("blob descriptor: missing magic 'BLOBDESC'");
    }
    pos += 8;
  }
  if (n < pos + 4) return Status::Invalid("blob descriptor: too short");
  int32_t uri_len = GetLE<int32_t>(p + pos);
  pos += 4;
  if (uri_len < 0 || n - pos < static_cast<size_t>(uri_len) + 16) {
    return Status::Invalid("blob descriptor: bad uri length ", uri_len);
  }
  BlobDescriptor d;
  d.uri.assign(bytes.data() + pos, uri_len);
  pos += uri_len;
  d.offset = GetLE<int64_t>(p + pos);
  d.length = GetLE<int64_t>(p + pos + 8);
  pos += 16;
  if (pos != n) return Status::Invalid("blob descriptor: ", n - pos, " trailing bytes");
  if (d.offset < 0 || d.length < -1) {
    return Status::Invalid("blob descriptor: bad range offset=", d.offset, " length=", d.length);
  }
  return d;
}

std::string DeltaVarintEncode(const std::vector<int64_t>& values) {
  std::string out;
  int64_t prev = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    int64_t delta = i == 0 ? values[0] : values[i] - prev;
    prev = values[i];
    uint64_t z = (static_cast<uint64_t>(delta) << 1) ^ static_cast<uint64_t>(delta >> 63);
    while (z & ~0x7FULL) {
      out.push_back(static_cast<char>((z & 0x7F) | 0x80));
      z >>= 7;
    }
    out.push_back(static_cast<char>(z));
  }
  return out;
}

Result<std::vector<int64_t>> DeltaVarintDecode(std::string_view bytes) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i < bytes.size()) {
    uint64_t v = 0;
    int shift = 0;
    while (true) {
      if (i >= bytes.size()) return Status::Invalid("delta-varint: truncated value");
      uint8_t b = static_cast<uint8_t>(bytes[i++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
      if (shift > 63) return Status::Invalid("delta-varint: value overflows 64 bits");
    }
    int64_t delta = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
    out.push_back(out.empty() ? delta : out.back() + delta);
  }
  return out;
}

// ---- BlobFileWriter -------------------------------------------------------------------------

BlobFileWriter::~BlobFileWriter() {
  if (out_ && !out_->closed()) (void)out_->Close();
}

Result<std::unique_ptr<BlobFileWriter>> BlobFileWriter::Open(const fs::FileSystem& fs,
                                                            const std::string& path) {
  auto w = std::unique_ptr<BlobFileWriter>(new BlobFileWriter());
  w->path_ = path;
  ARROW_ASSIGN_OR_RAISE(w->out_, fs.OpenOutput(path));
  return w;
}

Status BlobFileWriter::Write(std::string_view bytes, bool checksum) {
  if (checksum) crc_ = Crc(crc_, bytes);
  auto st = out_->Write(bytes.data(), static_cast<int64_t>(bytes.size()));
  if (!st.ok()) return Status::IOError("blob file ", path_, ": ", st.message());
  pos_ += static_cast<int64_t>(bytes.size());
  return Status::OK();
}

Status BlobFileWriter::AppendNull() {
  lengths_.push_back(-1);
  return Status::OK();
}

Status BlobFileWriter::BeginValue() {
  frame_start_ = pos_;
  crc_ = 0;
  std::string magic;
  PutLE<int32_t>(&magic, kBlobMagic);
  return Write(magic, /*checksum=*/true);
}

Result<int64_t> BlobFileWriter::EndValue(int64_t data_start) {
  int64_t frame_length = pos_ - frame_start_ + 12;
  std::string tail;
  PutLE<int64_t>(&tail, frame_length);
  ARROW_RETURN_NOT_OK(Write(tail, /*checksum=*/true));
  std::string crc;
  PutLE<uint32_t>(&crc, crc_);
  ARROW_RETURN_NOT_OK(Write(crc, /*checksum=*/false));
  lengths_.push_back(frame_length);
  return data_start;
}

Result<int64_t> BlobFileWriter::Append(std::string_view bytes) {
  ARROW_RETURN_NOT_OK(BeginValue());
  int64_t start = pos_;
  ARROW_RETURN_NOT_OK(Write(bytes, /*checksum=*/true));
  return EndValue(start);
}

Result<std::pair<int64_t, int64_t>> BlobFileWriter::AppendFrom(arrow::io::InputStream* in) {
  ARROW_RETURN_NOT_OK(BeginValue());
  int64_t start = pos_;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto buf, in->Read(1 << 20));
    if (buf->size() == 0) break;
    ARROW_RETURN_NOT_OK(Write(std::string_view(reinterpret_cast<const char*>(buf->data()),
                                               static_cast<size_t>(buf->size())),
                              /*checksum=*/true));
  }
  int64_t length = pos_ - start;
  ARROW_ASSIGN_OR_RAISE(int64_t offset, EndValue(start));
  return std::make_pair(offset, length);
}

Result<int64_t> BlobFileWriter::Finish() {
  std::string index = DeltaVarintEncode(lengths_);
  std::string tail = index;
  PutLE<int32_t>(&tail, static_cast<int32_t>(index.size()));
  tail.push_back(static_cast<char>(kBlobFileVersion));
  ARROW_RETURN_NOT_OK(Write(tail, /*checksum=*/false));
  auto st = out_->Close();
  if (!st.ok()) return Status::IOError("blob file ", path_, ": ", st.message());
  return pos_;
}

// ---- BlobFileReader -------------------------------------------------------------------------

Result<std::unique_ptr<BlobFileReader>> BlobFileReader::Open(const fs::FileSystem& fs,
                                                            const std::string& path,
                                                            int64_t size) {
  auto r = std::unique_ptr<BlobFileReader>(new BlobFileReader());
  r->path_ = path;
  ARROW_ASSIGN_OR_RAISE(r->file_, fs.OpenInput(path));
  if (size < 0) {
    ARROW_ASSIGN_OR_RAISE(size, r->file_->GetSize());
  }
  if (size < 5) return Status::IOError("blob file ", path, ": too short (", size, " bytes)");
  ARROW_ASSIGN_OR_RAISE(auto tail, r->file_->ReadAt(size - 5, 5));
  if (tail->size() != 5) return Status::IOError("blob file ", path, ": short read of its tail");
  int8_t version = static_cast<int8_t>(tail->data()[4]);
  if (version != kBlobFileVersion) {
    return Status::IOError("blob file ", path, ": unsupported version ", static_cast<int>(version));
  }
  int32_t index_len = GetLE<int32_t>(tail->data());
  if (index_len < 0 || index_len > size - 5) {
    return Status::IOError("blob file ", path, ": bad index length ", index_len);
  }
  ARROW_ASSIGN_OR_RAISE(auto index, r->file_->ReadAt(size - 5 - index_len, index_len));
  auto lengths = DeltaVarintDecode(std::string_view(
      reinterpret_cast<const char*>(index->data()), static_cast<size_t>(index->size())));
  if (!lengths.ok()) {
    return Status::IOError("blob file ", path, ": bad index: ", lengths.status().message());
  }
  r->lengths_ = std::move(*lengths);
  int64_t offset = 0;
  for (int64_t len : r->lengths_) {
    if (len >= 0 && len < kFrameOverhead) {
      return Status::IOError("blob file ", path, ": bad frame length ", len);
    }
    r->offsets_.push_back(len < 0 ? -1 : offset);
    if (len > 0) offset += len;
  }
  if (offset != size - 5 - index_len) {
    return Status::IOError("blob file ", path, ": index covers ", offset, " bytes but the data is ",
                           size - 5 - index_len);
  }
  return r;
}

Result<std::shared_ptr<arrow::Buffer>> BlobFileReader::Read(int64_t i) const {
  if (i < 0 || i >= record_count()) {
    return Status::IndexError("blob file ", path_, ": no record ", i);
  }
  if (IsNull(i)) return Status::Invalid("blob file ", path_, ": record ", i, " is null");
  ARROW_ASSIGN_OR_RAISE(auto frame, file_->ReadAt(offsets_[i], lengths_[i]));
  if (frame->size() != lengths_[i]) {
    return Status::IOError("blob file ", path_, ": record ", i, " is truncated");
  }
  const uint8_t* p = frame->data();
  int64_t n = frame->size();
  if (GetLE<int32_t>(p) != kBlobMagic || GetLE<int64_t>(p + n - 12) != n) {
    return Status::IOError("blob file ", path_, ": record ", i, " has a bad frame header");
  }
  uint32_t crc = Crc(0, std::string_view(reinterpret_cast<const char*>(p),
                                         static_cast<size_t>(n - 4)));
  if (crc != GetLE<uint32_t>(p + n - 4)) {
    return Status::IOError("blob file ", path_, ": record ", i, " fails its CRC-32 check");
  }
  return arrow::SliceBuffer(frame, 4, n - kFrameOverhead);
}

Result<std::shared_ptr<arrow::ChunkedArray>> BlobFileReader::ReadAll() const {
  arrow::ArrayVector chunks;
  arrow::BinaryBuilder builder;
  int64_t bytes = 0;
  for (int64_t i = 0; i < record_count(); ++i) {
    if (IsNull(i)) {
      ARROW_RETURN_NOT_OK(builder.AppendNull());
      continue;
    }
    if (DataLength(i) >= kMaxChunkBytes * 2) {
      return Status::NotImplemented("blob file ", path_, ": record ", i, " (", DataLength(i),
                                    " bytes) is too large to read into a column; read it by "
                                    "descriptor instead");
    }
    if (bytes > 0 && bytes + DataLength(i) > kMaxChunkBytes) {
      ARROW_ASSIGN_OR_RAISE(auto chunk, builder.Finish());
      chunks.push_back(std::move(chunk));
      bytes = 0;
    }
    ARROW_ASSIGN_OR_RAISE(auto value, Read(i));
    ARROW_RETURN_NOT_OK(builder.Append(value->data(), value->size()));
    bytes += value->size();
  }
  ARROW_ASSIGN_OR_RAISE(auto last, builder.Finish());
  chunks.push_back(std::move(last));
  return std::make_shared<arrow::ChunkedArray>(std::move(chunks), arrow::binary());
}

}  // namespace millpond::paimon
