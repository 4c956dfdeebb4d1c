// Pack and segment codecs. Little-endian fields written byte by byte.
#include "pack_format.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <random>

#include "crc32c.h"

namespace millpond::blob {
namespace {

static_assert(std::endian::native == std::endian::little, "the formats are little-endian");

constexpr std::string_view kPackMagic = "MPBLOBPK";
constexpr std::string_view kPackEndMagic = "MPBPKEND";
constexpr std::string_view kSegMagic = "MPBLOBIX";
constexpr std::string_view kSegEndMagic = "MPBIXEND";
constexpr uint32_t kVersion = 1;
constexpr size_t kSegHeaderSize = 40;
constexpr size_t kSegChunkSize = 60;

template <typename T>
void Put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}

void PutId(std::string* out, const BlobId& id) {
  out->append(reinterpret_cast<const char*>(id.digest.data()), id.digest.size());
}

// Bounds-checked little-endian reader over one file's bytes.
class Reader {
 public:
  Reader(std::string_view data, const std::string& path) : data_(data), path_(path) {}
  template <typename T>
  Status Get(T* v) {
    if (pos_ + sizeof(T) > data_.size()) return Short();
    std::memcpy(v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::OK();
  }
  Status GetId(BlobId* id) {
    if (pos_ + 32 > data_.size()) return Short();
    std::memcpy(id->digest.data(), data_.data() + pos_, 32);
    pos_ += 32;
    return Status::OK();
  }
  Status GetBytes(uint8_t* out, size_t n) {
    if (pos_ + n > data_.size()) return Short();
    std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return Status::OK();
  }
  size_t pos() const { return pos_; }

 private:
  Status Short() const { return Status::IOError("index segment ", path_, " is truncated"); }
  std::string_view data_;
  const std::string& path_;
  size_t pos_ = 0;
};

}  // namespace

uint64_t RandomU64() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<uint64_t>(std::random_device{}()) << 32)};
  return rng();
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string PackId::Hex() const {
  static const char* kHex = "0123456789abcdef";
  std::string s(32, '0');
  for (size_t i = 0; i < 16; ++i) {
    s[2 * i] = kHex[bytes[i] >> 4];
    s[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return s;
}

uint64_t PackId::writer() const {
  uint64_t w = 0;
  for (int i = 0; i < 8; ++i) w = (w << 8) | bytes[i];
  return w;
}

PackId PackId::Random(uint64_t writer) {
  PackId p;
  uint64_t r = RandomU64();
  for (int i = 0; i < 8; ++i) {
    p.bytes[i] = static_cast<uint8_t>(writer >> (56 - 8 * i));
    p.bytes[8 + i] = static_cast<uint8_t>(r >> (56 - 8 * i));
  }
  return p;
}

Result<PackId> PackId::FromHex(std::string_view hex) {
  if (hex.size() != 32) return Status::Invalid("bad pack id '", hex, "'");
  PackId p;
  for (size_t i = 0; i < 16; ++i) {
    unsigned v = 0;
    for (int k = 0; k < 2; ++k) {
      char c = hex[2 * i + k];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (d < 0) return Status::Invalid("bad pack id '", hex, "'");
      v = v * 16 + static_cast<unsigned>(d);
    }
    p.bytes[i] = static_cast<uint8_t>(v);
  }
  return p;
}

size_t PackIdHash::operator()(const PackId& p) const {
  size_t h;
  std::memcpy(&h, p.bytes.data() + 8, sizeof(h));
  return h;
}

std::string PackFileName(const PackId& id) { return "pack-" + id.Hex() + ".mpk"; }

bool ParsePackFileName(std::string_view name, PackId* id) {
  if (name.size() != 5 + 32 + 4 || name.substr(0, 5) != "pack-" ||
      name.substr(37) != ".mpk") {
    return false;
  }
  auto r = PackId::FromHex(name.substr(5, 32));
  if (!r.ok()) return false;
  *id = *r;
  return true;
}

std::string EncodePackHeader(const PackHeader& h) {
  std::string out;
  out.reserve(kPackHeaderSize);
  out.append(kPackMagic);
  Put<uint32_t>(&out, kVersion);
  Put<uint32_t>(&out, h.flags);
  Put<int64_t>(&out, h.created);
  out.append(reinterpret_cast<const char*>(h.id.bytes.data()), 16);
  Put<uint64_t>(&out, 0);
  return out;
}

Result<PackHeader> DecodePackHeader(std::string_view b, const std::string& path) {
  if (b.size() < kPackHeaderSize) {
    return Status::IOError("pack ", path, " is truncated: no complete header");
  }
  if (b.substr(0, 8) != kPackMagic) {
    return Status::IOError("pack ", path, " is corrupt: bad magic in header");
  }
  PackHeader h;
  uint32_t version;
  std::memcpy(&version, b.data() + 8, 4);
  if (version != kVersion) {
    return Status::IOError("pack ", path, " has unsupported version ", version);
  }
  std::memcpy(&h.flags, b.data() + 12, 4);
  std::memcpy(&h.created, b.data() + 16, 8);
  std::memcpy(h.id.bytes.data(), b.data() + 24, 16);
  return h;
}

std::string EncodePackFooter(const std::vector<ChunkEntry>& entries, uint64_t footer_offset) {
  std::string out;
  out.reserve(entries.size() * kPackEntrySize + kPackTrailerSize);
  for (const auto& e : entries) {
    PutId(&out, e.id);
    Put<uint64_t>(&out, e.offset);
    Put<uint32_t>(&out, e.stored_len);
    Put<uint32_t>(&out, e.raw_len);
    Put<uint32_t>(&out, e.crc);
    Put<uint8_t>(&out, e.codec);
    Put<uint8_t>(&out, e.cls);
    Put<uint16_t>(&out, 0);
  }
  uint32_t crc = Crc32c(out);
  Put<uint64_t>(&out, footer_offset);
  Put<uint32_t>(&out, static_cast<uint32_t>(entries.size()));
  Put<uint32_t>(&out, crc);
  Put<uint64_t>(&out, 0);
  out.append(kPackEndMagic);
  return out;
}

Result<PackTrailer> DecodePackTrailer(std::string_view b, int64_t file_size,
                                      const std::string& path) {
  if (file_size < static_cast<int64_t>(kPackHeaderSize + kPackTrailerSize) ||
      b.size() != kPackTrailerSize || b.substr(24, 8) != kPackEndMagic) {
    return Status::IOError("pack ", path, " is truncated or unfinished: no trailer");
  }
  PackTrailer t;
  std::memcpy(&t.footer_offset, b.data(), 8);
  std::memcpy(&t.count, b.data() + 8, 4);
  std::memcpy(&t.footer_crc, b.data() + 12, 4);
  if (t.footer_offset < kPackHeaderSize ||
      t.footer_offset + uint64_t{t.count} * kPackEntrySize + kPackTrailerSize !=
          static_cast<uint64_t>(file_size)) {
    return Status::IOError("pack ", path, " is corrupt: trailer does not match the file size");
  }
  return t;
}

Result<std::vector<ChunkEntry>> DecodePackFooter(std::string_view b, const PackTrailer& t,
                                                 const std::string& path) {
  if (b.size() != size_t{t.count} * kPackEntrySize) {
    return Status::IOError("pack ", path, " is truncated: incomplete footer");
  }
  if (Crc32c(b) != t.footer_crc) {
    return Status::IOError("pack ", path, " is corrupt: footer checksum mismatch");
  }
  std::vector<ChunkEntry> out(t.count);
  for (uint32_t i = 0; i < t.count; ++i) {
    const char* p = b.data() + size_t{i} * kPackEntrySize;
    auto& e = out[i];
    std::memcpy(e.id.digest.data(), p, 32);
    std::memcpy(&e.offset, p + 32, 8);
    std::memcpy(&e.stored_len, p + 40, 4);
    std::memcpy(&e.raw_len, p + 44, 4);
    std::memcpy(&e.crc, p + 48, 4);
    e.codec = static_cast<uint8_t>(p[52]);
    e.cls = static_cast<uint8_t>(p[53]);
  }
  return out;
}

std::string EncodeSegment(const Segment& s) {
  std::string out;
  size_t blob_bytes = 0;
  for (const auto& b : s.blobs) blob_bytes += 56 + b.chunks.size() * 36;
  out.reserve(kSegHeaderSize + s.packs.size() * 16 + s.chunks.size() * kSegChunkSize +
              blob_bytes + s.touches.size() * 40 + 12);
  out.append(kSegMagic);
  Put<uint32_t>(&out, kVersion);
  Put<uint32_t>(&out, 0);
  Put<int64_t>(&out, s.created);
  Put<uint32_t>(&out, static_cast<uint32_t>(s.packs.size()));
  Put<uint32_t>(&out, static_cast<uint32_t>(s.chunks.size()));
  Put<uint32_t>(&out, static_cast<uint32_t>(s.blobs.size()));
  Put<uint32_t>(&out, static_cast<uint32_t>(s.touches.size()));
  Put<uint32_t>(&out, 0);
  for (const auto& p : s.packs) out.append(reinterpret_cast<const char*>(p.bytes.data()), 16);
  for (const auto& c : s.chunks) {
    PutId(&out, c.entry.id);
    Put<uint32_t>(&out, c.pack);
    Put<uint64_t>(&out, c.entry.offset);
    Put<uint32_t>(&out, c.entry.stored_len);
    Put<uint32_t>(&out, c.entry.raw_len);
    Put<uint32_t>(&out, c.entry.crc);
    Put<uint8_t>(&out, c.entry.codec);
    Put<uint8_t>(&out, c.entry.cls);
    Put<uint16_t>(&out, 0);
  }
  for (const auto& b : s.blobs) {
    PutId(&out, b.id);
    Put<uint64_t>(&out, b.size);
    Put<int64_t>(&out, b.ref_time);
    Put<uint32_t>(&out, b.puts);
    Put<uint32_t>(&out, static_cast<uint32_t>(b.chunks.size()));
    for (const auto& [cid, len] : b.chunks) {
      PutId(&out, cid);
      Put<uint32_t>(&out, len);
    }
  }
  for (const auto& t : s.touches) {
    PutId(&out, t.id);
    Put<int64_t>(&out, t.ref_time);
  }
  Put<uint32_t>(&out, Crc32c(out));
  out.append(kSegEndMagic);
  return out;
}

Result<Segment> DecodeSegment(std::string_view b, const std::string& path) {
  if (b.size() < kSegHeaderSize + 12 || b.substr(0, 8) != kSegMagic) {
    return Status::IOError("index segment ", path, " is corrupt: bad header");
  }
  if (b.substr(b.size() - 8) != kSegEndMagic) {
    return Status::IOError("index segment ", path, " is truncated: no trailer");
  }
  uint32_t crc = 0;
  std::memcpy(&crc, b.data() + b.size() - 12, 4);
  if (Crc32c(b.data(), b.size() - 12) != crc) {
    return Status::IOError("index segment ", path, " is corrupt: checksum mismatch");
  }
  Reader r(b.substr(0, b.size() - 12), path);
  char magic[8];
  MP_RETURN_NOT_OK(r.GetBytes(reinterpret_cast<uint8_t*>(magic), 8));
  uint32_t version = 0, flags = 0, n_packs = 0, n_chunks = 0, n_blobs = 0, n_touches = 0;
  uint32_t zero = 0;
  Segment s;
  MP_RETURN_NOT_OK(r.Get(&version));
  if (version != kVersion) {
    return Status::IOError("index segment ", path, " has unsupported version ", version);
  }
  MP_RETURN_NOT_OK(r.Get(&flags));
  MP_RETURN_NOT_OK(r.Get(&s.created));
  MP_RETURN_NOT_OK(r.Get(&n_packs));
  MP_RETURN_NOT_OK(r.Get(&n_chunks));
  MP_RETURN_NOT_OK(r.Get(&n_blobs));
  MP_RETURN_NOT_OK(r.Get(&n_touches));
  MP_RETURN_NOT_OK(r.Get(&zero));
  if (size_t{n_packs} * 16 + size_t{n_chunks} * kSegChunkSize + size_t{n_blobs} * 56 +
          size_t{n_touches} * 40 >
      b.size()) {
    return Status::IOError("index segment ", path, " is corrupt: counts exceed its size");
  }
  s.packs.resize(n_packs);
  for (auto& p : s.packs) MP_RETURN_NOT_OK(r.GetBytes(p.bytes.data(), 16));
  s.chunks.resize(n_chunks);
  for (auto& c : s.chunks) {
    uint16_t pad = 0;
    MP_RETURN_NOT_OK(r.GetId(&c.entry.id));
    MP_RETURN_NOT_OK(r.Get(&c.pack));
    MP_RETURN_NOT_OK(r.Get(&c.entry.offset));
    MP_RETURN_NOT_OK(r.Get(&c.entry.stored_len));
    MP_RETURN_NOT_OK(r.Get(&c.entry.raw_len));
    MP_RETURN_NOT_OK(r.Get(&c.entry.crc));
    MP_RETURN_NOT_OK(r.Get(&c.entry.codec));
    MP_RETURN_NOT_OK(r.Get(&c.entry.cls));
    MP_RETURN_NOT_OK(r.Get(&pad));
    if (c.pack >= n_packs) {
      return Status::IOError("index segment ", path, " is corrupt: pack ordinal out of range");
    }
  }
  s.blobs.resize(n_blobs);
  for (auto& bl : s.blobs) {
    uint32_t n = 0;
    MP_RETURN_NOT_OK(r.GetId(&bl.id));
    MP_RETURN_NOT_OK(r.Get(&bl.size));
    MP_RETURN_NOT_OK(r.Get(&bl.ref_time));
    MP_RETURN_NOT_OK(r.Get(&bl.puts));
    MP_RETURN_NOT_OK(r.Get(&n));
    if (size_t{n} * 36 > b.size()) {
      return Status::IOError("index segment ", path, " is corrupt: chunk count exceeds its size");
    }
    bl.chunks.resize(n);
    for (auto& [cid, len] : bl.chunks) {
      MP_RETURN_NOT_OK(r.GetId(&cid));
      MP_RETURN_NOT_OK(r.Get(&len));
    }
  }
  s.touches.resize(n_touches);
  for (auto& t : s.touches) {
    MP_RETURN_NOT_OK(r.GetId(&t.id));
    MP_RETURN_NOT_OK(r.Get(&t.ref_time));
  }
  if (r.pos() != b.size() - 12) {
    return Status::IOError("index segment ", path, " is corrupt: trailing bytes");
  }
  return s;
}

std::string SegmentFileName(int64_t created, uint64_t random) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "seg-%013lld-%s.mpi", static_cast<long long>(created),
                Hex64(random).c_str());
  return buf;
}

bool IsSegmentFileName(std::string_view name) {
  return name.size() == 4 + 13 + 1 + 16 + 4 && name.substr(0, 4) == "seg-" &&
         name.substr(name.size() - 4) == ".mpi";
}

}  // namespace millpond::blob
