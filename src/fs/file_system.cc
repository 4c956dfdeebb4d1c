// FileSystem: arrow::fs by URI plus create-if-absent. Local commits use link(2) of a fully written,
// fsynced temp file, which fails with EEXIST when the target exists: atomic on POSIX file systems.
// S3 commits use a PUT with "If-None-Match: *" (s3_put.cc): the server lets one creator win.
#include "millpond/fs/file_system.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>

#include <arrow/filesystem/localfs.h>
#include <arrow/filesystem/path_util.h>
#include <arrow/filesystem/s3fs.h>
#include <arrow/io/interfaces.h>
#include <arrow/io/memory.h>
#include <arrow/buffer.h>

#include "s3_put.h"

namespace millpond::fs {
namespace {

// A hidden sibling ("dir/.name.<pid>-<n>-<r>.tmp"): readers that list a folder by prefix
// (Paimon lists "snapshot-*", "tag-*") never mistake a leftover of a killed writer for a file.
std::string TempName(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return dir + "." + base + "." + std::to_string(getpid()) + "-" + std::to_string(counter++) +
         "-" + std::to_string(rng() % 1000000) + kTempSuffix;
}

Status ErrnoStatus(const std::string& what, const std::string& path) {
  return Status::IOError(what, " ", path, ": ", std::strerror(errno));
}

// A new file created exclusively, written, fsynced, then renamed or linked into place; removed
// when dropped before RenameTo (a failed write leaves nothing behind).
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (created_ && !renamed_) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

  Status Create() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) return ErrnoStatus("cannot create", path_);
    created_ = true;
    return Status::OK();
  }
  Status Write(std::string_view data) {
    for (size_t off = 0; off < data.size();) {
      const ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("cannot write", path_);
      off += static_cast<size_t>(n);
    }
    return Status::OK();
  }
  // fsyncs and closes the file.
  Status Sync() {
    const int rc = ::fsync(fd_);
    Status st = rc == 0 ? Status::OK() : ErrnoStatus("cannot fsync", path_);
    ::close(fd_);
    fd_ = -1;
    return st;
  }
  Status RenameTo(const std::string& to) {
    if (::rename(path_.c_str(), to.c_str()) != 0) return ErrnoStatus("cannot rename into", to);
    renamed_ = true;
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool created_ = false, renamed_ = false;
};

// A synced temporary file next to `path` holding `data`.
Result<std::unique_ptr<TempFile>> WriteSyncedTemp(const std::string& path, std::string_view data) {
  auto tmp = std::make_unique<TempFile>(TempName(path));
  ARROW_RETURN_NOT_OK(tmp->Create());
  ARROW_RETURN_NOT_OK(tmp->Write(data));
  ARROW_RETURN_NOT_OK(tmp->Sync());
  return tmp;
}

}  // namespace

std::string RedactUri(const std::string& uri) {
  auto scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  auto at = uri.find('@', scheme + 3);
  auto end = uri.find_first_of("/?", scheme + 3);
  if (at == std::string::npos || (end != std::string::npos && at > end)) return uri;
  return uri.substr(0, scheme + 3) + "***@" + uri.substr(at + 1);
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  std::string out(a);
  while (!out.empty() && out.back() == '/' && out.size() > 1) out.pop_back();
  size_t i = 0;
  while (i < b.size() && b[i] == '/') ++i;
  if (out != "/") out += '/';
  out.append(b.substr(i));
  return out;
}

