// WalkFolder: descriptor-relative traversal that stays inside the folder.
#include "folder_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace millpond::blob {
namespace {

std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c >= 0x80) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

class Walker {
 public:
  Walker(std::string root, const WalkOptions& options,
         const std::function<void(const std::string&)>& problem)
      : root_(std::move(root)), options_(options), problem_(problem) {}

  Status Run(std::vector<WalkedFile>* out) {
    char real[PATH_MAX];
    if (!::realpath(root_.c_str(), real)) {
      return Status::IOError(root_, ": ", std::strerror(errno));
    }
    real_root_ = real;
    int fd = ::open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::IOError(root_, ": ", std::strerror(errno));
    out_ = out;
    Walk(fd, "");
    std::sort(out->begin(), out->end(),
              [](const WalkedFile& a, const WalkedFile& b) { return a.rel < b.rel; });
    return Status::OK();
  }

 private:
  bool Matches(const std::string& rel, const std::string& name) const {
    if (options_.pattern.empty()) return true;
    bool with_dirs = options_.pattern.find('/') != std::string::npos;
    return ::fnmatch(options_.pattern.c_str(), (with_dirs ? rel : name).c_str(),
                     with_dirs ? FNM_PATHNAME : 0) == 0;
  }

  void Problem(const std::string& rel, const std::string& what) {
    problem_(Printable(rel) + ": " + what);
  }

  // Takes ownership of `dirfd`.
  void Walk(int dirfd, const std::string& prefix) {
    DIR* dir = ::fdopendir(dirfd);
    if (!dir) {
      Problem(prefix.empty() ? "." : prefix, std::string("cannot list: ") + std::strerror(errno));
      ::close(dirfd);
      return;
    }
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(dir)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) Entry(::dirfd(dir), prefix, name);
    ::closedir(dir);
  }

  void Entry(int dirfd, const std::string& prefix, const std::string& name) {
    const std::string rel = prefix + name;
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) Problem(rel, std::string("cannot stat: ") + std::strerror(errno));
      return;  // vanished since listed: nothing to ingest
    }
    if (S_ISDIR(st.st_mode)) {
      if (!options_.recursive) return;
      if (!IsUtf8(name)) return Problem(rel, "folder name is not valid UTF-8");
      int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        return Problem(rel + "/", std::string("cannot open folder: ") + std::strerror(errno));
      }
      Walk(fd, rel + "/");
      return;
    }
    if (!Matches(rel, name)) return;
    if (!IsUtf8(rel)) return Problem(rel, "file name is not valid UTF-8");
    if (S_ISLNK(st.st_mode)) return Link(rel);
    if (!S_ISREG(st.st_mode)) return Problem(rel, "not a regular file (device, fifo or socket)");
    out_->push_back({rel, real_root_ + "/" + rel, static_cast<int64_t>(st.st_size), MtimeNs(st),
                     static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)});
  }

  // A symbolic link: followed only to a regular file inside the folder.
  void Link(const std::string& rel) {
    const std::string path = real_root_ + "/" + rel;
    char real[PATH_MAX];
    if (!::realpath(path.c_str(), real)) {
      if (errno == ELOOP) return Problem(rel, "symbolic link loop; not followed");
      if (errno == ENOENT) return Problem(rel, "broken symbolic link; not followed");
      return Problem(rel, std::string("symbolic link cannot be resolved: ") + std::strerror(errno));
    }
    std::string target = real;
    if (target.rfind(real_root_ + "/", 0) != 0) {
      return Problem(rel, "symbolic link points outside the folder (to " + Printable(target) +
                              "); not followed");
    }
    struct stat st {};
    if (::stat(real, &st) != 0) {
      return Problem(rel, std::string("symbolic link target: ") + std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) return Problem(rel, "symbolic link to a folder; not followed");
    if (!S_ISREG(st.st_mode)) return Problem(rel, "symbolic link to something not a regular file");
    out_->push_back({rel, target, static_cast<int64_t>(st.st_size), MtimeNs(st),
                     static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)});
  }

  std::string root_;
  std::string real_root_;
  const WalkOptions& options_;
  const std::function<void(const std::string&)>& problem_;
  std::vector<WalkedFile>* out_ = nullptr;
};

}  // namespace

bool IsUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    if (n == 2 && c < 0xC2) return false;  // overlong
    i += n;
  }
  return true;
}

Status ValidatePattern(const std::string& pattern) {
  if (pattern.empty()) return Status::OK();
  if (pattern[0] == '/') return Status::Invalid("--pattern '", pattern, "' must be relative");
  size_t start = 0;
  while (start <= pattern.size()) {
    size_t end = pattern.find('/', start);
    if (end == std::string::npos) end = pattern.size();
    if (pattern.compare(start, end - start, "..") == 0) {
      return Status::Invalid("--pattern '", pattern, "' must not contain '..'");
    }
    start = end + 1;
  }
  return Status::OK();
}

Result<std::vector<WalkedFile>> WalkFolder(const std::string& root, const WalkOptions& options,
                                           const std::function<void(const std::string&)>& problem) {
  ARROW_RETURN_NOT_OK(ValidatePattern(options.pattern));
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) {
    return Status::IOError("folder ", root, ": ", std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) return Status::Invalid(root, " is not a folder");
  std::vector<WalkedFile> out;
  Walker walker(root, options, problem);
  ARROW_RETURN_NOT_OK(walker.Run(&out));
  return out;
}

}  // namespace millpond::blob
