// PackWriter and pack reading helpers.
#include "pack_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <arrow/buffer.h>

namespace millpond::blob {

Result<std::unique_ptr<PackWriter>> PackWriter::Create(std::shared_ptr<fs::FileSystem> fs,
                                                       std::string path,
                                                       const PackHeader& header) {
  std::unique_ptr<PackWriter> w(new PackWriter(fs, std::move(path), header));
  std::string head = EncodePackHeader(header);
  if (fs->is_local()) {
    MP_ASSIGN_OR_RAISE(w->out_, fs->OpenOutput(w->path_));
    MP_RETURN_NOT_OK(w->out_->Write(head.data(), static_cast<int64_t>(head.size())));
  } else {
    w->buffer_ = std::move(head);
  }
  w->size_ = kPackHeaderSize;
  return w;
}

PackWriter::~PackWriter() {
  if (out_ && !sealed_) (void)out_->Close();
}

Status PackWriter::Append(std::string_view payload, ChunkEntry* entry) {
  if (sealed_) return Status::Invalid("pack ", path_, " is sealed");
  entry->offset = size_;
  entry->stored_len = static_cast<uint32_t>(payload.size());
  if (out_) {
    MP_RETURN_NOT_OK(out_->Write(payload.data(), static_cast<int64_t>(payload.size())));
  } else {
    buffer_.append(payload);
  }
  size_ += payload.size();
  entries_.push_back(*entry);
  return Status::OK();
}

Status PackWriter::ReadAt(uint64_t offset, uint64_t n, uint8_t* out) const {
  if (offset + n > size_) return Status::IOError("read past the end of open pack ", path_);
  if (!out_) {
    std::memcpy(out, buffer_.data() + offset, n);
    return Status::OK();
  }
  MP_ASSIGN_OR_RAISE(auto in, fs_->OpenInput(path_));
  MP_ASSIGN_OR_RAISE(int64_t got, in->ReadAt(static_cast<int64_t>(offset),
                                             static_cast<int64_t>(n), out));
  if (static_cast<uint64_t>(got) != n) return Status::IOError("short read of open pack ", path_);
  return Status::OK();
}

Status PackWriter::Seal() {
  if (sealed_) return Status::OK();
  std::string footer = EncodePackFooter(entries_, size_);
  if (out_) {
    MP_RETURN_NOT_OK(out_->Write(footer.data(), static_cast<int64_t>(footer.size())));
    MP_RETURN_NOT_OK(out_->Close());
  } else {
    buffer_.append(footer);
    MP_RETURN_NOT_OK(fs_->WriteFile(path_, buffer_));
    buffer_.clear();
    buffer_.shrink_to_fit();
  }
  size_ += footer.size();
  sealed_ = true;
  return Status::OK();
}

namespace {

// A read of [offset, offset+n) that failed (`read` not OK) or came back short: the read's own
// error when the range lies within the file, else a truncation error naming the pack and chunk.
Status ShortRead(arrow::io::RandomAccessFile* file, const std::string& path, uint64_t offset,
                 uint64_t n, const BlobId& chunk, const Status& read) {
  auto size = file->GetSize();
  if (!read.ok() && size.ok() && offset + n <= static_cast<uint64_t>(*size)) return read;
  return Status::IOError("pack ", path, " is truncated: chunk ", chunk.Hex().substr(0, 16),
                         "… at ", offset, "+", n, " is past its end (",
                         size.ok() ? std::to_string(*size) : std::string("?"), " bytes)");
}

}  // namespace

Status ReadExactly(arrow::io::RandomAccessFile* file, const std::string& path, uint64_t offset,
                   uint64_t n, uint8_t* out, const BlobId& chunk) {
  auto got = file->ReadAt(static_cast<int64_t>(offset), static_cast<int64_t>(n), out);
  if (got.ok() && static_cast<uint64_t>(*got) == n) return Status::OK();
  return ShortRead(file, path, offset, n, chunk, got.status());
}

Result<std::shared_ptr<arrow::Buffer>> ReadSpan(arrow::io::RandomAccessFile* file,
                                                const std::string& path, uint64_t offset,
                                                uint64_t n, const BlobId& chunk) {
  auto got = file->ReadAt(static_cast<int64_t>(offset), static_cast<int64_t>(n));
  if (got.ok() && static_cast<uint64_t>((*got)->size()) == n) return *got;
  return ShortRead(file, path, offset, n, chunk, got.status());
}

Result<PackContents> ReadPackIndex(const fs::FileSystem& fs, const std::string& path) {
  MP_ASSIGN_OR_RAISE(auto file, fs.OpenInput(path));
  PackContents c;
  MP_ASSIGN_OR_RAISE(c.size, file->GetSize());
  if (c.size < static_cast<int64_t>(kPackHeaderSize + kPackTrailerSize)) {
    return Status::IOError("pack ", path, " is truncated: ", c.size, " bytes");
  }
  MP_ASSIGN_OR_RAISE(auto head, file->ReadAt(0, kPackHeaderSize));
  MP_ASSIGN_OR_RAISE(c.header, DecodePackHeader(std::string_view(*head), path));
  MP_ASSIGN_OR_RAISE(auto tail, file->ReadAt(c.size - static_cast<int64_t>(kPackTrailerSize),
                                             kPackTrailerSize));
  MP_ASSIGN_OR_RAISE(auto trailer, DecodePackTrailer(std::string_view(*tail), c.size, path));
  MP_ASSIGN_OR_RAISE(auto footer,
                     file->ReadAt(static_cast<int64_t>(trailer.footer_offset),
                                  static_cast<int64_t>(trailer.count) * kPackEntrySize));
  MP_ASSIGN_OR_RAISE(c.entries, DecodePackFooter(std::string_view(*footer), trailer, path));
  for (const auto& e : c.entries) {
    if (e.offset < kPackHeaderSize || e.offset + e.stored_len > trailer.footer_offset) {
      return Status::IOError("pack ", path, " is corrupt: footer entry out of range");
    }
  }
  return c;
}

Status SyncLocalFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open ", path, " to sync: ", std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError("cannot fsync ", path, ": ", std::strerror(err));
  return Status::OK();
}

}  // namespace millpond::blob