Result<std::shared_ptr<FileSystem>> FileSystem::Make(const std::string& uri, std::string* root) {
  if (uri.empty()) return Status::Invalid("empty warehouse path");
  std::string path;
  std::shared_ptr<arrow::fs::FileSystem> afs;
  bool local = false;
  if (uri.find("://") == std::string::npos) {
    char buf[4096];
    std::string abs = uri;
    if (uri[0] != '/') {
      if (!::getcwd(buf, sizeof(buf))) return Status::IOError("getcwd failed");
      abs = JoinPath(buf, uri);
    }
    afs = std::make_shared<arrow::fs::LocalFileSystem>();
    path = abs;
    local = true;
  } else {
    auto made = arrow::fs::FileSystemFromUri(uri, &path);
    // Remote file systems (the AWS SDK) must be shut down before static destructors run, or exit
    // may crash. Registered after Arrow initialized them, so it runs before Arrow's statics die.
    static std::once_flag finalize_once;
    std::call_once(finalize_once, [] { std::atexit([] { (void)arrow::fs::EnsureFinalized(); }); });
    if (!made.ok()) {
      // Arrow's messages quote the URI, credentials included.
      std::string msg = made.status().message();
      const std::string redacted = RedactUri(uri);
      for (auto at = msg.find(uri); at != std::string::npos; at = msg.find(uri, at + 1)) {
        msg.replace(at, uri.size(), redacted);
      }
      return made.status().WithMessage("cannot open warehouse '", redacted, "': ", msg);
    }
    afs = *std::move(made);
    local = afs->type_name() == "local";
  }
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (root) *root = path;
  if (afs->type_name() == "s3") {
    ARROW_ASSIGN_OR_RAISE(
        std::shared_ptr<const internal::S3ConditionalPut> put,
        internal::S3ConditionalPut::Make(static_cast<const arrow::fs::S3FileSystem&>(*afs)));
    return std::make_shared<FileSystem>(std::move(afs), std::move(put));
  }
  return std::make_shared<FileSystem>(std::move(afs), local);
}

Result<std::string> FileSystem::ReadFile(const std::string& path) const {
  ARROW_ASSIGN_OR_RAISE(auto in, fs_->OpenInputFile(path));
  ARROW_ASSIGN_OR_RAISE(int64_t size, in->GetSize());
  ARROW_ASSIGN_OR_RAISE(auto buf, in->ReadAt(0, size));
  if (buf->size() != size) return Status::IOError("short read of ", path);
  return buf->ToString();
}

Result<bool> FileSystem::Exists(const std::string& path) const {
  ARROW_ASSIGN_OR_RAISE(auto info, fs_->GetFileInfo(path));
  return info.type() != arrow::fs::FileType::NotFound;
}

Result<bool> FileSystem::IsDirectory(const std::string& path) const {
  ARROW_ASSIGN_OR_RAISE(auto info, fs_->GetFileInfo(path));
  return info.type() == arrow::fs::FileType::Directory;
}

Status FileSystem::MakeDirs(const std::string& path) const {
  return fs_->CreateDir(path, /*recursive=*/true);
}

Status FileSystem::MakeParentDirs(const std::string& path) const {
  // S3 keys need no parents, and creating the "dir/" markers costs requests on every write.
  if (s3_put_) return Status::OK();
  auto parent = arrow::fs::internal::GetAbstractPathParent(path).first;
  return parent.empty() ? Status::OK() : MakeDirs(parent);
}

Status FileSystem::WriteFile(const std::string& path, std::string_view data) const {
  ARROW_RETURN_NOT_OK(MakeParentDirs(path));
  ARROW_ASSIGN_OR_RAISE(auto out, fs_->OpenOutputStream(path));
  ARROW_RETURN_NOT_OK(out->Write(data.data(), static_cast<int64_t>(data.size())));
  return out->Close();
}

Status FileSystem::WriteFileAtomic(const std::string& path, std::string_view data) const {
  ARROW_RETURN_NOT_OK(MakeParentDirs(path));
  if (!local_) return WriteFile(path, data);  // object stores replace whole objects
  ARROW_ASSIGN_OR_RAISE(auto tmp, WriteSyncedTemp(path, data));
  return tmp->RenameTo(path);
}

Result<int64_t> FileSystem::CopyFileAtomic(const std::string& from, const FileSystem& dst,
                                           const std::string& to, int64_t piece) const {
  ARROW_ASSIGN_OR_RAISE(auto in, OpenInput(from));
  ARROW_ASSIGN_OR_RAISE(int64_t size, in->GetSize());
  ARROW_RETURN_NOT_OK(dst.MakeParentDirs(to));
  // Locally a synced temporary file renamed into place; on object stores a multipart upload,
  // which is visible only once completed and dropped by Abort.
  std::unique_ptr<TempFile> tmp;
  std::shared_ptr<arrow::io::OutputStream> out;
  if (dst.local_) {
    tmp = std::make_unique<TempFile>(TempName(to));
    ARROW_RETURN_NOT_OK(tmp->Create());
  } else {
    ARROW_ASSIGN_OR_RAISE(out, dst.fs_->OpenOutputStream(to));
  }
  std::string buf(static_cast<size_t>(std::clamp<int64_t>(size, 1, std::max<int64_t>(piece, 1))),
                  '\0');
  Status st;
  for (int64_t at = 0; st.ok() && at < size;) {
    auto got = in->ReadAt(at, std::min<int64_t>(static_cast<int64_t>(buf.size()), size - at),
                          reinterpret_cast<uint8_t*>(buf.data()));
    if (!got.ok()) {
      st = got.status();
    } else if (*got <= 0) {
      st = Status::IOError("cannot copy ", from, ": it ended at ", at, " of ", size, " bytes");
    } else {
      st = tmp ? tmp->Write(std::string_view(buf.data(), static_cast<size_t>(*got)))
               : out->Write(buf.data(), *got);
      at += *got;
    }
  }
  if (tmp) {
    if (st.ok()) st = tmp->Sync();
    if (st.ok()) st = tmp->RenameTo(to);
  } else if (st.ok()) {
    st = out->Close();
  } else {
    (void)out->Abort();
  }
  ARROW_RETURN_NOT_OK(st);
  return size;
}

Result<bool> FileSystem::CreateIfAbsent(const std::string& path, std::string_view data) const {
  ARROW_RETURN_NOT_OK(MakeParentDirs(path));
  if (s3_put_) {
    ARROW_ASSIGN_OR_RAISE(auto outcome, s3_put_->PutIfAbsent(path, data));
    if (outcome == internal::PutOutcome::kCreated) return true;
    if (outcome == internal::PutOutcome::kExists) return false;
    // An attempt went unanswered, then the object was there: it is ours if it holds our bytes
    // (commit files name their writer and time, so another writer's differ).
    ARROW_ASSIGN_OR_RAISE(std::string there, ReadFile(path));
    return there == data;
  }
  if (!local_) {
    // Other object stores: check, then write (not atomic).
    ARROW_ASSIGN_OR_RAISE(bool exists, Exists(path));
    if (exists) return false;
    ARROW_RETURN_NOT_OK(WriteFile(path, data));
    return true;
  }
  ARROW_ASSIGN_OR_RAISE(auto tmp, WriteSyncedTemp(path, data));
  const int rc = ::link(tmp->path().c_str(), path.c_str());
  const int err = errno;
  tmp.reset();  // the link (if made) keeps the file; the temporary name goes
  if (rc == 0) return true;
  if (err == EEXIST) return false;
  errno = err;
  return ErrnoStatus("cannot create", path);
}

Status FileSystem::DeleteFile(const std::string& path) const { return fs_->DeleteFile(path); }

Status FileSystem::DeleteDirContents(const std::string& path) const {
  return fs_->DeleteDirContents(path, /*missing_dir_ok=*/true);
}

Result<std::vector<arrow::fs::FileInfo>> FileSystem::List(const std::string& dir) const {
  arrow::fs::FileSelector sel;
  sel.base_dir = dir;
  sel.allow_not_found = true;
  sel.recursive = false;
  return fs_->GetFileInfo(sel);
}

Result<std::shared_ptr<arrow::io::RandomAccessFile>> FileSystem::OpenInput(
    const std::string& path) const {
  return fs_->OpenInputFile(path);
}

Result<std::shared_ptr<arrow::io::OutputStream>> FileSystem::OpenOutput(
    const std::string& path) const {
  ARROW_RETURN_NOT_OK(MakeParentDirs(path));
  return fs_->OpenOutputStream(path);
}

}  // namespace millpond::fs
